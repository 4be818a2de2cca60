#!/usr/bin/env bash
# The check behind tests/tshark_corrections.tsv can fail: every correction
# is confirmed by the bytes (tests/tshark_bytes.py, no ekuscope), and the
# same corrections with the corrected frame one off are all refused, fail
# the run and leave the corrected reference as tshark had it.
# Env (set by ctest): EKUSCOPE, EK_SRC, EK_SHARED.
set -u
: "${EK_SRC:?}" "${EKUSCOPE:?}"
: "${EK_SHARED:=$EK_SRC/../shared}"
here=$EK_SRC/tests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

run() { # corrections file -> output in $tmp/out, exit status in $rc
	python3 "$here/tshark_agreement.py" --ekuscope "$EKUSCOPE" --shared "$EK_SHARED" -v -j 2 \
		--corrections "$1" --only openvpn_tcp_multi --only tls-fragmented-handshake \
		--only tls_invalid_reads >"$tmp/out" 2>&1
	rc=$?
}

n=$(grep -vc '^#' "$here/tshark_corrections.tsv")
run "$here/tshark_corrections.tsv"
[ "$rc" -eq 0 ] && ok || { bad "the corrections as they are: exit $rc"; tail -5 "$tmp/out"; }
[ "$(grep -c '^  verified correction' "$tmp/out")" -eq "$n" ] && ok || bad "not all $n corrections verified"
grep -q "tshark with $n corrections, $n verified on the bytes" "$tmp/out" && ok || bad "summary line"

# every corrected frame one off: the bytes confirm none
awk -F'\t' 'BEGIN { OFS = "\t" } /^#/ { print; next } { sub(/^frame=/, "", $5); $5 = "frame=" ($5 + 1); print }' \
	"$here/tshark_corrections.tsv" >"$tmp/off.tsv"
run "$tmp/off.tsv"
[ "$rc" -ne 0 ] && ok || bad "wrong corrections: exit 0"
[ "$(grep -c '^  UNVERIFIED correction' "$tmp/out")" -eq "$n" ] && ok || bad "not all $n wrong corrections refused"
grep -q "tshark with $n corrections, 0 verified on the bytes" "$tmp/out" && ok || bad "summary line (wrong corrections)"
grep -q "FAIL: $n correction(s) not verified on the bytes" "$tmp/out" && ok || bad "no FAIL line"
# refused corrections are not applied: the reference is tshark's own
grep -q '^tshark agreement: compared=27 matched=13 ' "$tmp/out" && ok || bad "raw figures: $(grep '^tshark agreement' "$tmp/out")"
grep -q '^corrected reference.*compared=27 matched=13 ' "$tmp/out" && ok || bad "refused corrections were applied"

echo "tshark corrections: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
