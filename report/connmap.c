#include "connmap.h"

#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"

#define REC_POOL_MAX 16384

struct connmap {
	struct conn_rec **slots;
	size_t nslots, count;
	struct conn_rec *pool;   /* freed records, reused (linked through next) */
	size_t n_pool;
};

static size_t slot_of(const struct connmap *m, uint32_t f, uint64_t id)
{
	return (size_t)ek_hash_word(id, (uint64_t)f << 48) & (m->nslots - 1);
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
	struct conn_rec *r = m->pool;
	if (r) {
		m->pool = r->next;
		m->n_pool--;
		memset(r, 0, sizeof *r);
	} else if (!(r = calloc(1, sizeof *r))) {
		return NULL;
	}
	r->file_index = file_index;
	r->id = id;
	r->next = m->slots[k];
	m->slots[k] = r;
	if (++m->count > m->nslots) grow(m);
	return r;
}

static void rec_free(struct connmap *m, struct conn_rec *r, void (*free_fc)(struct findings_conn *))
{
	if (r->fc && free_fc) free_fc(r->fc);
	while (r->extra) {
		struct ep_text *t = r->extra;
		r->extra = t->next;
		free(t);
	}
	if (m && m->n_pool < REC_POOL_MAX) {
		r->next = m->pool;
		m->pool = r;
		m->n_pool++;
	} else {
		free(r);
	}
}

const struct ep_text *conn_endpoint_set(struct conn_rec *cr, int i, const struct ek_endpoint *e)
{
	struct ep_text *t = cr->cur[i] ? cr->cur[i] : &cr->ept[i];
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
			rec_free(m, r, free_fc);
			return;
		}
	}
}

void connmap_free(struct connmap *m, void (*free_fc)(struct findings_conn *))
{
	if (!m) return;
	for (size_t i = 0; i < m->nslots; i++) {
		for (struct conn_rec *r = m->slots[i], *nx; r; r = nx) {
			nx = r->next;
			rec_free(NULL, r, free_fc);
		}
	}
	while (m->pool) {
		struct conn_rec *r = m->pool;
		m->pool = r->next;
		free(r);
	}
	free(m->slots);
	free(m);
}
