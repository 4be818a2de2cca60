#include "cert_columns.h"

#include <stdint.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/netaddr.h"
#include "csv_out.h"

/* The memo's text for s (',' and s escaped), made on first use; NULL
 * when it cannot be kept (out of memory). */
static const struct ek_str *memo_text(struct cert_cols_memo *m, const char *s, size_t n)
{
	struct cert_cols_slot *k = &m->slot[ek_mix64((uint64_t)(uintptr_t)s) % CERT_COLS_MEMO_SLOTS];
	if (k->s != s) {
		ek_str_clear(&k->text);
		k->text.oom = false;
		char *o = ek_str_reserve(&k->text, 8 * n + 9);
		if (o) {
			*o++ = ',';
			ek_str_commit(&k->text, csv_escape_to(o, s, n));
		}
		k->s = k->text.oom ? NULL : s;
		if (!k->s) return NULL;
	}
	return &k->text;
}

/* A date or digest column that csv_escape_to would write as it is: the
 * SHA-256 in hex, or a date as ek_unix_str writes years 1000-9999
 * ("YYYY-MM-DDTHH:MM:SSZ": a digit first, no ',', '"' or space). */
static bool plain_column(const char *s, size_t n)
{
	return n == 64 || (n == 20 && s[0] >= '0' && s[0] <= '9' && s[19] == 'Z');
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
	/* every field escaped straight into one reservation (a field's
	 * escaped form takes at most 8 * len + 8 bytes, its ',' one more) */
	size_t len[9], max = 1;
	for (size_t i = 0; i < n; i++) {
		if (!v[i]) v[i] = "";
		len[i] = strlen(v[i]);
		max += 8 * len[i] + 9;
	}
	/* on the stack first: b then grows by the text's length, not by the
	 * worst case (b's capacity is what memos and the inventory keep) */
	char tmp[4096];
	char *o = max <= sizeof tmp ? tmp : ek_str_reserve(b, max), *start = o;
	if (!o) return;
	for (size_t i = 0; i < n; i++) {
		/* between the serial and the dates: the names and usages (the
		 * record's interned strings, or literals), kept by address */
		const struct ek_str *k = m && i > 0 && i + 3 < n ? memo_text(m, v[i], len[i]) : NULL;
		if (k) {
			memcpy(o, k->s, k->len);
			o += k->len;
		} else if (i + 3 >= n && plain_column(v[i], len[i])) {
			*o++ = ',';
			memcpy(o, v[i], len[i]);
			o += len[i];
		} else {
			*o++ = ',';
			o = csv_escape_to(o, v[i], len[i]);
		}
	}
	if (start == tmp) ek_str_put(b, tmp, (size_t)(o - tmp));
	else ek_str_commit(b, o);
}

void cert_columns(struct ek_str *b, const struct x509_info *c, enum cert_cols which)
{
	cert_columns_memo(b, c, which, NULL);
}

void cert_cols_memo_free(struct cert_cols_memo *m)
{
	for (size_t i = 0; i < CERT_COLS_MEMO_SLOTS; i++) ek_str_free(&m->slot[i].text);
}
