/* Distinct issuer and subject Names, by their encoding: each is decoded
 * as an X509_NAME (OpenSSL's checks and canonical form, as d2i_X509 does
 * inside a certificate) and printed (dn_text) once while it stays in the
 * table.  The issuers of thousands of leaves are the same few CAs.
 *
 * The table is set-associative (X509_NAME_WAYS entries a set, the least
 * recently used one replaced), so a CA's name that comes up every few
 * certificates stays while a stream of distinct subjects passes through
 * its set. */
#include "dn_text.h"
#include "x509_internal.h"

#include "../common/hash.h"

#include <openssl/err.h>

#include <stdlib.h>
#include <string.h>

void x509_name_put(struct x509_cache *c, struct x509_name *n)
{
	if (!n || --n->refs) return;
	X509_NAME_free(n->nm);
	x509_unintern(c, n->text);
	free(n);
}

struct x509_name *x509_name_get(struct x509_cache *c, const uint8_t *der, size_t len, bool *oom)
{
	*oom = false;
	if (!der || len == 0 || len > (size_t)0x7fffffff) return NULL;
	uint64_t h = ek_hash_bytes(der, len, 0);
	struct x509_name **set = c->names[(h >> 32) % X509_NAME_SETS];
	size_t victim = 0;
	c->name_clock++;
	for (size_t w = 0; w < X509_NAME_WAYS; w++) {
		struct x509_name *n = set[w];
		if (n && n->hash == h && n->len == len && memcmp(n->der, der, len) == 0) {
			n->used = c->name_clock;
			n->refs++;
			return n;
		}
		if (!n || (set[victim] && n->used < set[victim]->used)) victim = w;
	}
	const unsigned char *p = der;
	X509_NAME *nm = d2i_X509_NAME(NULL, &p, (long)len);
	if (nm && p != der + len) { /* the Name is the whole TLV the template took */
		X509_NAME_free(nm);
		nm = NULL;
	}
	ERR_clear_error();
	if (!nm) return NULL;
	struct x509_name *n = malloc(sizeof *n + len);
	char *t = n ? dn_text(nm) : NULL;
	const char *text = t ? x509_intern_take(c, t) : NULL;
	if (!text) {
		*oom = true;
		free(n);
		X509_NAME_free(nm);
		return NULL;
	}
	n->hash = h;
	n->used = c->name_clock;
	n->refs = 2; /* the table's and the caller's */
	n->len = len;
	n->nm = nm;
	n->text = text;
	memcpy(n->der, der, len);
	x509_name_put(c, set[victim]);
	set[victim] = n;
	return n;
}

void x509_names_clear(struct x509_cache *c)
{
	for (size_t s = 0; s < X509_NAME_SETS; s++) {
		for (size_t w = 0; w < X509_NAME_WAYS; w++) {
			x509_name_put(c, c->names[s][w]);
			c->names[s][w] = NULL;
		}
	}
}
