/* What the remedies mean for OpenVPN, whose remote-cert-tls is exactly an
 * EKU role check (serverAuth / clientAuth plus keyUsage). */
#include "findings_table.h"

#include <stddef.h>

const char *findings_openvpn_remedy(enum finding_code c)
{
	switch (c) {
	case F_SERVER_CERT_NO_SERVERAUTH:
		return "OpenVPN: the client's --remote-cert-tls server (remote-cert-tls server in the client "
		       "config) rejects a server certificate without serverAuth; reissue the server certificate "
		       "with serverAuth (easy-rsa: build-server-full), or check the server by name with "
		       "--verify-x509-name instead of by EKU.";
	case F_CLIENT_CERT_NO_CLIENTAUTH:
		return "OpenVPN: a server with --remote-cert-tls client rejects a client certificate without "
		       "clientAuth; reissue the client certificate with clientAuth (easy-rsa: build-client-full), "
		       "or drop remote-cert-tls client on the server and pin clients with --verify-x509-name.";
	case F_CHAIN_UNTRUSTED:
	case F_HANDSHAKE_FAILED:
		return "OpenVPN was seen on these connections: its --remote-cert-tls server|client checks the "
		       "peer certificate's EKU (serverAuth / clientAuth), --verify-x509-name its name.";
	default:
		return NULL; /* nothing OpenVPN-specific to say */
	}
}
