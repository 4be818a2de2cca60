#!/usr/bin/env bash
# The text report keeps only what it can show (issue 14: memory per
# distinct certificate): the message of a code's first 20 aggregates and
# of the first at each server, the ladders of the first 10 failed
# handshakes (the rest counted).  What it prints must not depend on that:
# every example has its message, the counts add up, and two files read
# with -j 2 (a worker's findings merged after the first file's) give the
# report of -j 1.
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
for seed in 11 12; do
	"$GEN" -s $seed -n 1200 -c 100 --req 100 --resp 300 --leaf-variants 1200 -o "$T/f$seed.pcap" \
		"$S/traversal-7001-no-clientauth.pcap:3" "$S/sni-mismatch-443.pcap:2" \
		"$S/expired-server-cert-443.pcap:1" "$S/webex-mtls-5061.pcap:1" 2>/dev/null ||
		{ echo "FAIL: generator"; exit 1; }
done
F1=$T/f11.pcap F2=$T/f12.pcap
"$EK" -j 1 -o /dev/null --findings "$T/f.csv" "$F1" "$F2" >"$T/r1.txt" 2>"$T/err"
"$EK" -j 2 -o /dev/null "$F1" "$F2" >"$T/r2.txt" 2>>"$T/err"
"$EK" -o /dev/null "$F1" >"$T/one.txt" 2>>"$T/err"
[[ -s $T/err ]] && bad "stderr: $(head -3 "$T/err")"
# the summary names the run's time and memory: compare from the findings on
sed -n '/^\(ERRORS\|WARNINGS\|INFO\) (/,$p' "$T/r1.txt" >"$T/a"
sed -n '/^\(ERRORS\|WARNINGS\|INFO\) (/,$p' "$T/r2.txt" >"$T/b"
if [[ -s $T/a ]] && cmp -s "$T/a" "$T/b"; then ok; else bad "-j 2 report differs from -j 1: $(diff "$T/a" "$T/b" | head -5)"; fi

for r in r1 one; do
	R=$T/$r.txt
	# every finding line (with its wrapped continuation) has a message: no
	# example lost
	empty=$(awk '/^    - / { if (l != "") print l; l = $0; next }
		/^      [^ ]/ && l != "" { l = l " " substr($0, 7); next }
		{ if (l != "") print l; l = "" }
		END { if (l != "") print l }' "$R" |
		grep -cE '^    -$|for example:$|^    - \(x[0-9]+\)$')
	lines=$(grep -c '^    - ' "$R")
	if ((lines > 20 && empty == 0)); then ok; else bad "$r: $empty of $lines finding lines without a message"; fi
	# failed handshakes: 10 ladders, the rest counted
	n=$(sed -nE 's/^FAILED HANDSHAKES \(([0-9]+) distinct\)$/\1/p' "$R")
	shown=$(grep -c '^    frame   +ms' "$R")
	more=$(sed -nE 's/^  \(([0-9]+) more failed handshakes: see --findings\)$/\1/p' "$R")
	if ((n > 10 && shown == 10 && more == n - 10)); then ok; else bad "$r: ${n:-no} failed handshakes, $shown ladders, ${more:-no} more"; fi
	# a code with more than 20 aggregates is grouped by server, each group
	# with its example
	g=$(grep -c '^    - [0-9]* findings with server ' "$R")
	if ((g >= 1)); then ok; else bad "$r: no grouped findings with an example"; fi
done
# the distinct failed handshakes: one per client address, server and leaf
want=$(awk -F, '$1 == "handshake_failed" { split($6, c, ":"); print c[1], $7 }' "$T/f.csv" | sort -u | wc -l)
n=$(sed -nE 's/^FAILED HANDSHAKES \(([0-9]+) distinct\)$/\1/p' "$T/r1.txt")
if ((want > 10 && n >= want)); then ok; else bad "failed handshakes: report $n, CSV at least $want"; fi

echo "test_report_examples: $pass passed, $failn failed"
((failn == 0))
