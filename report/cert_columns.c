#include "cert_columns.h"

#include "../common/netaddr.h"
#include "csv_out.h"

void cert_columns(struct ek_str *b, const struct x509_info *c, enum cert_cols which)
{
	char nb[32] = "", na[32] = "";
	if (c->have_validity) {
		ek_unix_str(c->not_before, nb, sizeof nb);
		ek_unix_str(c->not_after, na, sizeof na);
	}
	bool inv = which == CERT_COLS_INVENTORY;
	char hex[65];
	x509_sha256_hex(c, hex);
	const char *v[9];
	size_t n = 0;
	v[n++] = c->serial_hex;
	v[n++] = c->parsed ? c->subject : "(unparsable certificate)";
	v[n++] = c->issuer;
	if (inv) v[n++] = c->san;
	v[n++] = c->parsed ? c->eku : "";
	if (inv) v[n++] = c->key_usage;
	v[n++] = nb;
	v[n++] = na;
	v[n++] = hex;
	for (size_t i = 0; i < n; i++) csv_append_field(b, v[i] ? v[i] : "");
}
