/* Connection table: open-addressing hash on the unordered endpoint pair,
 * state lists for O(1) expiry, slab allocation. */
#include "conntab.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_ENTRIES 4096
#define MIN_BUCKETS 1024

struct slab {
	struct slab *next;
	struct ct_conn e[SLAB_ENTRIES];
};

struct ct_list {
	struct ct_conn *head, *tail;
	size_t n;
};

/* An index slot: the entry and its hash (c NULL: empty).  Linear probing,
 * deletion by backward shift, at most half full. */
struct ct_slot {
	uint64_t h;
	struct ct_conn *c;
};

/* Open connections and the others (closed ones in their linger,
 * tombstones) have separate indexes: nearly every packet looks up an open
 * connection, and a capture keeps many more of the others; the first
 * index stays small enough to stay in the cache. */
struct ct_index {
	struct ct_slot *b;      /* slots */
	size_t nb;              /* power of two */
	size_t n;               /* entries */
};

struct conntab {
	struct ct_index ix[2];  /* [0] open, [1] closed and tombstones */
	size_t n;               /* entries */
	struct ct_list l[CT_NSTATES];
	struct ct_conn *free;   /* recycled entries */
	struct slab *slabs;
	size_t slab_used;       /* entries handed out of slabs->e */
};

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Strong per-endpoint mix; the pair hash adds two of them, which is
 * symmetric in the endpoints without having to order them. */
static uint64_t ep_mix(const struct ek_endpoint *e)
{
	uint64_t a = rd64(e->addr.a) * 0x9E3779B97F4A7C15ULL;
	uint64_t b = rd64(e->addr.a + 8) * 0xC2B2AE3D27D4EB4FULL;
	uint64_t x = a ^ (b << 31 | b >> 33) ^ ((uint64_t)e->port << 8 | e->addr.family) * 0x165667B19E3779F9ULL;
	x ^= x >> 32;
	x *= 0xD6E8FEB86659FD93ULL;
	x ^= x >> 32;
	return x;
}

static uint64_t pair_hash(const struct ek_endpoint *s, const struct ek_endpoint *d)
{
	uint64_t h = ep_mix(s) + ep_mix(d);
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return h;
}

static inline bool ep_eq(const struct ek_endpoint *a, const struct ek_endpoint *b)
{
	return a->port == b->port && a->addr.family == b->addr.family && memcmp(a->addr.a, b->addr.a, 16) == 0;
}

static struct ct_index *index_of(struct conntab *t, const struct ct_conn *c)
{
	return &t->ix[c->state != CT_OPEN];
}

struct conntab *ct_new(void)
{
	struct conntab *t = calloc(1, sizeof *t);
	if (!t) return NULL;
	for (int i = 0; i < 2; i++) {
		t->ix[i].nb = MIN_BUCKETS;
		t->ix[i].b = calloc(MIN_BUCKETS, sizeof *t->ix[i].b);
		if (!t->ix[i].b) {
			free(t->ix[0].b);
			free(t);
			return NULL;
		}
	}
	t->slab_used = SLAB_ENTRIES; /* no slab yet */
	return t;
}

void ct_destroy(struct conntab *t)
{
	if (!t) return;
	while (t->slabs) {
		struct slab *s = t->slabs;
		t->slabs = s->next;
		free(s);
	}
	free(t->ix[0].b);
	free(t->ix[1].b);
	free(t);
}

static struct ct_conn *index_find(const struct ct_index *x, uint64_t h, const struct ek_endpoint *src,
				  const struct ek_endpoint *dst, int *dir)
{
	size_t mask = x->nb - 1;
	for (size_t i = (size_t)h & mask; x->b[i].c; i = (i + 1) & mask) {
		if (x->b[i].h != h) continue;
		struct ct_conn *c = x->b[i].c;
		if (ep_eq(&c->pub.ep[0], src) && ep_eq(&c->pub.ep[1], dst)) {
			*dir = 0;
			return c;
		}
		if (ep_eq(&c->pub.ep[1], src) && ep_eq(&c->pub.ep[0], dst)) {
			*dir = 1;
			return c;
		}
	}
	return NULL;
}

struct ct_conn *ct_lookup(struct conntab *t, const struct ek_endpoint *src, const struct ek_endpoint *dst,
			  int *dir)
{
	/* a tuple is in at most one of the indexes */
	uint64_t h = pair_hash(src, dst);
	struct ct_conn *c = index_find(&t->ix[0], h, src, dst, dir);
	return c ? c : index_find(&t->ix[1], h, src, dst, dir);
}

static void slot_put(struct ct_slot *b, size_t nb, struct ct_conn *c)
{
	size_t mask = nb - 1, i = (size_t)c->hash & mask;
	while (b[i].c) i = (i + 1) & mask;
	b[i].h = c->hash;
	b[i].c = c;
}

