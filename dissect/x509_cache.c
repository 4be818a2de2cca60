/* The certificate cache: X.509 certificates parsed once per distinct DER.
 *
 * Two tables.  Records (struct x509_entry: what the outputs print, strings
 * interned) are keyed by SHA-256 and live while referenced.  DER slots
 * (a copy of the DER, keyed by a fast 64-bit hash, a hit confirmed by
 * comparing the DER itself) let a recurring certificate be recognised
 * without SHA-256; a record lives while referenced or while it has a slot.
 * Slots are kept within a byte budget.  Its first quarter admits any
 * DER; past that a slot is admitted only for a DER seen before (a
 * fingerprint table of the DER hashes looked up, or its record still
 * there), or hit again while on probation: certificates seen once (a
 * phone fleet's leaves) do not fill the budget.  Once it is full a slot
 * is admitted (replacing one picked at random) with probability 1/16
 * only.  Slots not admitted are dropped after a grace of X509_PROTECT
 * lookups: least recently used eviction would make a working set just
 * above the budget, seen in a cycle, miss on every lookup; this keeps a
 * stable share of it, so the hit rate falls smoothly, about budget /
 * working set.  A lookup whose slot was dropped costs a SHA-256, and a
 * parse only if nobody holds the record any more. */
#include "x509_internal.h"

#include "../common/hash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- interned strings ------------------------------------------------------ */

static struct istr *istr_of(const char *s) { return (struct istr *)(void *)(s - offsetof(struct istr, s)); }

static bool table_grow(void ***tab, size_t *nb, size_t n, size_t next_off, size_t hash_off)
{
	if (n < *nb * 2) return true;
	size_t nn = *nb ? *nb * 2 : 256;
	void **t = calloc(nn, sizeof *t);
	if (!t) return false; /* keep the longer chains */
	for (size_t k = 0; k < *nb; k++) {
		char *e = (*tab)[k];
		while (e) {
			char *next;
			memcpy(&next, e + next_off, sizeof next);
			uint64_t h;
			memcpy(&h, e + hash_off, sizeof h);
			memcpy(e + next_off, &t[h & (nn - 1)], sizeof(void *));
			t[h & (nn - 1)] = e;
			e = next;
		}
	}
	free(*tab);
	*tab = t;
	*nb = nn;
	return true;
}

/* The interned copy of s (one reference), NULL on allocation failure. */
const char *x509_intern(struct x509_cache *c, const char *s)
{
	if (!s) return NULL;
	size_t len = strlen(s);
	uint64_t h = ek_hash_bytes((const uint8_t *)s, len, 0);
	if (c->strs) {
		for (struct istr *i = c->strs[h & (c->nstrs_b - 1)]; i; i = i->next) {
			if (i->hash == h && i->len == len && memcmp(i->s, s, len) == 0) {
				i->refs++;
				return i->s;
			}
		}
	}
	if (len > UINT32_MAX - 1) return NULL;
	table_grow((void ***)&c->strs, &c->nstrs_b, c->n_strs, offsetof(struct istr, next), offsetof(struct istr, hash));
	if (!c->strs) return NULL;
	struct istr *i = malloc(sizeof *i + len + 1);
	if (!i) return NULL;
	i->hash = h;
	i->refs = 1;
	i->len = (uint32_t)len;
	memcpy(i->s, s, len + 1);
	i->next = c->strs[h & (c->nstrs_b - 1)];
	c->strs[h & (c->nstrs_b - 1)] = i;
	c->n_strs++;
	c->rec_bytes += sizeof *i + len + 1;
	return i->s;
}

void x509_unintern(struct x509_cache *c, const char *s)
{
	if (!s) return;
	struct istr *i = istr_of(s);
	if (--i->refs) return;
	struct istr **pp = &c->strs[i->hash & (c->nstrs_b - 1)];
	while (*pp && *pp != i) pp = &(*pp)->next;
	if (*pp) *pp = i->next;
	c->n_strs--;
	c->rec_bytes -= sizeof *i + i->len + 1;
	free(i);
}

/* Takes a malloc'd string (or NULL): the interned copy, "" when s is NULL. */
const char *x509_intern_take(struct x509_cache *c, char *s)
{
	const char *r = x509_intern(c, s ? s : "");
	free(s);
	return r;
}
/* ---- records ------------------------------------------------------------- */

void x509_rec_strings(struct x509_info *i, const char **f[N_STRINGS])
{
	f[0] = &i->serial_hex;
	f[1] = &i->subject;
	f[2] = &i->issuer;
	f[3] = &i->san;
	f[4] = &i->eku;
	f[5] = &i->key_usage;
}

