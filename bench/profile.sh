#!/usr/bin/env bash
# profile.sh - instruction profile of one ekuscope run (docs/performance.md).
#
#     bench/profile.sh [FILE.pcap] [-- EKUSCOPE ARGS...]
#
# Installs valgrind when missing (apt-get), builds build-prof
# (Release as the benchmark builds it, plus -g and frame pointers: the
# profile counts the code that bench/run.sh times), runs
#     valgrind --tool=callgrind build-prof/ekuscope ARGS FILE
# (default ARGS: -o /dev/null --certs /dev/null, the report to /dev/null;
# default FILE: bench/out/unique-certs.pcap) and prints the inclusive
# profile's top 40 lines.  The output file stays in bench/out/callgrind.out.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FILE=$HERE/out/unique-certs.pcap
ARGS=(-o /dev/null --certs /dev/null)
if (($#)) && [[ $1 != -- ]]; then FILE=$1; shift; fi
if (($#)) && [[ $1 == -- ]]; then shift; ARGS=("$@"); fi
if ! command -v valgrind >/dev/null; then
	echo "== installing valgrind" >&2
	apt-get install -y valgrind >/dev/null
fi
BUILD=${EK_PROF_BUILD:-$ROOT/build-prof}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEK_SANITIZE=OFF -DEK_BENCH=OFF \
	"-DCMAKE_C_FLAGS=-g -fno-omit-frame-pointer" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target ekuscope >/dev/null
[[ -f $FILE ]] || "$HERE/run.sh" gen
mkdir -p "$HERE/out"
valgrind --tool=callgrind --callgrind-out-file="$HERE/out/callgrind.out" "$BUILD/ekuscope" "${ARGS[@]}" "$FILE" \
	>/dev/null 2>"$HERE/out/callgrind.log" || true
callgrind_annotate --inclusive=yes "$HERE/out/callgrind.out" 2>/dev/null | head -60
