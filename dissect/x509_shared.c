/* Distinct-certificate records shared by the -j threads (x509_shared.h).
 *
 * One mutex: it is taken on a cache miss only (a certificate new to the
 * asking thread), which costs a SHA-256 already; hits in the threads'
 * own caches never come here.  Entries are keyed by SHA-256 and DER
 * length; an entry without an image is a claim in progress. */
#include "x509_shared.h"
#include "x509_internal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"

#define SHARED_DEFAULT_MAX_BYTES ((size_t)2 << 20)

struct sentry {
	struct sentry *next;       /* bucket chain */
	struct sentry *qnext;      /* images in order of arrival, oldest first */
	uint8_t sha256[32];
	size_t der_len;
	void *image;               /* NULL: claimed, being parsed */
	size_t len;
	char *host;                /* x509_shared_host memo, NULL: none */
	int host_result;
};

struct x509_shared {
	pthread_mutex_t mu;
	pthread_cond_t ready;      /* a claim ended */
	struct sentry **b;
	size_t nb, n;              /* buckets (power of two), entries */
	struct sentry *qhead, *qtail;
	size_t max_bytes;
	struct x509_shared_stats st;
};

struct x509_shared *x509_shared_new(size_t max_bytes)
{
	struct x509_shared *s = calloc(1, sizeof *s);
	if (!s) return NULL;
	s->nb = 256;
	s->b = calloc(s->nb, sizeof *s->b);
	if (!s->b) {
		free(s);
		return NULL;
	}
	s->max_bytes = max_bytes ? max_bytes : SHARED_DEFAULT_MAX_BYTES;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->ready, NULL);
	return s;
}