void x509_sha256_hex(const struct x509_info *x, char out[65])
{
#ifdef __SSE2__
	/* 16 bytes at a time (a column of every certificate row): nibbles
	 * interleaved high first, '0' added, and 'a' - '0' - 10 more where
	 * a nibble is over 9 */
	const __m128i low4 = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
		      letter = _mm_set1_epi8('a' - '0' - 10);
	for (size_t k = 0; k < 32; k += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(x->sha256 + k));
		__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4), lo = _mm_and_si128(v, low4);
		__m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
		a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), letter));
		b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), letter));
		_mm_storeu_si128((__m128i *)(void *)(out + 2 * k), a);
		_mm_storeu_si128((__m128i *)(void *)(out + 2 * k + 16), b);
	}
#else
	static const char hexd[] = "0123456789abcdef";
	for (size_t k = 0; k < 32; k++) {
		out[2 * k] = hexd[x->sha256[k] >> 4];
		out[2 * k + 1] = hexd[x->sha256[k] & 15];
	}
#endif
	out[64] = '\0';
}

static void set_digest(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len)
{
	unsigned int mdlen = 0;
	if (!c->sha256 || !EVP_Digest(der, len, i->sha256, &mdlen, c->sha256, NULL))
		memset(i->sha256, 0, sizeof i->sha256);
	i->der_len = len;
}

static void recent_forget(struct x509_cache *c, struct x509_entry *e)
{
	for (size_t k = 0; k < sizeof c->recent / sizeof c->recent[0]; k++) {
		if (c->recent[k].e == e) {
			x509_obj_put(c, c->recent[k].obj);
			c->recent[k].e = NULL;
			c->recent[k].obj = NULL;
		}
	}
}

void x509_info_release(struct x509_cache *c, struct x509_info *i)
{
	const char **f[N_STRINGS];
	x509_rec_strings(i, f);
	for (size_t k = 0; k < N_STRINGS; k++) {
		x509_unintern(c, *f[k]);
		*f[k] = NULL;
	}
}

void x509_rec_free(struct x509_cache *c, struct x509_entry *e)
{
	recent_forget(c, e);
	x509_info_release(c, &e->info);
	x509_unintern(c, e->host_name);
	X509_free(e->full);
	c->rec_bytes -= sizeof *e;
	free(e);
}

struct x509_entry *x509_rec_find(struct x509_cache *c, const uint8_t sha256[32], size_t len)
{
	if (!c->recs) return NULL;
	for (struct x509_entry *e = c->recs[ek_rd64(sha256) & (c->nrecs_b - 1)]; e; e = e->next)
		if (e->info.der_len == len && memcmp(e->info.sha256, sha256, 32) == 0) return e;
	return NULL;
}

void x509_rec_insert(struct x509_cache *c, struct x509_entry *e)
{
	/* the hash for table_grow: the SHA-256's first 8 bytes */
	table_grow((void ***)&c->recs, &c->nrecs_b, c->n_recs, offsetof(struct x509_entry, next),
		   offsetof(struct x509_entry, info.sha256));
	size_t at = ek_rd64(e->info.sha256) & (c->nrecs_b - 1);
	e->next = c->recs[at];
	c->recs[at] = e;
	c->n_recs++;
	c->st.entries = c->n_recs;
}

/* Free e once nobody holds it and it has no slot. */
static void rec_maybe_free(struct x509_cache *c, struct x509_entry *e)
{
	if (e->info.refs || e->slot) return;
	struct x509_entry **pp = &c->recs[ek_rd64(e->info.sha256) & (c->nrecs_b - 1)];
	while (*pp && *pp != e) pp = &(*pp)->next;
	if (*pp) *pp = e->next;
	c->n_recs--;
	c->st.entries = c->n_recs;
	x509_rec_free(c, e);
}

/* A new record for this DER (one reference), NULL on allocation failure. */
static struct x509_entry *rec_new(struct x509_cache *c, const struct x509_info *digest, const uint8_t *der,
				  size_t len)
{
	struct x509_entry *e = calloc(1, sizeof *e);
	if (!e) return NULL;
	c->rec_bytes += sizeof *e;
	memcpy(e->info.sha256, digest->sha256, sizeof e->info.sha256);
	e->info.der_len = len;
	e->info.refs = 1;
	EK_X509 *obj = NULL;
	if (!x509_parse_shared(c, &e->info, der, len, &obj)) {
		x509_obj_put(c, obj);
		x509_rec_free(c, e);
		return NULL;
	}
	if (obj) {
		struct recent *r = &c->recent[c->recent_at++ % (sizeof c->recent / sizeof c->recent[0])];
		x509_obj_put(c, r->obj);
		r->e = e;
		r->obj = obj;
	}
	if (e->info.parsed) c->st.parsed++;
	else c->st.failed++;
	ERR_clear_error();
	x509_rec_insert(c, e);
	return e;
}

