#!/usr/bin/env bash
# make-stack-samples.sh - the samples made with TLS stacks other than
# OpenSSL: GnuTLS (gnutls-serv/gnutls-cli), Go crypto/tls (samples/go/ekpeer.go,
# built here with `go build`) and NSS (selfserv/tstclnt).  Called by
# make-samples.sh after the PKI exists (or `make-samples.sh --stacks-only`).
#
# It runs in a network namespace of its own (unshare -n: only a loopback
# interface), because selfserv and gnutls-serv listen on every address;
# tcpdump -i lo there, then rewrite.py to the case addresses as for the
# OpenSSL samples.  Key logs: Go's KeyLogWriter (-keylog), SSLKEYLOGFILE for
# GnuTLS and NSS.  Writes samples/stacks-*.pcap and their .keylog files.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
TIME_BASE=2026-03-24T11:54:26.106000
export LC_ALL=C

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'make-stack-samples.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (tcpdump on lo, unshare -n)"
if [[ -z ${EK_IN_NETNS:-} ]]; then
	need=()
	command -v go >/dev/null || need+=(golang-go)
	command -v gnutls-cli >/dev/null || need+=(gnutls-bin)
	command -v selfserv >/dev/null || need+=(libnss3-tools)
	command -v tcpdump >/dev/null || need+=(tcpdump)
	command -v unshare >/dev/null || need+=(util-linux)
	if ((${#need[@]})); then
		log "installing ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	EK_IN_NETNS=1 exec unshare -n bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up

WORK=$(mktemp -d /tmp/ekuscope-stacks.XXXXXX)
chmod 755 "$WORK"
TCPDUMP_PID= PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}" $TCPDUMP_PID; do kill "$p" 2>/dev/null || true; done
	if [[ -n ${EK_KEEP_WORK:-} ]]; then log "stack logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ------------------------------------------------------------- the peers
GOPEER=$WORK/ekpeer
(cd "$WORK" && HOME=$WORK GOCACHE=$WORK/gocache GO111MODULE=off go build -o "$GOPEER" "$HERE/go/ekpeer.go") ||
	die "go build failed"

# pem NAME ISSUER-CRT: leaf + issuer in one PEM file (Go's LoadX509KeyPair, gnutls --x509certfile)
pem() { cat "$PKI/$1.crt" "$2" >"$WORK/$1.chain.pem"; printf '%s\n' "$WORK/$1.chain.pem"; }
PUB_ROOT=$PKI/public-root-ca.crt
PUB_ISS=$PKI/public-issuing-ca.crt

# nssdb DIR NAME...: an NSS database with the named leaves (nickname = NAME,
# with their issuing CA) and Public Root CA trusted for TLS.
nssdb() {
	local d=$1 n
	shift
	mkdir -p "$d"
	certutil -N -d "sql:$d" --empty-password
	certutil -A -d "sql:$d" -n "Public Root CA" -t "CT,C,C" -i "$PUB_ROOT"
	for n in "$@"; do
		openssl pkcs12 -export -in "$PKI/$n.crt" -inkey "$PKI/$n.key" -certfile "$PUB_ISS" -name "$n" \
			-passout pass: -out "$WORK/$n.p12"
		pk12util -i "$WORK/$n.p12" -d "sql:$d" -W '' >/dev/null
	done
}

CAPTURE_SETTLE=0.3
source "$HERE/capture.sh" # capture_start, capture_stop
# bg LOG CMD...: a server in the background; waits until PORT ($PORT) listens
bg() {
	local lg=$1 i
	shift
	"$@" >"$lg" 2>&1 </dev/null &
	PIDS+=($!)
	for i in $(seq 250); do
		[[ -n $(ss -Hltn "sport = :$PORT") ]] && return 0
		sleep 0.02
	done
	cat "$lg" >&2
	die "server on $PORT did not start: $*"
}
stop_servers() {
	local p
	sleep 0.3
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	PIDS=()
}
rewrite() { # NAME --conn ... : raw capture -> samples/NAME.pcap
	local name=$1
	shift
	python3 "$HERE/rewrite.py" "$WORK/$name.raw.pcap" "$HERE/$name.pcap" "$@" --time-base "$TIME_BASE"
}
go_server() { "$GOPEER" -listen "127.0.0.1:$PORT" "$@"; }
go_client() { "$GOPEER" -connect "127.0.0.1:$PORT" "$@"; }

rm -f "$HERE"/stacks-*.pcap "$HERE"/stacks-*.keylog
NSSDB=$WORK/nssdb
nssdb "$NSSDB" expressway-e-server expressway-c-public-server
WEBEX=$(pem webex "$PUB_ISS")
EXPC_PUB=$(pem expressway-c-public-server "$PUB_ISS")
EXPC_ANY=$(pem expressway-c-any-eku "$PUB_ISS")
EXPC_SRV_ANY=$(pem expressway-c-server-any-eku "$PUB_ISS")

# 1. anyExtendedKeyUsage accepted: Go server (Webex) requires a client
# certificate (crypto/tls verifies it for ExtKeyUsageClientAuth, which
# anyExtendedKeyUsage satisfies); Go client Expressway-C sends a leaf whose
# only EKU is anyExtendedKeyUsage.  TLS 1.2.
name=stacks-go-anyeku-accepted-5061 PORT=5061
log "$name"
capture_start "$WORK/$name.raw.pcap" "tcp port $PORT"
bg "$WORK/$name.server.log" go_server -cert "$WEBEX" -key "$PKI/webex.key" -ca "$PUB_ROOT" -clientauth require
go_client -cert "$EXPC_ANY" -key "$PKI/expressway-c-any-eku.key" -ca "$PUB_ROOT" -servername sip.webex.example.com \
	-keylog "$HERE/$name.keylog" 2>"$WORK/$name.client.log" || true
stop_servers
capture_stop
log "   $(cat "$WORK/$name.server.log" "$WORK/$name.client.log" | tr '\n' ' ')"
rewrite "$name" --conn 5061,10.106.80.16,25003,163.129.37.33

# 2. anyExtendedKeyUsage rejected: NSS selfserv (Expressway-E, 7001)
# requires a client certificate (-r -r); the Go client presents serverAuth +
# anyExtendedKeyUsage; NSS answers certificate_unknown(46).  TLS 1.2.
name=stacks-nss-anyeku-rejected-7001 PORT=7001
log "$name"
capture_start "$WORK/$name.raw.pcap" "tcp port $PORT"
bg "$WORK/$name.server.log" selfserv -d "sql:$NSSDB" -n expressway-e-server -p "$PORT" -V tls1.2:tls1.2 -r -r
go_client -cert "$EXPC_SRV_ANY" -key "$PKI/expressway-c-server-any-eku.key" -ca "$PUB_ROOT" \
	-servername expressway-e.example.com -keylog "$HERE/$name.keylog" 2>"$WORK/$name.client.log" || true
stop_servers
capture_stop
log "   $(tr '\n' ' ' <"$WORK/$name.client.log")"
rewrite "$name" --conn 7001,10.106.80.16,33004,10.106.80.31

# 3. A client that withholds its certificate: first Expressway-C
# (10.106.80.16) serves its serverAuth-only certificate on 5061 (Go server,
# neighbour 10.106.80.15 connects); then Expressway-C, as NSS tstclnt with
# that same certificate (-n), connects to Expressway-E 7001 (Go server,
# client certificate required): NSS does not offer a certificate without
# clientAuth and sends an empty Certificate.  TLS 1.2.
name=stacks-nss-withheld-client-cert
log "$name"
capture_start "$WORK/$name.raw.pcap" "tcp port 5061 or tcp port 7001"
PORT=5061
bg "$WORK/$name.5061.server.log" go_server -cert "$EXPC_PUB" -key "$PKI/expressway-c-public-server.key" -clientauth none
go_client -ca "$PUB_ROOT" -servername expressway-c.example.com 2>"$WORK/$name.5061.client.log" || true
stop_servers
PORT=7001
bg "$WORK/$name.7001.server.log" go_server -cert "$(pem expressway-e-server "$PUB_ISS")" -key "$PKI/expressway-e-server.key" \
	-ca "$PUB_ROOT" -clientauth require
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 tstclnt -d "sql:$NSSDB" -h 127.0.0.1 -p 7001 -a expressway-e.example.com \
	-n expressway-c-public-server -V tls1.2:tls1.2 >"$WORK/$name.7001.client.log" 2>&1 || true
stop_servers
capture_stop
log "   $(cat "$WORK/$name.7001.server.log" | tr '\n' ' ')"
rewrite "$name" --conn 5061,10.106.80.15,25064,10.106.80.16 --conn 7001,10.106.80.16,33005,10.106.80.31

# go_resumed NAME VERSION: Go client Expressway-E -> Go server Webex, mutual
# TLS, twice with one session cache: the second connection resumes the
# first one's session (TLS 1.3: PSK, ServerHello pre_shared_key; TLS 1.2:
# session ticket, and the key log has a CLIENT_RANDOM line for the first
# connection only).  No certificates in the second handshake.
go_resumed() {
	local name=$1 v=$2
	PORT=5061
	log "$name"
	capture_start "$WORK/$name.raw.pcap" "tcp port $PORT"
	bg "$WORK/$name.server.log" go_server -tls "$v" -n 2 -cert "$WEBEX" -key "$PKI/webex.key" -ca "$PUB_ROOT" \
		-clientauth require
	go_client -tls "$v" -n 2 -cert "$(pem expressway-e-dual "$PUB_ISS")" -key "$PKI/expressway-e-dual.key" \
		-ca "$PUB_ROOT" -servername sip.webex.example.com -keylog "$HERE/$name.keylog" 2>"$WORK/$name.client.log" ||
		true
	stop_servers
	capture_stop
	log "   $(tr '\n' ' ' <"$WORK/$name.client.log")"
	rewrite "$name" --conn 5061,10.106.80.31,-,163.129.37.33
}
# 4. TLS 1.3 resumption (PSK); 5. TLS 1.2 resumption by session ticket.
go_resumed stacks-go-tls13-resumed-5061 1.3
go_resumed stacks-go-tls12-ticket-5061 1.2

# 6. TLS 1.2 resumption by session ID: gnutls-serv (no tickets) and
# gnutls-cli --resume, which connects twice.
name=stacks-gnutls-tls12-sessionid-443 PORT=443
log "$name"
capture_start "$WORK/$name.raw.pcap" "tcp port $PORT"
bg "$WORK/$name.server.log" gnutls-serv -p "$PORT" --noticket --echo --disable-client-cert --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 \
	--x509certfile "$(pem expressway-e-server "$PUB_ISS")" --x509keyfile "$PKI/expressway-e-server.key"
SSLKEYLOGFILE=$HERE/$name.keylog timeout 10 gnutls-cli -p "$PORT" --resume --noticket \
	--priority NORMAL:-VERS-ALL:+VERS-TLS1.2 --x509cafile "$PUB_ROOT" --sni-hostname expressway-e.example.com \
	--verify-hostname expressway-e.example.com 127.0.0.1 </dev/null >"$WORK/$name.client.log" 2>&1 || true
stop_servers
capture_stop
log "   $(grep -iE 'resum|handshake' "$WORK/$name.client.log" | tr '\n' ' ')"
rewrite "$name" --conn 443,10.106.80.16,-,10.106.80.31

# 7. TLS 1.3 post-handshake client authentication: NSS selfserv
# (Expressway-E, 443) with -E (post-handshake auth) and -r -r -r -r
# (require a certificate on the "second handshake", which in TLS 1.3 is a
# post-handshake CertificateRequest after the client's GET); gnutls-cli
# --post-handshake-auth presents the serverAuth-only Expressway-C
# certificate; NSS answers certificate_unknown(46).
name=stacks-nss-gnutls-pha-443 PORT=443
log "$name"
capture_start "$WORK/$name.raw.pcap" "tcp port $PORT"
bg "$WORK/$name.server.log" selfserv -d "sql:$NSSDB" -n expressway-e-server -p "$PORT" -V tls1.3:tls1.3 -E -r -r -r -r
{ printf 'GET / HTTP/1.0\r\n\r\n'; sleep 1; } | SSLKEYLOGFILE=$HERE/$name.keylog timeout 10 gnutls-cli -p "$PORT" \
	--post-handshake-auth --priority NORMAL:-VERS-ALL:+VERS-TLS1.3 --x509cafile "$PUB_ROOT" \
	--x509certfile "$EXPC_PUB" --x509keyfile "$PKI/expressway-c-public-server.key" \
	--sni-hostname expressway-e.example.com --verify-hostname expressway-e.example.com 127.0.0.1 \
	>"$WORK/$name.client.log" 2>&1 || true
stop_servers
capture_stop
log "   $(grep -iE 'alert|error|certificate' "$WORK/$name.client.log" | head -3 | tr '\n' ' ')"
rewrite "$name" --conn 443,10.106.80.16,33006,10.106.80.31

for f in "$HERE"/stacks-*.keylog; do [[ -s $f ]] || log "WARNING: $(basename "$f") is empty"; done
log "stack samples done: $(ls "$HERE"/stacks-*.pcap | wc -l) captures"
