/* Connection table: open-addressing hash on the unordered endpoint pair,
 * state lists for O(1) expiry, slab allocation; tombstones compact, in
 * blocks and an index of their own. */
#include "conntab.h"

#include "../common/hash.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 1024

/* Connections carved from blocks, recycled through a free list (linked
 * by ct_key.next).  Blocks of 48 KiB or so: a capture holds far fewer
 * open connections than tombstones, and a block's untouched rest is
 * resident too where the heap has huge pages (cli/heap.c). */
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

/* A tombstone: what stream numbering needs of an ended connection (the
 * tuple, id, base sequence numbers, whether the sink wanted it) and its
 * place in the activity list: no hash (worked out again when it goes), no
 * sink pointer, 32-bit links.  Two kinds: IPv4 tuples (nearly all) in 56
 * bytes, any other in 88; a struct ct_key is 120. */
struct tomb_core {
	uint64_t id;
	int64_t last_seen;
	uint32_t base_seq[2];
	uint32_t file_index;
	uint32_t prev, next;    /* list by last activity, oldest first (number + 1, 0: none); next: free list */
	uint8_t flags;          /* TF_* */
	int8_t initiator;
	uint16_t hash16;        /* the pair hash's bits 32..47: most chain neighbours differ there */
};

struct tomb4 {
	struct tomb_core c;
	uint8_t a[2][4];
	uint16_t port[2];
	uint32_t chain;         /* the next in its index bucket (number + 1, 0: none) */
};

struct tomb6 {
	struct tomb_core c;
	struct ek_endpoint ep[2];
	uint32_t chain;
};

_Static_assert(sizeof(struct tomb_core) == 40 && sizeof(struct tomb4) == 56 && sizeof(struct tomb6) == 88,
	       "tombstone sizes");

enum { TF_BASE0 = 1, TF_BASE1 = 2, TF_DROPPED = 4, TF_UDP = 8 };

/* A tombstone's number: its kind (bit 31: struct tomb6) and its place,
 * block[place / TOMB_BLOCK][place % TOMB_BLOCK] of its kind's store.  The
 * index is a bucket array (4 bytes each, at least one per tombstone)
 * with a chain through the tombstones: it is only asked when a packet
 * is not a tracked connection's (the first of each connection), and
 * costs 4-8 bytes a tombstone where open addressing cost 16. */
#define TOMB_BLOCK 512
#define TOMB6 0x80000000u
struct tomb_store {
	unsigned char **block;
	size_t n_blocks, cap_blocks;
	size_t size;            /* of one */
	uint32_t fresh;         /* places below were handed out */
	uint32_t free;          /* recycled ones (number + 1, linked by next) */
	size_t n;               /* tombstones */
	size_t tracked;         /* tracked connections that would be this kind (room reserved) */
};

struct tombs {
	struct tomb_store st[2]; /* [0] struct tomb4, [1] struct tomb6 */
	uint32_t head, tail;    /* activity list (number + 1) */
	size_t n;               /* tombstones */
	uint32_t *bucket;       /* first of the chain (number + 1, 0: none) */
	size_t nbuckets;        /* power of two (0: none yet) */
	/* the caller's copy of one tombstone (ct_key in state CT_TOMB), and
	 * which (number + 1, 0: none) */
	struct ct_key view;
	uint32_t viewed;
};

struct conntab {
	struct ct_index ix;     /* tracked connections */
	size_t n;               /* entries */
	struct ct_list l[CT_NSTATES]; /* tracked states (CT_TOMB: the tombstones' own list) */
	struct ct_pool conns;   /* struct ct_conn */
	struct tombs tb;
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

struct conntab *ct_new(void)
{
	struct conntab *t = calloc(1, sizeof *t);
	if (!t) return NULL;
	t->ix.nb = MIN_BUCKETS;
	t->ix.b = calloc(MIN_BUCKETS, sizeof *t->ix.b);
	if (!t->ix.b) {
		free(t);
		return NULL;
	}
	t->conns.size = sizeof(struct ct_conn);
	t->conns.per_slab = SLAB_BYTES / t->conns.size;
	t->tb.st[0].size = sizeof(struct tomb4);
	t->tb.st[1].size = sizeof(struct tomb6);
	return t;
}

void ct_destroy(struct conntab *t)
{
	if (!t) return;
	pool_free(&t->conns);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < t->tb.st[k].n_blocks; i++) free(t->tb.st[k].block[i]);
		free(t->tb.st[k].block);
	}
	free(t->tb.bucket);
	free(t->ix.b);
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

/* ---- tombstones ----------------------------------------------------- */

/* The kind of tombstone a tuple gets: 0 for IPv4 as decode.c writes it
 * (the address's other 12 bytes zero), else 1. */
