#!/usr/bin/env bash
# jobs.sh - wall time, CPU time and peak RSS of `ekuscope -q -o /dev/null
# -j J A B` for J = 1 and 2, with A, B = a capture and a symlink to it
# under another name (two inputs: the files differ in name only; with -j 2
# the threads meet the same certificates at the same time, the worst case
# for sharing them), interleaved, N runs each, through bench/runstat;
# prints each run with the load average before it, the medians, and the
# -j 2 / -j 1 ratios (wall speed-up, CPU, peak RSS) and issue 14's target
# for them (at least 1.6x faster, at most 1.5x the peak RSS).  Several FILEs are
# measured one after the other.
#
#     bench/jobs.sh [-n N] [-j "1 2"] [-o DEST] [FILE...]
#     EK_BUILD=build-jobs bench/jobs.sh      # which build (default build-bench)
#     bench/jobs.sh -n 7 -o none bench/out/recurring-certs.pcap bench/out/unique-certs.pcap
#
# -o DEST: the timeline CSV's destination (default /dev/null); "file": a
# regular file in the scratch directory, "none": no -o (only -q).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
N=5 JOBS="1 2" FILES=() DEST=/dev/null
while (($#)); do
	case $1 in
	-n) N=$2; shift 2 ;;
	-j) JOBS=$2; shift 2 ;;
	-o) DEST=$2; shift 2 ;;
	*) FILES+=("$1"); shift ;;
	esac
done
((${#FILES[@]})) || FILES=("$ROOT/bench/out/handshake-heavy.pcap")
BUILD=${EK_BUILD:-$ROOT/build-bench}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
EK=$BUILD/ekuscope RUNSTAT=$BUILD/bench/ek_runstat
[[ -x $EK && -x $RUNSTAT ]] || { echo "jobs.sh: build $BUILD first (ekuscope, ek_runstat)" >&2; exit 2; }
W=$(mktemp -d /tmp/ekuscope-jobs.XXXXXX)
trap 'rm -rf "$W"' EXIT
case $DEST in
none) OUT=() ;;
file) OUT=(-o "$W/out.csv") ;;
*) OUT=(-o "$DEST") ;;
esac
echo "ekuscope: $("$EK" -V) ($BUILD)"
for FILE in "${FILES[@]}"; do
	[[ -f $FILE ]] || { echo "jobs.sh: $FILE missing: bench/run.sh gen" >&2; exit 2; }
	FILE=$(realpath "$FILE")
	COPY=$W/copy-$(basename "$FILE")
	ln -sfn "$FILE" "$COPY"
	echo
	echo "ekuscope -q ${OUT[*]} -j J $FILE $COPY"
	cat "$FILE" >/dev/null # page cache
	for j in $JOBS; do : >"$W/j$j"; done
	for ((i = 1; i <= N; i++)); do
		for j in $JOBS; do
			load=$(cut -d' ' -f1 /proc/loadavg)
			rm -f "$W/r" # runstat appends
			"$RUNSTAT" -o "$W/r" -- "$EK" -q "${OUT[@]}" -j "$j" "$FILE" "$COPY"
			echo "$(cat "$W/r") load $load" >>"$W/j$j"
		done
	done
	for j in $JOBS; do
		echo "-j $j: wall_s user_s sys_s maxrss_kib exit load1"
		sed 's/^/    /' "$W/j$j"
		wall=$(awk '{print $1}' "$W/j$j" | sort -n | tr '\n' ' ')
		cpu=$(awk '{printf "%.6f\n", $2 + $3}' "$W/j$j" | sort -n | tr '\n' ' ')
		rss=$(awk '$4 > r {r = $4} END {printf "%.1f", r / 1024}' "$W/j$j")
		echo "$wall|$cpu" | awk -F'|' -v j="$j" -v rss="$rss" '{n = split($1, w, " "); split($2, c, " ")
			printf "-j %s: median wall %.3f s (%.3f..%.3f), median cpu %.3f s, peak rss %s MiB\n", j, w[int((n + 1) / 2)], w[1], w[n], c[int((n + 1) / 2)], rss}' |
			tee "$W/m$j"
	done
	if [[ -s $W/m1 && -s $W/m2 ]]; then
		awk 'FNR == 1 { f++ } { for (i = 1; i <= NF; i++) { if ($i == "wall") w[f] = $(i + 1); if ($i == "cpu") c[f] = $(i + 1); if ($i == "rss") r[f] = $(i + 1) } }
			END { x = w[1] / w[2]; y = r[2] / r[1]
				printf "-j 2 vs -j 1: wall speed-up %.2fx, cpu %.2fx, peak rss %.2fx\n", x, c[2] / c[1], y
				printf "  target: -j 2 >= 1.6x faster than -j 1: %.2fx %s; peak RSS <= 1.5x: %.2fx %s\n", x,
					(x >= 1.6 ? "MET" : "NOT MET"), y, (y <= 1.5 ? "MET" : "NOT MET") }' "$W/m1" "$W/m2"
	fi
done
