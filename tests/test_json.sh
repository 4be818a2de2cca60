#!/usr/bin/env bash
# --json: every line is valid JSON (jq); one timeline object per CSV row, one
# finding object per findings-CSV row (same codes, same order), one
# connection object per --conns row and one summary last; certificate for
# certificate the same content as the timeline CSV (serial and SHA-256 in
# the uppercase ECS asks for); hostile names stay data.
set -euo pipefail
: "${EKUSCOPE:?}" "${EK_SRC:?}"
command -v jq >/dev/null || { echo "FAIL: jq not installed (scripts/deps.sh installs it)"; exit 1; }
cd "$EK_SRC"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--public-roots samples/pki/public-root-ca.crt --ca-file samples/pki/all-roots.pem)
fail=0 pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# The certificate columns of the CSV and the same from the JSON, as TSV.
csv_certs() {
	python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["cert_index"] == "": continue
    un = lambda s: s[1:] if s[:1] == "'"'"'" else s   # the formula apostrophe
    print("\t".join([r["frame"], r["conn"], r["sender"], r["cert_index"], r["cert_serial"].lower(),
                     un(r["cert_subject"]), un(r["cert_issuer"]), r["cert_eku"], r["cert_not_before"],
                     r["cert_not_after"], r["cert_sha256"].lower()]))' "$1"
}
json_certs() {
	jq -r 'select(.event.dataset == "ekuscope.timeline" and .ekuscope.cert != null)
	  | .ekuscope as $e | .tls[$e.role] as $t
	  | [($e.frame|tostring), ($e.conn|tostring), $e.role, ($e.cert.index|tostring),
	     ($t.x509.serial_number // "" | ascii_downcase), ($t.x509.subject.distinguished_name // ""),
	     ($t.x509.issuer.distinguished_name // ""), (($e.cert.eku // []) | join(";")),
	     ($t.x509.not_before // ""), ($t.x509.not_after // ""), ($t.hash.sha256 | ascii_downcase)] | join("\t")' "$1"
}

check_run() { # name, then ekuscope arguments
	local name=$1
	shift
	"$EKUSCOPE" "${common[@]}" -q -o "$work/t.csv" --findings "$work/f.csv" --conns "$work/c.csv" \
		--json "$work/j.jsonl" "$@" >/dev/null 2>&1 || true
	if ! jq -c . "$work/j.jsonl" >/dev/null 2>"$work/jq.err"; then bad "$name: not valid JSON: $(head -1 "$work/jq.err")"; return; fi
	local rows objs
	rows=$(($(wc -l <"$work/t.csv") - 1))
	objs=$(jq -c 'select(.event.dataset == "ekuscope.timeline")' "$work/j.jsonl" | wc -l)
	[ "$rows" = "$objs" ] && ok || bad "$name: $rows timeline rows, $objs timeline objects"
	# code, file and frame of each finding, in order
	diff <(python3 -c 'import csv,sys; [print(r["code"], r["file"], r["frame"]) for r in csv.DictReader(open(sys.argv[1]))]' "$work/f.csv") \
		<(jq -r 'select(.event.dataset == "ekuscope.finding") | "\(.ekuscope.finding.code) \(.ekuscope.file) \(.ekuscope.frame)"' "$work/j.jsonl") >"$work/fd" &&
		ok || { bad "$name: finding objects differ from the findings CSV:"; head -6 "$work/fd"; }
	diff <(tail -n +2 "$work/c.csv" | cut -d, -f2) \
		<(jq -r 'select(.event.dataset == "ekuscope.connection") | .ekuscope.conn' "$work/j.jsonl") >/dev/null &&
		ok || bad "$name: connection objects differ from --conns"
	[ "$(tail -1 "$work/j.jsonl" | jq -r .event.dataset)" = ekuscope.summary ] && ok || bad "$name: summary is not last"
	if diff <(csv_certs "$work/t.csv") <(json_certs "$work/j.jsonl") >"$work/d"; then ok; else
		bad "$name: certificates differ from the CSV:"; head -20 "$work/d"; fi
	# the summary counts what the report counts
	local tls
	tls=$(tail -1 "$work/j.jsonl" | jq .ekuscope.summary.tls_connections)
	[ "$tls" = "$(($(wc -l <"$work/c.csv") - 1))" ] && ok || bad "$name: summary says $tls TLS connections"
}

for pcap in samples/*.pcap samples/*.pcapng; do
	k=${pcap%.pcap}.keylog
	if [ -f "$k" ]; then check_run "$(basename "$pcap") with keys" --keylog "$k" "$pcap"; fi
	check_run "$(basename "$pcap")" "$pcap"
done
check_run multi-file samples/traversal-7001-no-clientauth.pcap samples/same-cert-both-roles.pcap

# Hostile names: markup, ESC and invalid UTF-8 in the SNI and the subject.
python3 tests/hostile_capture.py "$EK_SRC" "$work/h.pcap"
check_run hostile "$work/h.pcap"
sni=$(jq -r 'select(.ekuscope.event == "connection") | .tls.client.server_name' "$work/j.jsonl")
[ "$sni" = '"><svg onload=alert(4)><script>alert(5)</script>\x1b[31m\xff.example' ] && ok ||
	bad "hostile SNI came out as '$sni'"
grep -q $'\x1b' "$work/j.jsonl" && bad "raw ESC in the JSON" || ok
iconv -f UTF-8 -t UTF-8 "$work/j.jsonl" >/dev/null 2>&1 && ok || bad "JSON is not valid UTF-8"

# stdout: the report moves to stderr, the JSON stays clean
"$EKUSCOPE" --json - samples/traversal-7001-no-clientauth.pcap 2>/dev/null | jq -c . >/dev/null && ok ||
	bad "--json - is not clean JSON Lines on stdout"
set +e
"$EKUSCOPE" -o - --json - samples/traversal-7001-no-clientauth.pcap >/dev/null 2>&1
[ $? = 2 ] && ok || bad "-o - with --json - was accepted"
set -e
echo "json: $pass passed, $fail failed"
((fail == 0))
