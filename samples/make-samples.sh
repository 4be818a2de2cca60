#!/usr/bin/env bash
# make-samples.sh - regenerate ekuscope's sample PKI and packet captures.
#
# Run as root on Debian (it apt-get installs openssl, tcpdump, python3,
# tshark/wireshark-common and iproute2 when they are missing):
#
#     bash samples/make-samples.sh            # PKI + captures + expected.tsv
#     bash samples/make-samples.sh --keep-pki # reuse samples/pki/*.key|*.crt
#     bash samples/make-samples.sh --udp-only # only the DTLS/OpenVPN captures (keeps the PKI)
#     bash samples/make-samples.sh --stacks-only  # only the GnuTLS/Go/NSS samples
#
# Every scenario is a real handshake between `openssl s_server` and
# `openssl s_client` on 127.0.0.1, on the scenario's real port, captured by
# `tcpdump -i lo`.  samples/rewrite.py then moves the loopback packets to the
# documented case addresses (and a fixed client port and start time), and
# samples/derive-expected.py reads the results back with tshark + openssl to
# write samples/expected.tsv and the timeline tables in samples/README.md.
# Only loopback traffic is ever sent.  Takes about 40 s.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
KEEP_PKI=0 UDP_ONLY=0 STACKS_ONLY=0
[[ ${1:-} == --keep-pki ]] && KEEP_PKI=1
[[ ${1:-} == --udp-only ]] && KEEP_PKI=1 UDP_ONLY=1
[[ ${1:-} == --stacks-only ]] && KEEP_PKI=1 STACKS_ONLY=1   # only make-stack-samples.sh's captures
TIME_BASE=2026-03-24T11:54:26.106000   # packet times start here (UTC), as in the seed case
export LC_ALL=C

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'make-samples.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (tcpdump on lo)"

