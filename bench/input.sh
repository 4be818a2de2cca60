#!/usr/bin/env bash
# input.sh - what reading pcapng and compressed captures costs (docs/performance.md).
#
#     bench/input.sh [-n REPS] [--base OLD_EKUSCOPE] [FILE.pcap]
#
# From FILE (default bench/out/handshake-heavy.pcap; bench/run.sh gen makes
# it) it makes FILE.pcapng (editcap -F pcapng) and FILE.gz (gzip -6) when
# missing, then runs REPS times each (default 5), interleaved, through
# bench/runstat:
#   pcap        ekuscope -q -o NULL FILE           (the classic-pcap fast path)
#   pcapng      ekuscope -q -o NULL FILE.pcapng    (our pcapng block reader)
#   base-pcapng OLD -q -o NULL FILE.pcapng         (--base: a build that reads
#                                                   pcapng through libpcap)
#   gz          ekuscope -q -o NULL FILE.gz        (decompression thread)
#   zcat-pipe   sh -c 'zcat FILE.gz | ekuscope -q -o NULL -'
# and prints the median wall and CPU seconds of each and the ratios the
# issue asks for: pcapng / base-pcapng (<= 1), gz / zcat-pipe (<= 1.2).
# Environment: EK_BUILD (default build-bench, Release).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPS=5 BASE="" FILE=$HERE/out/handshake-heavy.pcap
while (($#)); do
	case $1 in
	-n) REPS=$2; shift ;;
	--base) BASE=$2; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) FILE=$1 ;;
	esac
	shift
done
bench_build ekuscope ek_runstat
EK=$BUILD/ekuscope RS=$BUILD/bench/ek_runstat
[[ -f $FILE ]] || "$HERE/run.sh" gen
NG=${FILE%.pcap}.pcapng GZ=$FILE.gz
[[ -f $NG ]] || editcap -F pcapng "$FILE" "$NG"
[[ -f $GZ ]] || gzip -6 -c "$FILE" >"$GZ"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
ln -s /dev/null "$OUT/NULL"
cat "$FILE" "$NG" "$GZ" >/dev/null # warm the page cache

declare -A CMD=(
	[pcap]="$EK -q -o $OUT/NULL $FILE"
	[pcapng]="$EK -q -o $OUT/NULL $NG"
	[gz]="$EK -q -o $OUT/NULL $GZ"
	[zcat-pipe]="sh -c 'zcat $GZ | $EK -q -o $OUT/NULL -'"
)
TOOLS=(pcap pcapng gz zcat-pipe)
if [[ -n $BASE ]]; then
	CMD[base-pcapng]="$BASE -q -o $OUT/NULL $NG"
	TOOLS+=(base-pcapng)
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < REPS; r++)); do
	for ((k = 0; k < ${#TOOLS[@]}; k++)); do
		t=${TOOLS[(k + r) % ${#TOOLS[@]}]}
		eval "$RS -o $OUT/$t.txt -- ${CMD[$t]}"
	done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A W
printf '%-12s %8s %8s %8s\n' tool wall_s cpu_s rss_MiB
for t in "${TOOLS[@]}"; do
	W[$t]=$(awk '{print $1}' "$OUT/$t.txt" | med)
	c=$(awk '{print $2 + $3}' "$OUT/$t.txt" | med)
	m=$(awk '{if ($4 > m) m = $4} END {printf "%.0f", m / 1024}' "$OUT/$t.txt")
	printf '%-12s %8.3f %8.3f %8s\n' "$t" "${W[$t]}" "$c" "$m"
done
awk -v a="${W[gz]}" -v b="${W[zcat-pipe]}" 'BEGIN {printf "gz / zcat-pipe      %.2f (target <= 1.2)\n", a / b}'
awk -v a="${W[pcapng]}" -v b="${W[pcap]}" 'BEGIN {printf "pcapng / pcap       %.2f\n", a / b}'
if [[ -n $BASE ]]; then
	awk -v a="${W[pcapng]}" -v b="${W[base-pcapng]}" 'BEGIN {printf "pcapng / base-pcapng %.2f (target <= 1)\n", a / b}'
fi
