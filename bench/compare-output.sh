#!/usr/bin/env bash
# compare-output.sh - check that two ekuscope builds write byte-identical
# output: the timeline CSV (-o), findings CSV, certificate inventory CSV,
# connections CSV, JSON Lines, HTML report, exported PEM files, the text report with stderr and exit status, the quiet report
# and its timeline CSV (with -j 2: the file on two threads, capture apart from
# dissect and report, its input read ahead on a third), and the
# readable stdout timeline; with the file's key log (FILE.keylog) when
# there is one.  On every samples/*.pcap, the public corpus captures (if
# present), the bench captures (bench/out/*.pcap, if generated) and any
# extra files given; then all samples in one run, with -j 1, 2 and 4 (one
# thread; each file on two; two files at once on -j workers).
#
#     bench/compare-output.sh [--samples-only] OLD/ekuscope NEW/ekuscope [EXTRA.pcap ...]
#     bench/compare-output.sh [--samples-only] --ref REV NEW/ekuscope [EXTRA.pcap ...]
#
# --ref REV builds git revision REV of this tree (Release, the ekuscope
# target only, in a temporary directory) and uses it as OLD.
# --samples-only leaves out the corpus and the bench captures.
# EK_CORPUS overrides the corpus directory.
#
# Exit status 0 when everything is identical, 1 otherwise (diffs shown),
# 2 when REV cannot be built.
# EK_COMPARE_CSV_ONLY=1: the CSVs, stderr and exit status only (for a
# change of the text report).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SAMPLES_ONLY=0 REF=
while (($#)); do
	case $1 in
	--samples-only) SAMPLES_ONLY=1 ;;
	--ref) REF=$2; shift ;;
	*) break ;;
	esac
	shift
done
W=$(mktemp -d /tmp/ekuscope-compare.XXXXXX)
trap 'rm -rf "$W"' EXIT
if [[ -n $REF ]]; then
	mkdir "$W/ref"
	if ! git -C "$ROOT" archive "$REF" | tar -x -C "$W/ref" ||
		! cmake -S "$W/ref" -B "$W/ref/build" -DCMAKE_BUILD_TYPE=Release -DEK_BENCH=OFF >"$W/ref.log" 2>&1 ||
		! cmake --build "$W/ref/build" --target ekuscope -j"$(nproc)" >>"$W/ref.log" 2>&1; then
		tail -20 "$W/ref.log" >&2
		echo "compare-output: cannot build $REF" >&2
		exit 2
	fi
	OLD=$W/ref/build/ekuscope
else
	OLD=$1
	shift
fi
NEW=$1
shift
OLD=$(realpath "$OLD") NEW=$(realpath "$NEW")
CORPUS=${EK_CORPUS:-$ROOT/../shared/corpus/public}
files=("$ROOT"/samples/*.pcap)
if ((!SAMPLES_ONLY)); then
	if [[ -d $CORPUS ]]; then
		while IFS= read -r f; do files+=("$f"); done < <(find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
	fi
	for f in "$HERE"/out/*.pcap; do [[ -f $f ]] && files+=("$f"); done
fi
files+=("$@")
bad=0 n=0
X=()
[[ ${EK_COMPARE_CSV_ONLY:-0} == 1 ]] && X=(-x report.txt -x quiet.txt -x text.txt)
FIXED=(--public-roots "$ROOT/samples/pki/public-root-ca.crt" --ca-file "$ROOT/samples/pki/all-roots.pem")
run() { # BIN OUTDIR [OPTIONS...] -- FILE...
	local bin=$1 d=$2
	shift 2
	local opts=()
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	mkdir -p "$d"
	(cd "$d" && "$bin" -o t.csv --findings f.csv --certs c.csv --conns n.csv --json j.jsonl --html r.html \
		--export-certs pem "${FIXED[@]}" "${opts[@]}" "$@" >report.txt 2>stderr.txt
		echo "exit $?" >>stderr.txt)
	# the quiet run with a thread to spare: the file on two threads (cli/handoff.h)
	(cd "$d" && "$bin" -q -o q.csv "${opts[@]}" -j 2 "$@" >quiet.txt 2>>stderr.txt; echo "exit $?" >>stderr.txt)
	(cd "$d" && "$bin" "${FIXED[@]}" "${opts[@]}" "$@" >text.txt 2>>stderr.txt; echo "exit $?" >>stderr.txt)
}
check() { # WHAT
	if ! diff -r -q "${X[@]}" "$W/a" "$W/b" >/dev/null; then
		echo "DIFFERENT: $1"
		diff -r "${X[@]}" "$W/a" "$W/b" | head -20
		bad=1
	fi
	rm -rf "$W/a" "$W/b"
}
for f in "${files[@]}"; do
	n=$((n + 1))
	keys=()
	[[ -f ${f%.*}.keylog ]] && keys=(--keylog "${f%.*}.keylog")
	run "$OLD" "$W/a" "${keys[@]}" -j 1 -- "$f"
	run "$NEW" "$W/b" "${keys[@]}" -j 1 -- "$f"
	check "$f"
done
# All samples in one run (file indexes, cross-file state): one thread, each
# file on two threads, two files at once.
for j in 1 2 4; do
	run "$OLD" "$W/a" -j $j -- "$ROOT"/samples/*.pcap
	run "$NEW" "$W/b" -j $j -- "$ROOT"/samples/*.pcap
	check "all samples in one run, -j $j"
done
if ((bad)); then echo "compare-output: outputs differ" >&2; exit 1; fi
echo "compare-output: identical on $n files (+ all samples in one run, -j 1, 2 and 4)"
