#!/usr/bin/env bash
# make-template.sh - record the one handshake the bench needs that samples/
# does not have: mutual TLS 1.2 where both sides send a 3-certificate chain
# (leaf, Public Issuing CA, Public Root CA), made with the sample PKI
# (samples/pki) by `openssl s_server` <-> `openssl s_client` on 127.0.0.1 and
# captured with `tcpdump -i lo`, as samples/make-samples.sh does.
#
#     sudo bash bench/make-template.sh     # -> bench/templates/mtls3-chain.pcap
#
# Run only to change the template: a new run has new keys and random bytes,
# so the generated bench captures change too.  bench/gen replays the
# template's TCP payloads; addresses, ports and TCP numbers are its own.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/../samples/pki
OUT=$HERE/templates/mtls3-chain.pcap
PORT=${EK_TEMPLATE_PORT:-15061}   # not a port the sample script uses
[[ $(id -u) == 0 ]] || { echo "make-template.sh: run as root (tcpdump on lo)" >&2; exit 1; }
for t in openssl tcpdump ss; do command -v $t >/dev/null || { echo "make-template.sh: needs $t" >&2; exit 1; }; done

W=$(mktemp -d /tmp/ekuscope-template.XXXXXX)
chmod 755 "$W"
TD= SV=
cleanup() { for p in $SV $TD; do kill "$p" 2>/dev/null || true; done; { exec 9>&-; } 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

cat "$PKI/public-issuing-ca.crt" "$PKI/public-root-ca.crt" >"$W/chain.pem"
mkfifo "$W/hold"
exec 9<>"$W/hold"

tcpdump -i lo -s 0 -U --immediate-mode -Z root -w "$W/raw.pcap" "tcp port $PORT" 2>"$W/td.err" &
TD=$!
for _ in $(seq 200); do grep -q "listening on" "$W/td.err" && break; sleep 0.02; done
openssl s_server -accept "127.0.0.1:$PORT" -naccept 1 -tls1_2 \
	-cert "$PKI/webex.crt" -key "$PKI/webex.key" -cert_chain "$W/chain.pem" \
	-Verify 1 -verify_return_error -purpose sslclient -CAfile "$PKI/public-root-ca.crt" <&9 >"$W/server.log" 2>&1 &
SV=$!
for _ in $(seq 250); do [[ -n $(ss -Hltn "sport = :$PORT") ]] && break; sleep 0.02; done
{ sleep 0.4; echo Q; } | timeout 15 openssl s_client -connect "127.0.0.1:$PORT" -no_ign_eof -tls1_2 \
	-cert "$PKI/expressway-e-dual.crt" -key "$PKI/expressway-e-dual.key" -cert_chain "$W/chain.pem" \
	-CAfile "$PKI/public-root-ca.crt" -servername sip.webex.example.com >"$W/client.log" 2>&1 || true
for _ in $(seq 250); do kill -0 "$SV" 2>/dev/null || break; sleep 0.02; done
kill "$SV" 2>/dev/null || true
wait "$SV" || true
SV=
sleep 0.15
kill -INT "$TD"
wait "$TD" || true
TD=
grep -m1 'Verify return code' "$W/client.log" >&2 || true
mkdir -p "$(dirname "$OUT")"
cp "$W/raw.pcap" "$OUT"
echo "wrote $OUT" >&2
