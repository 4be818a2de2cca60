#!/usr/bin/env bash
# Run one libFuzzer target for a while.
#
#   tests/fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#   TARGET: fuzz_tls | fuzz_x509 | fuzz_capture
#
# Env:
#   EK_FUZZ_BUILD  build directory configured with CC=clang -DEK_FUZZ=ON
#                  (default: <src>/build-fuzz; configured and built when missing)
#   EK_FUZZ_WORK   where corpora, crashes and logs go
#                  (default: $EK_FUZZ_BUILD/fuzz-work)
#   EK_SHARED      the shared tree whose corpus/public seeds the corpora
#                  (default: <src>/../shared; read in place, never copied)
#
# The corpus in $EK_FUZZ_WORK/corpus/TARGET persists between runs; seeds are
# regenerated from samples/ and the shared corpus each time.  Crashing inputs
# land in $EK_FUZZ_WORK/artifacts/TARGET/ (copy the minimised one to
# tests/fuzz/regressions/TARGET/ to keep it).  The last line printed is a
# summary: target, seconds, cov edges, exec/s, crashes.  Exit status is
# libFuzzer's (non-zero when it found a crash).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
if [ $# -lt 2 ]; then
	echo "usage: $0 TARGET SECONDS [libFuzzer options...]" >&2
	exit 2
fi
target=$1 secs=$2
shift 2
case $target in
fuzz_tls) max_len=65536 dict=$here/tls.dict ;;
fuzz_x509) max_len=65536 dict=$here/x509.dict ;;
fuzz_capture) max_len=262144 dict=$here/capture.dict ;;
*) echo "$0: unknown target '$target' (fuzz_tls, fuzz_x509, fuzz_capture)" >&2; exit 2 ;;
esac

build=${EK_FUZZ_BUILD:-$src/build-fuzz}
work=${EK_FUZZ_WORK:-$build/fuzz-work}
shared=${EK_SHARED:-$src/../shared}
bin=$build/tests/fuzz/$target
if [ ! -x "$bin" ]; then
	command -v clang >/dev/null 2>&1 || { echo "$0: clang not found; libFuzzer needs clang" >&2; exit 2; }
	echo "run.sh: building $target in $build" >&2
	CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEK_FUZZ=ON >/dev/null || exit 2
	cmake --build "$build" --target "$target" -j"$(nproc)" >/dev/null || exit 2
fi

corpus=$work/corpus/$target seeds=$work/seeds/$target art=$work/artifacts/$target
mkdir -p "$corpus" "$seeds" "$art" "$work/logs"
log=$work/logs/$target.log
python3 "$here/make_seeds.py" "$target" "$seeds" --src "$src" --shared "$shared" || exit 2

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export EK_SRC=$src
before=$(find "$art" -type f 2>/dev/null | wc -l)
"$bin" "$corpus" "$seeds" \
	-max_total_time="$secs" -max_len="$max_len" -timeout=25 -rss_limit_mb=2560 \
	-dict="$dict" -artifact_prefix="$art/" -print_final_stats=1 "$@" >"$log" 2>&1
rc=$?
after=$(find "$art" -type f 2>/dev/null | wc -l)
# The last status line carries cov and exec/s; stat::number_of_executed_units and
# stat::average_exec_per_sec come from -print_final_stats.
cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
eps=$(grep -E '^stat::average_exec_per_sec' "$log" | tail -1 | awk '{print $2}')
units=$(grep -E '^stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
if [ $rc -ne 0 ]; then
	grep -E 'ERROR: |SUMMARY: |contract violated|^    #[0-9] ' "$log" | head -20 >&2
fi
echo "run.sh: $target (at most ${secs}s) cov=${cov:-?} ft=${ft:-?} execs=${units:-?} exec/s=${eps:-?} crashes=$((after - before)) rc=$rc log=$log artifacts=$art"
exit $rc
