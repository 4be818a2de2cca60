#!/usr/bin/env bash
# -j N (several files analysed at once) writes what -j 1 writes: timeline
# CSV, findings CSV, certificate CSV, the stdout report, the text timeline,
# stderr and the exit code, byte for byte, with -j 2 and -j 4.  Cases: all
# samples in one run, the public corpus (if present), files that depend on
# earlier ones (same_cert_both_roles across files, pcapng secrets blocks
# used by a later file), failing and truncated files among good ones,
# generated captures whose threads share certificates.
# Env (set by ctest): EKUSCOPE, EK_SRC, EK_SHARED, EK_BUILD.
set -uo pipefail
EK=${EKUSCOPE:?} S=${EK_SRC:?}/samples
CORPUS=${EK_SHARED:-$EK_SRC/../shared}/corpus/public
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 failn=0
ok() { pass=$((pass + 1)); }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }
TRUST=(--public-roots "$S/pki/public-root-ca.crt" --ca-file "$S/pki/all-roots.pem")

# run J DIR [OPTION... --] FILE...: every output of one set of inputs into DIR
run() {
	local j=$1 d=$2
	shift 2
	local opts=()
	if [[ " $* " == *" -- "* ]]; then
		while [[ $1 != -- ]]; do opts+=("$1"); shift; done
		shift
	fi
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		"$EK" -j "$j" "${opts[@]}" -o t.csv --findings f.csv --certs c.csv "${TRUST[@]}" "$@" >report.txt 2>stderr.txt
		echo "exit $?" >>stderr.txt
		"$EK" -j "$j" "${opts[@]}" -q -o q.csv --fail-on warning "$@" >quiet.txt 2>>stderr.txt
		echo "exit $?" >>stderr.txt
		"$EK" -j "$j" "${opts[@]}" --findings f2.csv "$@" >text.txt 2>>stderr.txt
		echo "exit $?" >>stderr.txt
		"$EK" -j "$j" "${opts[@]}" -o - "$@" >stdout.csv 2>>stderr.txt
		echo "exit $?" >>stderr.txt
	)
}

# check DESC [OPTION... --] FILE...: -j 2 and -j 4 against -j 1
check() {
	local desc=$1
	shift
	rm -rf "$T/r"
	run 1 "$T/r/1" "$@"
	for j in 2 4; do
		run "$j" "$T/r/$j" "$@"
		if diff -r "$T/r/1" "$T/r/$j" >"$T/diff"; then ok; else bad "$desc: -j $j differs from -j 1"; head -20 "$T/diff"; fi
	done
}