static inline int tomb_kind(const struct ek_endpoint *a, const struct ek_endpoint *b)
{
	static const uint8_t zero[12];
	return !(a->addr.family == 4 && b->addr.family == 4 && memcmp(a->addr.a + 4, zero, 12) == 0 &&
		 memcmp(b->addr.a + 4, zero, 12) == 0);
}

static inline void *tomb_mem(const struct tombs *b, uint32_t num)
{
	const struct tomb_store *st = &b->st[num >= TOMB6];
	uint32_t at = num & ~TOMB6;
	return st->block[at / TOMB_BLOCK] + (size_t)(at % TOMB_BLOCK) * st->size;
}

/* Both kinds start with their core. */
static inline struct tomb_core *tomb_at(const struct tombs *b, uint32_t num)
{
	return tomb_mem(b, num);
}

/* Its tuple. */
static void tomb_eps(const struct tombs *b, uint32_t num, struct ek_endpoint ep[2])
{
	if (num >= TOMB6) {
		const struct tomb6 *m = tomb_mem(b, num);
		ep[0] = m->ep[0];
		ep[1] = m->ep[1];
		return;
	}
	const struct tomb4 *m = tomb_mem(b, num);
	memset(ep, 0, 2 * sizeof *ep);
	for (int i = 0; i < 2; i++) {
		ep[i].addr.family = 4;
		memcpy(ep[i].addr.a, m->a[i], 4);
		ep[i].port = m->port[i];
	}
}

static inline uint32_t *tomb_chain(const struct tombs *b, uint32_t num)
{
	if (num >= TOMB6) return &((struct tomb6 *)tomb_mem(b, num))->chain;
	return &((struct tomb4 *)tomb_mem(b, num))->chain;
}

static inline uint16_t hash16(uint64_t h) { return (uint16_t)(h >> 32); }

/* Tombstone num into its bucket of h. */
static void tomb_index_put(struct tombs *b, uint32_t num, uint64_t h)
{
	uint32_t *head = &b->bucket[h & (b->nbuckets - 1)];
	*tomb_chain(b, num) = *head;
	*head = num + 1;
}

/* Room in st for `need` tombstones; false when out of memory. */
static bool store_reserve(struct tomb_store *st, size_t need)
{
	if (need >= TOMB6) return false;
	while (st->n_blocks * TOMB_BLOCK < need) {
		if (st->n_blocks == st->cap_blocks) {
			size_t nc = st->cap_blocks ? 2 * st->cap_blocks : 16;
			unsigned char **v = realloc(st->block, nc * sizeof *v);
			if (!v) return false;
			st->block = v;
			st->cap_blocks = nc;
		}
		if (!(st->block[st->n_blocks] = malloc(TOMB_BLOCK * st->size))) return false;
		st->n_blocks++;
	}
	return true;
}

/* Room for the tombstone of one more tracked connection of kind k, with
 * every other's, so that ct_bury cannot fail; false when out of memory. */
static bool tomb_reserve(struct tombs *b, int k)
{
	struct tomb_store *st = &b->st[k];
	if (!store_reserve(st, st->n + st->tracked + 1)) return false;
	size_t need = b->n + b->st[0].tracked + b->st[1].tracked + 1;
	if (need > b->nbuckets) {
		size_t nb = b->nbuckets ? b->nbuckets : MIN_BUCKETS;
		while (need > nb) nb *= 2;
		uint32_t *v = calloc(nb, sizeof *v);
		if (!v) return false;
		uint32_t *old = b->bucket;
		size_t on = b->nbuckets;
		b->bucket = v;
		b->nbuckets = nb;
		/* the hashes are not kept: worked out again, as often as the array doubles */
		for (size_t i = 0; i < on; i++) {
			for (uint32_t x = old[i]; x;) {
				uint32_t num = x - 1;
				x = *tomb_chain(b, num);
				struct ek_endpoint ep[2];
				tomb_eps(b, num, ep);
				tomb_index_put(b, num, pair_hash(&ep[0], &ep[1]));
			}
		}
		free(old);
	}
	st->tracked++;
	return true;
}

/* A key's flags a tombstone keeps, TF_UDP aside (the caller never changes it). */
static uint8_t key_flags(const struct ct_key *k)
{
	return (uint8_t)((k->base_set[0] ? TF_BASE0 : 0) | (k->base_set[1] ? TF_BASE1 : 0) | (k->dropped ? TF_DROPPED : 0));
}

/* What the caller changed in its copy of a tombstone, into the tombstone. */
static void view_flush(struct tombs *b)
{
	if (!b->viewed) return;
	struct tomb_core *m = tomb_at(b, b->viewed - 1);
	const struct ct_key *v = &b->view;
	m->base_seq[0] = v->base_seq[0];
	m->base_seq[1] = v->base_seq[1];
	m->initiator = (int8_t)v->pub.initiator;
	m->flags = (uint8_t)((m->flags & TF_UDP) | key_flags(v));
}