# ------------------------------------------------------------------ tools
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v python3 >/dev/null || need+=(python3)
command -v tshark  >/dev/null || need+=(tshark)
command -v editcap >/dev/null || need+=(wireshark-common)
command -v ss      >/dev/null || need+=(iproute2)
command -v openvpn >/dev/null || need+=(openvpn)
if ((${#need[@]})); then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi
case $(openssl version) in
	"OpenSSL 3."*) ;;
	*) die "OpenSSL 3.x required, have: $(openssl version)" ;;
esac

WORK=$(mktemp -d /tmp/ekuscope-samples.XXXXXX)
chmod 755 "$WORK"   # tcpdump drops to its own user after opening files
TCPDUMP_PID= SERVER_PID=
cleanup() {
	local p
	for p in $SERVER_PID $TCPDUMP_PID; do
		kill "$p" 2>/dev/null || true
	done
	{ exec 9>&-; } 2>/dev/null || true
	if [[ -n ${EK_KEEP_WORK:-} ]]; then
		log "logs and raw loopback captures kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# ==================================================================== PKI
# EC P-256 keys keep the captures small.  Certificates come from `openssl ca`
# because OpenSSL 3.0's `x509 -req` cannot set notBefore/notAfter; the serial
# is written to the CA database's serial file right before each issuance
# (the equivalent of -set_serial).
export EK_SAN=DNS:unused.example.com

ca_db() { # CA-NAME -> prints its scratch database dir
	local d=$WORK/ca/$1
	if [[ ! -d $d ]]; then
		mkdir -p "$d/newcerts"
		: >"$d/index.txt"
	fi
	printf '%s\n' "$d"
}

# issue NAME ISSUER(self|ca-name) SUBJECT SAN EXT-SECTION SERIAL START END
issue() {
	local name=$1 issuer=$2 subj=$3 san=$4 ext=$5 serial=$6 start=$7 end=$8 db
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null
	openssl req -new -config "$PKI/req.cnf" -key "$PKI/$name.key" -subj "$subj" -out "$WORK/$name.csr"
	if [[ $issuer == self ]]; then
		db=$(ca_db "$name")
		set -- -selfsign -keyfile "$PKI/$name.key"
	else
		db=$(ca_db "$issuer")
		set -- -cert "$PKI/$issuer.crt" -keyfile "$PKI/$issuer.key"
	fi
	printf '%s\n' "$serial" >"$db/serial"
	EK_CA_DIR=$db EK_SAN=${san:-DNS:unused.example.com} \
		openssl ca -batch -config "$PKI/ca.cnf" "$@" -in "$WORK/$name.csr" -out "$WORK/$name.pem" \
		-notext -preserveDN -startdate "$start" -enddate "$end" \
		-extfile "$PKI/extensions.cnf" -extensions "$ext" 2>"$WORK/ca.err" ||
		{ cat "$WORK/ca.err" >&2; die "openssl ca failed for $name"; }
	openssl x509 -in "$WORK/$name.pem" -out "$PKI/$name.crt"
}

# trust-public-and-private-ca-1.pem: s_server's -CAfile in same-cert-both-roles;
# all-roots.pem: the three roots, for ekuscope --ca-file in the tests.
trust_bundles() {
	cat "$PKI/public-root-ca.crt" "$PKI/private-ca-1.crt" >"$PKI/trust-public-and-private-ca-1.pem"
	cat "$PKI/public-root-ca.crt" "$PKI/private-ca-1.crt" "$PKI/private-ca-2.crt" >"$PKI/all-roots.pem"
}

# Leaves of the other-stack samples (make-stack-samples.sh), issued when
# missing so that --keep-pki keeps every older certificate.
stack_leaves() {
	local O_EXP="/C=IN/ST=KA/L=KA/O=Example/OU=TAC" S=20260101000000Z E=20360101000000Z
	# Expressway-C with anyExtendedKeyUsage only / serverAuth + anyExtendedKeyUsage (public CA).
	[[ -f $PKI/expressway-c-any-eku.crt ]] ||
		issue expressway-c-any-eku public-issuing-ca "$O_EXP/CN=expressway-c.example.com" DNS:expressway-c.example.com leaf_any_eku 46DF76AA0000000000A1 $S $E
	[[ -f $PKI/expressway-c-server-any-eku.crt ]] ||
		issue expressway-c-server-any-eku public-issuing-ca "$O_EXP/CN=expressway-c.example.com" DNS:expressway-c.example.com leaf_server_any_eku 46DF76AA0000000000A2 $S $E
}

make_pki() {
	log "PKI"
	rm -f "$PKI"/*.key "$PKI"/*.crt "$PKI"/*.pem
	local O_PUB="/C=US/O=Example Public Trust" O_EXP="/C=IN/ST=KA/L=KA/O=Example/OU=TAC"
	local S=20260101000000Z E=20360101000000Z
	#     name                        issuer             subject                                              SAN                               extensions          serial                                   notBefore        notAfter
	issue public-root-ca             self               "$O_PUB/CN=Public Root CA"                           ""                                v3_root             1001                                     $S               20410101000000Z
	issue public-issuing-ca          public-root-ca     "$O_PUB/CN=Public Issuing CA"                        ""                                v3_issuing          1002                                     $S               20380101000000Z
	issue private-ca-1               self               "/C=IN/O=Example/CN=Private CA 1"                    ""                                v3_root             2001                                     $S               20410101000000Z
	issue private-ca-2               self               "/C=US/O=Example Partner/CN=Private CA 2"            ""                                v3_root             3001                                     $S               20410101000000Z
	# Expressway-E, public CA, serverAuth+clientAuth: the Webex client certificate of the seed case.
	issue expressway-e-dual          public-issuing-ca  "$O_EXP/CN=expressway-e.example.com"             DNS:expressway-e.example.com      leaf_server_client  2F0000004C869C77C8981BECDE00000000004C   $S               $E
	# Expressway-E, public CA, serverAuth only (its server certificate on 7001/2222).
	issue expressway-e-server        public-issuing-ca  "$O_EXP/CN=expressway-e.example.com"             DNS:expressway-e.example.com      leaf_server         46DF76AA000000000029                     $S               $E
	# Expressway-C certificate renewed from the public CA: serverAuth only.
	issue expressway-c-public-server public-issuing-ca  "$O_EXP/CN=expressway-c.example.com"             DNS:expressway-c.example.com      leaf_server         46DF76AA000000000031                     $S               $E
	# Private-PKI fix: Expressway-C from Private CA 1, serverAuth+clientAuth.
	issue expressway-c               private-ca-1       "$O_EXP/CN=expressway-c.example.com"             DNS:expressway-c.example.com      leaf_server_client  2001000000000016                         $S               $E
	# Neighbour Expressway x8.11.4 (10.106.80.15), Private CA 1.
	issue expressway-x8              private-ca-1       "$O_EXP/CN=expressway-x8.example.com"            DNS:expressway-x8.example.com     leaf_server_client  2001000000000015                         $S               $E
	issue expressway-x8-no-eku       private-ca-1       "$O_EXP/CN=expressway-x8.example.com"            DNS:expressway-x8.example.com     leaf_no_eku         2001000000E00015                         $S               $E
	issue cucm                       private-ca-1       "$O_EXP/CN=cucm.example.com"                     DNS:cucm.example.com              leaf_server_client  2001000000000038                         $S               $E
	issue cucm-client-only           private-ca-1       "$O_EXP/CN=cucm.example.com"                     DNS:cucm.example.com              leaf_client         200100000000C138                         $S               $E
	# Webex: public CA, serverAuth only; serial with the top bit set (DER adds a 00 byte).
	issue webex                      public-issuing-ca  "/C=US/O=Example Webex/CN=sip.webex.example.com" DNS:sip.webex.example.com         leaf_server         C0DE5CA1AB1E000000000033                 $S               $E
	issue partner-ca2                private-ca-2       "/C=US/O=Example Partner/CN=partner.example.com" DNS:partner.example.com           leaf_server_client  3001000000000015                         $S               $E
	issue expired                    public-issuing-ca  "$O_EXP/CN=expressway-e.example.com"             DNS:expressway-e.example.com      leaf_server         0BAD0443                                 20240314023740Z  20260314024740Z
	issue not-yet-valid              public-issuing-ca  "$O_EXP/CN=expressway-e.example.com"             DNS:expressway-e.example.com      leaf_server         1A7E0443                                 20300101000000Z  $E
	issue expressway-sni             public-issuing-ca  "$O_EXP/CN=expressway.example.com"               DNS:expressway.example.com        leaf_server         51E1000000000443                         $S               $E
	issue self-signed                self               "$O_EXP/CN=expressway-e.example.com"             DNS:expressway-e.example.com      leaf_self_signed    5E1F5167                                 $S               $E
	stack_leaves
	trust_bundles
	local c
	for c in "$PKI"/*.crt; do
		[[ $(basename "$c") == *-ca*.crt || $c == */self-signed.crt ]] && continue
		# chain check only (validity dates are checked by the scenarios)
		case $(openssl x509 -in "$c" -noout -issuer) in
			*"Public Issuing CA"*) openssl verify -no_check_time -CAfile "$PKI/public-root-ca.crt" -untrusted "$PKI/public-issuing-ca.crt" "$c" ;;
			*"Private CA 1"*) openssl verify -no_check_time -CAfile "$PKI/private-ca-1.crt" "$c" ;;
			*"Private CA 2"*) openssl verify -no_check_time -CAfile "$PKI/private-ca-2.crt" "$c" ;;
		esac >/dev/null || die "$c does not verify against its CA"
	done
}

