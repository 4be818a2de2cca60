#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ent {
	char *key;
	void *val;
	struct ent *next;
};

struct strmap {
	struct ent **slots;
	size_t nslots;
	struct ent **order;
	size_t count, cap;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof *m);
	if (!m) return NULL;
	m->nslots = 256;
	m->slots = calloc(m->nslots, sizeof *m->slots);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(struct strmap *m, void (*free_val)(void *ctx, void *val), void *ctx)
{
	if (!m) return;
	for (size_t i = 0; i < m->count; i++) {
		if (free_val) free_val(ctx, m->order[i]->val);
		free(m->order[i]->key);
		free(m->order[i]);
	}
	free(m->order);
	free(m->slots);
	free(m);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	for (struct ent *e = m->slots[hash(key) & (m->nslots - 1)]; e; e = e->next)
		if (strcmp(e->key, key) == 0) return e->val;
	return NULL;
}

static void rehash(struct strmap *m)
{
	size_t n = m->nslots * 4;
	struct ent **s = calloc(n, sizeof *s);
	if (!s) return;
	for (size_t i = 0; i < m->count; i++) {
		struct ent *e = m->order[i];
		size_t k = hash(e->key) & (n - 1);
		e->next = s[k];
		s[k] = e;
	}
	free(m->slots);
	m->slots = s;
	m->nslots = n;
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	if (m->count == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct ent **o = realloc(m->order, nc * sizeof *o);
		if (!o) return -1;
		m->order = o;
		m->cap = nc;
	}
	struct ent *e = malloc(sizeof *e);
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return -1;
	}
	e->val = val;
	size_t k = hash(key) & (m->nslots - 1);
	e->next = m->slots[k];
	m->slots[k] = e;
	m->order[m->count++] = e;
	if (m->count > m->nslots) rehash(m);
	return 0;
}

size_t strmap_count(const struct strmap *m) { return m->count; }
void *strmap_at(const struct strmap *m, size_t i) { return i < m->count ? m->order[i]->val : NULL; }
