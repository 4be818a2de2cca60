/* Connection table: open-addressing hash on the unordered endpoint pair,
 * state lists for O(1) expiry, slab allocation. */
#include "conntab.h"

#include "../common/hash.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 1024

/* Fixed-size entries carved from blocks, recycled through a free list
 * (linked by ct_key.next).  Blocks of 48 KiB or so: a capture holds far
 * fewer open connections than tombstones, and a block's untouched rest
 * is resident too where the heap has huge pages (cli/heap.c). */
#define SLAB_BYTES ((size_t)48 << 10)
struct slab {
	struct slab *next;
	_Alignas(16) unsigned char mem[];
};

struct ct_pool {
	size_t size;            /* of an entry */
	size_t per_slab;        /* entries */
	struct slab *slabs;
	size_t used;            /* entries handed out of slabs->mem */
	struct ct_key *free;
};

struct ct_list {
	struct ct_key *head, *tail;
	size_t n;
};

/* An index slot: the entry and its hash (k NULL: empty).  Linear probing,
 * deletion by backward shift, at most half full. */
struct ct_slot {
	uint64_t h;
	struct ct_key *k;
};

/* Tracked connections and tombstones have separate indexes: nearly every
 * packet looks up a tracked connection, and a capture keeps many more
 * tombstones; the first index stays small enough to stay in the cache,
 * and a connection that closes stays in it until it ends. */
struct ct_index {
	struct ct_slot *b;      /* slots */
	size_t nb;              /* power of two */
	size_t n;               /* entries */
};

struct conntab {
	struct ct_index ix[2];  /* [0] tracked connections, [1] tombstones */
	size_t n;               /* entries */
	struct ct_list l[CT_NSTATES];
	struct ct_pool conns;   /* struct ct_conn */
	struct ct_pool tombs;   /* struct ct_key */
};

static void *pool_get(struct ct_pool *p)
{
	if (p->free) {
		struct ct_key *k = p->free;
		p->free = k->next;
		return k;
	}
	if (!p->slabs || p->used == p->per_slab) {
		struct slab *s = malloc(sizeof *s + p->per_slab * p->size);
		if (!s) return NULL;
		s->next = p->slabs;
		p->slabs = s;
		p->used = 0;
	}
	return p->slabs->mem + p->size * p->used++;
}

static void pool_put(struct ct_pool *p, struct ct_key *k)
{
	k->state = CT_NSTATES; /* recycled: stale pointers can tell */
	k->next = p->free;
	p->free = k;
}

static void pool_free(struct ct_pool *p)
{
	while (p->slabs) {
		struct slab *s = p->slabs;
		p->slabs = s->next;
		free(s);
	}
}

/* Per endpoint one multiply over all of it; the pair hash adds two of
 * them, which is symmetric in the endpoints without having to order
 * them, then mixes once more.  Every packet computes one. */
static inline uint64_t ep_mix(const struct ek_endpoint *e)
{
	return ek_mum(ek_rd64(e->addr.a) ^ EK_HASH_K0,
		      ek_rd64(e->addr.a + 8) ^ ((uint64_t)e->port << 8 | e->addr.family) ^ EK_HASH_K1);
}

static inline uint64_t pair_hash(const struct ek_endpoint *s, const struct ek_endpoint *d)
{
	uint64_t h = ep_mix(s) + ep_mix(d);
	return ek_mum(h ^ EK_HASH_K2, h >> 32 ^ EK_HASH_K3);
}

static inline bool ep_eq(const struct ek_endpoint *a, const struct ek_endpoint *b)
{
	return a->port == b->port && a->addr.family == b->addr.family && memcmp(a->addr.a, b->addr.a, 16) == 0;
}

static struct ct_index *index_of(struct conntab *t, const struct ct_key *k)
{
	return &t->ix[k->state == CT_TOMB];
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
	t->conns.size = sizeof(struct ct_conn);
	t->tombs.size = sizeof(struct ct_key);
	t->conns.per_slab = SLAB_BYTES / t->conns.size;
	t->tombs.per_slab = SLAB_BYTES / t->tombs.size;
	return t;
}

