#!/usr/bin/env bash
# Issue 12: ekuscope never destroys or misreports the user's data.  Outputs
# that name an input (or each other) are refused before anything is read,
# a run that read nothing keeps earlier outputs, output directories are
# checked up front, "No findings." only after an analysis, CA options that
# give no certificate are errors, every input has an unambiguous `file`
# label, valid UTF-8 is kept (bidi overrides escaped), the -r A B hint,
# option and --keylog messages, exit 2 over 3, the progress line with -q
# and -j.  Real files: the bundled samples, certificates made with openssl,
# captures built from them by tests/malformed/pcapgen.py.
set -uo pipefail
EK=${EKUSCOPE:?} SRC=${EK_SRC:?}
S=$SRC/samples GEN=$SRC/tests/safety/gen.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0 failn=0
ok() { pass=$((pass + 1)); }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }
check() { # DESC CMD...: CMD must succeed
	local desc=$1
	shift
	if "$@"; then ok; else bad "$desc"; fi
}
run() { # WANT DESC ARGS...: ekuscope ARGS, stdout in out, stderr in err
	local want=$1 desc=$2
	shift 2
	"$EK" "$@" >out 2>err
	local rc=$?
	if [[ $rc == "$want" ]]; then ok; else bad "$desc: exit $rc, want $want ($(head -c 300 err))"; fi
}
err_has() { grep -q -- "$1" err && ok || bad "$2: stderr lacks '$1': $(head -c 300 err)"; }
unchanged() { cmp -s "$1" "$2" && ok || bad "$3: $1 was changed"; }

cp "$S/traversal-7001-no-clientauth.pcap" in.pcap
cp in.pcap in.orig
mkdir -p d node1 node2
cp "$S/tls13-mtls-5061.keylog" keys.log
cp keys.log keys.orig

# ---- 1. an output that names an input: refused before anything is read
for args in "-o in.pcap in.pcap" "--findings in.pcap in.pcap" "--certs in.pcap in.pcap" "-o in.pcap -r in.pcap" \
	"-o d/../in.pcap in.pcap" "--certs ./in.pcap -r d/../in.pcap"; do
	# shellcheck disable=SC2086
	run 2 "output naming the input ($args)" -q $args
	unchanged in.pcap in.orig "$args"
	err_has "refusing to overwrite" "$args"
	[[ ! -s out ]] && ok || bad "$args: analysed anyway: $(head -c 200 out)"
done
ln -s in.pcap link.pcap
run 2 "output through a symbolic link to the input" -q -o link.pcap in.pcap
unchanged in.pcap in.orig "symlink"
run 2 "output over a --keylog file" -q --keylog keys.log -o keys.log in.pcap
unchanged keys.log keys.orig "--keylog"
cp "$S/pki/all-roots.pem" roots.pem
cp roots.pem roots.orig
run 2 "output over --ca-file" -q --ca-file roots.pem --findings roots.pem in.pcap
unchanged roots.pem roots.orig "--ca-file"
run 2 "output over --public-roots" -q --public-roots roots.pem --certs roots.pem in.pcap
unchanged roots.pem roots.orig "--public-roots"
run 2 "standard input is a file that is also an output" -q -o in.pcap -r - <in.pcap
unchanged in.pcap in.orig "stdin"
"$EK" -q in.pcap >>in.pcap 2>err
[[ $? == 2 ]] && ok || bad "standard output appending to the input was not refused"
unchanged in.pcap in.orig "stdout >> input"
# two outputs on one file, and an empty path: refused up front
run 2 "two outputs on one file" -q -o x.csv --findings ./x.csv in.pcap
err_has "name the same file" "two outputs"
[[ ! -e x.csv && -z $(ls | grep '\.tmp\.') ]] && ok || bad "two outputs: x.csv or a temporary was written"
run 2 "empty -o" -q -o "" in.pcap
err_has "empty file name" "empty -o"
[[ ! -s out ]] && ok || bad "empty -o: analysed anyway"
run 2 "empty --certs" -q --certs "" in.pcap
# devices are written in place, several outputs may share one
run 0 "outputs on /dev/null" -q -o /dev/null --findings /dev/null --certs /dev/null in.pcap

