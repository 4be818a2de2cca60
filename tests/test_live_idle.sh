#!/usr/bin/env bash
# Live capture on a quiet interface (issue 12 item 9): --duration ends the
# run within about a second of the duration although no packet arrives;
# -c ends it as soon as its last packet is in; SIGINT ends it at once;
# SIGUSR1 prints the summary so far and the run goes on; the status line
# shows on a terminal only.
# On lo with a filter nothing else matches.  Needs root (CI runs as root).
set -euo pipefail
EK=${EKUSCOPE:?}
[[ $(id -u) == 0 ]] || { echo "test_live_idle: needs root to capture on lo" >&2; exit 1; }
T=$(mktemp -d)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$T/err" >&2 || true; exit 1; }
# a closed port, so a connection attempt gives exactly a SYN and a RST
PORT=$((20000 + RANDOM % 20000))
while ss -Htan "sport = :$PORT or dport = :$PORT" | grep -q .; do PORT=$((PORT + 1)); done
ms() { date +%s%3N; }
listening() { for _ in $(seq 100); do grep -q "listening on lo" "$T/err" && return 0; sleep 0.05; done; fail "not listening"; }

# --duration 2 on an idle filter: ends after 2 s, well before 3.2 s
t0=$(ms)
timeout 20 "$EK" -i lo -o "$T/tl.csv" --duration 2 "tcp port $PORT" >"$T/out" 2>"$T/err" || fail "--duration exit status $?"
el=$(($(ms) - t0))
((el >= 2000 && el < 3200)) || fail "--duration 2 took $el ms"
grep -q "packets received by filter" "$T/out" || fail "no summary after --duration"
echo "--duration 2 on a quiet interface: $el ms: ok"

# -c 2: a refused connection attempt is the 2 packets; the run ends right after
timeout 20 "$EK" -i lo -o "$T/tl.csv" -c 2 "tcp port $PORT" >"$T/out" 2>"$T/err" &
pid=$!
listening
sleep 0.3
python3 -c "import socket,sys; s=socket.socket(); s.settimeout(2); s.connect_ex(('127.0.0.1', int(sys.argv[1])))" "$PORT"
t0=$(ms) # the SYN and the RST are on lo by now
wait "$pid" || fail "-c exit status $?"
el=$(($(ms) - t0))
((el < 1000)) || fail "-c 2 ended $el ms after its packets"
grep -q "Summary: 1 file, 2 packets," "$T/out" || { cat "$T/out" >&2; fail "-c 2 did not read 2 packets"; }
echo "-c 2 on a quiet interface: ended $el ms after the packets: ok"

# SIGINT on an idle interface
timeout 20 "$EK" -i lo -o "$T/tl.csv" "tcp port $PORT" >"$T/out" 2>"$T/err" &
pid=$!
listening
sleep 0.5
t0=$(ms)
kill -INT "$pid"
wait "$pid" || fail "SIGINT exit status $?"
el=$(($(ms) - t0))
((el < 1000)) || fail "SIGINT took $el ms"
grep -q "packets received by filter" "$T/out" || fail "no summary after SIGINT"
echo "SIGINT on a quiet interface: $el ms: ok"

# SIGUSR1: the summary so far on stderr, and the capture goes on
timeout 20 "$EK" -i lo -o "$T/tl.csv" "tcp port $PORT" >"$T/out" 2>"$T/err" &
pid=$!
listening
python3 -c "import socket,sys; s=socket.socket(); s.settimeout(2); s.connect_ex(('127.0.0.1', int(sys.argv[1])))" "$PORT"
sleep 0.5
ek=$(pgrep -P "$pid" -x ekuscope || true) # timeout(1) is the parent: it does not pass SIGUSR1 on
[[ -n $ek ]] || fail "no ekuscope process under timeout"
kill -USR1 "$ek"
for _ in $(seq 40); do grep -q "summary so far" "$T/err" && break; sleep 0.05; done
grep -q "summary so far" "$T/err" || fail "no summary after SIGUSR1"
grep -q "Summary: 1 file, 2 packets," "$T/err" || fail "the summary so far does not count the 2 packets"
kill -0 "$pid" 2>/dev/null || fail "SIGUSR1 stopped the capture"
kill -INT "$pid"
wait "$pid" || fail "exit status $? after SIGUSR1 and SIGINT"
echo "SIGUSR1: summary so far, capture goes on: ok"

# the status line, on a terminal (script(1) gives the run one)
timeout 20 script -qec "'$EK' -i lo -w '$T/ev.pcap' -o '$T/tl.csv' --duration 2 'tcp port $PORT'" /dev/null >"$T/tty" ||
	fail "run under script(1) failed"
grep -aq "lo: 0 packets, 0 dropped, 0 TLS conns, 0 findings, writing ev.pcap" "$T/tty" || { cat -v "$T/tty" >&2; fail "no status line on the terminal"; }
"$EK" -i lo -o "$T/tl.csv" --duration 1 "tcp port $PORT" 2>"$T/err" >/dev/null
grep -q "TLS conns" "$T/err" && fail "status line written to stderr that is not a terminal"
echo "status line on a terminal only: ok"
echo "5 passed, 0 failed"
