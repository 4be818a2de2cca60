#include "ipcerts.h"

#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"

/* Entries in order of first note, in one array that doubles; an index of
 * open addressing over them (entry + 1, 0: empty) at most half full.
 * Both start small: most captures have a few addresses, and the bound
 * (IPCERTS_MAX) is reached by few. */
#define MIN_CAP 64

struct ipcerts {
	struct x509_cache *cache;
	struct ipcert *e;          /* n used of cap */
	uint32_t *slots;           /* 2 * cap */
	size_t n, cap;
	uint32_t file_index;       /* of the entries held */
};

struct ipcerts *ipcerts_new(struct x509_cache *cache)
{
	struct ipcerts *t = calloc(1, sizeof *t);
	if (t) t->cache = cache;
	return t;
}

/* Forget every entry (their leaves released); the room stays. */
static void clear(struct ipcerts *t)
{
	for (size_t i = 0; i < t->n; i++) x509_unref(t->cache, t->e[i].leaf);
	t->n = 0;
	if (t->slots) memset(t->slots, 0, 2 * t->cap * sizeof *t->slots);
}

void ipcerts_free(struct ipcerts *t)
{
	if (!t) return;
	clear(t);
	free(t->e);
	free(t->slots);
	free(t);
}

static size_t addr_len(const struct ek_addr *a) { return a->family == 6 ? 16 : 4; }

static size_t home(const struct ek_addr *a, size_t nslots)
{
	return (size_t)ek_hash_bytes(a->a, addr_len(a), a->family) & (nslots - 1);
}

static bool same(const struct ek_addr *a, const struct ek_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, addr_len(a)) == 0;
}

/* The slot of addr, or the empty slot where it would go (slots exist). */
static uint32_t *find(const struct ipcerts *t, const struct ek_addr *addr)
{
	size_t mask = 2 * t->cap - 1;
	for (size_t i = home(addr, 2 * t->cap);; i = (i + 1) & mask) {
		uint32_t *s = &t->slots[i];
		if (!*s || same(&t->e[*s - 1].addr, addr)) return s;
	}
}

/* Room for one more entry; false when out of memory. */
static bool grow(struct ipcerts *t)
{
	if (t->n < t->cap) return true;
	size_t cap = t->cap ? 2 * t->cap : MIN_CAP;
	struct ipcert *e = realloc(t->e, cap * sizeof *e);
	if (!e) return false;
	t->e = e;
	uint32_t *slots = calloc(2 * cap, sizeof *slots);
	if (!slots) return false;
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	for (size_t i = 0; i < t->n; i++) *find(t, &t->e[i].addr) = (uint32_t)i + 1;
	return true;
}

bool ipcerts_note(struct ipcerts *t, const struct ek_addr *addr, bool client, const struct ek_pktref *at,
		  uint64_t conn, struct x509_info *leaf)
{
	if (!t || !leaf || (addr->family != 4 && addr->family != 6)) return false;
	/* Only one file's addresses are ever asked about: a new file starts
	 * empty, as a -j worker's table does, so the bound counts the same
	 * addresses with -j 1 as with -j N. */
	if (at->file_index != t->file_index) {
		clear(t);
		t->file_index = at->file_index;
	}
	uint32_t *s = t->cap ? find(t, addr) : NULL;
	struct ipcert *c;
	x509_ref(leaf); /* first: it may be the one it replaces */
	if (s && *s) {
		c = &t->e[*s - 1];
		x509_unref(t->cache, c->leaf);
	} else {
		if (t->n >= IPCERTS_MAX || !grow(t)) {
			x509_unref(t->cache, leaf);
			return false;
		}
		s = find(t, addr); /* grow may have moved it */
		c = &t->e[t->n++];
		*s = (uint32_t)t->n;
		memset(c, 0, sizeof *c);
		c->addr = *addr;
	}
	c->leaf = leaf;
	c->client = client;
	c->conn = conn;
	c->file_index = at->file_index;
	c->frame = at->frame;
	return true;
}

const struct ipcert *ipcerts_get(const struct ipcerts *t, const struct ek_addr *addr)
{
	if (!t || !t->cap || (addr->family != 4 && addr->family != 6)) return NULL;
	uint32_t s = *find(t, addr);
	return s ? &t->e[s - 1] : NULL;
}

/* src into dst, cut to fit. */
static void copy_trunc(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void ipcert_serial(const struct ipcert *c, char out[IPCERT_SERIAL_LEN])
{
	copy_trunc(out, IPCERT_SERIAL_LEN, c->leaf->serial_hex);
}

void ipcert_eku(const struct ipcert *c, char out[IPCERT_EKU_LEN])
{
	copy_trunc(out, IPCERT_EKU_LEN, c->leaf->eku);
}
