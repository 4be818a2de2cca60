#!/usr/bin/env bash
# --export-certs DIR: every certificate of the timeline CSV (decrypted TLS 1.3
# ones included) exported once, byte for byte (SHA-256 of the PEM's DER =
# cert_sha256), named cert-<sha256 16 hex>-<serial>.pem; one chain bundle
# per distinct presented chain, certificates in presented order; a
# directory with other files is refused, and no file is ever overwritten.
set -euo pipefail
: "${EKUSCOPE:?}" "${EK_SRC:?}"
cd "$EK_SRC"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

check_export() { # name dir timeline.csv
	python3 - "$2" "$3" <<'PY' || return 1
import csv, glob, hashlib, os, re, ssl, sys
d, tl = sys.argv[1], sys.argv[2]
def ders(path):
    txt = open(path).read()
    return [ssl.PEM_cert_to_DER_cert(m) for m in
            re.findall(r'-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?', txt, re.S)]
want, chains, msg = {}, set(), {}
for r in csv.DictReader(open(tl)):
    if r['cert_index'] == '': continue
    if 'unparsable' in r['cert_subject']: continue
    want[r['cert_sha256']] = r['cert_serial']
    key = (r['frame'], r['conn'], r['sender'])
    msg.setdefault(key, []).append(r['cert_sha256'])
chains = {tuple(v) for v in msg.values()}
got = {}
errs = []
for p in glob.glob(os.path.join(d, 'cert-*.pem')):
    c = ders(p)
    if len(c) != 1: errs.append('%s holds %d certificates' % (p, len(c))); continue
    h = hashlib.sha256(c[0]).hexdigest()
    name = os.path.basename(p)
    if name != 'cert-%s-%s.pem' % (h[:16], want.get(h, '?')):
        errs.append('%s: digest %s serial %s' % (name, h, want.get(h)))
    got[h] = name
if set(got) != set(want):
    errs.append('exported %d certificates, the CSV has %d (missing %s, extra %s)' % (
        len(got), len(want), sorted(set(want) - set(got))[:3], sorted(set(got) - set(want))[:3]))
gotc = set()
for p in glob.glob(os.path.join(d, 'chain-*.pem')):
    gotc.add(tuple(hashlib.sha256(x).hexdigest() for x in ders(p)))
if gotc != chains:
    errs.append('chains: exported %d, the CSV shows %d distinct' % (len(gotc), len(chains)))
lines = open(os.path.join(d, 'index.tsv')).read().splitlines()
if len(lines) != 1 + len(got) + len(gotc):
    errs.append('index.tsv has %d lines for %d files' % (len(lines), len(got) + len(gotc)))
print('\n'.join(errs))
sys.exit(1 if errs else 0)
PY
}

n=0
for pcap in samples/*.pcap samples/*.pcapng; do
	n=$((n + 1))
	keys=()
	k=${pcap%.pcap}.keylog
	[ -f "$k" ] && keys=(--keylog "$k")
	"$EKUSCOPE" -q "${keys[@]}" -o "$work/t$n.csv" --export-certs "$work/e$n" "$pcap" >/dev/null 2>&1 || true
	if out=$(check_export x "$work/e$n" "$work/t$n.csv"); then ok; else bad "$(basename "$pcap"): $out"; fi
done

# TLS 1.3: certificates only with the key log
"$EKUSCOPE" -q --export-certs "$work/nokey" samples/tls13-mtls-5061.pcap >/dev/null
[ -z "$(ls "$work/nokey" | grep pem || true)" ] && ok || bad "TLS 1.3 without keys exported certificates"
"$EKUSCOPE" -q --keylog samples/tls13-mtls-5061.keylog --export-certs "$work/key" samples/tls13-mtls-5061.pcap >/dev/null
[ "$(ls "$work/key" | grep -c '^cert-')" -ge 2 ] && ok || bad "TLS 1.3 with keys: decrypted certificates not exported"
# the exported files are what openssl reads
for f in "$work"/key/*.pem; do openssl x509 -in "$f" -noout 2>/dev/null || bad "openssl cannot read $f"; done

# a second run into the same directory adds, never rewrites
stamp() { stat -c '%n %i %Y.%y %s' "$work"/key/*.pem; }
before=$(stamp)
sleep 1
"$EKUSCOPE" -q --keylog samples/tls13-mtls-5061.keylog --export-certs "$work/key" samples/tls13-mtls-5061.pcap >/dev/null
[ "$(stamp)" = "$before" ] && ok || bad "a second export rewrote files"
f=$(ls "$work/key"/cert-*.pem | head -1)
echo "user data" >"$f"
"$EKUSCOPE" -q --keylog samples/tls13-mtls-5061.keylog --export-certs "$work/key" samples/tls13-mtls-5061.pcap >/dev/null
[ "$(cat "$f")" = "user data" ] && ok || bad "an existing file was overwritten"

# a directory with other files is refused, untouched
mkdir "$work/user"
echo precious >"$work/user/notes.txt"
set +e
msg=$("$EKUSCOPE" -q --export-certs "$work/user" samples/core-cucm-8443.pcap 2>&1 >/dev/null)
rc=$?
set -e
[ $rc = 2 ] && [[ $msg == *"not written by ekuscope"* ]] && [ "$(ls "$work/user")" = notes.txt ] && ok ||
	bad "a directory with other files: exit $rc, '$msg', $(ls "$work/user" | tr '\n' ' ')"
: >"$work/afile"
set +e
"$EKUSCOPE" -q --export-certs "$work/afile" samples/core-cucm-8443.pcap >/dev/null 2>&1
rc=$?
set -e
[ $rc = 2 ] && ok || bad "a plain file as DIR: exit $rc"
echo "export-certs: $pass passed, $fail failed"
((fail == 0))