# each item below starts from the real capture (should a build have destroyed it above)
cp in.orig in.pcap
# ---- 2. a run that read nothing keeps earlier outputs
run 0 "good run" -q -o keep.csv --findings keepf.csv --certs keepc.csv in.pcap
cp keep.csv keep.orig; cp keepf.csv keepf.orig; cp keepc.csv keepc.orig
[[ $(wc -l <keep.csv) -gt 1 ]] && ok || bad "good run wrote no rows"
run 2 "nothing readable" -q -o keep.csv --findings keepf.csv --certs keepc.csv "$T/nonexistent.pcap"
unchanged keep.csv keep.orig "nothing read"
unchanged keepf.csv keepf.orig "nothing read"
unchanged keepc.csv keepc.orig "nothing read"
err_has "nothing written" "nothing read"
[[ -z $(ls | grep '\.tmp\.') ]] && ok || bad "nothing read: temporaries left"
# one readable file of two: written
run 2 "one of two readable" -q -o keep.csv "$T/nonexistent.pcap" "$S/webex-mtls-5061.pcap"
grep -q webex-mtls keep.csv && ok || bad "one readable file: its rows were not written"

cp in.orig in.pcap
# ---- 3. output directories checked before the analysis
run 2 "--certs in /proc" --certs /proc/ekuscope-x.csv in.pcap
[[ ! -s out ]] && ok || bad "--certs /proc/x.csv: the report was printed before the error"
run 2 "output under a file" -q --findings in.pcap/x.csv in.pcap
run 2 "output under a missing directory" -q --certs "$T/nodir/x.csv" in.pcap
[[ ! -s out ]] && ok || bad "missing output directory: analysed anyway"
run 2 "output is a directory" -q -o d in.pcap
err_has "is a directory" "-o DIR"

cp in.orig in.pcap
# ---- 4. "No findings." only when something was analysed; unread files listed
printf 'hello\n' >text.txt
gzip -c text.txt >text.gz
for bad_in in "$T/nonexistent.pcap" d text.txt text.gz; do
	run 2 "unreadable $bad_in" "$bad_in"
	grep -q "No findings" out && bad "$bad_in: 'No findings.' although nothing was analysed" || ok
	grep -q "0 of 1 file analysed" out && ok || bad "$bad_in: summary does not say nothing was analysed: $(cat out)"
	grep -q "could not be read: .*${bad_in##*/}" out && ok || bad "$bad_in: summary does not list it"
	run 2 "unreadable $bad_in, -q" -q "$bad_in"
	[[ ! -s out ]] && ok || bad "$bad_in -q: stdout is not empty: $(cat out)"
done
run 2 "invalid filter" -r in.pcap "port and"
grep -q "No findings" out && bad "invalid filter: 'No findings.'" || ok
run 2 "two of three unreadable" "$T/nonexistent.pcap" text.txt "$S/neighbor-zone-5061.pcap"
grep -q "1 of 3 files analysed" out && ok || bad "summary does not count the analysed files: $(grep Summary out)"
grep -q "could not be read: $T/nonexistent.pcap text.txt" out && ok || bad "summary does not list the unread files"
grep -q "No findings" out && ok || bad "a file was analysed: 'No findings.' missing"