/* Tombstone num as the caller sees it. */
static struct ct_key *view_of(struct tombs *b, uint32_t num)
{
	view_flush(b);
	const struct tomb_core *m = tomb_at(b, num);
	struct ct_key *v = &b->view;
	memset(v, 0, sizeof *v);
	v->pub.id = m->id;
	v->pub.udp = m->flags & TF_UDP;
	v->pub.file_index = m->file_index;
	tomb_eps(b, num, v->pub.ep);
	v->pub.initiator = m->initiator;
	v->last_seen = m->last_seen;
	v->base_seq[0] = m->base_seq[0];
	v->base_seq[1] = m->base_seq[1];
	v->base_set[0] = m->flags & TF_BASE0;
	v->base_set[1] = m->flags & TF_BASE1;
	v->dropped = m->flags & TF_DROPPED;
	v->state = CT_TOMB;
	b->viewed = num + 1;
	return v;
}

static void tomb_list_unlink(struct tombs *b, struct tomb_core *m)
{
	if (m->prev) tomb_at(b, m->prev - 1)->next = m->next;
	else b->head = m->next;
	if (m->next) tomb_at(b, m->next - 1)->prev = m->prev;
	else b->tail = m->prev;
	m->prev = m->next = 0;
}

static void tomb_list_push(struct tombs *b, uint32_t num)
{
	struct tomb_core *m = tomb_at(b, num);
	m->next = 0;
	m->prev = b->tail;
	if (b->tail) tomb_at(b, b->tail - 1)->next = num + 1;
	else b->head = num + 1;
	b->tail = num + 1;
}

static struct ct_key *tomb_find(struct tombs *b, uint64_t h, const struct ek_endpoint *src,
				const struct ek_endpoint *dst, int *dir)
{
	if (!b->n) return NULL;
	for (uint32_t x = b->bucket[h & (b->nbuckets - 1)]; x; x = *tomb_chain(b, x - 1)) {
		uint32_t num = x - 1;
		if (tomb_at(b, num)->hash16 != hash16(h)) continue;
		struct ek_endpoint ep[2];
		tomb_eps(b, num, ep);
		if (ep_eq(&ep[0], src) && ep_eq(&ep[1], dst)) {
			*dir = 0;
			return view_of(b, num);
		}
		if (ep_eq(&ep[1], src) && ep_eq(&ep[0], dst)) {
			*dir = 1;
			return view_of(b, num);
		}
	}
	return NULL;
}

/* The tombstone the caller has a copy of goes (from the index, the list),
 * its place to its store's free list. */
static void tomb_del(struct tombs *b)
{
	uint32_t num = b->viewed - 1;
	struct tomb_core *m = tomb_at(b, num);
	b->viewed = 0;
	uint64_t h = pair_hash(&b->view.pub.ep[0], &b->view.pub.ep[1]);
	uint32_t *pp = &b->bucket[h & (b->nbuckets - 1)];
	while (*pp != num + 1) pp = tomb_chain(b, *pp - 1);
	*pp = *tomb_chain(b, num);
	tomb_list_unlink(b, m);
	struct tomb_store *st = &b->st[num >= TOMB6];
	m->next = st->free;
	st->free = num + 1;
	st->n--;
	b->n--;
}

struct ct_key *ct_lookup(struct conntab *t, const struct ek_endpoint *src, const struct ek_endpoint *dst,
			 int *dir)
{
	/* a tuple is tracked or a tombstone, not both */
	uint64_t h = pair_hash(src, dst);
	struct ct_key *k = index_find(&t->ix, h, src, dst, dir);
	return k ? k : tomb_find(&t->tb, h, src, dst, dir);
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
	c->k.state = CT_OPEN;
	c->k.last_seen = now;
	reasm_init(&c->rd[0]);
	reasm_init(&c->rd[1]);
}

struct ct_conn *ct_add(struct conntab *t, const struct ek_endpoint *ep0, const struct ek_endpoint *ep1,
		       int64_t now)
{
	if (!index_room(&t->ix)) return NULL; /* could not grow: keep a free slot */
	/* its tombstone's room, with every other connection's */
	int kind = tomb_kind(ep0, ep1);
	if (!tomb_reserve(&t->tb, kind)) return NULL;
	struct ct_conn *c = pool_get(&t->conns);
	if (!c) {
		t->tb.st[kind].tracked--;
		return NULL;
	}
	struct ct_key k;
	memset(&k, 0, sizeof k);
	k.pub.ep[0] = *ep0;
	k.pub.ep[1] = *ep1;
	k.pub.initiator = -1;
	k.hash = pair_hash(ep0, ep1);
	conn_init(c, &k, now);
	index_put(&t->ix, &c->k);
	t->n++;
	list_push(&t->l[CT_OPEN], &c->k);
	return c;
}

