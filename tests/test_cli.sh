#!/usr/bin/env bash
# Command-line conventions: exit codes, one-line errors, filters that keep
# Wireshark's frame numbers, -c, -q, --fail-on, outputs written whole.
set -uo pipefail
EK=${EKUSCOPE:?} S=${EK_SRC:?}/samples
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 failn=0
ok() { pass=$((pass + 1)); }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }
expect_rc() { # WANT DESC CMD...
	local want=$1 desc=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [[ $rc == "$want" ]]; then ok; else bad "$desc: exit $rc, want $want ($(head -c 300 "$T/err"))"; fi
}
one_line_err() { # DESC
	if [[ $(wc -l <"$T/err") == 1 ]] && grep -q '^ekuscope: ' "$T/err"; then ok; else bad "$1: stderr is not one 'ekuscope:' line: $(cat "$T/err")"; fi
}

expect_rc 0 "--help" "$EK" --help
grep -q -- "--fail-on" "$T/out" && ok || bad "--help does not list --fail-on"
expect_rc 2 "no input" "$EK"
expect_rc 2 "missing file" "$EK" "$T/nope.pcap"; one_line_err "missing file"
printf 'hello' >"$T/junk"
expect_rc 2 "not a capture" "$EK" "$T/junk"; one_line_err "not a capture"
expect_rc 2 "bad option value" "$EK" --fail-on sometimes "$S/webex-mtls-5061.pcap"; one_line_err "--fail-on value"
expect_rc 2 "bad filter" "$EK" -r "$S/webex-mtls-5061.pcap" "port and"; one_line_err "bad filter"
expect_rc 2 "no such interface" "$EK" -i ekuscope-nosuch0; one_line_err "no such interface"
expect_rc 2 "unwritable output" "$EK" -o /nonexistent-dir/x.csv "$S/webex-mtls-5061.pcap"; one_line_err "unwritable output"

# --fail-on: the traversal sample has errors, the neighbour zone none
expect_rc 3 "--fail-on error with errors" "$EK" -q --fail-on error "$S/traversal-7001-no-clientauth.pcap"
expect_rc 0 "--fail-on error without" "$EK" -q --fail-on error "$S/neighbor-zone-5061.pcap"
grep -q "No findings." "$T/out" && ok || bad "-q without findings does not say so"

# a filter keeps the file's frame numbers: only the 5061 connection, same frames as unfiltered
"$EK" -q -o "$T/all.csv" "$S/same-cert-both-roles.pcap" >/dev/null
"$EK" -q -o "$T/f.csv" -r "$S/same-cert-both-roles.pcap" tcp port 5061 >/dev/null
want=$(awk -F, 'NR > 1 && $6 ~ /:5061$/ {print $2, $9}' "$T/all.csv")
got=$(awk -F, 'NR > 1 {print $2, $9}' "$T/f.csv")
if [[ -n $want && $want == "$got" ]]; then ok; else bad "filtered frames differ: want [$want] got [$got]"; fi

# -c N stops after N packets
"$EK" -q -c 5 -o "$T/c.csv" "$S/webex-mtls-5061.pcap" >"$T/out"
[[ $(awk -F, 'NR > 1 {print $2}' "$T/c.csv" | sort -n | tail -1) -le 5 ]] && ok || bad "-c 5 read past frame 5"

# outputs are written whole: no temporary left, and -o - goes to stdout
"$EK" -q -o "$T/t.csv" --findings "$T/fi.csv" --certs "$T/ce.csv" "$S/traversal-7001-no-clientauth.pcap" >/dev/null
[[ -s $T/t.csv && -s $T/fi.csv && -s $T/ce.csv && -z $(ls "$T" | grep '\.tmp\.') ]] && ok || bad "outputs missing or temporaries left"
"$EK" -o - "$S/traversal-7001-no-clientauth.pcap" 2>/dev/null | head -1 | grep -q '^file,frame,time,conn' && ok || bad "-o - is not the CSV on stdout"
# --certs: one row per endpoint and role
[[ $(tail -n +2 "$T/ce.csv" | cut -d, -f1,2 | sort -u | tr '\n' ' ') == "10.106.80.16,client 10.106.80.31:7001,server " ]] && ok || bad "inventory rows: $(cut -d, -f1,2 "$T/ce.csv" | tr '\n' ' ')"

# a device as output is written in place, never replaced by a rename
"$EK" -q -o /dev/null "$S/webex-mtls-5061.pcap" >/dev/null 2>&1
[[ -c /dev/null ]] && ok || bad "-o /dev/null replaced the device"

echo "$pass passed, $failn failed"
[[ $failn == 0 ]]
