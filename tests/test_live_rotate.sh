#!/usr/bin/env bash
# Evidence rotation on lo (issue 18 item 2), like tcpdump's -C, -W, -G:
# with -w F -C 1, a mutual-TLS 1.2 session carrying 3 MB and then a second
# one are split over F, F1, F2 ...; every leaf Certificate row (timeline
# CSV), every certs CSV first/last frame and every finding names the
# evidence file holding its packet and the frame inside that file, which
# tshark must show as that message.  Then -C 1 -W 3 keeps a ring of F0..F2
# (tcpdump pads the number to the digits of N - 1), -G 1 names files by
# strftime, -G with -W stops after N files, and rotated names that are an
# input or an output are refused.  Needs root (CI runs as root).
set -euo pipefail
EK=${EKUSCOPE:?} SRC=${EK_SRC:?}
PKI=$SRC/samples/pki
if [[ $(id -u) != 0 ]]; then
	echo "test_live_rotate: needs root to capture on lo" >&2
	exit 1
fi
for c in openssl tshark ss python3; do command -v $c >/dev/null || { echo "test_live_rotate: $c missing" >&2; exit 1; }; done

# shellcheck source=tests/live_lib.sh
. "$SRC/tests/live_lib.sh"
chmod 777 "$T"  # --certs is written at the end, as nobody
mkdir -m 777 "$T/ev"  # ekuscope runs as nobody once the interface is open: it makes the next files there
fail() { echo "FAIL: $*" >&2; echo "--- stderr" >&2; cat "$T/ek.err" >&2 || true; exit 1; }
passed=0
ok() { echo "$1: ok"; passed=$((passed + 1)); }

PORT=$(free_port)
head -c 3000000 /dev/urandom >"$T/3mb"
head -c 5000000 /dev/urandom >"$T/5mb"

# ekuscope -i lo ARGS... in the background; waits until it listens
start_ek() {
	: >"$T/ek.err"
	timeout 120 "$EK" -i lo "$@" "tcp port $PORT" >"$T/ek.out" 2>"$T/ek.err" &
	EKPID=$!
	PIDS+=("$EKPID")
	for _ in $(seq 100); do grep -q "listening on lo" "$T/ek.err" && return 0; sleep 0.1; done
	fail "ekuscope did not start listening"
}
stop_ek() {
	kill -INT "$EKPID" 2>/dev/null || true
	local rc=0
	wait "$EKPID" || rc=$?
	[[ $rc == "${1:-0}" ]] || fail "ekuscope exit status $rc"
}
# one mutual-TLS 1.2 session on $PORT (Python's ssl: OpenSSL underneath)
# carrying file $1 from client to server (client certificate $2, default
# expressway-e-dual); returns when the server has it all, or ($3 = fail)
# when the server has rejected the client's certificate
session() {
	timeout 60 python3 - "$PORT" "$1" "$PKI" "${2:-expressway-e-dual}" "${3:-}" <<'PY' || fail "TLS session on port $PORT: not as expected"
import os, socket, ssl, sys, threading
port, path, pki, client, want_fail = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "fail"
data = open(path, "rb").read()
srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
srv.maximum_version = ssl.TLSVersion.TLSv1_2
def chain(crt):  # the leaf then the issuing CA, as s_server -cert_chain sends them
    out = os.path.join(os.path.dirname(path), os.path.basename(crt) + ".chain")
    with open(out, "w") as f:
        f.write(open(f"{pki}/{crt}").read() + open(f"{pki}/public-issuing-ca.crt").read())
    return out
srv.load_cert_chain(chain("webex.crt"), f"{pki}/webex.key")
srv.load_verify_locations(f"{pki}/public-root-ca.crt")
srv.verify_mode = ssl.CERT_REQUIRED
cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cli.maximum_version = ssl.TLSVersion.TLSv1_2
cli.check_hostname = False
cli.verify_mode = ssl.CERT_NONE
cli.load_cert_chain(chain(client + ".crt"), f"{pki}/{client}.key")
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(1)
got = [0]
rejected = []
def serve():
    c, _ = ls.accept()
    try:
        with srv.wrap_socket(c, server_side=True) as s:
            while True:
                b = s.recv(1 << 16)
                if not b:
                    break
                got[0] += len(b)
    except ssl.SSLError as e:
        rejected.append(e)
t = threading.Thread(target=serve)
t.start()
try:
    with cli.wrap_socket(socket.create_connection(("127.0.0.1", port))) as s:
        s.sendall(data)
        try:
            s.unwrap()  # close_notify
        except (ssl.SSLError, OSError):
            pass
except (ssl.SSLError, OSError):
    pass
t.join(30)
if want_fail:
    assert rejected, "the server accepted the client certificate"
else:
    assert got[0] == len(data), f"server got {got[0]} of {len(data)} bytes"
PY
}
# tshark's TLS handshake types in frame $2 of file $1
hs_types() {
	tshark -n -2 -r "$1" -d "tcp.port==$PORT,tls" -o tcp.reassemble_out_of_order:TRUE \
		-Y "frame.number==$2" -T fields -e tls.handshake.type 2>/dev/null
}