void ct_destroy(struct conntab *t)
{
	if (!t) return;
	pool_free(&t->conns);
	pool_free(&t->tombs);
	free(t->ix[0].b);
	free(t->ix[1].b);
	free(t);
}

/* Inline: every packet looks up, and the call's register saving cost a
 * quarter of the lookup. */
__attribute__((always_inline)) static inline struct ct_key *index_find(const struct ct_index *x, uint64_t h,
								      const struct ek_endpoint *src,
								      const struct ek_endpoint *dst, int *dir)
{
	size_t mask = x->nb - 1;
	for (size_t i = (size_t)h & mask; x->b[i].k; i = (i + 1) & mask) {
		if (x->b[i].h != h) continue;
		struct ct_key *k = x->b[i].k;
		if (ep_eq(&k->pub.ep[0], src) && ep_eq(&k->pub.ep[1], dst)) {
			*dir = 0;
			return k;
		}
		if (ep_eq(&k->pub.ep[1], src) && ep_eq(&k->pub.ep[0], dst)) {
			*dir = 1;
			return k;
		}
	}
	return NULL;
}

struct ct_key *ct_lookup(struct conntab *t, const struct ek_endpoint *src, const struct ek_endpoint *dst,
			 int *dir)
{
	/* a tuple is in at most one of the indexes */
	uint64_t h = pair_hash(src, dst);
	struct ct_key *k = index_find(&t->ix[0], h, src, dst, dir);
	return k ? k : index_find(&t->ix[1], h, src, dst, dir);
}

static void slot_put(struct ct_slot *b, size_t nb, struct ct_key *k)
{
	size_t mask = nb - 1, i = (size_t)k->hash & mask;
	while (b[i].k) i = (i + 1) & mask;
	b[i].h = k->hash;
	b[i].k = k;
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
				if (x->b[i].k) slot_put(b, nb, x->b[i].k);
			free(x->b);
			x->b = b;
			x->nb = nb;
		} /* else keep the fuller table */
	}
	return x->n + 1 < x->nb;
}

static void index_put(struct ct_index *x, struct ct_key *k)
{
	slot_put(x->b, x->nb, k);
	x->n++;
}

static bool index_remove(struct ct_index *x, struct ct_key *k)
{
	size_t mask = x->nb - 1, i = (size_t)k->hash & mask;
	while (x->b[i].k && x->b[i].k != k) i = (i + 1) & mask;
	if (!x->b[i].k) return false;
	/* backward shift: later entries of the probe run move up */
	x->b[i].k = NULL;
	for (size_t j = (i + 1) & mask; x->b[j].k; j = (j + 1) & mask) {
		size_t h = (size_t)x->b[j].h & mask;
		/* entry j stays when its home h lies cyclically in (i, j] */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j)) continue;
		x->b[i] = x->b[j];
		x->b[j].k = NULL;
		i = j;
	}
	x->n--;
	return true;
}

/* Out of memory, key_move may have left an entry in the other index. */
static void unindex(struct conntab *t, struct ct_key *k)
{
	if (!index_remove(index_of(t, k), k)) index_remove(&t->ix[k->state != CT_TOMB], k);
}

static void list_push(struct ct_list *l, struct ct_key *k)
{
	k->next = NULL;
	k->prev = l->tail;
	if (l->tail) l->tail->next = k;
	else l->head = k;
	l->tail = k;
	l->n++;
}

static void list_unlink(struct ct_list *l, struct ct_key *k)
{
	if (k->prev) k->prev->next = k->next;
	else l->head = k->next;
	if (k->next) k->next->prev = k->prev;
	else l->tail = k->prev;
	k->prev = k->next = NULL;
	l->n--;
}

/* A zeroed connection with key k, in state CT_OPEN (list links as in k). */
static void conn_init(struct ct_conn *c, const struct ct_key *k, int64_t now)
{
	memset(c, 0, sizeof *c);
	c->k = *k;
	c->k.in_conn = true;
	c->k.state = CT_OPEN;
	c->k.last_seen = now;
	reasm_init(&c->rd[0]);
	reasm_init(&c->rd[1]);
}