cp in.orig in.pcap
# ---- 5. --ca-path / --ca-file / --public-roots that give no certificate
mkdir -p emptydir cas
run 2 "--ca-path missing" -q --ca-path "$T/nope" in.pcap
err_has "No such file" "--ca-path missing"
run 2 "--ca-path a file" -q --ca-path in.pcap in.pcap
err_has "not a directory" "--ca-path file"
run 2 "--ca-path without certificates" -q --ca-path emptydir in.pcap
err_has "no certificates" "--ca-path empty"
run 2 "--ca-file without certificates" -q --ca-file text.txt in.pcap
run 2 "--ca-file missing" -q --ca-file "$T/nope.pem" in.pcap
run 2 "--public-roots missing" -q --public-roots "$T/nope.pem" in.pcap
run 2 "--public-roots without certificates" -q --public-roots text.txt in.pcap
# a directory never rehashed: its *.pem/*.crt/*.cer are loaded; the server
# chain verifies as with --ca-file of the same roots, the client's fails only
# for its purpose (serverAuth only)
cp "$S/pki/public-root-ca.crt" cas/root.pem
openssl x509 -in "$S/pki/public-issuing-ca.crt" -outform DER -out cas/issuing.cer 2>/dev/null
run 0 "--ca-path not rehashed" -q --ca-path cas in.pcap
grep -q "server chain of" out && bad "--ca-path (not rehashed): the server chain was not verified: $(grep -A2 chain_untrusted out)" || ok
grep -q "unsuitable certificate purpose" out && ok || bad "--ca-path: the client chain was not checked"

cp in.orig in.pcap
# ---- 6. file labels: unambiguous, named in the report; standard input
cp in.pcap node1/capture.pcap
cp "$S/same-cert-both-roles.pcap" node2/capture.pcap
run 0 "same base names" -o t.csv --certs c.csv node1/capture.pcap node2/capture.pcap
[[ $(tail -n +2 t.csv | cut -d, -f1 | sort -u | tr '\n' ' ') == "node1/capture.pcap node2/capture.pcap " ]] && ok ||
	bad "file labels: $(tail -n +2 t.csv | cut -d, -f1 | sort -u | tr '\n' ' ')"
python3 -c '
import csv, sys
rows = list(csv.DictReader(open("c.csv")))
refs = [r["first_frame"] for r in rows] + [r["last_frame"] for r in rows]
sys.exit(0 if rows and all(x.split(":")[0] in ("node1/capture.pcap", "node2/capture.pcap") for x in refs) else 1)
' && ok || bad "certs CSV frames do not name the file: $(cut -d, -f15,16 c.csv | head -3)"
grep -q "^    - node1/capture.pcap: 10.106.80.16 presented" out && ok || bad "report findings do not name the file"
grep -q "^    frames  node2/capture.pcap:" out && ok || bad "endpoint lines do not name the file"
grep -q "node1/capture.pcap conn 0" out && ok || bad "ladder does not name the file"
run 0 "one path twice" -q -o t2.csv in.pcap in.pcap
[[ $(tail -n +2 t2.csv | cut -d, -f1 | sort -u | tr '\n' ' ') == "in.pcap in.pcap#2 " ]] && ok || bad "same path twice: $(cut -d, -f1 t2.csv | sort -u | tr '\n' ' ')"
run 0 "standard input" -q -o - -r - <in.pcap
[[ $(sed -n 2p out | cut -d, -f1) == "(stdin)" ]] && ok || bad "stdin label: $(sed -n 2p out | cut -d, -f1)"
run 0 "single file keeps its base name" -q -o t3.csv "$T/node1/capture.pcap"
[[ $(sed -n 2p t3.csv | cut -d, -f1) == "capture.pcap" ]] && ok || bad "single file label: $(sed -n 2p t3.csv | cut -d, -f1)"

# ---- the same under -j 2 (cli/parallel.c): byte for byte what -j 1 writes
for j in 1 2; do
	"$EK" -j $j --findings f$j.csv -o t$j.csv "$T/nonexistent.pcap" node1/capture.pcap d node2/capture.pcap >r$j.txt 2>e$j.txt