CLIENT_SERIAL=$(openssl x509 -in "$PKI/expressway-e-dual.crt" -noout -serial | cut -d= -f2 | tr A-F a-f)
SERVER_SERIAL=$(openssl x509 -in "$PKI/webex.crt" -noout -serial | cut -d= -f2 | tr A-F a-f)
# a server-only certificate used as a client's: a finding at its Certificate
SERVERONLY_SERIAL=$(openssl x509 -in "$PKI/expressway-e-server.crt" -noout -serial | cut -d= -f2 | tr A-F a-f)

# ---- -C 1: FILE, FILE1, FILE2 ...; rows name the file of their packet
start_ek -o "$T/live.csv" --findings "$T/findings.csv" --certs "$T/certs.csv" -w "$T/ev/c.pcap" -C 1
session "$T/3mb"
session "$T/3mb" expressway-e-server fail
session "$T/3mb"
sleep 0.5
stop_ek
ls "$T/ev" >"$T/ls"
[[ -s $T/ev/c.pcap && -s $T/ev/c.pcap1 && -s $T/ev/c.pcap5 ]] || { cat "$T/ls" >&2; fail "-C 1: not split into c.pcap, c.pcap1 ... (6 MB)"; }
grep -Eqv '^c\.pcap[0-9]*$' "$T/ls" && { cat "$T/ls" >&2; fail "-C 1: unexpected file names"; }
for f in "$T"/ev/c.pcap*; do
	s=$(stat -c %s "$f")
	# tcpdump's rule: a new file once the current one holds more than 1,000,000 bytes
	((s < 1000000 + 262144 + 16)) || fail "$f: $s bytes, over the limit by more than a packet"
done
n=$(wc -l <"$T/ls")
grep -q "evidence: $n files written (-w), the last $T/ev/c.pcap$((n - 1))\$" "$T/ek.out" || fail "summary does not count the $n evidence files"
ok "-C 1 naming and sizes"

# every leaf Certificate row: (file, frame) is a Certificate (type 11) by tshark
python3 - "$T/live.csv" "$CLIENT_SERIAL" "$SERVER_SERIAL" "$SERVERONLY_SERIAL" >"$T/leaves" <<'PY' || fail "timeline CSV"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
leaves = [r for r in rows if r["event"] == "Certificate" and r["cert_index"] == "0"]
serials = {r["cert_serial"] for r in leaves}
assert set(sys.argv[2:5]) == serials, f"leaf serials {serials}"
assert len(leaves) == 6, f"{len(leaves)} leaf rows, want 6 (3 sessions x 2 sides)"
for r in leaves:
    print(r["file"], r["frame"])
PY
files_used=$(cut -d' ' -f1 "$T/leaves" | sort -u | wc -l)
((files_used >= 2)) || fail "all leaf rows in one file: the second session should be in a later one"
while read -r f fr; do
	[[ -f $f ]] || fail "leaf row names $f: no such file"
	[[ $(hs_types "$f" "$fr") == *11* ]] || fail "$f frame $fr is not a Certificate by tshark ($(hs_types "$f" "$fr"))"
done <"$T/leaves"
ok "timeline leaf rows point at Certificate packets in their evidence files"

# certs CSV: first_frame / last_frame are FILE:FRAME, each a Certificate
python3 - "$T/certs.csv" >"$T/certrefs" <<'PY' || fail "certs CSV"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert rows, "no certs rows"
for r in rows:
    for k in ("first_frame", "last_frame"):
        f, _, fr = r[k].rpartition(":")
        assert f and fr.isdigit(), f"{k} {r[k]!r} does not name its file"
        print(f, fr)
PY
while read -r f fr; do
	[[ $(hs_types "$f" "$fr") == *11* ]] || fail "certs CSV: $f frame $fr is not a Certificate"
done <"$T/certrefs"
ok "certs CSV first/last frames point at Certificate packets"

# findings: the server-only client certificate's, at its Certificate packet
python3 - "$T/findings.csv" "$SERVERONLY_SERIAL" >"$T/findrefs" <<'PY' || fail "findings CSV"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["cert_serial"] == sys.argv[2]]
assert rows, "no finding about the server-only client certificate"
for r in rows:
    print(r["file"], r["frame"])
PY
while read -r f fr; do
	[[ -f $f ]] || fail "finding names $f: no such file"
	[[ $(hs_types "$f" "$fr") == *11* ]] || fail "finding: $f frame $fr is not a Certificate"
done <"$T/findrefs"
ok "findings point at the Certificate packet in its evidence file"

