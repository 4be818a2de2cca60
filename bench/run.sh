#!/usr/bin/env bash
# run.sh - ekuscope throughput benchmark (docs/performance.md).
#
#     bench/run.sh                 # build, generate captures if missing, measure
#     bench/run.sh gen             # only (re)generate bench/out/*.pcap + manifests
#     bench/run.sh [-n REPS] [--tshark-reps N] [--no-tshark] [--no-tcpdump]
#                  [--no-jobs] [--build DIR] [--gen] [FILE.pcap ...]
#
# For every capture (default: bench/out/handshake-heavy.pcap, bulk.pcap,
# recurring-certs.pcap and unique-certs.pcap) it runs, REPS times each
# (default 5), interleaved:
#   floor     bench/pcap_floor: pcap_open_offline + pcap_next_ex, nothing else
#   ekuscope  ekuscope -o NULL --certs NULL2 FILE >/dev/null
#             (the full report and the certificate inventory; NULL, NULL2:
#             symlinks to /dev/null)
#   tcpdump   tcpdump -r FILE -w /dev/null          (when installed)
# and tshark (when installed; --tshark-reps times, default 1: it is slow)
#   tshark -r FILE -T fields -e frame.number -e tls.handshake.type
#          -e x509af.serialNumber -e x509ce.KeyPurposeId -d tcp.port==N,tls ...
# through bench/runstat (wall clock, user+sys CPU, peak RSS from wait4).
# It prints median wall time with min..max, median CPU time, MB/s,
# handshakes/s, peak RSS and each tool's median time as a multiple of the
# floor's median in the same run, checks the targets, and checks that
# ekuscope reports as many certificate rows as the capture's manifest says.
# Then (unless --no-jobs) bench/jobs.sh on recurring-certs.pcap, REPS runs:
# -j 2 against -j 1 on the capture and a copy, and issue 14's target.
# Columns: wall_s median wall time (min..max over the runs), cpu_s median
# user+sys, MB/s and hs/s (handshakes per second) from the median wall
# time, rss_MiB peak resident set (max over the runs), x_floor median wall
# / floor's median wall, min_x best run / floor's best run, cpu_x median
# CPU / floor's median CPU.  Results also go to bench/out/results.txt.
#
# Environment: EK_BUILD (build dir, default build-bench, Release, no
# sanitizers), EK_BENCH_REPS, EK_TSHARK_REPS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPS=${EK_BENCH_REPS:-5}
TSHARK_REPS=${EK_TSHARK_REPS:-1}
USE_TSHARK=1 USE_TCPDUMP=1 USE_JOBS=1 FORCE_GEN=0 GEN_ONLY=0
FILES=()
while (($#)); do
	case $1 in
	gen) GEN_ONLY=1 FORCE_GEN=1 ;;
	--gen) FORCE_GEN=1 ;;
	-n) REPS=$2; shift ;;
	--tshark-reps) TSHARK_REPS=$2; shift ;;
	--no-tshark) USE_TSHARK=0 ;;
	--no-tcpdump) USE_TCPDUMP=0 ;;
	--no-jobs) USE_JOBS=0 ;;
	--build) BUILD=$2; shift ;;
	-h | --help) sed -n '2,34p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) FILES+=("$1") ;;
	esac
	shift
done

# ---------------------------------------------------------------- build
bench_build ekuscope ek_pcap_floor ek_runstat ek_bench_gen
EK=$BUILD/ekuscope FLOOR=$BUILD/bench/ek_pcap_floor RUNSTAT=$BUILD/bench/ek_runstat GEN=$BUILD/bench/ek_bench_gen