if ((KEEP_PKI)) && [[ -f $PKI/public-root-ca.crt ]]; then
	log "PKI kept"
	stack_leaves
	trust_bundles
else
	make_pki
fi

if ((STACKS_ONLY)); then
	bash "$HERE/make-stack-samples.sh"
	python3 "$HERE/derive-expected.py" "$HERE"
	exit 0
fi

# =============================================================== captures
# s_server keeps stdin open on a FIFO (EOF on its stdin would make it close
# the connection); -naccept 1 makes it exit when the connection ends.
mkfifo "$WORK/hold"
exec 9<>"$WORK/hold"

PUB_ROOT=$PKI/public-root-ca.crt
PUB_ISS=$PKI/public-issuing-ca.crt
CA1=$PKI/private-ca-1.crt
CA2=$PKI/private-ca-2.crt
# leaf NAME [CHAIN]: the -cert/-key/-cert_chain arguments of a certificate
leaf() { printf '%s\n' -cert "$PKI/$1.crt" -key "$PKI/$1.key"; [[ -n ${2:-} ]] && printf '%s\n' -cert_chain "$2"; return 0; }

source "$HERE/capture.sh" # capture_start, capture_stop

# run_server PROTO(t|u) PORT command...: start it (stdin on the FIFO) and
# wait until it listens on PORT.
run_server() {
	local proto=$1 port=$2 i
	shift 2
	"$@" <&9 >"$WORK/server.$port.log" 2>&1 &
	SERVER_PID=$!
	for i in $(seq 250); do
		[[ -n $(ss -Hl"$proto"n "sport = :$port") ]] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.02
	done
	cat "$WORK/server.$port.log" >&2
	die "server on port $port ($1) did not start"
}

server_start() { # PORT s_server-args...
	local port=$1
	shift
	run_server t "$port" openssl s_server -accept "127.0.0.1:$port" -naccept 1 "$@"
}

server_wait() {
	local i
	for i in $(seq 250); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		log "s_server $SERVER_PID still running; killing it"
		kill "$SERVER_PID"
	fi
	wait "$SERVER_PID" || true
	SERVER_PID=
}

# client PORT LOG s_client-args...: connects, waits until the handshake
# (and TLS 1.3 tickets) have settled, then quits with "Q" (close_notify).
client() {
	local port=$1 clog=$2
	shift 2
	{ sleep 0.4; echo Q; } | timeout 15 openssl s_client -connect "127.0.0.1:$port" -no_ign_eof "$@" \
		>"$clog" 2>&1 || true
}

# One line on what each side's verification said (s_client goes on after
# verify errors; s_server stops only with -verify_return_error).
verify_summary() { # NAME
	local c s
	c=$(grep -m1 -E 'Verify return code' "$WORK/$1.client.log" | sed 's/^ *//' || true)
	s=$(grep -E '^(verify error|ERROR|.*alert)' "$WORK/$1.server.log" | head -2 | tr '\n' ' ' || true)
	log "   s_client: ${c:-no verify result} | s_server: ${s:-ok}"
}

