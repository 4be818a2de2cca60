/* x509_check_host: X509_check_host's answer for a record.
 *
 * The answer depends on the name asked and, of the certificate, only on
 * its subject (the commonName entries) and its subjectAltName extensions:
 * x509_host_object builds an X509 of just those.  The variants of one
 * server certificate (a fleet's, re-issued, or patched serials) share
 * them, so answers are also kept by exactly those bytes (the subject's
 * encoding, each subjectAltName's value, the name): a recurring
 * (subject, SAN, name) is checked once, not once per certificate. */
#include "x509_internal.h"
#include "x509_shared.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "../common/hash.h"

/* Answers kept by (subject, SAN, name): direct-mapped, bounded (a slot
 * keeps its key, typically 100-300 bytes). */
#define HOST_MEMO_SLOTS 256

struct x509_host_memo {
	uint64_t hash;
	size_t len;
	uint8_t *key;              /* host_key's bytes; NULL: empty */
	int result;
};

void x509_host_memo_free(struct x509_cache *c)
{
	if (!c->host_memo) return;
	for (size_t i = 0; i < HOST_MEMO_SLOTS; i++) free(c->host_memo[i].key);
	free(c->host_memo);
	c->host_memo = NULL;
}

static uint8_t *put_bytes(uint8_t *o, const void *p, size_t n)
{
	uint32_t l = (uint32_t)n;
	memcpy(o, &l, sizeof l);
	memcpy(o + sizeof l, p, n);
	return o + sizeof l + n;
}

/* The bytes x's answer for name depends on, each length-prefixed: how the
 * subject was decoded (x->named), name, the subject's encoding, every
 * subjectAltName extension's value in order.  NULL when they cannot be
 * had (or out of memory, or more subjectAltNames than anyone sends). */
static uint8_t *host_key(const EK_X509 *x, const char *name, size_t *len)
{
	const unsigned char *subj;
	size_t subj_len;
	if (x->named) {
		if (!X509_NAME_get0_der(x->tbs->subject_name, &subj, &subj_len)) return NULL;
	} else {
		subj = ASN1_STRING_get0_data(x->tbs->subject_enc);
		subj_len = (size_t)ASN1_STRING_length(x->tbs->subject_enc);
	}
	const STACK_OF(X509_EXTENSION) *exts = x->tbs->extensions;
	const ASN1_OCTET_STRING *san[8];
	size_t n_san = 0, name_len = strlen(name), n = 1 + 4 + name_len + 4 + subj_len;
	for (int k = 0, n_ext = X509v3_get_ext_count(exts); k < n_ext; k++) {
		X509_EXTENSION *ext = X509v3_get_ext(exts, k);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
		if (n_san == sizeof san / sizeof san[0]) return NULL;
		san[n_san] = X509_EXTENSION_get_data(ext);
		n += 4 + (size_t)ASN1_STRING_length(san[n_san++]);
	}
	if (name_len > UINT32_MAX || subj_len > UINT32_MAX) return NULL;
	uint8_t *key = malloc(n), *o = key;
	if (!key) return NULL;
	*o++ = x->named;
	o = put_bytes(o, name, name_len);
	o = put_bytes(o, subj, subj_len);
	for (size_t k = 0; k < n_san; k++)
		o = put_bytes(o, ASN1_STRING_get0_data(san[k]), (size_t)ASN1_STRING_length(san[k]));
	*len = n;
	return key;
}

/* X509_check_host on dec's subject and subjectAltName (*r); false when
 * its object cannot be made (out of memory, a subject OpenSSL rejects). */
static bool host_answer(struct x509_cache *c, const EK_X509 *dec, const char *name, int *r)
{
	size_t len = 0;
	uint8_t *key = host_key(dec, name, &len);
	struct x509_host_memo *m = NULL;
	uint64_t h = 0;
	if (key && (c->host_memo || (c->host_memo = calloc(HOST_MEMO_SLOTS, sizeof *c->host_memo)))) {
		h = ek_hash_bytes(key, len, 0);
		m = &c->host_memo[h % HOST_MEMO_SLOTS];
		if (m->key && m->hash == h && m->len == len && memcmp(m->key, key, len) == 0) {
			free(key);
			*r = m->result;
			return true;
		}
	}
	X509 *obj = x509_host_object(c, dec);
	if (!obj) {
		free(key);
		return false;
	}
	*r = X509_check_host(obj, name, strlen(name), 0, NULL);
	X509_free(obj);
	ERR_clear_error();
	if (m) {
		free(m->key);
		*m = (struct x509_host_memo){ h, len, key, *r };
	} else {
		free(key);
	}
	return true;
}

int x509_check_host(struct x509_cache *c, const struct x509_info *x, const char *name)
{
	struct x509_entry *e = (struct x509_entry *)(uintptr_t)x;
	if (!c || !e || !e->info.parsed) return -2;
	if (e->host_name && strcmp(e->host_name, name) == 0) return e->host_result;
	/* names only: the certificate without its key is enough; usually it
	 * was just parsed */
	X509 *obj = e->full;
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
		bool ok = true;
		if (obj) {
			r = X509_check_host(obj, name, strlen(name), 0, NULL);
			ERR_clear_error();
		} else {
			ok = dec && host_answer(c, dec, name, &r);
		}
		x509_obj_put(c, dtmp);
		if (!ok) return -2;
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
