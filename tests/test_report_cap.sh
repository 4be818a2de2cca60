#!/usr/bin/env bash
# The text report on a big capture (issue 14 item 6): findings grouped per
# code and server endpoint with counts and one example, at most 20 groups
# and 20 endpoints, then "... and N more"; the CSVs keep every row.
# The capture: bench/gen replays samples as 3000 connections to 80 server
# endpoints, each with its own leaf certificates.
set -uo pipefail
EK=${EKUSCOPE:?} SRC=${EK_SRC:?} B=${EK_BUILD:?}
GEN=$B/bench/ek_bench_gen
if [[ ! -x $GEN ]]; then echo "SKIP: $GEN not built (EK_BENCH=OFF)"; exit 0; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 failn=0
ok() { pass=$((pass + 1)); }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }
S=$SRC/samples
"$GEN" -s 7 -n 3000 -c 200 --req 100 --resp 300 --leaf-variants 3000 -o "$T/fleet.pcap" \
	"$S/webex-mtls-5061.pcap:1" "$S/sni-mismatch-443.pcap:2" "$S/expired-server-cert-443.pcap:2" \
	"$S/tls13-mtls-5061.pcap:1" 2>/dev/null || { echo "FAIL: generator"; exit 1; }
F=$T/fleet.pcap
"$EK" -q -o /dev/null --findings "$T/f.csv" --certs "$T/c.csv" "$F" >"$T/q.txt" 2>"$T/err"
"$EK" -o /dev/null "$F" >"$T/full.txt" 2>>"$T/err"
[[ -s $T/err ]] && bad "stderr: $(head -3 "$T/err")"
q=$(wc -l <"$T/q.txt") full=$(wc -l <"$T/full.txt")
if ((q <= 400)); then ok; else bad "-q printed $q lines (> 400)"; fi
if ((full <= 2000)); then ok; else bad "the report has $full lines (> 2000)"; fi

# every finding stays in the CSV: as many rows as the report's totals
rows=$(($(wc -l <"$T/f.csv") - 1))
total=$(awk '/^(ERRORS|WARNINGS|INFO) \(/ { gsub(/[()]/, "", $2); n += $2 } END { print n + 0 }' "$T/q.txt")
if ((rows > 1000 && rows == total)); then ok; else bad "findings CSV $rows rows, report totals $total"; fi

# each code lists at most 20 groups, then how many it left out; the counts
# add up to the CSV's rows for that code
for code in cert_expired sni_mismatch certs_encrypted; do
	awk -v c="$code" '
		/^  [a-z_]+$/ { in_code = ($1 == c); next }
		!in_code { next }
		/^    - [0-9]+ findings with server / { groups++; s = $0; sub(/.*\(x/, "", s); sub(/ in all.*/, "", s); sum += s; next }
		/^    - / { groups++; s = $0; if (s ~ /\(x[0-9]+\)$/) { sub(/.*\(x/, "", s); sub(/\)$/, "", s); sum += s } else sum++; next }
		/^    \.\.\. and [0-9]+ more at [0-9]+ other servers: see --findings$/ { more = $3 }
		END { print groups + 0, sum + 0, more + 0 }' "$T/q.txt" >"$T/g"
	read -r groups listed more <"$T/g"
	want=$(awk -F, -v c="$code" '$1 == c { n++ } END { print n + 0 }' "$T/f.csv")
	if ((groups >= 1 && groups <= 20)); then ok; else bad "$code: $groups groups listed"; fi
	# one group per server endpoint: 80 endpoints, so the rest is summed up
	servers=$(awk -F, -v c="$code" '$1 == c { print $7 }' "$T/f.csv" | sort -u | wc -l)
	if ((servers > 20)) && [[ $more == 0 ]]; then bad "$code: $servers servers but no '... and N more' line"; else ok; fi
	if ((servers <= 20 && listed == want)) || ((servers > 20 && listed < want)); then ok; else bad "$code: listed $listed of $want"; fi
done
# a group line's count is that server's rows in the CSV
line=$(grep -m1 -A0 '^    - [0-9]* findings with server ' "$T/q.txt")
srv=$(sed -E 's/.* with server ([^ ]+) .*/\1/' <<<"$line") cnt=$(sed -E 's/.*\(x([0-9]+) in all.*/\1/' <<<"$line")
code=$(awk -v l="$line" '/^  [a-z_]+$/ { c = $1 } $0 == l { print c; exit }' "$T/q.txt")
got=$(awk -F, -v c="$code" -v s="$srv" '$1 == c && $7 == s { n++ } END { print n + 0 }' "$T/f.csv")
if [[ -n $srv && $cnt == "$got" ]]; then ok; else bad "group '$line': $got rows in the CSV for $code at $srv"; fi

# endpoints: 20 listed, the rest counted; --certs has every one
entries=$(($(wc -l <"$T/c.csv") - 1))
listed=$(grep -c '^  [0-9].* as \(server\|client\), ' "$T/full.txt")
more=$(sed -nE 's/^  \.\.\. and ([0-9]+) more: see --certs$/\1/p' "$T/full.txt")
if ((entries > 2000 && listed == 20 && more == entries - 20)); then ok; else bad "endpoints: $entries in CSV, $listed listed, ${more:-no} more"; fi

# small captures are unchanged: every finding on its own line
"$EK" -q "$S/expired-server-cert-443.pcap" >"$T/small.txt"
if grep -q '^    - server .* presented certificate' "$T/small.txt" && ! grep -q 'findings with server\|\.\.\. and' "$T/small.txt"; then ok; else bad "small capture: $(head -20 "$T/small.txt")"; fi

echo "test_report_cap: $pass passed, $failn failed"
((failn == 0))
