#include "connmap.h"

#include <stdlib.h>
#include <string.h>

struct connmap {
	struct conn_rec **slots;
	size_t nslots, count;
};

static size_t slot_of(const struct connmap *m, uint32_t f, uint64_t id)
{
	uint64_t h = (id ^ ((uint64_t)f << 48)) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (m->nslots - 1);
}

struct connmap *connmap_new(void)
{
	struct connmap *m = calloc(1, sizeof *m);
	if (!m) return NULL;
	m->nslots = 1024;
	m->slots = calloc(m->nslots, sizeof *m->slots);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

static void grow(struct connmap *m)
{
	size_t n = m->nslots * 2;
	struct conn_rec **s = calloc(n, sizeof *s);
	if (!s) return; /* keep the longer chains */
	struct conn_rec **old = m->slots;
	size_t on = m->nslots;
	m->slots = s;
	m->nslots = n;
	for (size_t i = 0; i < on; i++) {
		for (struct conn_rec *r = old[i], *nx; r; r = nx) {
			nx = r->next;
			size_t k = slot_of(m, r->file_index, r->id);
			r->next = s[k];
			s[k] = r;
		}
	}
	free(old);
}

struct conn_rec *connmap_get(struct connmap *m, uint32_t file_index, uint64_t id)
{
	size_t k = slot_of(m, file_index, id);
	for (struct conn_rec *r = m->slots[k]; r; r = r->next)
		if (r->id == id && r->file_index == file_index) return r;
	struct conn_rec *r = calloc(1, sizeof *r);
	if (!r) return NULL;
	r->file_index = file_index;
	r->id = id;
	r->next = m->slots[k];
	m->slots[k] = r;
	if (++m->count > m->nslots) grow(m);
	return r;
}

static void rec_free(struct conn_rec *r, void (*free_fc)(struct findings_conn *))
{
	if (r->fc && free_fc) free_fc(r->fc);
	while (r->extra) {
		struct ep_text *t = r->extra;
		r->extra = t->next;
		free(t);
	}
	free(r);
}

static bool ep_same(const struct ek_endpoint *a, const struct ek_endpoint *b)
{
	return a->port == b->port && a->addr.family == b->addr.family && memcmp(a->addr.a, b->addr.a, sizeof a->addr.a) == 0;
}

const struct ep_text *conn_endpoint(struct conn_rec *cr, int i, const struct ek_endpoint *e)
{
	struct ep_text *t = cr->cur[i] ? cr->cur[i] : &cr->ept[i];
	if (t->set && ep_same(&t->ep, e)) return t;
	if (t->set && cr->queued) {
		/* queued rows point at the current text: the new one goes elsewhere */
		struct ep_text *n = malloc(sizeof *n);
		if (n) {
			n->next = cr->extra;
			cr->extra = n;
			cr->cur[i] = t = n;
		}
	}
	char buf[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(e, true, buf, sizeof buf);
	size_t len = strlen(buf);
	memcpy(t->s, buf, len + 1);
	t->len = (uint8_t)len;
	t->ep = *e;
	t->set = true;
	return t;
}

void connmap_release(struct connmap *m, struct conn_rec *r, void (*free_fc)(struct findings_conn *))
{
	if (!r->ended || r->queued) return;
	size_t k = slot_of(m, r->file_index, r->id);
	for (struct conn_rec **pp = &m->slots[k]; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			m->count--;
			rec_free(r, free_fc);
			return;
		}
	}
}

size_t connmap_size(const struct connmap *m)
{
	return m->count;
}

void connmap_free(struct connmap *m, void (*free_fc)(struct findings_conn *))
{
	if (!m) return;
	for (size_t i = 0; i < m->nslots; i++) {
		for (struct conn_rec *r = m->slots[i], *nx; r; r = nx) {
			nx = r->next;
			rec_free(r, free_fc);
		}
	}
	free(m->slots);
	free(m);
}