/* ---- DER slots ------------------------------------------------------------- */

size_t x509_slot_bytes(const struct der_slot *s)
{
	return SLOT_OVERHEAD + s->len + (s->rec->full ? FULL_BYTES(s->len) : 0);
}

void x509_prob_unlink(struct x509_cache *c, struct der_slot *s)
{
	if (!s->probation) return;
	if (s->pprev) s->pprev->pnext = s->pnext;
	else c->prob_head = s->pnext;
	if (s->pnext) s->pnext->pprev = s->pprev;
	else c->prob_tail = s->pprev;
	s->probation = false;
	c->prob_bytes -= SLOT_OVERHEAD + s->len;
}

static void slot_drop(struct x509_cache *c, struct der_slot *s)
{
	x509_prob_unlink(c, s);
	c->vec[s->vi] = c->vec[c->n_slots - 1];
	c->vec[s->vi]->vi = s->vi;
	struct der_slot **pp = &c->slots[s->hash & (c->nslots_b - 1)];
	while (*pp && *pp != s) pp = &(*pp)->next;
	if (*pp) *pp = s->next;
	c->n_slots--;
	c->der_bytes -= x509_slot_bytes(s);
	struct x509_entry *e = s->rec;
	X509_free(e->full);
	e->full = NULL;
	e->slot = NULL;
	free(s);
	rec_maybe_free(c, e);
}

static uint64_t next_rnd(struct x509_cache *c)
{
	c->rnd ^= c->rnd << 13;
	c->rnd ^= c->rnd >> 7;
	c->rnd ^= c->rnd << 17;
	return c->rnd;
}

/* Drops slots on probation whose grace is over, then, while over the
 * budget, admitted ones picked at random (a few tries).  The certificates
 * of the last X509_PROTECT lookups (the message being analysed) and
 * pinned ones stay: the budget is exceeded by them until later. */
void x509_shrink(struct x509_cache *c)
{
	while (c->prob_head) {
		struct der_slot *s = c->prob_head;
		if (s->stamp + X509_PROTECT > c->st.lookups) break;
		slot_drop(c, s);
	}
	/* slots on probation in their grace do not push admitted ones out */
	for (unsigned tries = 0; c->der_bytes - c->prob_bytes > c->max_bytes && c->n_slots && tries < 16;) {
		struct der_slot *s = c->vec[(size_t)((next_rnd(c) >> 32) * c->n_slots >> 32)];
		if (s->rec->pins || s->probation || s->stamp + X509_PROTECT > c->st.lookups) {
			tries++;
			continue;
		}
		slot_drop(c, s);
	}
}

/* s goes on probation, at the tail (its grace starts at its stamp). */
static void prob_push(struct x509_cache *c, struct der_slot *s)
{
	s->probation = true;
	c->prob_bytes += SLOT_OVERHEAD + s->len;
	s->pnext = NULL;
	s->pprev = c->prob_tail;
	if (c->prob_tail) c->prob_tail->pnext = s;
	else c->prob_head = s;
	c->prob_tail = s;
}

/* Whether a new slot of `bytes` is admitted (see the top of the file). */
static bool slot_admit(struct x509_cache *c, size_t bytes, bool seen)
{
	size_t admitted = c->der_bytes - c->prob_bytes + bytes;
	if (admitted <= c->max_bytes / X509_FREE_SHARE) return true;
	if (!seen) return false;
	return admitted <= c->max_bytes || (next_rnd(c) & 15) == 0;
}

/* A hit on a slot on probation: a DER seen twice within its grace. */
static void prob_hit(struct x509_cache *c, struct der_slot *s)
{
	x509_prob_unlink(c, s);
	if (!slot_admit(c, SLOT_OVERHEAD + s->len, true)) prob_push(c, s);
}

/* Whether h was looked up before (maybe: a fingerprint); notes it. */
static bool seen_note(struct x509_cache *c, uint64_t h)
{
	if (!c->seen) return false;
	uint32_t fp = (uint32_t)(h >> 32) | 1u, *at = &c->seen[h & (c->nseen - 1)];
	bool was = *at == fp;
	*at = fp;
	return was;
}