done
cmp -s r1.txt r2.txt && cmp -s e1.txt e2.txt && cmp -s t1.csv t2.csv && cmp -s f1.csv f2.csv && ok || bad "-j 2 differs from -j 1"
grep -q "2 of 4 files analysed" r2.txt && ok || bad "-j 2: summary does not count the analysed files"
grep -q "node1/capture.pcap: 10.106.80.16 presented" r2.txt && ok || bad "-j 2: findings do not name the file"
cp keep.csv keep.orig
run 2 "-j 2, nothing readable" -j 2 -q -o keep.csv "$T/nonexistent.pcap" "$T/nonexistent2.pcap"
unchanged keep.csv keep.orig "-j 2, nothing read"

cp in.orig in.pcap
# ---- 8. valid UTF-8 kept; controls and bidi overrides escaped as \xNN
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout u.key -out u.pem -days 3650 -utf8 \
	-subj "/O=Ünïcødé Labs/CN=$(printf 'gpj.\xe2\x80\xaeexe.example')" 2>/dev/null
python3 "$GEN" cert u.pcap u.pem
run 0 "UTF-8 certificate" -o u.csv --certs uc.csv u.pcap
for f in u.csv uc.csv out; do
	grep -q "O=Ünïcødé Labs" "$f" && ok || bad "$f: valid UTF-8 was escaped: $(grep -o 'O=[^,]*' "$f" | head -1)"
	grep -qF 'CN=gpj.\xe2\x80\xaeexe.example' "$f" && ok || bad "$f: the bidi override is not escaped as \\xNN"
	grep -q $'\xe2\x80\xae' "$f" && bad "$f: raw U+202E in the output" || ok
done

cp in.orig in.pcap
# ---- 10. -r A B: the filter that names a file
run 2 "-r a b" -r in.pcap "$S/webex-mtls-5061.pcap"
err_has "is a file" "-r a b"
err_has "-r A -r B" "-r a b"
[[ $(wc -l <err) == 1 ]] && ok || bad "-r a b: not one line: $(cat err)"

cp in.orig in.pcap
# ---- 11. smaller items
run 2 "--keylog DIR" -q --keylog d in.pcap
err_has "d: is a directory" "--keylog DIR"
run 2 "unknown option" --no-such-option in.pcap
grep -q "^ekuscope: unrecognized option" err && ok || bad "option error not prefixed 'ekuscope:': $(head -1 err)"
run 2 "exit 2 wins over 3" -q --fail-on info in.pcap "$T/nonexistent.pcap"
# one output failing at the end (a full disk) costs only that output: the
# findings and the inventory are still written, the error names the failure
rm -f full-f.csv full-c.csv
run 2 "timeline on a full disk" -q -o /dev/full --findings full-f.csv --certs full-c.csv in.pcap
err_has "/dev/full" "full disk error"
[[ -s full-f.csv && $(grep -c "client_cert_no_clientauth" full-f.csv) -ge 1 ]] && ok || bad "findings lost with the timeline's write error"
[[ $(wc -l <full-c.csv) -ge 3 ]] && ok || bad "inventory lost with the timeline's write error"
python3 "$GEN" many big1.pcap "$S/pki/webex.crt" 14000
cp big1.pcap big2.pcap
python3 "$GEN" tty tty.txt "$EK" -q -j 1 big1.pcap big2.pcap
grep -q "big1.pcap: .* MB (" tty.txt && ok || bad "no progress line with -q on a terminal: $(head -c 200 tty.txt | cat -v)"
# the TLS count is the file's: never more than the 14000 of one file
max=$(grep -ao '[0-9]* TLS conns' tty.txt | awk '$1 > m {m = $1} END {print m + 0}')
[[ $max -gt 0 && $max -le 14000 ]] && ok || bad "progress TLS count is not per file: $max"
python3 "$GEN" tty tty2.txt "$EK" -q -j 2 big1.pcap big2.pcap
grep -q "big[12].pcap: .* MB (" tty2.txt && ok || bad "no progress line under -j 2: $(head -c 200 tty2.txt | cat -v)"

echo "$pass passed, $failn failed"
[[ $failn == 0 ]]