samples=("$S"/*.pcap "$S"/*.pcapng)

# (i) all samples in one run (several cross-file same_cert_both_roles)
check "all samples" "${samples[@]}"
check "all samples, key logs" --keylog "$S/tls13-mtls-5061.keylog" --keylog "$S/tls12-reneg-clientauth-443.keylog" -- "${samples[@]}"

# (ii) the public corpus
if [[ -d $CORPUS ]]; then
	mapfile -t corpus < <(find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
	check "corpus (${#corpus[@]} files)" "${corpus[@]}"
	check "samples + corpus" "${samples[@]}" "${corpus[@]}"
else
	echo "note: no corpus at $CORPUS; skipped"
	# Under CI the corpus is always laid beside the clone: its absence is a failure.
	[[ -n ${CI:-} ]] && { echo "FAIL: CI run without a corpus at $CORPUS"; exit 1; }
fi

# (iii) 10.106.80.16 presents its certificate (2001000000000016) as server
# in neighbor-zone and as client in core-cucm: the second file raises
# same_cert_both_roles, which a worker seeing that file alone cannot know.
"$EK" -j 1 -q --findings "$T/x.csv" "$S/neighbor-zone-5061.pcap" "$S/core-cucm-8443.pcap" >/dev/null
grep -q '^same_cert_both_roles,info,core-cucm-8443.pcap,' "$T/x.csv" && ok ||
	bad "setup: same_cert_both_roles not raised in the second file"
check "same cert, server then client" "$S/neighbor-zone-5061.pcap" "$S/core-cucm-8443.pcap" "$S/webex-mtls-5061.pcap"
check "same cert, client then server" "$S/core-cucm-8443.pcap" "$S/webex-mtls-5061.pcap" "$S/neighbor-zone-5061.pcap"
# raised inside one file, then that file again: a serial run does not raise it twice
check "same file twice" "$S/same-cert-both-roles.pcap" "$S/sni-mismatch-443.pcap" "$S/same-cert-both-roles.pcap"

# 10.106.80.31 as client (webex), then server and client again (same-cert
# records appended to webex's: the same pcap header).  After
# same-cert-both-roles.pcap only the server entry is new to
# same_cert_both_roles; this file alone would raise it for the client too.
{ cat "$S/webex-mtls-5061.pcap"; tail -c +25 "$S/same-cert-both-roles.pcap"; } >"$T/client-server-client.pcap"
check "same cert, entry raised before" "$S/same-cert-both-roles.pcap" "$T/client-server-client.pcap"

# (iv) the secrets block of the pcapng decrypts the later plain capture of
# the same connection (a serial run's key log grows file by file), not an
# earlier one
"$EK" -j 1 -q -o "$T/x.csv" "$S/tls13-mtls-5061-dsb.pcapng" "$S/tls13-mtls-5061.pcap" >/dev/null
"$EK" -j 1 -q -o "$T/y.csv" "$S/tls13-mtls-5061.pcap" >/dev/null
if (($(grep -c '^tls13-mtls-5061.pcap,' "$T/x.csv") > $(grep -c '^tls13-mtls-5061.pcap,' "$T/y.csv"))); then ok; else
	bad "setup: the secrets block does not decrypt the later file"
fi
check "secrets block, then the capture" "$S/tls13-mtls-5061-dsb.pcapng" "$S/tls13-mtls-5061.pcap" "$S/tls13-hrr-5061.pcap"
check "capture, then the secrets block" "$S/tls13-mtls-5061.pcap" "$S/tls13-mtls-5061-dsb.pcapng" "$S/tls13-mtls-5061.pcap"

# unreadable and truncated files among good ones: error lines in place, exit 2
printf 'hello' >"$T/junk.pcap"
head -c 3000 "$S/webex-mtls-5061.pcap" >"$T/cut.pcap"
check "bad files" "$S/webex-mtls-5061.pcap" "$T/nope.pcap" "$T/cut.pcap" "$T/junk.pcap" "$S/traversal-7001-no-clientauth.pcap" "$T/cut.pcap"
# a filter and -c apply per file
check "filter" -c 12 -f "tcp port 5061" -- "${samples[@]}"

# (v) the threads share distinct certificates (dissect/x509_shared.c): two
# fleet captures whose leaf variants overlap, one of them twice (the
# threads ask for the same certificates at the same time), with the
# default store and with --max-memory 16 (a 128 KiB store, smaller than
# the ~3 000 records: the oldest are dropped and parsed again)
GEN=${EK_BUILD:-}/bench/ek_bench_gen
if [[ -n ${EK_BUILD:-} && -x $GEN ]]; then
	for seed in 1 2; do
		"$GEN" -s "$seed" -n 2500 -c 100 --req 100 --resp 200 --leaf-variants 1500 -o "$T/fleet$seed.pcap" \
			"$S/webex-mtls-5061.pcap:1" "$S/sni-mismatch-443.pcap:2" "$S/expired-server-cert-443.pcap:1" \
			"$S/tls13-mtls-5061.pcap:1" 2>/dev/null || bad "generator"
	done
	check "fleet captures sharing certificates" "$T/fleet1.pcap" "$T/fleet2.pcap" "$T/fleet1.pcap"
	check "fleet captures, small store" --max-memory 16 -- "$T/fleet1.pcap" "$T/fleet2.pcap" "$T/fleet1.pcap" \
		"$S/sni-mismatch-443.pcap"
else
	echo "note: no ek_bench_gen (EK_BENCH=OFF); fleet cases skipped"
fi

# inputs -j cannot split (standard input) run serially
"$EK" -j 1 -q -o "$T/a.csv" - "$S/webex-mtls-5061.pcap" <"$S/neighbor-zone-5061.pcap" >"$T/a.txt" 2>&1
"$EK" -j 4 -q -o "$T/b.csv" - "$S/webex-mtls-5061.pcap" <"$S/neighbor-zone-5061.pcap" >"$T/b.txt" 2>&1
cmp -s "$T/a.csv" "$T/b.csv" && cmp -s "$T/a.txt" "$T/b.txt" && ok || bad "standard input with -j 4"

# two outputs on stdout (their interleaving follows the writers' buffers): serial
for j in 1 4; do
	"$EK" -j "$j" --findings - "${samples[@]}" >"$T/s$j.txt" 2>&1
	echo "exit $?" >>"$T/s$j.txt"
done
cmp -s "$T/s1.txt" "$T/s4.txt" && ok || bad "--findings - with the text timeline, -j 4"

# usage errors
"$EK" -j 0 "$S/webex-mtls-5061.pcap" >/dev/null 2>"$T/err"
[[ $? == 2 ]] && grep -q '^ekuscope: -j' "$T/err" && ok || bad "-j 0 is not a usage error"
"$EK" --jobs 2 -q "$S/webex-mtls-5061.pcap" "$S/neighbor-zone-5061.pcap" >/dev/null 2>&1 && ok || bad "--jobs 2"

echo "test_jobs: $pass passed, $failn failed"
((failn == 0))
