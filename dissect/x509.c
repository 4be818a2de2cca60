/* X.509 certificates through OpenSSL: what the outputs ask of a record
 * after x509_get (x509_cache.c) made it: the full object for chain
 * verification, pins, moving between caches (the host name check:
 * x509_host.c). */
#include "x509_internal.h"
#include "x509_shared.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

X509 *x509_object(struct x509_cache *c, const struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)(uintptr_t)x;
	if (!c || !e || !e->info.parsed) return NULL;
	if (e->full || !e->slot) return e->full;
	struct der_slot *s = e->slot;
	const unsigned char *p = s->der;
	size_t before = x509_slot_bytes(s);
	e->full = d2i_X509(NULL, &p, (long)s->len);
	ERR_clear_error();
	c->der_bytes += x509_slot_bytes(s) - before;
	return e->full;
}

void x509_pin(struct x509_cache *c, struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)x;
	if (!c || !e) return;
	e->pins++;
	if (e->slot) x509_prob_unlink(c, e->slot);
}

void x509_unpin(struct x509_cache *c, struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)x;
	if (!c || !e || e->pins == 0) return;
	if (--e->pins == 0) x509_shrink(c);
}

struct x509_info *x509_move(struct x509_cache *dst, struct x509_cache *src, struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)x, *d = x509_rec_find(dst, x->sha256, x->der_len);
	struct x509_info *y = NULL;
	if (d) {
		d->info.refs++;
		y = &d->info;
	} else if (e->slot) {
		y = x509_get(dst, e->slot->der, e->slot->len);
	} else if ((d = calloc(1, sizeof *d))) {
		/* the DER is gone: a copy of the record */
		dst->rec_bytes += sizeof *d;
		d->info.refs = 1;
		if (x509_rec_copy(dst, &d->info, x)) {
			x509_rec_insert(dst, d);
			y = &d->info;
		} else {
			x509_rec_free(dst, d);
		}
	}
	if (y && e->pins) x509_pin(dst, y);
	if (e->pins) x509_unpin(src, x);
	x509_unref(src, x);
	return y;
}

