#!/usr/bin/env bash
# Live soak test (issue 5): ekuscope -i lo for MINUTES while openssl runs
# mutual-TLS handshakes back to back; prints ekuscope's RSS every 15 s so
# steady memory can be seen.  Root needed.  Loopback traffic only.
#   bench/soak.sh [MINUTES=5] [EKUSCOPE=build/ekuscope]
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-5}
EK=${2:-build/ekuscope}
PKI=samples/pki
T=$(mktemp -d)
chmod 755 "$T"
PORT=$((20000 + RANDOM % 20000))
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

"$EK" -i lo -o "$T/live.csv" "tcp port $PORT" >"$T/ek.out" 2>"$T/ek.err" &
EKPID=$!
PIDS+=("$EKPID")
for _ in $(seq 100); do grep -q "listening" "$T/ek.err" && break; sleep 0.1; done
mkfifo "$T/hold"
exec 9<>"$T/hold"
openssl s_server -accept "127.0.0.1:$PORT" -tls1_2 -Verify 1 -quiet \
	-cert "$PKI/webex.crt" -key "$PKI/webex.key" -cert_chain "$PKI/public-issuing-ca.crt" \
	-CAfile "$PKI/public-root-ca.crt" <&9 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
(
	while :; do
		echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -no_ign_eof \
			-cert "$PKI/expressway-e-dual.crt" -key "$PKI/expressway-e-dual.key" \
			-cert_chain "$PKI/public-issuing-ca.crt" -CAfile "$PKI/public-root-ca.crt" >/dev/null 2>&1 || true
	done
) &
PIDS+=($!)

end=$((SECONDS + MIN * 60))
printf '%8s %10s %10s\n' seconds rss_kib rows
t0=$SECONDS
while ((SECONDS < end)); do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$EKPID/status")
	rows=$(wc -l <"$T/live.csv")
	printf '%8d %10s %10s\n' $((SECONDS - t0)) "$rss" "$rows"
	sleep 15
done
kill -INT "$EKPID"
wait "$EKPID" || true
grep -E "Summary|handshakes|capture:" "$T/ek.out"
