#include "ipcerts.h"

#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"

/* Open addressing, twice IPCERTS_MAX slots (at most half used), made on
 * first use. */
#define NSLOTS (2 * (size_t)IPCERTS_MAX)

struct ipcerts {
	struct ipcert *slots;      /* NSLOTS; addr.family 0: empty */
	size_t n;
};

struct ipcerts *ipcerts_new(void) { return calloc(1, sizeof(struct ipcerts)); }

void ipcerts_free(struct ipcerts *t)
{
	if (!t) return;
	free(t->slots);
	free(t);
}

static size_t slot_of(const struct ek_addr *a)
{
	return (size_t)(ek_hash_bytes(a->a, a->family == 6 ? 16 : 4, a->family) % NSLOTS);
}

static bool same(const struct ek_addr *a, const struct ek_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, a->family == 6 ? 16 : 4) == 0;
}

/* The slot of addr, or the empty slot where it would go. */
static struct ipcert *find(const struct ipcerts *t, const struct ek_addr *addr)
{
	for (size_t i = slot_of(addr);; i = (i + 1) % NSLOTS) {
		struct ipcert *s = &t->slots[i];
		if (!s->addr.family || same(&s->addr, addr)) return s;
	}
}

/* src (NULL: "") into dst, cut to fit: once per certificate message, so no snprintf. */
static void copy_trunc(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

bool ipcerts_note(struct ipcerts *t, const struct ek_addr *addr, bool client, const struct ek_pktref *at,
		  uint64_t conn, const char *serial, const char *eku, unsigned eku_flags)
{
	if (!t || (addr->family != 4 && addr->family != 6)) return false;
	if (!t->slots && !(t->slots = calloc(NSLOTS, sizeof *t->slots))) return false;
	struct ipcert *s = find(t, addr);
	if (!s->addr.family) {
		if (t->n >= IPCERTS_MAX) return false;
		t->n++;
		s->addr = *addr;
	}
	s->client = client;
	s->conn = conn;
	s->file_index = at->file_index;
	s->frame = at->frame;
	s->eku_flags = eku_flags;
	copy_trunc(s->serial, sizeof s->serial, serial);
	copy_trunc(s->eku, sizeof s->eku, eku);
	return true;
}

const struct ipcert *ipcerts_get(const struct ipcerts *t, const struct ek_addr *addr)
{
	if (!t || !t->slots || (addr->family != 4 && addr->family != 6)) return NULL;
	const struct ipcert *s = find(t, addr);
	return s->addr.family ? s : NULL;
}
