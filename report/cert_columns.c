#include "cert_columns.h"

#include <stdint.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/netaddr.h"
#include "csv_out.h"

/* ',' and s escaped: kept by s's address in m (NULL: none). */
static void field(struct ek_str *b, const char *s, struct cert_cols_memo *m)
{
	if (!m) {
		csv_append_field(b, s);
		return;
	}
	struct cert_cols_slot *k = &m->slot[ek_mix64((uint64_t)(uintptr_t)s) % CERT_COLS_MEMO_SLOTS];
	if (k->s != s) {
		ek_str_clear(&k->text);
		k->text.oom = false;
		csv_append_field(&k->text, s);
		k->s = k->text.oom ? NULL : s;
		if (!k->s) {
			csv_append_field(b, s);
			return;
		}
	}
	ek_str_put(b, k->text.s, k->text.len);
}

void cert_columns_memo(struct ek_str *b, const struct x509_info *c, enum cert_cols which, struct cert_cols_memo *m)
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
	for (size_t i = 0; i < n; i++) {
		/* between the serial and the dates: the names and usages (the
		 * record's interned strings, or literals), kept by address */
		bool by_address = i > 0 && i + 3 < n && v[i];
		field(b, v[i] ? v[i] : "", by_address ? m : NULL);
	}
}

void cert_columns(struct ek_str *b, const struct x509_info *c, enum cert_cols which)
{
	cert_columns_memo(b, c, which, NULL);
}

void cert_cols_memo_free(struct cert_cols_memo *m)
{
	for (size_t i = 0; i < CERT_COLS_MEMO_SLOTS; i++) ek_str_free(&m->slot[i].text);
}
