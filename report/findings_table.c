#include "findings_table.h"

#include <string.h>

static const struct finding_def defs[F_COUNT] = {
	{ F_CLIENT_CERT_NO_CLIENTAUTH, "client_cert_no_clientauth", SEV_ERROR,
	  "The TLS client presented a certificate whose Extended Key Usage does not include clientAuth. "
	  "A server that checks the client EKU (OpenSSL purpose sslclient, Expressway X15.5 'EKU Checking "
	  "Mode', CUCM, contact-center products) rejects it, usually with alert unsupported_certificate(43) "
	  "or bad_certificate(42). Public CAs stopped issuing clientAuth in 2026, so a box that renewed into "
	  "a server-only public certificate and uses it as a client breaks this way.",
	  "Give the client a certificate that carries clientAuth, normally from a private/enterprise CA (a "
	  "separate client certificate where the product supports one, e.g. the Expressway X15.5 client "
	  "certificate store), or turn off client EKU checking on the peer (Expressway: xConfiguration SIP "
	  "TLS Certificate ExtendedKeyUsage Checking Mode: Off; note SSH tunnels on 2222 still require "
	  "clientAuth)." },
	{ F_SERVER_CERT_NO_SERVERAUTH, "server_cert_no_serverauth", SEV_ERROR,
	  "The TLS server presented a certificate whose Extended Key Usage does not include serverAuth. "
	  "Clients that check the server purpose reject it (unsupported_certificate or bad_certificate). "
	  "This happens when a client-only certificate is installed as the server certificate.",
	  "Install a server certificate whose EKU includes serverAuth (with the right subjectAltName), or "
	  "keep separate server and client certificates where the product supports two stores." },
	{ F_CLIENT_CERT_EMPTY, "client_cert_empty", SEV_WARNING,
	  "The server asked for a client certificate (CertificateRequest) and the client sent none (an "
	  "empty Certificate message). A server that requires mutual TLS then aborts; one that only "
	  "requests a certificate continues without client authentication. A client may also have a "
	  "certificate and withhold it: some clients, NSS-based ones (Firefox, Thunderbird, NSS tstclnt) "
	  "among them, offer only a certificate with clientAuth (or no EKU; when choosing one themselves, "
	  "also from a CA the server lists) and send an empty Certificate otherwise, so the wire shows no certificate while the cause is its EKU. "
	  "When the client's address presented a certificate elsewhere in the capture, the message names "
	  "it.",
	  "Check the client's certificate: its EKU must include clientAuth (and its issuer be one the "
	  "CertificateRequest lists); configure such a certificate on the client, or make client "
	  "authentication optional on the server if that is intended." },
	{ F_HANDSHAKE_FAILED, "handshake_failed", SEV_ERROR,
	  "The connection ended (alert, reset or FIN) before both sides sent Finished, so no TLS session "
	  "was established. The side that aborted and the message it aborted after usually name the "
	  "cause; other findings on the same connection say which.",
	  "Fix the cause named in the message (the finding it points to); if none is named, compare the "
	  "alert with the peer's logs and check the certificates, trust stores and TLS versions on both "
	  "sides." },
	{ F_CERT_EXPIRED, "cert_expired", SEV_ERROR,
	  "A presented certificate was past its notAfter date when the packet was captured. Peers that "
	  "validate it fail with certificate_expired(45) or bad_certificate(42).",
	  "Renew the certificate (and, for a chain certificate, install the CA's current intermediate)." },
	{ F_CERT_NOT_YET_VALID, "cert_not_yet_valid", SEV_ERROR,
	  "A presented certificate was before its notBefore date when the packet was captured, often a "
	  "clock problem on the issuing side or on the capturing/validating host.",
	  "Check NTP on both peers and the capture host; reissue the certificate if its dates are wrong." },
	{ F_PUBLIC_CA_CLIENTAUTH, "public_ca_clientauth", SEV_WARNING,
	  "This leaf certificate chains to a publicly trusted root and carries clientAuth. It works today, "
	  "but public CAs no longer issue clientAuth (Let's Encrypt from February 2026, most CAs from May "
	  "2026, Chrome Root Program from June 2026): its renewal will be server-only and mutual TLS where "
	  "this box is the client will then fail.",
	  "Before renewal, plan a client certificate with clientAuth from a private CA (and make the peers "
	  "trust that CA), or confirm that every peer accepts a client certificate without clientAuth." },
	{ F_ISSUER_NOT_REQUESTED, "issuer_not_requested", SEV_WARNING,
	  "The server's CertificateRequest listed the CAs it accepts (certificate_authorities) and none of "
	  "them issued any certificate in the chain the client sent. Servers that enforce the list reject "
	  "the client with unknown_ca(48) or bad_certificate(42).",
	  "Issue the client certificate from one of the listed CAs, or add the client's CA to the server's "
	  "trust store (the list is built from it)." },
	{ F_CERT_NO_EKU, "cert_no_eku", SEV_INFO,
	  "The leaf certificate has no Extended Key Usage extension, which means any purpose: it is "
	  "accepted as server and as client certificate by EKU checks.",
	  "Nothing to fix; note that a renewal from a public CA will add an EKU (serverAuth only)." },
	{ F_SAME_CERT_BOTH_ROLES, "same_cert_both_roles", SEV_INFO,
	  "One endpoint presented the same certificate as TLS server and as TLS client. Such a certificate "
	  "needs both serverAuth and clientAuth, which public CAs no longer issue together.",
	  "When renewing, keep a server certificate (public CA, serverAuth) and a separate client "
	  "certificate (private CA, clientAuth) where the product supports two stores." },
	{ F_CERTS_ENCRYPTED, "certs_encrypted", SEV_INFO,
	  "TLS 1.3 encrypts Certificate, CertificateRequest and the alerts that reject a certificate; "
	  "without the session keys the certificates of this connection cannot be shown.",
	  "Capture with a key log (SSLKEYLOGFILE, openssl s_client -keylogfile, Java/agent key logging) and "
	  "pass it with --keylog, or reproduce with TLS 1.2." },
	{ F_DATA_MISSING, "data_missing", SEV_WARNING,
	  "Bytes of the handshake were not captured (capture drops, a packet missing from the file, or a "
	  "snapshot length that cut packets). Messages in the hole are reported as incomplete and no field "
	  "is guessed from them.",
	  "Capture again with a full snapshot length (tcpdump -s 0), on the host itself or a span port that "
	  "does not drop, and check the capture's drop counters." },
	{ F_CHAIN_UNTRUSTED, "chain_untrusted", SEV_ERROR,
	  "OpenSSL could not verify the presented chain for its role (purpose sslserver or sslclient, at "
	  "the packet's time) against the CA file/path given with --ca-file/--ca-path. The reason is "
	  "OpenSSL's own, e.g. 'unsupported certificate purpose' or 'unable to get local issuer "
	  "certificate'.",
	  "Send the full chain (leaf and intermediates), install the issuing CA in the peer's trust store, "
	  "or use a certificate whose purpose matches its role." },
	{ F_SNI_MISMATCH, "sni_mismatch", SEV_WARNING,
	  "The server's leaf certificate does not match the host name the client asked for in the "
	  "ClientHello (SNI). Clients that verify the host name abort the handshake.",
	  "Add the name to the server certificate's subjectAltName, or point the client at a name the "
	  "certificate carries." },
	{ F_EKU_ANY_ONLY, "eku_any_only", SEV_WARNING,
	  "The leaf's Extended Key Usage does not name the role it was presented in (clientAuth as TLS "
	  "client, serverAuth as TLS server); it relies on anyExtendedKeyUsage (2.5.29.37.0). TLS stacks "
	  "differ: Go crypto/tls (x509 Verify counts it as every usage), Java JSSE (EndEntityChecker."
	  "checkEKU accepts OID_EKU_ANY_USAGE) and GnuTLS (lib/x509/verify.c _gnutls_check_key_purpose "
	  "accepts GNUTLS_KP_ANY for the end-entity certificate) accept it; NSS rejects it with "
	  "certificate_unknown(46), and OpenSSL 3.0 rejects it wherever it checks the purpose (libssl's "
	  "default for a peer certificate: 'unsuitable certificate purpose', alert "
	  "unsupported_certificate(43)). Windows SChannel/.NET: not established from public source; test "
	  "before relying on it.",
	  "Issue the certificate with the EKU of its role (clientAuth for a client certificate, serverAuth "
	  "for a server certificate; both where it is used in both roles), from a private CA for "
	  "clientAuth." },
	{ F_RESUMED_NO_CERTS, "resumed_no_certs", SEV_INFO,
	  "The TLS 1.3 ServerHello carries a pre_shared_key extension: the connection resumed an earlier "
	  "session (or used an external PSK), so neither side sent a certificate in this handshake; the "
	  "certificates are those of the connection that issued the ticket. Nothing is hidden here, "
	  "unlike certs_encrypted.",
	  "To see the certificates, find the full handshake that issued the ticket (earlier in the "
	  "capture, or capture from the client's start); with a key log the timeline names that "
	  "connection when it is in the same file." },
	{ F_HANDSHAKE_UNFINISHED, "handshake_unfinished", SEV_INFO,
	  "The capture of this connection ends while its handshake is under way: the file was cut, or the "
	  "capture stopped (or the connection went idle) before both sides sent Finished. This is not "
	  "evidence of a failure; the messages named are simply not in the file.",
	  "Capture for longer (start before the connection and stop after it), and do not truncate the "
	  "file; with -c or --duration, raise the limit." },
};

const struct finding_def *finding_def(enum finding_code c)
{
	return c < F_COUNT ? &defs[c] : &defs[0];
}

const char *severity_name(enum severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "info";
}

int severity_parse(const char *s)
{
	if (strcmp(s, "info") == 0) return SEV_INFO;
	if (strcmp(s, "warning") == 0) return SEV_WARNING;
	if (strcmp(s, "error") == 0) return SEV_ERROR;
	return -1;
}
