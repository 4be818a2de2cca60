/* The one table of finding codes: the CSV, the text report and the docs
 * all read from it (nDPI's risk table is the model). */
#ifndef EK_FINDINGS_TABLE_H
#define EK_FINDINGS_TABLE_H

enum severity { SEV_INFO = 0, SEV_WARNING = 1, SEV_ERROR = 2 };

enum finding_code {
	F_CLIENT_CERT_NO_CLIENTAUTH,
	F_SERVER_CERT_NO_SERVERAUTH,
	F_CLIENT_CERT_EMPTY,
	F_HANDSHAKE_FAILED,
	F_CERT_EXPIRED,
	F_CERT_NOT_YET_VALID,
	F_PUBLIC_CA_CLIENTAUTH,
	F_ISSUER_NOT_REQUESTED,
	F_CERT_NO_EKU,
	F_SAME_CERT_BOTH_ROLES,
	F_CERTS_ENCRYPTED,
	F_DATA_MISSING,
	F_CHAIN_UNTRUSTED,
	F_SNI_MISMATCH,
	F_EKU_ANY_ONLY,
	F_RESUMED_NO_CERTS,
	F_HANDSHAKE_UNFINISHED,
	F_COUNT
};

struct finding_def {
	enum finding_code code;
	const char *name;          /* stable code, e.g. "client_cert_no_clientauth" */
	enum severity severity;
	const char *explanation;   /* what it means, plain language */
	const char *remedy;        /* what fixes it */
};

const struct finding_def *finding_def(enum finding_code c);
/* The remedy's OpenVPN wording, printed after the remedy when a finding
 * of code c was raised on an OpenVPN connection (findings_openvpn.c);
 * NULL for codes where OpenVPN changes nothing. */
const char *findings_openvpn_remedy(enum finding_code c);
const char *severity_name(enum severity s);
/* "info" / "warning" / "error" -> severity; -1 when unknown. */
int severity_parse(const char *s);

#endif
