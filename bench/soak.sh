#!/usr/bin/env bash
# Live soak test (issues 5 and 18): ekuscope -i lo for MINUTES while openssl
# runs mutual-TLS handshakes back to back; prints ekuscope's RSS every 15 s so
# steady memory can be seen.  Root needed.  Loopback traffic only.
#   bench/soak.sh [MINUTES=5] [EKUSCOPE=build/ekuscope] [tls12|tls13-keylog]
# tls13-keylog (the default): TLS 1.3 handshakes whose client writes its key
# log during the run, under --keylog (key-log following, holding and
# decryption exercised on every connection); the key log is truncated every
# 1000 lines, as a restarted client would.  tls12: plain TLS 1.2.
# The -w evidence file is written too.  At the end: the summary lines,
# including how many connections waited for their secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-5}
EK=${2:-build/ekuscope}
MODE=${3:-tls13-keylog}
PKI=samples/pki
T=$(mktemp -d)
chmod 755 "$T"
PORT=$((20000 + RANDOM % 20000))
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

K=$T/keys.log
: >"$K"
VER=-tls1_2 KL=() CKL=()
if [[ $MODE == tls13-keylog ]]; then
	VER=-tls1_3 KL=(--keylog "$K") CKL=(-keylogfile "$K")
fi
"$EK" -i lo -o "$T/live.csv" -w "$T/evidence.pcap" "${KL[@]}" "tcp port $PORT" >"$T/ek.out" 2>"$T/ek.err" &
EKPID=$!
PIDS+=("$EKPID")
for _ in $(seq 100); do grep -q "listening" "$T/ek.err" && break; sleep 0.1; done
mkfifo "$T/hold"
exec 9<>"$T/hold"
openssl s_server -accept "127.0.0.1:$PORT" "$VER" -Verify 1 -quiet \
	-cert "$PKI/webex.crt" -key "$PKI/webex.key" -cert_chain "$PKI/public-issuing-ca.crt" \
	-CAfile "$PKI/public-root-ca.crt" <&9 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
(
	while :; do
		echo Q | openssl s_client -connect "127.0.0.1:$PORT" "$VER" -no_ign_eof "${CKL[@]}" \
			-cert "$PKI/expressway-e-dual.crt" -key "$PKI/expressway-e-dual.key" \
			-cert_chain "$PKI/public-issuing-ca.crt" -CAfile "$PKI/public-root-ca.crt" >/dev/null 2>&1 || true
		if (($(wc -l <"$K") > 1000)); then : >"$K"; fi
	done
) &
PIDS+=($!)

end=$((SECONDS + MIN * 60))
echo "mode $MODE; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%8s %10s %10s %10s\n' seconds rss_kib rows leaf_rows
t0=$SECONDS
while ((SECONDS < end)); do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$EKPID/status")
	rows=$(wc -l <"$T/live.csv")
	leaves=$(grep -c ",Certificate,.*,0,[0-9a-f]*," "$T/live.csv" || true)
	printf '%8d %10s %10s %10s\n' $((SECONDS - t0)) "$rss" "$rows" "$leaves"
	sleep 15
done
kill -INT "$EKPID"
wait "$EKPID" || true
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); evidence $(stat -c %s "$T/evidence.pcap") bytes"
grep -E "Summary|handshakes|capture:|decryption|key log followed|connections? with keys" "$T/ek.out"
