#!/usr/bin/env bash
# A handshake cut off by the end of the capture gets handshake_unfinished
# (info), naming what is not in the file; one that completed before the cut
# gets none; a failed one keeps handshake_failed.  Cuts made with editcap -r
# (capture stopped) and head -c (file truncated inside a packet); what tshark
# sees in each cut file is checked first, so the expectations rest on the bytes.
set -euo pipefail
: "${EK_SRC:?}" "${EKUSCOPE:?}"
S=$EK_SRC/samples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# findings CSV rows of code $2 for capture $1 (extra ekuscope args after)
findings() {
	local f=$1 code=$2
	shift 2
	"$EKUSCOPE" -q --findings "$tmp/f.csv" "$@" "$f" >/dev/null 2>"$tmp/err" || return 1
	grep "^$code," "$tmp/f.csv" || true
}
# tshark's TLS messages of frame $2 in capture $1 (port 5061 is TLS)
tshark_info() { tshark -n -2 -r "$1" -d tcp.port==5061,tls -Y "frame.number==$2" -T fields -e _ws.col.Info 2>/dev/null; }

# 1. capture stopped after the ClientHello
editcap -r "$S/webex-mtls-5061.pcap" "$tmp/hello.pcap" 1-5
case "$(tshark_info "$tmp/hello.pcap" 4)" in *"Client Hello"*) ok ;; *) bad "tshark: no ClientHello in frame 4" ;; esac
got=$(findings "$tmp/hello.pcap" handshake_unfinished)
want="ends at frame 5 after the client's ClientHello (frame 4): the server's reply (ServerHello) and the rest of the handshake are not in the file"
case "$got" in "handshake_unfinished,info,hello.pcap,5,0,"*"$want") ok ;; *) bad "stopped after ClientHello: got '$got'" ;; esac

# 2. capture stopped inside the server's Certificate (it spans frames 7-8)
editcap -r "$S/segmented-flight-5061.pcap" "$tmp/cert.pcap" 1-7
case "$(tshark_info "$S/segmented-flight-5061.pcap" 8)" in *Certificate*) ok ;; *) bad "tshark: Certificate not completed in frame 8" ;; esac
case "$(tshark_info "$tmp/cert.pcap" 7)" in *Certificate*) bad "tshark: Certificate complete in the cut file" ;; *) ok ;; esac
got=$(findings "$tmp/cert.pcap" handshake_unfinished)
want="ends at frame 7 inside the server's Certificate: the rest of the server's Certificate and of the handshake are not in the file"
case "$got" in *"$want") ok ;; *) bad "stopped inside Certificate: got '$got'" ;; esac

# 3. file truncated inside frame 6 (the server's flight): read up to the cut
python3 - "$S/webex-mtls-5061.pcap" "$tmp/trunc.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 24
for _ in range(5):
    off += 16 + struct.unpack("<I", d[off + 8:off + 12])[0]
open(sys.argv[2], "wb").write(d[:off + 16 + 700])  # 700 of frame 6's bytes
PY
got=$(findings "$tmp/trunc.pcap" handshake_unfinished)
case "$got" in *"ends at frame 5 after the client's ClientHello (frame 4)"*) ok ;; *) bad "truncated file: got '$got'" ;; esac
grep -q "truncated" "$tmp/err" && ok || bad "truncated file: no warning on stderr"

# 4. TLS 1.3 without keys, stopped after the server's flight: the client's
#    encrypted flight is missing; with everything up to the client's flight
#    the outcome cannot be told, so nothing is said
editcap -r "$S/tls13-mtls-5061.pcap" "$tmp/t13.pcap" 1-7
got=$(findings "$tmp/t13.pcap" handshake_unfinished)
case "$got" in *"the client's encrypted flight (with its Finished) is not in the file") ok ;; *) bad "TLS 1.3 cut: got '$got'" ;; esac
editcap -r "$S/tls13-mtls-5061.pcap" "$tmp/t13b.pcap" 1-8
[ -z "$(findings "$tmp/t13b.pcap" handshake_unfinished)" ] && ok || bad "TLS 1.3 with the client's flight: finding"

# 5. handshakes completed before the cut: none (TLS 1.2; TLS 1.3 with keys)
editcap -r "$S/webex-mtls-5061.pcap" "$tmp/done12.pcap" 1-9
case "$(tshark_info "$tmp/done12.pcap" 9)" in *"Encrypted Handshake Message"*) ok ;; *) bad "tshark: no server Finished in frame 9" ;; esac
[ -z "$(findings "$tmp/done12.pcap" handshake_unfinished)" ] && ok || bad "TLS 1.2 done before the cut: finding"
[ -z "$(findings "$tmp/t13b.pcap" handshake_unfinished --keylog "$S/tls13-mtls-5061.keylog")" ] && ok ||
	bad "TLS 1.3 done before the cut (keys): finding"
#    ... and with keys, stopped before the client's Finished: named
got=$(findings "$tmp/t13.pcap" handshake_unfinished --keylog "$S/tls13-mtls-5061.keylog")
case "$got" in *"the client's Finished is not in the file") ok ;; *) bad "TLS 1.3 cut with keys: got '$got'" ;; esac

# 6. a failed handshake keeps handshake_failed, and only that
[ -n "$(findings "$S/ssh-tunnel-2222-no-clientauth.pcap" handshake_failed)" ] && ok || bad "no handshake_failed"
[ -z "$(findings "$S/ssh-tunnel-2222-no-clientauth.pcap" handshake_unfinished)" ] && ok || bad "failed: also unfinished"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