# scenario NAME PORT CONN -- server-args... -- client-args...
# One handshake, captured on its port, rewritten with CONN
# (SERVER_PORT,CLIENT_IP,CLIENT_PORT,SERVER_IP) to samples/NAME.pcap.
scenario() {
	local name=$1 port=$2 conn=$3
	shift 3
	[[ $1 == -- ]] || die "scenario $name: missing --"
	shift
	local srv=() cli=()
	while (($#)) && [[ $1 != -- ]]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	log "$name"
	capture_start "$WORK/$name.raw.pcap" "tcp port $port"
	server_start "$port" "${srv[@]}"
	client "$port" "$WORK/$name.client.log" "${cli[@]}"
	server_wait
	capture_stop
	cp "$WORK/server.$port.log" "$WORK/$name.server.log"
	verify_summary "$name"
	python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" --conn "$conn" --time-base "$TIME_BASE"
}

# ------------------------------------------------------------ UDP (issue 17)
# DTLS and OpenVPN, captured like the TCP scenarios but on UDP: the server
# listens on a UDP port (ss -lun), tcpdump's filter is 'udp port N'.
UDP_SAMPLES=(dtls12-reject-no-clientauth-8444 dtls12-reneg-clientauth-4740 dtls12-slow-server-retransmit-4741
	openvpn-reject-no-serverauth-1194 openvpn-tls-auth-1194)
server_start_udp() { # PORT command...
	run_server u "$@"
}

udp_samples() {
	local name
	for name in "${UDP_SAMPLES[@]}"; do rm -f "$HERE/$name.pcap"; done
	# (p) DTLS 1.2 mutual TLS on a port no table knows (found by content):
	# the client's serverAuth-only certificate is rejected by s_server's
	# purpose check (-purpose sslclient -verify_return_error) with a fatal
	# unsupported_certificate(43) alert.
	name=dtls12-reject-no-clientauth-8444
	log "$name"
	capture_start "$WORK/$name.raw.pcap" "udp port 8444"
	server_start_udp 8444 openssl s_server -dtls1_2 -accept 127.0.0.1:8444 -naccept 1 "${expe_srv[@]}" \
		"${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT"
	client 8444 "$WORK/$name.client.log" -dtls1_2 "${expc_pub[@]}" -CAfile "$PUB_ROOT"
	server_wait
	capture_stop
	cp "$WORK/server.8444.log" "$WORK/$name.server.log"
	verify_summary "$name"
	python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" --conn 8444,10.106.80.61,40001,10.106.80.60 \
		--time-base "$TIME_BASE"

	# (r) DTLS 1.2 renegotiation asking for the client certificate, as
	# tls12-reneg-clientauth-443 over TLS (s_server's "R": HelloRequest,
	# then a handshake inside epoch 1; no ticket or cache, not resumed):
	# the client's serverAuth-only certificate and the server's fatal
	# unsupported_certificate(43) alert are encrypted; the key log shows
	# them.  AES-256-GCM (the corpus's dtls12.pcapng is CBC).
	name=dtls12-reneg-clientauth-4740
	log "$name"
	rm -f "$HERE/$name.keylog"
	capture_start "$WORK/$name.raw.pcap" "udp port 4740"
	server_start_udp 4740 openssl s_server -dtls1_2 -accept 127.0.0.1:4740 -naccept 1 -no_ticket -no_cache \
		"${expe_srv[@]}" -CAfile "$PUB_ROOT" -verify_return_error -purpose sslclient
	{ sleep 0.4; printf 'R\n' >&9; } &
	{ sleep 1.5; echo Q; } | timeout 15 openssl s_client -dtls1_2 -connect 127.0.0.1:4740 -no_ign_eof \
		"${expc_pub[@]}" -CAfile "$PUB_ROOT" -keylogfile "$HERE/$name.keylog" >"$WORK/$name.client.log" 2>&1 || true
	server_wait
	capture_stop
	cp "$WORK/server.4740.log" "$WORK/$name.server.log"
	verify_summary "$name"
	python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" --conn 4740,10.106.80.61,40003,10.106.80.60 \
		--time-base "$TIME_BASE"

	# (s) DTLS 1.2 with a server that does not answer in time: s_server is
	# stopped (SIGSTOP) while the client's first ClientHello arrives and
	# continued 1.8 s later; the client retransmits its ClientHello after
	# its 1 s timer, the server then answers both with a HelloVerifyRequest,
	# and the handshake completes.
	name=dtls12-slow-server-retransmit-4741
	log "$name"
	capture_start "$WORK/$name.raw.pcap" "udp port 4741"
	server_start_udp 4741 openssl s_server -dtls1_2 -accept 127.0.0.1:4741 -naccept 1 "${expe_srv[@]}"
	kill -STOP "$SERVER_PID"
	{ sleep 1.8; kill -CONT "$SERVER_PID"; } &
	{ sleep 3; echo Q; } | timeout 15 openssl s_client -dtls1_2 -connect 127.0.0.1:4741 -no_ign_eof \
		-CAfile "$PUB_ROOT" >"$WORK/$name.client.log" 2>&1 || true
	wait $!
	server_wait
	capture_stop
	cp "$WORK/server.4741.log" "$WORK/$name.server.log"
	verify_summary "$name"
	python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" --conn 4741,10.106.80.61,40004,10.106.80.60 \
		--time-base "$TIME_BASE"

	# (q) OpenVPN 2.6 over UDP, TLS 1.2: (1) the server's certificate has
	# clientAuth only, the client's --remote-cert-tls server rejects it and
	# gives up (--tls-exit: OpenVPN sends no alert); (2) a clean session
	# with --tls-auth (HMAC-SHA256 before the ack array) and good
	# certificates.  --dev null: no tunnel device, only the control channel
	# and a few data packets.
	local ovpn=(openvpn --dev null --proto udp4 --tls-version-max 1.2 --verb 3 --ca "$CA1")
	openvpn --genkey secret "$WORK/ta.key"
	local srv cli sc auth_s auth_c
	for name in openvpn-reject-no-serverauth-1194 openvpn-tls-auth-1194; do
		if [[ $name == openvpn-reject-* ]]; then
			sc=cucm-client-only auth_s=() auth_c=()
		else
			sc=expressway-c auth_s=(--tls-auth "$WORK/ta.key" 0 --auth SHA256)
			auth_c=(--tls-auth "$WORK/ta.key" 1 --auth SHA256)
		fi
		log "$name"
		capture_start "$WORK/$name.raw.pcap" "udp port 1194"
		server_start_udp 1194 timeout 5 "${ovpn[@]}" --local 127.0.0.1 --lport 1194 --tls-server --dh none \
			--cert "$PKI/$sc.crt" --key "$PKI/$sc.key" "${auth_s[@]}"
		timeout 3 "${ovpn[@]}" --remote 127.0.0.1 1194 --nobind --tls-client --tls-exit --remote-cert-tls server \
			--cert "$PKI/expressway-x8.crt" --key "$PKI/expressway-x8.key" "${auth_c[@]}" \
			>"$WORK/$name.client.log" 2>&1 || true
		server_wait
		capture_stop
		cp "$WORK/server.1194.log" "$WORK/$name.server.log"
		log "   client: $(grep -m1 -E 'VERIFY ERROR|Initialization Sequence Completed' "$WORK/$name.client.log" |
			cut -c21- || echo '?')"
		python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" \
			--conn 1194,10.106.80.61,40002,10.106.80.60 --time-base "$TIME_BASE"
	done
}

T12=(-tls1_2)
REQUIRE_CLIENTAUTH=(-Verify 1 -verify_return_error -purpose sslclient)
if ((UDP_ONLY)); then
	mapfile -t expe_srv < <(leaf expressway-e-server "$PUB_ISS")
	mapfile -t expc_pub < <(leaf expressway-c-public-server "$PUB_ISS")
	udp_samples
	exec 9>&-
	log "expected-udp.tsv"
	python3 "$HERE/derive-expected-udp.py" "$HERE"
	log "done: ${#UDP_SAMPLES[@]} UDP captures"
	exit 0
fi

rm -f "$HERE"/*.pcap "$HERE"/*.keylog "$HERE"/*-dsb.pcapng

T12=(-tls1_2)
T13=(-tls1_3)
REQUIRE_CLIENTAUTH=(-Verify 1 -verify_return_error -purpose sslclient)

# (a)+(i) Expressway-E -> Webex, mutual TLS 1.2, client cert from the public CA with clientAuth.
mapfile -t webex < <(leaf webex "$PUB_ISS")
mapfile -t expe_dual < <(leaf expressway-e-dual "$PUB_ISS")
scenario webex-mtls-5061 5061 5061,10.106.80.31,25002,163.129.37.33 \
	-- "${T12[@]}" "${webex[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT" \
	-- "${T12[@]}" "${expe_dual[@]}" -CAfile "$PUB_ROOT" -servername sip.webex.example.com

# (b) secure neighbour zone: x8.11.4 (10.106.80.15) -> x15.5 (10.106.80.16), private CA 1 both ways.
mapfile -t expc < <(leaf expressway-c "$CA1")
mapfile -t x8 < <(leaf expressway-x8 "$CA1")
scenario neighbor-zone-5061 5061 5061,10.106.80.15,25060,10.106.80.16 \
	-- "${T12[@]}" "${expc[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$CA1" \
	-- "${T12[@]}" "${x8[@]}" -CAfile "$CA1" -servername expressway-c.example.com

# (c) Expressway-C -> CUCM 8443, CUCM asks for a client certificate.
mapfile -t cucm < <(leaf cucm "$CA1")
scenario core-cucm-8443 8443 8443,10.106.80.16,41016,10.106.80.38 \
	-- "${T12[@]}" "${cucm[@]}" -verify 1 -CAfile "$CA1" \
	-- "${T12[@]}" "${expc[@]}" -CAfile "$CA1" -servername cucm.example.com

# (d) Expressway-C with a renewed serverAuth-only public certificate -> Expressway-E,
# which requires clientAuth (EKU checking mode On): traversal zone and SSH tunnel.
mapfile -t expe_srv < <(leaf expressway-e-server "$PUB_ISS")
mapfile -t expc_pub < <(leaf expressway-c-public-server "$PUB_ISS")
scenario traversal-7001-no-clientauth 7001 7001,10.106.80.16,33001,10.106.80.31 \
	-- "${T12[@]}" "${expe_srv[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT" \
	-- "${T12[@]}" "${expc_pub[@]}" -CAfile "$PUB_ROOT" -servername expressway-e.example.com
scenario ssh-tunnel-2222-no-clientauth 2222 2222,10.106.80.16,33002,10.106.80.31 \
	-- "${T12[@]}" "${expe_srv[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT" \
	-- "${T12[@]}" "${expc_pub[@]}" -CAfile "$PUB_ROOT" -servername expressway-e.example.com

# (e) certificate requested, none sent (empty Certificate), server tolerates it.
scenario empty-client-cert-tolerated-5061 5061 5061,10.106.80.15,25061,10.106.80.16 \
	-- "${T12[@]}" "${expc[@]}" -verify 1 -CAfile "$CA1" \
	-- "${T12[@]}" -CAfile "$CA1" -servername expressway-c.example.com

# (f) expired server certificate; s_client reports verify error 10 and goes on.
mapfile -t expired < <(leaf expired "$PUB_ISS")
scenario expired-server-cert-443 443 443,10.106.80.16,44301,10.106.80.31 \
	-- "${T12[@]}" "${expired[@]}" \
	-- "${T12[@]}" -CAfile "$PUB_ROOT" -servername expressway-e.example.com

# (g) CertificateRequest names only Private CA 1; the client sends a Private CA 2 chain.
mapfile -t partner < <(leaf partner-ca2 "$CA2")
scenario issuer-not-requested-5061 5061 5061,10.106.80.15,25062,10.106.80.16 \
	-- "${T12[@]}" "${expc[@]}" -verify 1 -CAfile "$CA1" \
	-- "${T12[@]}" "${partner[@]}" -CAfile "$CA1" -servername expressway-c.example.com

# (h) the same certificate as server (7001) and as client (5061), one file.
log same-cert-both-roles
capture_start "$WORK/same-cert-both-roles.raw.pcap" "tcp port 7001 or tcp port 5061"
server_start 7001 "${T12[@]}" "${expe_dual[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PKI/trust-public-and-private-ca-1.pem"
client 7001 "$WORK/same-cert-both-roles.7001.client.log" "${T12[@]}" "${expc[@]}" -CAfile "$PUB_ROOT" -servername expressway-e.example.com
server_wait
server_start 5061 "${T12[@]}" "${webex[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT"
client 5061 "$WORK/same-cert-both-roles.5061.client.log" "${T12[@]}" "${expe_dual[@]}" -CAfile "$PUB_ROOT" -servername sip.webex.example.com
server_wait
capture_stop
for p in 7001 5061; do
	cp "$WORK/server.$p.log" "$WORK/same-cert-both-roles.$p.server.log"
	verify_summary "same-cert-both-roles.$p"
done
python3 "$HERE/rewrite.py" "$WORK/same-cert-both-roles.raw.pcap" "$HERE/same-cert-both-roles.pcap" \
	--conn 7001,10.106.80.16,33011,10.106.80.31 --conn 5061,10.106.80.31,25002,163.129.37.33 --time-base "$TIME_BASE"

# (j) SNI names another host than the certificate.
mapfile -t sni < <(leaf expressway-sni "$PUB_ISS")
scenario sni-mismatch-443 443 443,10.106.80.16,44302,10.106.80.31 \
	-- "${T12[@]}" "${sni[@]}" \
	-- "${T12[@]}" -CAfile "$PUB_ROOT" -servername wrong.example.com

# (k) TLS 1.3: certificates are encrypted; the keylog lets tshark decrypt them.
tls13() { # NAME PORT CONN CIPHERSUITE EXTRA-SERVER EXTRA-CLIENT (space-separated words)
	local name=$1 port=$2 conn=$3 cs=$4 xs=$5 xc=$6
	# shellcheck disable=SC2086
	scenario "$name" "$port" "$conn" \
		-- "${T13[@]}" -ciphersuites "$cs" "${webex[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT" $xs \
		-- "${T13[@]}" -ciphersuites "$cs" "${expe_dual[@]}" -CAfile "$PUB_ROOT" -servername sip.webex.example.com \
		-keylogfile "$HERE/$name.keylog" $xc
}
tls13 tls13-mtls-5061 5061 5061,10.106.80.31,25002,163.129.37.33 TLS_AES_128_GCM_SHA256 "" ""
tls13 tls13-mtls-aes256gcm-5061 5061 5061,10.106.80.31,25002,163.129.37.33 TLS_AES_256_GCM_SHA384 "" ""
tls13 tls13-mtls-chacha20-5061 5061 5061,10.106.80.31,25002,163.129.37.33 TLS_CHACHA20_POLY1305_SHA256 "" ""
tls13 tls13-mtls-aes128ccm-5061 5061 5061,10.106.80.31,25002,163.129.37.33 TLS_AES_128_CCM_SHA256 "" ""
# HelloRetryRequest: the client sends a key share for X25519 only, the server accepts only P-256.
tls13 tls13-hrr-5061 5061 5061,10.106.80.31,25002,163.129.37.33 TLS_AES_128_GCM_SHA256 "-groups P-256" "-groups X25519:P-256"
# TLS 1.3 rejection of the serverAuth-only client certificate (alert encrypted).
name=tls13-reject-no-clientauth-7001
scenario "$name" 7001 7001,10.106.80.16,33003,10.106.80.31 \
	-- "${T13[@]}" -ciphersuites TLS_AES_128_GCM_SHA256 "${expe_srv[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$PUB_ROOT" \
	-- "${T13[@]}" -ciphersuites TLS_AES_128_GCM_SHA256 "${expc_pub[@]}" -CAfile "$PUB_ROOT" \
	-servername expressway-e.example.com -keylogfile "$HERE/$name.keylog"

# (o) TLS 1.2, the client certificate asked for only in a renegotiation
# (s_server's "R" command: HelloRequest, then a full handshake with
# CertificateRequest inside the encrypted session; no ticket or session cache,
# so it is not resumed): the client's serverAuth-only certificate and the
# server's fatal unsupported_certificate(43) alert are encrypted; the key log
# shows them.
name=tls12-reneg-clientauth-443
log "$name"
capture_start "$WORK/$name.raw.pcap" "tcp port 443"
server_start 443 "${T12[@]}" -no_ticket -no_cache "${expe_srv[@]}" -CAfile "$PUB_ROOT" -verify_return_error \
	-purpose sslclient
{ sleep 0.4; printf 'R\n' >&9; } &
{ sleep 1.2; echo Q; } | timeout 15 openssl s_client -connect 127.0.0.1:443 -no_ign_eof "${T12[@]}" "${expc_pub[@]}" \
	-CAfile "$PUB_ROOT" -servername expressway-e.example.com -keylogfile "$HERE/$name.keylog" \
	>"$WORK/$name.client.log" 2>&1 || true
server_wait
capture_stop
cp "$WORK/server.443.log" "$WORK/$name.server.log"
verify_summary "$name"
python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" --conn 443,10.106.80.16,44305,10.106.80.31 \
	--time-base "$TIME_BASE"

# Extra findings: server cert with clientAuth only, client cert without EKU,
# not-yet-valid server cert, self-signed server cert.
mapfile -t cucm_co < <(leaf cucm-client-only "$CA1")
scenario server-cert-clientauth-only-8443 8443 8443,10.106.80.16,41017,10.106.80.38 \
	-- "${T12[@]}" "${cucm_co[@]}" -verify 1 -CAfile "$CA1" \
	-- "${T12[@]}" "${expc[@]}" -CAfile "$CA1" -servername cucm.example.com
mapfile -t x8_noeku < <(leaf expressway-x8-no-eku "$CA1")
scenario client-cert-no-eku-5061 5061 5061,10.106.80.15,25063,10.106.80.16 \
	-- "${T12[@]}" "${expc[@]}" "${REQUIRE_CLIENTAUTH[@]}" -CAfile "$CA1" \
	-- "${T12[@]}" "${x8_noeku[@]}" -CAfile "$CA1" -servername expressway-c.example.com
mapfile -t nyv < <(leaf not-yet-valid "$PUB_ISS")
scenario not-yet-valid-server-cert-443 443 443,10.106.80.16,44303,10.106.80.31 \
	-- "${T12[@]}" "${nyv[@]}" \
	-- "${T12[@]}" -CAfile "$PUB_ROOT" -servername expressway-e.example.com
mapfile -t selfs < <(leaf self-signed)
scenario self-signed-server-443 443 443,10.106.80.16,44304,10.106.80.31 \
	-- "${T12[@]}" "${selfs[@]}" \
	-- "${T12[@]}" -CAfile "$PUB_ROOT" -servername expressway-e.example.com

udp_samples
exec 9>&-

# ===================================================== derived captures
# (l) the neighbour-zone handshake cut into 536-byte TCP segments (the
# IPv4 default MSS; loopback's 65483-byte MSS put each flight in one
# segment), then one segment in the middle of the server's Certificate
# record removed: a hole that is never filled.
log "segmented / data-missing / snaplen-cut / ipv6-vlan"
NZ=5061,10.106.80.15,25060,10.106.80.16
python3 "$HERE/rewrite.py" "$HERE/neighbor-zone-5061.pcap" "$HERE/segmented-flight-5061.pcap" --conn "$NZ" --mss 536
python3 "$HERE/rewrite.py" "$HERE/segmented-flight-5061.pcap" "$HERE/data-missing-5061.pcap" --conn "$NZ" \
	--drop-inside-record server:11
# Every packet cut to 200 bytes, as by tcpdump -s 200.
editcap -F pcap -s 200 "$HERE/neighbor-zone-5061.pcap" "$HERE/snaplen-cut-5061.pcap"
# (m) the Core -> CUCM handshake over IPv6 in VLAN 100.
python3 "$HERE/rewrite.py" "$WORK/core-cucm-8443.raw.pcap" "$HERE/ipv6-vlan-8443.pcap" \
	--conn 8443,2001:db8::16,41016,2001:db8::38 --vlan 100 --time-base "$TIME_BASE"

# (n) tls13-mtls-5061 with its key log inside: a pcapng Decryption Secrets
# Block (ekuscope and tshark decrypt it without a key log file).
editcap --inject-secrets "tls,$HERE/tls13-mtls-5061.keylog" "$HERE/tls13-mtls-5061.pcap" \
	"$HERE/tls13-mtls-5061-dsb.pcapng"

# ============================================================ checks
log "checks"
alert_of() { # FILE PORT -> alert descriptions tshark decodes
	tshark -r "$1" -d "tcp.port==$2,tls" -Y tls.alert_message -T fields -e tls.alert_message.desc 2>/dev/null |
		tr '\n' ' '
}
for f in traversal-7001-no-clientauth:7001 ssh-tunnel-2222-no-clientauth:2222; do
	a=$(alert_of "$HERE/${f%%:*}.pcap" "${f##*:}")
	[[ $a == "43 " ]] || log "WARNING: ${f%%:*}.pcap alert is '$a', expected 43 (unsupported_certificate)"
done
a=$(tshark -r "$HERE/tls13-reject-no-clientauth-7001.pcap" -o "tls.keylog_file:$HERE/tls13-reject-no-clientauth-7001.keylog" \
	-d tcp.port==7001,tls -Y tls.alert_message -T fields -e tls.alert_message.desc 2>/dev/null | tr '\n' ' ')
[[ $a == "43 "* ]] || log "WARNING: tls13-reject-no-clientauth-7001.pcap decrypted alert is '$a', expected 43"
a=$(tshark -r "$HERE/tls12-reneg-clientauth-443.pcap" -o "tls.keylog_file:$HERE/tls12-reneg-clientauth-443.keylog" \
	-Y tls.alert_message -T fields -e tls.alert_message.desc 2>/dev/null | tr '\n' ' ')
[[ $a == "43 "* ]] || log "WARNING: tls12-reneg-clientauth-443.pcap decrypted alert is '$a', expected 43"
hrr=$(tshark -r "$HERE/tls13-hrr-5061.pcap" -d tcp.port==5061,tls -Y 'tls.handshake.type==2' -T fields \
	-e tls.handshake.random 2>/dev/null | head -1)
[[ $hrr == cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c ]] ||
	log "WARNING: tls13-hrr-5061.pcap: first ServerHello is not a HelloRetryRequest"

for f in "$HERE"/*.pcap; do
	[[ $(capinfos -t "$f" 2>/dev/null) == *"File type:"*"pcap"* && $(capinfos -t "$f") != *pcapng* ]] ||
		log "WARNING: $(basename "$f") is not a classic pcap file"
	bad=$(tshark -r "$f" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-Y 'tcp.checksum.status==0 || ip.checksum.status==0 || _ws.malformed' 2>/dev/null | wc -l)
	((bad == 0)) || log "WARNING: $(basename "$f"): $bad packets with bad checksums or malformed"
done

# GnuTLS, Go and NSS peers (samples/stacks-*.pcap)
bash "$HERE/make-stack-samples.sh"

log "expected.tsv + README timelines"
python3 "$HERE/derive-expected.py" "$HERE"
python3 "$HERE/derive-expected-udp.py" "$HERE"
log "done: $(ls "$HERE"/*.pcap | wc -l) captures"