struct ct_conn *ct_add(struct conntab *t, const struct ek_endpoint *ep0, const struct ek_endpoint *ep1,
		       int64_t now)
{
	if (!index_room(&t->ix[0])) return NULL; /* could not grow: keep a free slot */
	struct ct_conn *c = pool_get(&t->conns);
	if (!c) return NULL;
	struct ct_key k;
	memset(&k, 0, sizeof k);
	k.pub.ep[0] = *ep0;
	k.pub.ep[1] = *ep1;
	k.pub.initiator = -1;
	k.hash = pair_hash(ep0, ep1);
	conn_init(c, &k, now);
	index_put(&t->ix[0], &c->k);
	t->n++;
	list_push(&t->l[CT_OPEN], &c->k);
	return c;
}

void ct_del(struct conntab *t, struct ct_key *k)
{
	unindex(t, k);
	list_unlink(&t->l[k->state], k);
	t->n--;
	pool_put(k->in_conn ? &t->conns : &t->tombs, k);
}

void ct_touch(struct conntab *t, struct ct_key *k, int64_t now)
{
	k->last_seen = now;
	struct ct_list *l = &t->l[k->state];
	if (l->tail == k) return;
	list_unlink(l, k);
	list_push(l, k);
}

/* k to state s: the other index when it becomes or stops being a tombstone,
 * tail of s's list. */
static void key_move(struct conntab *t, struct ct_key *k, enum ct_state s, int64_t now)
{
	if ((k->state == CT_TOMB) != (s == CT_TOMB)) {
		struct ct_index *to = &t->ix[s == CT_TOMB];
		/* no free slot there (out of memory): the entry stays where it
		 * is, still found (lookups search both) */
		if (index_room(to)) {
			unindex(t, k);
			index_put(to, k);
		}
	}
	list_unlink(&t->l[k->state], k);
	k->state = (uint8_t)s;
	k->last_seen = now;
	list_push(&t->l[s], k);
}

void ct_move(struct conntab *t, struct ct_conn *c, enum ct_state s, int64_t now)
{
	key_move(t, &c->k, s, now);
}

/* In the index and the lists, `to` takes the place of `from` (same hash,
 * same index); from is left unlinked. */
static void key_replace(struct conntab *t, struct ct_key *from, struct ct_key *to, enum ct_state s)
{
	unindex(t, from);
	list_unlink(&t->l[from->state], from);
	to->state = (uint8_t)s;
	index_put(&t->ix[s == CT_TOMB], to);
	list_push(&t->l[s], to);
}

struct ct_key *ct_bury(struct conntab *t, struct ct_conn *c, int64_t now)
{
	struct ct_key *b = index_room(&t->ix[1]) ? pool_get(&t->tombs) : NULL;
	if (!b) { /* out of memory: the connection's own key is the tombstone */
		key_move(t, &c->k, CT_TOMB, now);
		return &c->k;
	}
	*b = c->k;
	b->in_conn = false;
	b->last_seen = now;
	key_replace(t, &c->k, b, CT_TOMB);
	pool_put(&t->conns, &c->k);
	return b;
}

struct ct_conn *ct_raise(struct conntab *t, struct ct_key *tomb, int64_t now)
{
	struct ct_conn *c;
	if (tomb->in_conn) { /* buried out of memory: it is a connection already */
		c = ct_conn_of(tomb);
		key_move(t, tomb, CT_OPEN, now);
		struct ct_key k = c->k;
		conn_init(c, &k, now);
	} else {
		c = index_room(&t->ix[0]) ? pool_get(&t->conns) : NULL;
		if (!c) return NULL;
		conn_init(c, tomb, now);
		key_replace(t, tomb, &c->k, CT_OPEN);
		pool_put(&t->tombs, tomb);
	}
	c->k.pub.user = NULL;
	return c;
}

struct ct_key *ct_oldest(const struct conntab *t, enum ct_state s)
{
	return t->l[s].head;
}

size_t ct_size(const struct conntab *t) { return t->n; }
size_t ct_count(const struct conntab *t, enum ct_state s) { return t->l[s].n; }
