#!/usr/bin/env bash
# A commit that changes no golden output changes no output at all:
# bench/compare-output.sh --samples-only builds the previous commit
# (EK_COMPARE_REF, default HEAD~1: on a merge, main before it) and compares
# every output of every sample with this build's, byte for byte, also in
# the modes the goldens do not cover (-q, key logs, -j 2 over all samples).
# When tests/golden changed since that commit the outputs were meant to
# change (reviewed in tests/golden): nothing to compare.
# Env (set by ctest): EKUSCOPE, EK_SRC.
set -uo pipefail
: "${EK_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${EKUSCOPE:=$EK_SRC/build/ekuscope}"
REF=${EK_COMPARE_REF:-HEAD~1}
if ! git -C "$EK_SRC" rev-parse --verify -q "$REF^{commit}" >/dev/null 2>&1; then
	# a source tree without history (an export, a shallow clone)
	echo "SKIP: $EK_SRC has no git revision $REF to compare with"
	exit 0
fi
if ! git -C "$EK_SRC" diff --quiet "$REF" HEAD -- tests/golden; then
	echo "tests/golden changed since $REF: outputs differ on purpose (reviewed there); not compared"
	exit 0
fi
exec bash "$EK_SRC/bench/compare-output.sh" --samples-only --ref "$REF" "$EKUSCOPE"