# ------------------------------------------------------------- captures
# Connection mix: 50 % mutual TLS 1.2 (35 % with 3-certificate chains both
# ways, 15 % with 2-certificate chains), 30 % server-only TLS 1.2 (2-cert
# chain), 20 % TLS 1.3 (certificates encrypted).
S=$ROOT/samples
TEMPLATES=(
	"$HERE/templates/mtls3-chain.pcap:350"
	"$S/webex-mtls-5061.pcap:50" "$S/neighbor-zone-5061.pcap:50" "$S/core-cucm-8443.pcap:50"
	"$S/sni-mismatch-443.pcap:150" "$S/expired-server-cert-443.pcap:150"
	"$S/tls13-mtls-5061.pcap:200"
)
CAPTURES=(handshake-heavy bulk recurring-certs unique-certs)
gen() {
	mkdir -p "$OUT"
	log "generating $OUT/{handshake-heavy,recurring-certs,unique-certs}.pcap (~300 MB each) and $OUT/bulk.pcap (~1.1 GB)"
	# handshake-heavy: 30k connections, a 600-byte request and a 4 kB answer each
	"$GEN" -s 1 -n 30000 -c 1000 --req 600 --resp 4000 -o "$OUT/handshake-heavy.pcap" "${TEMPLATES[@]}"
	# bulk: 10k connections, ~100 kB of application data records each
	"$GEN" -s 2 -n 10000 -c 1000 --req 400 --resp 100000 -o "$OUT/bulk.pcap" "${TEMPLATES[@]}"
	# recurring-certs: as handshake-heavy, each leaf in one of 620 variants
	# (serial patched) used in a cycle: ~4 230 distinct certificates
	"$GEN" -s 4 -n 30000 -c 1000 --req 600 --resp 4000 --leaf-variants 620 -o "$OUT/recurring-certs.pcap" "${TEMPLATES[@]}"
	# unique-certs: every connection presents its own leaves (a phone fleet;
	# ~38 800 distinct certificates)
	"$GEN" -s 3 -n 30000 -c 1000 --req 600 --resp 4000 --leaf-variants 30000 -o "$OUT/unique-certs.pcap" "${TEMPLATES[@]}"
}
missing=0
for c in "${CAPTURES[@]}"; do [[ -f $OUT/$c.pcap ]] || missing=1; done
if ((FORCE_GEN || missing)); then gen; fi
((GEN_ONLY)) && exit 0
((${#FILES[@]})) || for c in "${CAPTURES[@]}"; do FILES+=("$OUT/$c.pcap"); done

command -v tshark >/dev/null || USE_TSHARK=0
command -v tcpdump >/dev/null || USE_TCPDUMP=0

W=$(mktemp -d /tmp/ekuscope-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
# ekuscope writes its CSV through this symlink: any build writes to
# /dev/null, and none can rename a temporary file over /dev/null itself.
ln -s /dev/null "$W/null"
ln -s /dev/null "$W/null2"

TSHARK_ARGS=(-T fields -e frame.number -e tls.handshake.type -e x509af.serialNumber -e x509ce.KeyPurposeId
	-d tcp.port==5061,tls -d tcp.port==8443,tls -d tcp.port==2222,tls -d tcp.port==7001,tls)

tool_cmd() { # TOOL FILE -> the command line, one word per line
	case $1 in
	floor) printf '%s\n' "$FLOOR" "$2" ;;
	ekuscope) printf '%s\n' "$EK" -o "$W/null" --certs "$W/null2" "$2" ;;
	tcpdump) printf '%s\n' tcpdump -r "$2" -w /dev/null ;;
	tshark) printf '%s\n' tshark -r "$2" "${TSHARK_ARGS[@]}" ;;
	esac
}

measure() { # TOOL FILE TAG
	local -a cmd
	mapfile -t cmd < <(tool_cmd "$1" "$2")
	if ! "$RUNSTAT" -o "$W/$3.$1" --stdout /dev/null --stderr "$W/$3.$1.err" -- "${cmd[@]}"; then
		echo "run.sh: $1 failed on $2:" >&2
		tail -5 "$W/$3.$1.err" >&2
		exit 1
	fi
}

# stats FILE COLUMN -> "median min max" of that column (1 = wall, 2+3 = cpu, 4 = rss)
stats() {
	awk -v c="$2" '{ v = (c == "cpu") ? $2 + $3 : $c; print v }' "$1" | sort -g |
		awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[1], a[NR] }'
}