# ---- -C 1 -W 3: a ring c0..c2, no more names
rm -f "$T"/ev/*
start_ek -q -o "$T/ring.csv" -w "$T/ev/r.pcap" -C 1 -W 3
session "$T/5mb"
sleep 0.3
stop_ek
[[ $(cd "$T/ev" && echo *) == "r.pcap0 r.pcap1 r.pcap2" ]] || fail "-W 3 ring: files $(cd "$T/ev" && echo *)"
python3 - "$T/ring.csv" "$T/ev" <<'PY' || fail "-W 3: rows name files outside the ring"
import csv, sys
names = {r["file"] for r in csv.DictReader(open(sys.argv[1], newline=""))}
assert names and names <= {f"{sys.argv[2]}/r.pcap{i}" for i in range(3)}, names
PY
rm -f "$T"/ev/*
start_ek -q -w "$T/ev/p.pcap" -C 1 -W 12
stop_ek
[[ -f $T/ev/p.pcap00 ]] || fail "-W 12: first file not p.pcap00 ($(ls "$T/ev"))"
ok "-W ring names (padded as tcpdump)"

# ---- -G 1: strftime names, a new file each second with packets
rm -f "$T"/ev/*
t0=$(date +%s)
start_ek -q -w "$T/ev/g-%s.pcap" -G 1
for _ in 1 2 3; do session "$T/3mb"; sleep 1.1; done
stop_ek
t1=$(date +%s)
mapfile -t gs < <(cd "$T/ev" && ls)
((${#gs[@]} >= 2)) || fail "-G 1: ${#gs[@]} files"
for g in "${gs[@]}"; do
	[[ $g =~ ^g-([0-9]+)\.pcap$ ]] || fail "-G name $g"
	((BASH_REMATCH[1] >= t0 && BASH_REMATCH[1] <= t1)) || fail "-G name $g outside $t0..$t1"
done
ok "-G strftime names"

# -G 1 -W 2: stops by itself after 2 files, exit 0, as tcpdump
rm -f "$T"/ev/*
start_ek -q -w "$T/ev/h-%s.pcap" -G 1 -W 2
for _ in 1 2 3 4; do
	kill -0 "$EKPID" 2>/dev/null || break
	session "$T/3mb"; sleep 1.1
done
for _ in $(seq 50); do kill -0 "$EKPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$EKPID" 2>/dev/null && fail "-G 1 -W 2 did not stop by itself"
stop_ek 0
[[ $(ls "$T/ev" | wc -l) == 2 ]] || fail "-G 1 -W 2: $(ls "$T/ev")"
ok "-G with -W stops after N files"

# ---- never overwrite the user's data: rotated names checked up front ...
echo keep >"$T/ev/k.pcap2"
rc=0
"$EK" -i lo -w "$T/ev/k.pcap" -C 1 --keylog "$T/ev/k.pcap2" 2>"$T/ek.err" >/dev/null || rc=$?
[[ $rc == 2 ]] && grep -q "refusing to overwrite" "$T/ek.err" || fail "-C: a later name that is the --keylog file not refused ($rc)"
rc=0
"$EK" -i lo -w "$T/ev/o.pcap" -C 1 -W 4 -o "$T/ev/o.pcap3" 2>"$T/ek.err" >/dev/null || rc=$?
[[ $rc == 2 ]] && grep -q "refusing to overwrite" "$T/ek.err" || fail "-W: a ring name that is the -o file not refused ($rc)"
# ... and at each rotation (-G names are known only then)
start_ek -q -w "$T/ev/k.pcap" -G 3600 -C 1 --keylog "$T/ev/k.pcap2"
session "$T/3mb"
for _ in $(seq 50); do kill -0 "$EKPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$EKPID" 2>/dev/null && fail "rotation onto the --keylog file did not end the run"
rc=0
wait "$EKPID" || rc=$?
((rc != 0)) && grep -q "refusing to overwrite" "$T/ek.err" || fail "rotation onto the --keylog file: exit $rc"
[[ $(cat "$T/ev/k.pcap2") == keep ]] || fail "the --keylog file was overwritten"
ok "rotated names never overwrite an input or output"
# combinations tcpdump has no meaning for (or that are not supported) are refused
for args in "-W 3" "-G 1 -C 1 -W 3" "-C 0" "-C x"; do
	rc=0
	# shellcheck disable=SC2086
	"$EK" -i lo -w "$T/ev/x.pcap" $args 2>"$T/ek.err" >/dev/null || rc=$?
	[[ $rc == 2 && $(wc -l <"$T/ek.err") == 1 ]] || fail "'-w F $args' not refused with one line ($rc)"
done
[[ ! -e $T/ev/x.pcap ]] || fail "a refused command line created the -w file"
ok "invalid rotation options refused"
echo "$passed passed, 0 failed"
