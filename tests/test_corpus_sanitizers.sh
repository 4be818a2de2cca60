#!/usr/bin/env bash
# Corpus under sanitizers (issue 7): run $EKUSCOPE over every capture in
# $EK_SHARED/corpus/public and samples/, twice (CSV outputs + chain
# verification; readable timeline), and fail when a run crashes, prints an
# ASan/UBSan/LSan report, hangs, exits with anything but 0 or 2, exits 2
# without exactly one "ekuscope: ..." line on stderr, or writes a raw ESC
# byte.  ctest builds $EKUSCOPE with ASan+UBSan (test.sh), so this is the
# sanitizer run of the corpus.
# Env (set by ctest): EKUSCOPE, EK_SRC, EK_SHARED.  EK_CORPUS_TIMEOUT: seconds per run (120).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${EK_SRC:=$(dirname "$here")}"
: "${EK_SHARED:=$EK_SRC/../shared}"
: "${EKUSCOPE:=$EK_SRC/build/ekuscope}"
: "${EK_CORPUS_TIMEOUT:=120}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ ! -x "$EKUSCOPE" ]; then
	echo "FAIL: ekuscope binary not found: EKUSCOPE=$EKUSCOPE" >&2
	exit 1
fi
if ! nm "$EKUSCOPE" 2>/dev/null | grep -q __asan_init && ! grep -q __asan_init "$EKUSCOPE" 2>/dev/null; then
	echo "note: $EKUSCOPE is not built with ASan; crashes are still caught, memory errors may not be" >&2
fi

# Under CI the corpus is always laid beside the clone: its absence is a failure.
if [ -n "${CI:-}" ] && [ ! -d "$EK_SHARED/corpus/public" ]; then
	echo "FAIL: CI run without a corpus at $EK_SHARED/corpus/public" >&2
	exit 1
fi
files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(
	{
		find "$EK_SRC/samples" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0
		if [ -d "$EK_SHARED/corpus/public" ]; then
			find "$EK_SHARED/corpus/public" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \
				-o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) -print0
		else
			echo "note: no corpus at $EK_SHARED/corpus/public; samples/ only" >&2
		fi
	} | sort -z)
if [ ${#files[@]} -eq 0 ]; then
	echo "FAIL: no captures found" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ca=$EK_SRC/samples/pki/all-roots.pem
sanitizer_re='ERROR: (Address|Leak|Memory)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)|UndefinedBehaviorSanitizer|AddressSanitizer'
fails=0 runs=0 exit2=0
start=$(date +%s)

check_run() { # label file rc stdout stderr [csv...]
	local label=$1 f=$2 rc=$3 out=$4 err=$5
	shift 5
	local why=""
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="did not finish within ${EK_CORPUS_TIMEOUT}s"
	elif [ "$rc" -ge 128 ]; then
		why="crashed (exit $rc, signal $((rc - 128)))"
	elif grep -Eq "$sanitizer_re" "$err"; then
		why="sanitizer report: $(grep -Em1 "$sanitizer_re" "$err")"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
		why="exit status $rc (expected 0, or 2 for an input error)"
	elif [ "$rc" -eq 2 ]; then
		local n
		n=$(grep -c . "$err")
		if [ "$n" -ne 1 ] || ! grep -q '^ekuscope: ' "$err"; then
			why="exit 2 without exactly one 'ekuscope: ...' line on stderr ($n lines)"
		fi
	fi
	if [ -z "$why" ]; then
		local o
		for o in "$out" "$@"; do
			if [ -f "$o" ] && LC_ALL=C grep -q $'\x1b' "$o"; then
				why="raw ESC byte in $(basename "$o")"
				break
			fi
		done
	fi
	if [ -n "$why" ]; then
		fails=$((fails + 1))
		echo "FAIL [$label] ${f#"$EK_SHARED"/}: $why"
		sed -n '1,40p' "$err" | sed 's/^/    /'
	fi
}

for f in "${files[@]}"; do
	# 1: CSV outputs, findings and inventory, chain verification.
	rm -f "$tmp"/*.csv
	timeout -k 5 "$EK_CORPUS_TIMEOUT" "$EKUSCOPE" -o "$tmp/t.csv" --findings "$tmp/f.csv" --certs "$tmp/c.csv" \
		--ca-file "$ca" -- "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	runs=$((runs + 1))
	check_run csv "$f" $rc "$tmp/out" "$tmp/err" "$tmp/t.csv" "$tmp/f.csv" "$tmp/c.csv"
	[ $rc -eq 2 ] && exit2=$((exit2 + 1))
	# 2: readable timeline and report on stdout.
	timeout -k 5 "$EK_CORPUS_TIMEOUT" "$EKUSCOPE" -- "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	runs=$((runs + 1))
	check_run text "$f" $rc "$tmp/out" "$tmp/err"
done

echo "corpus under sanitizers: ${#files[@]} captures, $runs runs, $exit2 refused as input errors (exit 2), $fails failures, $(($(date +%s) - start)) s"
[ $fails -eq 0 ]