static void slot_add(struct x509_cache *c, struct x509_entry *e, uint64_t h, const uint8_t *der, size_t len,
		     bool seen)
{
	table_grow((void ***)&c->slots, &c->nslots_b, c->n_slots, offsetof(struct der_slot, next),
		   offsetof(struct der_slot, hash));
	if (!c->slots) return;
	if (c->n_slots == c->vec_cap) {
		size_t cap = c->vec_cap ? c->vec_cap * 2 : 256;
		struct der_slot **v = realloc(c->vec, cap * sizeof *v);
		if (!v) return;
		c->vec = v;
		c->vec_cap = cap;
	}
	struct der_slot *s = malloc(sizeof *s + len);
	if (!s) return; /* recognised by SHA-256 next time */
	s->hash = h;
	s->len = len;
	s->stamp = c->st.lookups;
	if (len) memcpy(s->der, der, len);
	s->rec = e;
	e->slot = s;
	s->probation = false;
	s->pnext = s->pprev = NULL;
	if (e->pins == 0 && !slot_admit(c, SLOT_OVERHEAD + len, seen)) prob_push(c, s);
	size_t at = h & (c->nslots_b - 1);
	s->next = c->slots[at];
	c->slots[at] = s;
	s->vi = c->n_slots;
	c->vec[c->n_slots++] = s;
	c->der_bytes += x509_slot_bytes(s);
}

/* ---- cache ------------------------------------------------------------------ */

struct x509_cache *x509_cache_new(size_t max_bytes)
{
	struct x509_cache *c = calloc(1, sizeof *c);
	if (!c) return NULL;
	c->max_bytes = max_bytes ? max_bytes : X509_DEFAULT_MAX_BYTES;
	c->rnd = 0x9e3779b97f4a7c15ULL;
	/* a fingerprint per 256 bytes of budget: more than the certificates
	 * it holds (4 KiB to 1 MiB) */
	for (c->nseen = 1024; c->nseen < c->max_bytes / 256 && c->nseen < ((size_t)1 << 18);) c->nseen *= 2;
	c->seen = calloc(c->nseen, sizeof *c->seen);
	c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	ERR_clear_error();
	if (!c->sha256 || !c->seen) {
		x509_cache_free(c);
		return NULL;
	}
	return c;
}

void x509_cache_free(struct x509_cache *c)
{
	if (!c) return;
	for (size_t k = 0; k < sizeof c->recent / sizeof c->recent[0]; k++) ek_x509_free(c->recent[k].obj);
	ek_x509_free(c->spare);
	x509_names_clear(c); /* before the strings */
	x509_host_memo_free(c);
	for (size_t b = 0; b < c->nslots_b; b++) {
		for (struct der_slot *s = c->slots[b], *next; s; s = next) {
			next = s->next;
			free(s);
		}
	}
	for (size_t b = 0; b < c->nrecs_b; b++) {
		for (struct x509_entry *e = c->recs[b], *next; e; e = next) {
			next = e->next;
			X509_free(e->full);
			free(e);
		}
	}
	for (size_t b = 0; b < c->nstrs_b; b++) {
		for (struct istr *i = c->strs[b], *next; i; i = next) {
			next = i->next;
			free(i);
		}
	}
	free(c->slots);
	free(c->vec);
	free(c->recs);
	free(c->strs);
	free(c->seen);
	EVP_MD_free(c->sha256);
	free(c);
}

struct x509_info *x509_get(struct x509_cache *c, const uint8_t *der, size_t len)
{
	if (!c || (!der && len)) return NULL;
	c->st.lookups++;
	uint64_t h = ek_hash_bytes(der, len, 0);
	if (c->slots) {
		for (struct der_slot *s = c->slots[h & (c->nslots_b - 1)]; s; s = s->next) {
			if (s->hash == h && s->len == len && (len == 0 || memcmp(s->der, der, len) == 0)) {
				s->stamp = c->st.lookups;
				if (s->probation) prob_hit(c, s);
				s->rec->info.refs++;
				return &s->rec->info;
			}
		}
	}
	c->st.der_misses++;
	struct x509_info digest;
	set_digest(c, &digest, der, len);
	/* seen before: its fingerprint, or its record still here */
	bool seen = seen_note(c, h);
	struct x509_entry *e = x509_rec_find(c, digest.sha256, len);
	if (e) {
		e->info.refs++;
		seen = true;
	} else if (!(e = rec_new(c, &digest, der, len))) {
		return NULL;
	}
	if (!e->slot) slot_add(c, e, h, der, len, seen);
	x509_shrink(c);
	return &e->info;
}

void x509_ref(struct x509_info *x)
{
	if (x) x->refs++;
}

void x509_unref(struct x509_cache *c, struct x509_info *x)
{
	if (!c || !x || x->refs == 0) return;
	x->refs--;
	rec_maybe_free(c, (struct x509_entry *)x);
}

void x509_cache_stats(const struct x509_cache *c, struct x509_cache_stats *out)
{
	if (!c) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = c->st;
	out->der_bytes = c->der_bytes;
	out->slots = c->n_slots;
	out->record_bytes = c->rec_bytes;
}

