# bench/lib.sh - sourced by the bench scripts: their paths, log lines and
# the bench build.  Sets HERE (bench/), ROOT, OUT (bench/out) and BUILD
# (EK_BUILD, default build-bench; a script's --build may change it later).
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$HERE/out
BUILD=${EK_BUILD:-$ROOT/build-bench}

log() { printf '== %s\n' "$*" >&2; }

# bench_build TARGET...: configure $BUILD once (Release, no sanitizers,
# the bench tools), then build the targets.
bench_build() {
	if [[ ! -f $BUILD/CMakeCache.txt ]]; then
		log "configuring $BUILD (Release)"
		cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEK_SANITIZE=OFF -DEK_BENCH=ON >/dev/null
	fi
	log "building $* in $BUILD"
	cmake --build "$BUILD" -j"$(nproc)" --target "$@" >/dev/null
}