manifest_get() { # MANIFEST KEY
	[[ -f $1 ]] && awk -F= -v k="$2" '$1 == k { print $2 }' "$1" || true
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
	echo "ekuscope benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $(nproc) cores, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "ekuscope: $("$EK" -V) ($BUILD, $(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$BUILD/CMakeCache.txt"))"
	echo "libpcap: $("$FLOOR" --version)"
	((USE_TSHARK)) && echo "tshark: $(tshark --version 2>/dev/null | head -1)"
	echo "repetitions: $REPS (tshark: $TSHARK_REPS); page cache warm; single-threaded tools"
	awk -v n="$(nproc)" '$1 > n / 2 { printf "note: load average %s on %d cores: other work shares the CPUs, wall times are inflated\n      and noisy (compare the min and cpu_x columns too)\n", $1, n }' /proc/loadavg
} | tee "$W/header"

status=0
for f in "${FILES[@]}"; do
	[[ -f $f ]] || { echo "run.sh: no such file: $f" >&2; exit 2; }
	tag=$(basename "$f" .pcap)
	man=${f%.pcap}.manifest
	bytes=$(stat -L -c %s "$f")
	hs=$(manifest_get "$man" handshakes)
	log "$tag: $((bytes / 1000000)) MB, ${hs:-?} handshakes"
	cat "$f" >/dev/null # page cache warm
	tools=(floor ekuscope)
	((USE_TCPDUMP)) && tools+=(tcpdump)
	measure floor "$f" warmup
	for ((r = 0; r < REPS; r++)); do
		# rotate the order so no tool always runs first
		for ((k = 0; k < ${#tools[@]}; k++)); do
			measure "${tools[$(((k + r) % ${#tools[@]}))]}" "$f" "$tag"
		done
	done
	if ((USE_TSHARK)); then
		for ((r = 0; r < TSHARK_REPS; r++)); do measure tshark "$f" "$tag"; done
		tools+=(tshark)
	fi

	# certificate rows: ekuscope's timeline vs the manifest
	want=$(manifest_get "$man" certificate_rows)
	got=$("$EK" -q -o - "$f" 2>/dev/null | awk -F, '$9 == "Certificate" { n++ } END { print n + 0 }')
	read -r floor_med floor_min _ <<<"$(stats "$W/$tag.floor" 1)"
	read -r floor_cpu _ <<<"$(stats "$W/$tag.floor" cpu)"
	{
		echo
		echo "$(basename "$f"): $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'), ${hs:-?} handshakes, $(manifest_get "$man" packets) packets"
		printf '  %-9s %4s %8s %17s %7s %6s %8s %7s %7s %6s %6s\n' tool runs wall_s "(min..max)" cpu_s MB/s hs/s rss_MiB x_floor min_x cpu_x
		for t in "${tools[@]}"; do
			read -r med mn mx <<<"$(stats "$W/$tag.$t" 1)"
			read -r cpu _ <<<"$(stats "$W/$tag.$t" cpu)"
			read -r _ _ rss <<<"$(stats "$W/$tag.$t" 4)"
			runs=$(wc -l <"$W/$tag.$t")
			awk -v t="$t" -v n="$runs" -v m="$med" -v a="$mn" -v b="$mx" -v c="$cpu" -v by="$bytes" -v hs="${hs:-0}" \
				-v r="$rss" -v fm="$floor_med" -v fn="$floor_min" -v fc="$floor_cpu" 'BEGIN {
				printf "  %-9s %4d %8.3f %17s %7.3f %6.0f %8.0f %7.1f %7.2f %6.2f %6.2f\n", t, n, m,
					sprintf("(%.3f..%.3f)", a, b), c, by / 1e6 / m, hs / m, r / 1024, m / fm, a / fn, c / fc }'
		done
		if [[ -n $want ]]; then
			if [[ $got == "$want" ]]; then echo "  certificate rows: $got = manifest: ok"
			else echo "  certificate rows: ekuscope $got, manifest $want: MISMATCH"; fi
		fi
	} | tee -a "$W/table"
	[[ -z $want || $got == "$want" ]] || status=1

	# targets (issues 6 and 14): multiples of the floor's wall time, peak RSS
	read -r ek_med ek_min _ <<<"$(stats "$W/$tag.ekuscope" 1)"
	read -r _ _ ek_rss <<<"$(stats "$W/$tag.ekuscope" 4)"
	case $tag in
	bulk*) limit=1.5 mib=32 ;;
	handshake*) limit=2.5 mib=48 ;;
	recurring*) limit=2.5 mib=32 ;;
	unique*) limit=8 mib=48 ;;
	*) limit= ;;
	esac
	if [[ -n $limit ]]; then
		awk -v m="$ek_med" -v f="$floor_med" -v mn="$ek_min" -v fn="$floor_min" -v l="$limit" -v r="$ek_rss" -v mib="$mib" 'BEGIN {
			x = m / f; y = mn / fn
			printf "  target: ekuscope <= %.1fx floor: %.2fx (medians) %s, %.2fx (best runs) %s; peak RSS <= %d MiB: %.1f MiB %s\n",
				l, x, x <= l ? "MET" : "NOT MET", y, y <= l ? "MET" : "NOT MET", mib, r / 1024, r <= mib * 1024 ? "MET" : "NOT MET" }' | tee -a "$W/table"
	fi
done
rec=
for f in "${FILES[@]}"; do [[ $(basename "$f") == recurring-certs.pcap ]] && rec=$f; done
if ((USE_JOBS)) && [[ -n $rec ]]; then
	echo | tee -a "$W/table"
	EK_BUILD=$BUILD "$(dirname "${BASH_SOURCE[0]}")/jobs.sh" -n "$REPS" -o none "$rec" |
		grep -E '^(ekuscope -q|-j [12]: median|-j 2 vs|  target)' | tee -a "$W/table"
fi
mkdir -p "$OUT"
cat "$W/header" "$W/table" >"$OUT/results.txt"
log "results in $OUT/results.txt"
exit $status