/* Room for one more entry (at most half full); false when out of memory
 * and no free slot is left. */
static bool index_room(struct ct_index *x)
{
	if (2 * (x->n + 1) > x->nb) {
		size_t nb = x->nb * 2;
		struct ct_slot *b = calloc(nb, sizeof *b);
		if (b) {
			for (size_t i = 0; i < x->nb; i++)
				if (x->b[i].c) slot_put(b, nb, x->b[i].c);
			free(x->b);
			x->b = b;
			x->nb = nb;
		} /* else keep the fuller table */
	}
	return x->n + 1 < x->nb;
}

static void index_put(struct ct_index *x, struct ct_conn *c)
{
	slot_put(x->b, x->nb, c);
	x->n++;
}

static bool index_remove(struct ct_index *x, struct ct_conn *c)
{
	size_t mask = x->nb - 1, i = (size_t)c->hash & mask;
	while (x->b[i].c && x->b[i].c != c) i = (i + 1) & mask;
	if (!x->b[i].c) return false;
	/* backward shift: later entries of the probe run move up */
	x->b[i].c = NULL;
	for (size_t j = (i + 1) & mask; x->b[j].c; j = (j + 1) & mask) {
		size_t k = (size_t)x->b[j].h & mask;
		/* entry j stays when its home k lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
		x->b[i] = x->b[j];
		x->b[j].c = NULL;
		i = j;
	}
	x->n--;
	return true;
}

/* Out of memory, ct_move may have left an entry in the other index. */
static void unindex(struct conntab *t, struct ct_conn *c)
{
	if (!index_remove(index_of(t, c), c)) index_remove(&t->ix[c->state == CT_OPEN], c);
}

static void list_push(struct ct_list *l, struct ct_conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail) l->tail->next = c;
	else l->head = c;
	l->tail = c;
	l->n++;
}

static void list_unlink(struct ct_list *l, struct ct_conn *c)
{
	if (c->prev) c->prev->next = c->next;
	else l->head = c->next;
	if (c->next) c->next->prev = c->prev;
	else l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static struct ct_conn *alloc_entry(struct conntab *t)
{
	if (t->free) {
		struct ct_conn *c = t->free;
		t->free = c->hnext;
		return c;
	}
	if (t->slab_used == SLAB_ENTRIES) {
		struct slab *s = malloc(sizeof *s);
		if (!s) return NULL;
		s->next = t->slabs;
		t->slabs = s;
		t->slab_used = 0;
	}
	return &t->slabs->e[t->slab_used++];
}

struct ct_conn *ct_add(struct conntab *t, const struct ek_endpoint *ep0, const struct ek_endpoint *ep1,
		       int64_t now)
{
	if (!index_room(&t->ix[0])) return NULL; /* could not grow: keep a free slot */
	struct ct_conn *c = alloc_entry(t);
	if (!c) return NULL;
	memset(c, 0, sizeof *c);
	c->pub.ep[0] = *ep0;
	c->pub.ep[1] = *ep1;
	c->pub.initiator = -1;
	c->last_seen = now;
	c->state = CT_OPEN;
	reasm_init(&c->rd[0]);
	reasm_init(&c->rd[1]);
	c->hash = pair_hash(ep0, ep1);
	index_put(&t->ix[0], c);
	t->n++;
	list_push(&t->l[CT_OPEN], c);
	return c;
}

void ct_del(struct conntab *t, struct ct_conn *c)
{
	unindex(t, c);
	list_unlink(&t->l[c->state], c);
	c->state = CT_NSTATES; /* recycled: stale pointers can tell */
	t->n--;
	c->hnext = t->free;
	t->free = c;
}

void ct_touch(struct conntab *t, struct ct_conn *c, int64_t now)
{
	c->last_seen = now;
	struct ct_list *l = &t->l[c->state];
	if (l->tail == c) return;
	list_unlink(l, c);
	list_push(l, c);
}

void ct_move(struct conntab *t, struct ct_conn *c, enum ct_state s, int64_t now)
{
	if ((c->state == CT_OPEN) != (s == CT_OPEN)) {
		struct ct_index *to = &t->ix[s != CT_OPEN];
		/* no free slot there (out of memory): the entry stays where it
		 * is, still found (lookups search both) */
		if (index_room(to)) {
			unindex(t, c);
			index_put(to, c);
		}
	}
	list_unlink(&t->l[c->state], c);
	c->state = (uint8_t)s;
	c->last_seen = now;
	list_push(&t->l[s], c);
}

struct ct_conn *ct_oldest(const struct conntab *t, enum ct_state s)
{
	return t->l[s].head;
}

size_t ct_size(const struct conntab *t) { return t->n; }
size_t ct_count(const struct conntab *t, enum ct_state s) { return t->l[s].n; }
