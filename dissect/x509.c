/* X.509 certificates through OpenSSL: what the outputs ask of a record
 * after x509_get (x509_cache.c) made it: the full object for chain
 * verification, pins, the host name check, moving between caches. */
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

int x509_check_host(struct x509_cache *c, const struct x509_info *x, const char *name)
{
	struct x509_entry *e = (struct x509_entry *)(uintptr_t)x;
	if (!c || !e || !e->info.parsed) return -2;
	if (e->host_name && strcmp(e->host_name, name) == 0) return e->host_result;
	/* names only: the certificate without its key is enough; usually it
	 * was just parsed */
	X509 *obj = e->full, *tmp = NULL;
	EK_X509 *dec = NULL, *dtmp = NULL;
	for (size_t k = 0; !obj && !dec && k < sizeof c->recent / sizeof c->recent[0]; k++)
		if (c->recent[k].e == e) dec = c->recent[k].obj;
	/* with -j, another thread may have the answer (only where the DER
	 * is here to work it out: the same answer as -j 1, never for -2) */
	int r = !obj && !dec && e->slot && c->shared
			? x509_shared_host(c->shared, e->info.sha256, e->info.der_len, name)
			: X509_SHARED_UNKNOWN;
	if (r == X509_SHARED_UNKNOWN) {
		if (!obj && !dec && e->slot) {
			struct x509_name *nm[2];
			bool oom;
			dec = dtmp = x509_decode(c, e->slot->der, e->slot->len, nm, &oom);
			x509_name_put(c, nm[0]);
			x509_name_put(c, nm[1]);
		}
		if (!obj && dec) obj = tmp = x509_host_object(c, dec);
		ek_x509_free(dtmp);
		if (!obj) return -2;
		r = X509_check_host(obj, name, strlen(name), 0, NULL);
		X509_free(tmp);
		ERR_clear_error();
		if (c->shared) x509_shared_host_put(c->shared, e->info.sha256, e->info.der_len, name, r);
	}
	const char *n = x509_intern(c, name);
	if (n) {
		x509_unintern(c, e->host_name);
		e->host_name = n;
		e->host_result = r;
	}
	return r;
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

