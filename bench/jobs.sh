#!/usr/bin/env bash
# jobs.sh - wall time of `ekuscope -q -o /dev/null -j J A B` for J = 1 and
# 2, with A, B = bench/out/handshake-heavy.pcap and a symlink to it under
# another name (so the files differ in name only), interleaved, N runs
# each, through bench/runstat; prints each run, the medians and the load
# average before and after.
#
#     bench/jobs.sh [-n N] [-j "1 2"] [-o DEST] [FILE]
#     EK_BUILD=build-jobs bench/jobs.sh      # which build (default build-bench)
#
# -o DEST: the timeline CSV's destination (default /dev/null); "file": a
# regular file in the scratch directory, "none": no -o (only -q).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
N=5 JOBS="1 2" FILE=$ROOT/bench/out/handshake-heavy.pcap DEST=/dev/null
while (($#)); do
	case $1 in
	-n) N=$2; shift 2 ;;
	-j) JOBS=$2; shift 2 ;;
	-o) DEST=$2; shift 2 ;;
	*) FILE=$1; shift ;;
	esac
done
BUILD=${EK_BUILD:-$ROOT/build-bench}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
EK=$BUILD/ekuscope RUNSTAT=$BUILD/bench/ek_runstat
[[ -x $EK && -x $RUNSTAT ]] || { echo "jobs.sh: build $BUILD first (ekuscope, ek_runstat)" >&2; exit 2; }
[[ -f $FILE ]] || { echo "jobs.sh: $FILE missing: bench/run.sh gen" >&2; exit 2; }
FILE=$(realpath "$FILE")
W=$(mktemp -d /tmp/ekuscope-jobs.XXXXXX)
trap 'rm -rf "$W"' EXIT
ln -s "$FILE" "$W/copy-$(basename "$FILE")"
case $DEST in
none) OUT=() ;;
file) OUT=(-o "$W/out.csv") ;;
*) OUT=(-o "$DEST") ;;
esac
echo "ekuscope -q ${OUT[*]} -j J $FILE $W/copy-$(basename "$FILE")"
cat "$FILE" >/dev/null # page cache
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= N; i++)); do
	for j in $JOBS; do
		"$RUNSTAT" -o "$W/j$j" -- "$EK" -q "${OUT[@]}" -j "$j" "$FILE" "$W/copy-$(basename "$FILE")"
	done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
for j in $JOBS; do
	echo "-j $j: wall_s user_s sys_s maxrss_kib exit"
	sed 's/^/    /' "$W/j$j"
	wall=$(awk '{print $1}' "$W/j$j" | sort -n | tr '\n' ' ')
	cpu=$(awk '{printf "%.6f\n", $2 + $3}' "$W/j$j" | sort -n | tr '\n' ' ')
	rss=$(awk '$4 > r {r = $4} END {printf "%.1f", r / 1024}' "$W/j$j")
	echo "$wall|$cpu" | awk -F'|' -v j="$j" -v rss="$rss" '{n = split($1, w, " "); split($2, c, " ")
		printf "-j %s: median wall %.3f s (%.3f..%.3f), median cpu %.3f s, peak rss %s MiB\n", j, w[int((n + 1) / 2)], w[1], w[n], c[int((n + 1) / 2)], rss}'
done