void x509_shared_free(struct x509_shared *s)
{
	if (!s) return;
	for (size_t i = 0; i < s->nb; i++) {
		for (struct sentry *e = s->b[i], *next; e; e = next) {
			next = e->next;
			free(e->host);
			free(e->image);
			free(e);
		}
	}
	free(s->b);
	pthread_cond_destroy(&s->ready);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct sentry **slot_of(struct x509_shared *s, const uint8_t sha256[32], size_t der_len)
{
	struct sentry **pp = &s->b[ek_rd64(sha256) & (s->nb - 1)];
	while (*pp && ((*pp)->der_len != der_len || memcmp((*pp)->sha256, sha256, 32) != 0)) pp = &(*pp)->next;
	return pp;
}

/* Twice the buckets when there are as many entries (kept as they are when
 * out of memory: longer chains). */
static void grow(struct x509_shared *s)
{
	if (s->n < s->nb) return;
	struct sentry **b = calloc(s->nb * 2, sizeof *b);
	if (!b) return;
	for (size_t i = 0; i < s->nb; i++) {
		for (struct sentry *e = s->b[i], *next; e; e = next) {
			next = e->next;
			struct sentry **head = &b[ek_rd64(e->sha256) & (s->nb * 2 - 1)];
			e->next = *head;
			*head = e;
		}
	}
	free(s->b);
	s->b = b;
	s->nb *= 2;
}

static void unlink_entry(struct x509_shared *s, struct sentry *e)
{
	struct sentry **pp = slot_of(s, e->sha256, e->der_len);
	if (*pp == e) *pp = e->next;
	s->n--;
}

enum x509_shared_got x509_shared_get(struct x509_shared *s, const uint8_t sha256[32], size_t der_len,
				     void (*use)(void *ctx, const void *image, size_t len), void *ctx)
{
	pthread_mutex_lock(&s->mu);
	bool waited = false;
	for (;;) {
		struct sentry *e = *slot_of(s, sha256, der_len);
		if (!e) {
			grow(s);
			e = calloc(1, sizeof *e);
			if (!e) {
				pthread_mutex_unlock(&s->mu);
				return X509_SHARED_NONE;
			}
			memcpy(e->sha256, sha256, 32);
			e->der_len = der_len;
			struct sentry **head = &s->b[ek_rd64(sha256) & (s->nb - 1)];
			e->next = *head;
			*head = e;
			s->n++;
			s->st.claims++;
			pthread_mutex_unlock(&s->mu);
			return X509_SHARED_CLAIMED;
		}
		if (e->image) {
			use(ctx, e->image, e->len);
			s->st.hits++;
			pthread_mutex_unlock(&s->mu);
			return X509_SHARED_HIT;
		}
		if (!waited) s->st.waits++;
		waited = true;
		pthread_cond_wait(&s->ready, &s->mu);
	}
}

void x509_shared_put(struct x509_shared *s, const uint8_t sha256[32], size_t der_len, void *image, size_t len)
{
	pthread_mutex_lock(&s->mu);
	struct sentry *e = *slot_of(s, sha256, der_len);
	if (e && !e->image && image) {
		e->image = image;
		e->len = len;
		image = NULL;
		if (s->qtail) s->qtail->qnext = e;
		else s->qhead = e;
		s->qtail = e;
		s->st.entries++;
		s->st.bytes += sizeof *e + len;
		/* the oldest go first; the newest stays even alone over the bound */
		while (s->st.bytes > s->max_bytes && s->qhead != e) {
			struct sentry *old = s->qhead;
			s->qhead = old->qnext;
			unlink_entry(s, old);
			s->st.entries--;
			s->st.bytes -= sizeof *old + old->len;
			s->st.dropped++;
			s->st.bytes -= old->host ? strlen(old->host) + 1 : 0;
			free(old->host);
			free(old->image);
			free(old);
		}
	} else if (e && !e->image) {
		/* nothing to share: the claim goes, a waiter claims it again */
		unlink_entry(s, e);
		free(e);
	}
	pthread_cond_broadcast(&s->ready);
	pthread_mutex_unlock(&s->mu);
	free(image);
}

int x509_shared_host(struct x509_shared *s, const uint8_t sha256[32], size_t der_len, const char *name)
{
	pthread_mutex_lock(&s->mu);
	const struct sentry *e = *slot_of(s, sha256, der_len);
	int r = e && e->host && strcmp(e->host, name) == 0 ? e->host_result : X509_SHARED_UNKNOWN;
	pthread_mutex_unlock(&s->mu);
	return r;
}

void x509_shared_host_put(struct x509_shared *s, const uint8_t sha256[32], size_t der_len, const char *name,
			  int result)
{
	char *copy = strdup(name);
	pthread_mutex_lock(&s->mu);
	struct sentry *e = *slot_of(s, sha256, der_len);
	if (e && e->image && copy) {
		s->st.bytes -= e->host ? strlen(e->host) + 1 : 0;
		s->st.bytes += strlen(copy) + 1;
		free(e->host);
		e->host = copy;
		e->host_result = result;
		copy = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(copy);
}

void x509_shared_stats(struct x509_shared *s, struct x509_shared_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
}

/* ---- the caches' side (x509_internal.h) ------------------------------------ */

void x509_cache_share(struct x509_cache *c, struct x509_shared *s)
{
	if (c) c->shared = s;
}

bool x509_rec_copy(struct x509_cache *c, struct x509_info *dst, const struct x509_info *src)
{
	unsigned refs = dst->refs;
	*dst = *src;
	dst->refs = refs;
	const char **f[N_STRINGS];
	x509_rec_strings(dst, f);
	bool ok = true;
	for (size_t k = 0; k < N_STRINGS; k++) ok = (*f[k] = x509_intern(c, *f[k])) && ok;
	return ok;
}

/* A record as one block: its x509_info, then its strings in the order
 * of x509_rec_strings (their pointers in the copy are meaningless). */
static void *rec_image(struct x509_info *i, size_t *n)
{
	const char **f[N_STRINGS];
	x509_rec_strings(i, f);
	size_t total = sizeof *i;
	for (size_t k = 0; k < N_STRINGS; k++) total += strlen(*f[k]) + 1;
	char *b = malloc(total);
	if (!b) return NULL;
	memcpy(b, i, sizeof *i);
	char *p = b + sizeof *i;
	for (size_t k = 0; k < N_STRINGS; k++) {
		size_t l = strlen(*f[k]) + 1;
		memcpy(p, *f[k], l);
		p += l;
	}
	*n = total;
	return b;
}

struct take {
	struct x509_cache *c;
	struct x509_info *i;
	bool ok;
};

static void take_image(void *ctx, const void *image, size_t len)
{
	struct take *t = ctx;
	struct x509_info src;
	memcpy(&src, image, sizeof src);
	const char **f[N_STRINGS];
	x509_rec_strings(&src, f);
	const char *p = (const char *)image + sizeof src, *end = (const char *)image + len;
	for (size_t k = 0; k < N_STRINGS; k++) {
		*f[k] = p < end ? p : "";
		p += strlen(*f[k]) + 1;
	}
	t->ok = x509_rec_copy(t->c, t->i, &src);
}

bool x509_parse_shared(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, EK_X509 **obj)
{
	*obj = NULL;
	if (!c->shared) return x509_parse_info(c, i, der, len, obj);
	struct take t = { c, i, false };
	enum x509_shared_got got = x509_shared_get(c->shared, i->sha256, len, take_image, &t);
	if (got == X509_SHARED_HIT) return t.ok;
	bool ok = x509_parse_info(c, i, der, len, obj);
	if (got == X509_SHARED_CLAIMED) {
		size_t n = 0;
		void *image = ok ? rec_image(i, &n) : NULL;
		x509_shared_put(c->shared, i->sha256, len, image, n);
	}
	return ok;
}