/* A tracked connection leaves the index and its list, recycled. */
static void conn_unlink(struct conntab *t, struct ct_key *k)
{
	t->tb.st[tomb_kind(&k->pub.ep[0], &k->pub.ep[1])].tracked--;
	index_remove(&t->ix, k);
	list_unlink(&t->l[k->state], k);
	pool_put(&t->conns, k);
}

void ct_del(struct conntab *t, struct ct_key *k)
{
	if (k->state == CT_TOMB) tomb_del(&t->tb); /* k is its copy */
	else conn_unlink(t, k);
	t->n--;
}

void ct_touch(struct conntab *t, struct ct_key *k, int64_t now)
{
	if (k->state == CT_TOMB) { /* its copy: the tombstone moves */
		struct tombs *b = &t->tb;
		uint32_t num = b->viewed - 1;
		struct tomb_core *m = tomb_at(b, num);
		k->last_seen = m->last_seen = now;
		if (b->tail == num + 1) return;
		tomb_list_unlink(b, m);
		tomb_list_push(b, num);
		return;
	}
	k->last_seen = now;
	struct ct_list *l = &t->l[k->state];
	if (l->tail == k) return;
	list_unlink(l, k);
	list_push(l, k);
}

void ct_move(struct conntab *t, struct ct_conn *c, enum ct_state s, int64_t now)
{
	struct ct_key *k = &c->k;
	list_unlink(&t->l[k->state], k);
	k->state = (uint8_t)s;
	k->last_seen = now;
	list_push(&t->l[s], k);
}

struct ct_key *ct_bury(struct conntab *t, struct ct_conn *c, int64_t now)
{
	struct tombs *b = &t->tb;
	const struct ct_key *k = &c->k;
	int kind = tomb_kind(&k->pub.ep[0], &k->pub.ep[1]);
	struct tomb_store *st = &b->st[kind];
	/* room reserved by ct_add */
	uint32_t num;
	if (st->free) {
		num = st->free - 1;
		st->free = tomb_at(b, num)->next;
	} else {
		num = st->fresh++ | (kind ? TOMB6 : 0);
	}
	struct tomb_core *m = tomb_at(b, num);
	memset(m, 0, st->size);
	if (kind) {
		struct tomb6 *m6 = tomb_mem(b, num);
		m6->ep[0] = k->pub.ep[0];
		m6->ep[1] = k->pub.ep[1];
	} else {
		struct tomb4 *m4 = tomb_mem(b, num);
		for (int i = 0; i < 2; i++) {
			memcpy(m4->a[i], k->pub.ep[i].addr.a, 4);
			m4->port[i] = k->pub.ep[i].port;
		}
	}
	m->id = k->pub.id;
	m->file_index = k->pub.file_index;
	m->initiator = (int8_t)k->pub.initiator;
	m->last_seen = now;
	m->base_seq[0] = k->base_seq[0];
	m->base_seq[1] = k->base_seq[1];
	m->flags = (uint8_t)((k->pub.udp ? TF_UDP : 0) | key_flags(k));
	m->hash16 = hash16(k->hash);
	tomb_index_put(b, num, k->hash);
	st->n++;
	b->n++;
	tomb_list_push(b, num);
	conn_unlink(t, &c->k);
	return view_of(b, num);
}

struct ct_conn *ct_raise(struct conntab *t, struct ct_key *tomb, int64_t now)
{
	struct ct_conn *c = index_room(&t->ix) ? pool_get(&t->conns) : NULL;
	if (!c) return NULL;
	struct ct_key k = *tomb; /* the copy, with the caller's changes */
	k.hash = pair_hash(&k.pub.ep[0], &k.pub.ep[1]);
	conn_init(c, &k, now);
	tomb_del(&t->tb);
	/* its tombstone's room is the one it leaves */
	t->tb.st[tomb_kind(&k.pub.ep[0], &k.pub.ep[1])].tracked++;
	index_put(&t->ix, &c->k);
	list_push(&t->l[CT_OPEN], &c->k);
	c->k.pub.user = NULL;
	return c;
}

struct ct_key *ct_oldest(struct conntab *t, enum ct_state s)
{
	if (s == CT_TOMB) return t->tb.head ? view_of(&t->tb, t->tb.head - 1) : NULL;
	return t->l[s].head;
}

size_t ct_size(const struct conntab *t) { return t->n; }
size_t ct_count(const struct conntab *t, enum ct_state s) { return s == CT_TOMB ? t->tb.n : t->l[s].n; }
