#!/usr/bin/env bash
# --conns (one row per TLS connection) and --conn N / FILE:N, on the samples:
#  - one row per connection the timeline shows, first/last frame = the
#    timeline's, leaves = the timeline's cert_index 0 per sender;
#  - SNI, cipher suite and negotiated version agree with tshark;
#  - outcome is failed exactly on the connections with handshake_failed;
#  - --conn restricts every output; bad --conn is a usage error.
set -euo pipefail
: "${EKUSCOPE:?}" "${EK_SRC:?}"
cd "$EK_SRC"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--public-roots samples/pki/public-root-ca.crt --ca-file samples/pki/all-roots.pem)
fail=0 pass=0
for pcap in samples/*.pcap samples/*.pcapng; do
	name=$(basename "$pcap")
	keys=()
	k=${pcap%.pcap}.keylog
	[ -f "$k" ] && keys=(--keylog "$k")
	"$EKUSCOPE" "${common[@]}" "${keys[@]}" -q -o "$work/t.csv" --conns "$work/c.csv" "$pcap" >/dev/null 2>&1 || true
	tsk=()
	[ -f "$k" ] && tsk=(-o "tls.keylog_file:$k")
	tshark -n -2 -r "$pcap" -o tcp.reassemble_out_of_order:TRUE "${tsk[@]}" \
		-d tcp.port==5061,tls -d tcp.port==7001,tls -d tcp.port==2222,tls -d tcp.port==8443,tls \
		-Y 'tls.handshake.type==1 || tls.handshake.type==2' -T fields -E separator=/t \
		-e tcp.stream -e tls.handshake.type -e tls.handshake.extensions_server_name \
		-e tls.handshake.ciphersuite -e tls.handshake.extensions.supported_version \
		-e tls.handshake.version >"$work/ts.tsv" 2>/dev/null || true
	if out=$(python3 - "$work/t.csv" "$work/c.csv" "$work/ts.tsv" <<'PY'
import csv, sys
tl = list(csv.DictReader(open(sys.argv[1])))
cs = list(csv.DictReader(open(sys.argv[2])))
ts = [l.rstrip('\n').split('\t') for l in open(sys.argv[3]) if l.strip()]
errs = []
conns = {}
for r in tl:
    c = conns.setdefault(r['conn'], {'first': int(r['frame']), 'last': 0, 'leaf': {}})
    c['last'] = max(c['last'], int(r['frame']))
    if r['event'] == 'Certificate' and r['cert_index'] == '0':
        c['leaf'].setdefault(r['sender'], r['cert_serial'])
# TCP ids (tcp.stream) first, then UDP flows (u<udp.stream>); the tshark
# fields below are TLS-over-TCP ones, so they check the TCP connections.
def conn_order(c):
    return (c.startswith('u'), int(c.lstrip('u')))
if sorted(conns, key=conn_order) != [r['conn'] for r in cs]:
    errs.append('conns %s vs timeline %s' % ([r['conn'] for r in cs], sorted(conns, key=conn_order)))
names = {'0x0303': 'TLS1.2', '0x0304': 'TLS1.3', '0x0302': 'TLS1.1', '0x0301': 'TLS1.0'}
for r in cs:
    c = conns.get(r['conn'])
    if not c: continue
    # A TCP connection's first row is its TcpOpen; a UDP flow has no such
    # row (its first datagrams can be OpenVPN resets or a DTLS cookie
    # exchange before any TLS message), so it starts at or before its first row.
    first_ok = int(r['first_frame']) <= c['first'] if r['conn'].startswith('u') else int(r['first_frame']) == c['first']
    if not first_ok or int(r['last_frame']) != c['last']:
        errs.append('conn %s frames %s-%s, timeline %d-%d' % (r['conn'], r['first_frame'], r['last_frame'], c['first'], c['last']))
    for side in ('client', 'server'):
        if r[side + '_cert_serial'] != c['leaf'].get(side, ''):
            errs.append('conn %s %s leaf %r, timeline %r' % (r['conn'], side, r[side + '_cert_serial'], c['leaf'].get(side, '')))
    hs = [t for t in ts if t[0] == r['conn']]
    ch = [t for t in hs if t[1].split(',')[0] == '1']
    sh = [t for t in hs if t[1].split(',')[0] == '2']
    if ch and ch[0][2] != r['sni']:
        errs.append('conn %s sni %r, tshark %r' % (r['conn'], r['sni'], ch[0][2]))
    if sh:
        cipher = int(sh[0][3].split(',')[0], 16)
        if not r['cipher']:
            errs.append('conn %s no cipher, tshark 0x%04x' % (r['conn'], cipher))
        sv = sh[0][4].split(',')[0] or sh[0][5].split(',')[-1]
        if names.get(sv, '?') != r['version']:
            errs.append('conn %s version %r, tshark %r' % (r['conn'], r['version'], sv))
    failed = 'handshake_failed' in r['findings'].split(';')
    if (r['outcome'] == 'failed') != failed:
        errs.append('conn %s outcome %s with findings %s' % (r['conn'], r['outcome'], r['findings']))
    if r['outcome'] not in ('completed', 'failed', 'unfinished', 'not_visible'):
        errs.append('conn %s outcome %r' % (r['conn'], r['outcome']))
print('\n'.join(errs))
sys.exit(1 if errs else 0)
PY
	); then pass=$((pass + 1)); else echo "FAIL $name:"; echo "$out"; fail=$((fail + 1)); fi
done

# A cipher tshark names: the row names the same suite (ekuscope uses IANA names, tshark too).
"$EKUSCOPE" -q --conns "$work/c.csv" samples/core-cucm-8443.pcap >/dev/null
if grep -q ',TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,yes,1,' "$work/c.csv"; then pass=$((pass + 1)); else
	echo "FAIL core-cucm cipher/CertificateRequest columns"; cat "$work/c.csv"; fail=$((fail + 1)); fi

# --conn restricts every output: same-cert-both-roles has conns 0 and 1.
s=samples/same-cert-both-roles.pcap
"$EKUSCOPE" -q --conn 1 -o "$work/t1.csv" --findings "$work/f1.csv" --conns "$work/c1.csv" "$s" >"$work/r1.txt"
if [ "$(cut -d, -f4 "$work/t1.csv" | tail -n +2 | sort -u)" = 1 ] &&
	[ "$(tail -n +2 "$work/c1.csv" | cut -d, -f2)" = 1 ] &&
	! cut -d, -f5 "$work/f1.csv" | tail -n +2 | grep -qv '^1$'; then pass=$((pass + 1)); else
	echo "FAIL --conn 1 left other connections in"; fail=$((fail + 1)); fi
cp "$s" "$work/a.pcap"
cp samples/core-cucm-8443.pcap "$work/b.pcap"
"$EKUSCOPE" -q --conn a.pcap:0 --conn "$work/b.pcap:0" -o "$work/t2.csv" "$work/a.pcap" "$work/b.pcap" >/dev/null
if [ "$(tail -n +2 "$work/t2.csv" | cut -d, -f1,4 | sort -u | tr '\n' ' ')" = "a.pcap,0 b.pcap,0 " ]; then
	pass=$((pass + 1)); else echo "FAIL FILE:N"; fail=$((fail + 1)); fi
# A UDP flow is named as its conn column writes it: u<udp.stream>.  The
# DTLS sample's only flow is u0; plain 0 is a TCP connection it lacks.
d=samples/dtls12-reject-no-clientauth-8444.pcap
"$EKUSCOPE" -q --conn u0 -o "$work/t3.csv" "$d" >/dev/null 2>&1 || true
"$EKUSCOPE" -q --conn 0 -o "$work/t4.csv" "$d" >/dev/null 2>&1 || true
if [ "$(tail -n +2 "$work/t3.csv" | cut -d, -f4 | sort -u)" = u0 ] && [ "$(wc -l <"$work/t4.csv")" = 1 ]; then
	pass=$((pass + 1)); else echo "FAIL --conn u0 / 0 on a UDP flow"; fail=$((fail + 1)); fi
for bad in "--conn x" "--conn ux" "--conn u" "--conn -1" "--conn :3" "--conn 0 $work/b.pcap" "--conn c.pcap:0"; do
	set +e
	# shellcheck disable=SC2086
	msg=$("$EKUSCOPE" -q $bad "$work/a.pcap" 2>&1 >/dev/null)
	rc=$?
	set -e
	if [ $rc = 2 ] && [ "$(printf '%s\n' "$msg" | wc -l)" = 1 ] && [[ $msg == ekuscope:* ]]; then pass=$((pass + 1)); else
		echo "FAIL '$bad': exit $rc, '$msg'"; fail=$((fail + 1)); fi
done
echo "conns: $pass passed, $fail failed"
((fail == 0))
