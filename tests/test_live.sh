#!/usr/bin/env bash
# Live capture on lo (issue 5): while openssl s_server/s_client run mutual
# TLS 1.2 handshakes with known certificates, the rows (ClientHello, both
# Certificates with their serials) must reach the CSV before the capture is
# stopped; then SIGINT must end the run cleanly with the summary, libpcap's
# drop counters and a complete CSV.  Needs root (CI runs as root).
set -euo pipefail
EK=${EKUSCOPE:?} SRC=${EK_SRC:?}
PKI=$SRC/samples/pki
if [[ $(id -u) != 0 ]]; then
	echo "test_live: needs root to capture on lo" >&2
	exit 1
fi
command -v openssl >/dev/null || { echo "test_live: openssl missing" >&2; exit 1; }

# shellcheck source=tests/live_lib.sh
. "$SRC/tests/live_lib.sh"
chmod 755 "$T"  # ekuscope drops to nobody once the interface is open

fail() { echo "FAIL: $*" >&2; echo "--- stderr"; cat "$T/ek.err" >&2 || true; echo "--- stdout"; cat "$T/ek.out" >&2 || true; exit 1; }

# a free port, not one of the default TLS ports: found by content
PORT=$(free_port)

CLIENT_SERIAL=$(openssl x509 -in "$PKI/expressway-e-dual.crt" -noout -serial | cut -d= -f2 | tr A-F a-f)
SERVER_SERIAL=$(openssl x509 -in "$PKI/webex.crt" -noout -serial | cut -d= -f2 | tr A-F a-f)

timeout 120 "$EK" -i lo -o "$T/live.csv" --findings "$T/findings.csv" -w "$T/evidence.pcap" \
	--conns "$T/conns.csv" --json "$T/live.jsonl" --html "$T/live.html" --certs "$T/certs.csv" "tcp port $PORT" >"$T/ek.out" 2>"$T/ek.err" &
EKPID=$!
PIDS+=("$EKPID")
for _ in $(seq 100); do grep -q "listening on lo" "$T/ek.err" && break; sleep 0.1; done
grep -q "listening on lo" "$T/ek.err" || fail "ekuscope did not start listening"
# started as root, it runs as nobody once the interface is open
uid=$(awk '/^Uid:/ {print $3}' "/proc/$EKPID/status" 2>/dev/null || true)
ekuid=$(pgrep -P "$EKPID" -x ekuscope || true)  # timeout(1) is the parent
[[ -n $ekuid ]] && uid=$(awk '/^Uid:/ {print $3}' "/proc/$ekuid/status")
[[ $uid == "$(id -u nobody)" ]] || fail "privileges not dropped (effective uid $uid)"
echo "privileges dropped to nobody: ok"

mkfifo "$T/hold"
exec 9<>"$T/hold"
openssl s_server -accept "127.0.0.1:$PORT" -naccept 3 -tls1_2 -Verify 1 \
	-cert "$PKI/webex.crt" -key "$PKI/webex.key" -cert_chain "$PKI/public-issuing-ca.crt" \
	-CAfile "$PKI/public-root-ca.crt" <&9 >"$T/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.05; done

for i in 1 2 3; do
	{ sleep 0.3; echo Q; } | timeout 15 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -no_ign_eof \
		-cert "$PKI/expressway-e-dual.crt" -key "$PKI/expressway-e-dual.key" \
		-cert_chain "$PKI/public-issuing-ca.crt" -CAfile "$PKI/public-root-ca.crt" >"$T/client.$i.log" 2>&1 || true
done

# The rows must arrive while the capture still runs.
ok=
for _ in $(seq 100); do
	if grep -q ",ClientHello," "$T/live.csv" 2>/dev/null &&
		grep -q ",client,TLS1.2,Certificate,.*,0,$CLIENT_SERIAL," "$T/live.csv" &&
		grep -q ",server,TLS1.2,Certificate,.*,0,$SERVER_SERIAL," "$T/live.csv"; then
		ok=1
		break
	fi
	sleep 0.1
done
kill -0 "$EKPID" 2>/dev/null || fail "ekuscope exited before it was stopped"
[[ -n $ok ]] || { cat "$T/live.csv" >&2; fail "rows did not stream to the CSV while capturing"; }
echo "rows streamed while capturing: ok"

kill -INT "$EKPID"
rc=0
wait "$EKPID" || rc=$?
[[ $rc == 0 ]] || fail "exit status $rc after SIGINT"

grep -q "packets received by filter" "$T/ek.out" || fail "no libpcap counters in the summary"
grep -Eq "[0-9]+ dropped by kernel, [0-9]+ dropped by interface" "$T/ek.out" || fail "drop counters missing"
grep -q "handshakes: 3 completed" "$T/ek.out" || fail "summary does not count 3 completed handshakes"
# complete CSV: header + rows, every line with all 19 columns, ends with a newline
python3 - "$T/live.csv" <<'PY' || fail "CSV not complete"
import csv, sys
data = open(sys.argv[1], newline="").read()
assert data.endswith("\n"), "last line cut"
rows = list(csv.reader(data.splitlines()))
assert rows[0][0] == "file" and all(len(r) == 19 for r in rows), "ragged rows"
hello = [r for r in rows if r[8] == "ClientHello"]
assert len(hello) == 3, f"{len(hello)} ClientHello rows, want 3"
PY
echo "SIGINT: clean exit, summary with drop counters, complete CSV: ok"
# -w saved the evidence: reading it back gives the same handshakes
"$EK" -q -o "$T/replay.csv" "$T/evidence.pcap" >/dev/null
[[ $(grep -c ",ClientHello," "$T/replay.csv") == 3 ]] || fail "-w file does not hold the 3 handshakes"
echo "-w evidence file: ok"
# --conns, --json, --html in a live run (files opened before privileges were dropped)
[[ $(grep -c ",completed,,$" "$T/conns.csv") == 3 ]] && grep -q ",$CLIENT_SERIAL,.*,$SERVER_SERIAL," "$T/conns.csv" ||
	{ cat "$T/conns.csv" >&2; fail "--conns does not hold the 3 completed connections"; }
[[ $(python3 -c 'import json,sys; print(sum(json.loads(l)["event"]["dataset"] == "ekuscope.connection" for l in open(sys.argv[1])))' "$T/live.jsonl") == 3 ]] ||
	fail "--json does not hold 3 connection objects"
[[ $(grep -c '<tr data-port=' "$T/live.html") == 3 ]] || fail "--html does not list the 3 connections"
echo "--conns, --json, --html live: ok"
# --certs is written at the end, when the run is nobody and $T root's (755):
# its file was opened before the drop; one row per endpoint and role
python3 - "$T/certs.csv" "$CLIENT_SERIAL" "$SERVER_SERIAL" <<'PY' || { cat "$T/certs.csv" >&2 || true; fail "--certs of a live run"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = {(r["role"], r["cert_serial"].lower()) for r in rows}
assert ("client", sys.argv[2]) in got and ("server", sys.argv[3]) in got, got
PY
echo "--certs live (written after the privilege drop): ok"
echo "6 passed, 0 failed"
