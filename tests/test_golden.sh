#!/usr/bin/env bash
# Golden outputs: every case in tests/golden/TESTLIST, every output compared
# byte for byte with tests/golden/expected/ (see the TESTLIST header).
#   tests/test_golden.sh            compare (what ctest runs)
#   tests/test_golden.sh --update   rewrite the expected files for review
# Env (set by ctest): EKUSCOPE, EK_SRC.  By hand: EKUSCOPE=build/ekuscope.
set -uo pipefail
: "${EK_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${EKUSCOPE:=$EK_SRC/build/ekuscope}"
update=0
[ "${1:-}" = --update ] && update=1
cd "$EK_SRC" || exit 2
list=tests/golden/TESTLIST
expected=tests/golden/expected
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$expected"
common=(--public-roots samples/pki/public-root-ca.crt --ca-file samples/pki/all-roots.pem)

# The report golden: stdout, then the exit status and stderr.
report_with_status() { # out rc err
	cat "$1"
	echo "# exit: $2"
	sed 's/^/# stderr: /' "$3"
}

outputs="timeline.csv findings.csv certs.csv conns.csv jsonl export.tsv html report.txt text.txt"
n_outputs=9
cases=0 failed=0 seen=" "
while read -r name inputs opts; do
	case "$name" in '' | '#'*) continue ;; esac
	case "$seen" in *" $name "*) echo "FAIL $name: listed twice"; failed=$((failed + 1)); continue ;; esac
	seen="$seen$name "
	cases=$((cases + 1))
	IFS=, read -r -a files <<<"$inputs"
	eval "extra=($opts)"
	d=$work/$name
	mkdir -p "$d"
	"$EKUSCOPE" "${common[@]}" "${extra[@]}" -o "$d/t.csv" --findings "$d/f.csv" \
		--certs "$d/c.csv" --conns "$d/n.csv" --json "$d/j.jsonl" --export-certs "$d/x" --html "$d/r.html" "${files[@]}" >"$d/out" 2>"$d/err"
	report_with_status "$d/out" $? "$d/err" >"$d/report.txt"
	"$EKUSCOPE" "${common[@]}" "${extra[@]}" "${files[@]}" >"$d/text.txt" 2>/dev/null
	# The same on one thread (-j 1) and with threads to spare (-j 4: each
	# file on two threads, capture apart from dissect and report, and
	# several files on -j workers): the output must not change.
	for j in 1 4; do
		"$EKUSCOPE" -j $j "${common[@]}" "${extra[@]}" "${files[@]}" >"$d/text-j$j.txt" 2>/dev/null
		if ! ((update)) && ! cmp -s "$d/text.txt" "$d/text-j$j.txt"; then
			echo "FAIL $name: text output with -j $j differs from the default's:"
			diff -u "$d/text.txt" "$d/text-j$j.txt" | head -40
			failed=$((failed + 1))
		fi
	done
	mv "$d/t.csv" "$d/timeline.csv" 2>/dev/null
	mv "$d/f.csv" "$d/findings.csv" 2>/dev/null
	mv "$d/c.csv" "$d/certs.csv" 2>/dev/null
	mv "$d/n.csv" "$d/conns.csv" 2>/dev/null
	mv "$d/j.jsonl" "$d/jsonl" 2>/dev/null
	mv "$d/x/index.tsv" "$d/export.tsv" 2>/dev/null
	mv "$d/r.html" "$d/html" 2>/dev/null
	for out in $outputs; do
		want=$expected/$name.$out
		got=$d/$out
		if ((update)); then
			if [ -f "$got" ]; then cp "$got" "$want"; else rm -f "$want"; fi
		elif [ ! -f "$want" ] && [ ! -f "$got" ]; then
			:
		elif [ ! -f "$want" ]; then
			echo "FAIL $name: $out written but no $want (run --update and review)"
			failed=$((failed + 1))
		elif [ ! -f "$got" ]; then
			echo "FAIL $name: $out not written"
			failed=$((failed + 1))
		elif ! cmp -s "$want" "$got"; then
			echo "FAIL $name: $out differs from $want:"
			diff -u "$want" "$got" | head -40
			failed=$((failed + 1))
		fi
	done
done <"$list"

# Expected files no case produces any more are stale.
for f in "$expected"/*; do
	[ -e "$f" ] || continue
	b=$(basename "$f")
	case "$seen" in *" ${b%%.*} "*) ;; *)
		if ((update)); then rm -f "$f"; else echo "FAIL stale expected file $f"; failed=$((failed + 1)); fi ;;
	esac
done

((cases > 0)) || { echo "FAIL: no cases in $list"; exit 1; }
if ((update)); then
	echo "updated $cases cases; review with: git diff --stat tests/golden; git diff tests/golden"
	exit 0
fi
echo "golden: $((cases * n_outputs - failed)) passed, $failed failed ($cases cases x $n_outputs outputs)"
((failed == 0))
