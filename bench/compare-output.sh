#!/usr/bin/env bash
# compare-output.sh - check that two ekuscope builds write byte-identical
# output: the timeline CSV (-o), findings CSV, certificate inventory CSV
# and the text report, on every samples/*.pcap, the public corpus captures
# (if present) and any extra files given.
#
#     bench/compare-output.sh OLD/ekuscope NEW/ekuscope [EXTRA.pcap ...]
#
# Exit status 0 when everything is identical, 1 otherwise (diffs shown).
# EK_COMPARE_CSV_ONLY=1: the CSVs, stderr and exit status only (for a
# change of the text report).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OLD=$1 NEW=$2
shift 2
CORPUS=${EK_CORPUS:-/work/shared/corpus/public}
files=("$ROOT"/samples/*.pcap)
if [[ -d $CORPUS ]]; then
	while IFS= read -r f; do files+=("$f"); done < <(find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
fi
files+=("$@")
W=$(mktemp -d /tmp/ekuscope-compare.XXXXXX)
trap 'rm -rf "$W"' EXIT
bad=0 n=0
X=()
[[ ${EK_COMPARE_CSV_ONLY:-0} == 1 ]] && X=(-x report.txt -x quiet.txt)
run() { # BIN OUTDIR FILE...
	local bin=$1 d=$2
	shift 2
	mkdir -p "$d"
	(cd "$d" && "$bin" -o t.csv --findings f.csv --certs c.csv --public-roots "$ROOT/samples/pki/public-root-ca.crt" \
		--ca-file "$ROOT/samples/pki/all-roots.pem" "$@" >report.txt 2>stderr.txt; echo "exit $?" >>stderr.txt)
	(cd "$d" && "$bin" -q -o q.csv "$@" >quiet.txt 2>>stderr.txt; echo "exit $?" >>stderr.txt)
}
for f in "${files[@]}"; do
	n=$((n + 1))
	run "$OLD" "$W/a" "$f"
	run "$NEW" "$W/b" "$f"
	if ! diff -r -q "${X[@]}" "$W/a" "$W/b" >/dev/null; then
		echo "DIFFERENT: $f"
		diff -r "${X[@]}" "$W/a" "$W/b" | head -20
		bad=1
	fi
	rm -rf "$W/a" "$W/b"
done
# All samples in one run (file indexes, cross-file state).
run "$OLD" "$W/a" "$ROOT"/samples/*.pcap
run "$NEW" "$W/b" "$ROOT"/samples/*.pcap
if ! diff -r -q "${X[@]}" "$W/a" "$W/b" >/dev/null; then
	echo "DIFFERENT: all samples in one run"
	diff -r "${X[@]}" "$W/a" "$W/b" | head -20
	bad=1
fi
if ((bad)); then echo "compare-output: outputs differ" >&2; exit 1; fi
echo "compare-output: identical on $n files (+ all samples in one run)"
