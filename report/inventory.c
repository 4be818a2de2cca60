#include "inventory.h"

#include <stdlib.h>
#include <string.h>

#include "../common/decimal.h"
#include "../common/hash.h"
#include "sanitize.h"

/* Entries live in blocks (88 bytes each, no allocation of their own) and
 * never move: callers keep entry pointers.  Entry i (in order of first
 * sight) is entry i % BLOCK_ENTRIES of block i / BLOCK_ENTRIES: no array
 * of pointers (8 bytes an entry).  The entries of one address and leaf (its client entry, its
 * server ports: few) are linked from the first one, which one table finds
 * by (address, leaf SHA-256) and which holds the roles the address used the
 * leaf in.  Chains (serials after the leaf, the top certificate) repeat
 * across entries and are kept once. */

/* ---- one table kind: slots of (hash's high half, item index + 1) -------- */

/* A probe reads an item only when the high halves match; growing
 * recomputes the items' hashes (hash_of). */
struct itab {
	uint64_t *slots;
	size_t nslots, n;
};

typedef bool (*itab_eq_fn)(const void *ctx, uint32_t item, const void *key);
typedef uint64_t (*itab_hash_fn)(const void *ctx, uint32_t item);

static uint64_t *itab_slot(const struct itab *t, uint64_t h, itab_eq_fn eq, const void *ctx, const void *key)
{
	size_t mask = t->nslots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint64_t s = t->slots[i];
		if (!s || ((s ^ h) >> 32 == 0 && eq(ctx, (uint32_t)s - 1, key))) return &t->slots[i];
	}
}

/* The item with key, or -1. */
static int64_t itab_find(const struct itab *t, uint64_t h, itab_eq_fn eq, const void *ctx, const void *key)
{
	if (!t->nslots) return -1;
	uint64_t s = *itab_slot(t, h, eq, ctx, key);
	return s ? (int64_t)(uint32_t)(s - 1) : -1;
}

static uint64_t slot_word(uint64_t h, uint32_t item) { return h >> 32 << 32 | ((uint64_t)item + 1); }

/* Adds item (not in t) under h; false when out of memory. */
static bool itab_add(struct itab *t, uint64_t h, uint32_t item, itab_hash_fn hash_of, const void *ctx)
{
	if (item >= UINT32_MAX - 1) return false;
	if (2 * (t->n + 1) > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256;
		uint64_t *sl = calloc(ns, sizeof *sl);
		if (!sl) return false;
		for (size_t i = 0; i < t->nslots; i++) {
			uint64_t s = t->slots[i];
			if (!s) continue;
			uint64_t hi = hash_of(ctx, (uint32_t)s - 1);
			size_t j = (size_t)hi & (ns - 1);
			while (sl[j]) j = (j + 1) & (ns - 1);
			sl[j] = s;
		}
		free(t->slots);
		t->slots = sl;
		t->nslots = ns;
	}
	size_t mask = t->nslots - 1, j = (size_t)h & mask;
	while (t->slots[j]) j = (j + 1) & mask;
	t->slots[j] = slot_word(h, item);
	t->n++;
	return true;
}

static void itab_free(struct itab *t)
{
	free(t->slots);
	*t = (struct itab){ NULL, 0, 0 };
}

/* ---- keys ------------------------------------------------------------- */

/* An address and a leaf: what finds the first entry of both. */
struct gkey {
	bool v6;
	uint8_t a[16];
	const uint8_t *sha256;
};

/* A note's key, as the -j replay compares them (52 bytes, no padding:
 * hashed and compared as bytes); the log keeps the note's entry. */
struct nkey {
	uint8_t client;
	uint8_t v6;
	uint8_t a[16];
	uint16_t port;               /* servers' */
	uint8_t sha256[32];
};

static uint64_t gkey_hash(bool v6, const uint8_t a[16], const uint8_t *sha256)
{
	uint64_t x, y, z;
	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	memcpy(&z, sha256, 8);
	return ek_hash_word(ek_mum(x ^ EK_HASH_K0, y ^ EK_HASH_K1), z ^ (uint64_t)v6 << 8);
}

static void gkey_of(struct gkey *k, const struct ek_endpoint *ep, const uint8_t *sha256)
{
	memset(k, 0, sizeof *k);
	k->v6 = ep->addr.family == 6; /* ek_endpoint_str prints 4 bytes of anything else */
	memcpy(k->a, ep->addr.a, k->v6 ? 16 : 4);
	k->sha256 = sha256;
}

/* ---- the inventory ------------------------------------------------------ */

#define BLOCK_ENTRIES 1024

struct eblock {
	struct inv_entry e[BLOCK_ENTRIES];
};

struct inventory {
	struct x509_cache *cache;
	struct trust *trust;
	size_t n;                    /* entries */
	struct eblock **blocks;      /* all full but the last */
	size_t n_blocks, cap_blocks;
	struct itab groups;          /* first entries by (address, leaf) */
	struct itab chains;          /* chain_v[] by content */
	struct inv_chain **chain_v;
	size_t n_chains, cap_chains;
	const struct inv_entry **log; /* inventory_log_notes: every note's entry, in order */
	size_t n_log, cap_log;
	bool logging;
};

/* Entry i, in order of first sight. */
static inline struct inv_entry *ent(const struct inventory *inv, size_t i)
{
	return &inv->blocks[i / BLOCK_ENTRIES]->e[i % BLOCK_ENTRIES];
}

static bool group_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct inventory *inv = ctx;
	const struct inv_entry *e = ent(inv, item);
	const struct gkey *k = key;
	return e->v6 == k->v6 && memcmp(e->addr, k->a, sizeof e->addr) == 0 &&
	       memcmp(e->leaf->sha256, k->sha256, sizeof e->leaf->sha256) == 0;
}

static uint64_t group_hash_of(const void *ctx, uint32_t item)
{
	const struct inv_entry *e = ent(ctx, item);
	return gkey_hash(e->v6, e->addr, e->leaf->sha256);
}

/* The first entry of k's address and leaf, or NULL. */
static struct inv_entry *group_get(const struct inventory *inv, const struct gkey *k, uint64_t h)
{
	int64_t i = itab_find(&inv->groups, h, group_eq, inv, k);
	return i < 0 ? NULL : ent(inv, (size_t)i);
}

/* The entry of (role, port) in g's list, or NULL. */
static struct inv_entry *group_entry(const struct inventory *inv, struct inv_entry *g, bool client, uint16_t port)
{
	for (struct inv_entry *e = g; e; e = e->next ? ent(inv, e->next - 1) : NULL)
		if (e->client == client && e->port == port) return e;
	return NULL;
}

static struct inv_entry *find_entry(const struct inventory *inv, bool v6, const uint8_t a[16], const uint8_t *sha256,
				    bool client, uint16_t port)
{
	struct gkey k = { v6, { 0 }, sha256 };
	memcpy(k.a, a, sizeof k.a);
	struct inv_entry *g = group_get(inv, &k, gkey_hash(v6, a, sha256));
	return g ? group_entry(inv, g, client, port) : NULL;
}

/* A new zeroed entry, the last, linked from g (the first of its
 * address and leaf) or, g NULL, the first (group_add once its key is set).
 * NULL when out of memory. */
static struct inv_entry *entry_new(struct inventory *inv, struct inv_entry *g)
{
	if (inv->n == inv->n_blocks * BLOCK_ENTRIES) {
		if (inv->n_blocks == inv->cap_blocks) {
			size_t nc = inv->cap_blocks ? inv->cap_blocks * 2 : 16;
			struct eblock **v = realloc(inv->blocks, nc * sizeof *v);
			if (!v) return NULL;
			inv->blocks = v;
			inv->cap_blocks = nc;
		}
		if (!(inv->blocks[inv->n_blocks] = malloc(sizeof(struct eblock)))) return NULL;
		inv->n_blocks++;
	}
	struct inv_entry *e = ent(inv, inv->n++);
	memset(e, 0, sizeof *e);
	if (g) {
		e->next = g->next;
		g->next = (uint32_t)inv->n;
	}
	return e;
}

/* Enters the last entry made (its key set), the first of its address and
 * leaf, in the table under h; when out of memory it is taken back. */
static bool group_add(struct inventory *inv, uint64_t h)
{
	if (itab_add(&inv->groups, h, (uint32_t)(inv->n - 1), group_hash_of, inv)) return true;
	inv->n--; /* the entry was the last one made: take it back */
	return false;
}

/* ---- chains ------------------------------------------------------------- */

struct chain_key {
	uint64_t hash;
	bool has_top;
	const uint8_t *top_sha256;
	const char *serials;
};

static bool chain_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct inv_chain *c = ((const struct inventory *)ctx)->chain_v[item];
	const struct chain_key *k = key;
	return c->hash == k->hash && c->has_top == k->has_top &&
	       (!k->has_top || memcmp(c->top_sha256, k->top_sha256, sizeof c->top_sha256) == 0) &&
	       strcmp(c->serials, k->serials) == 0;
}

static uint64_t chain_hash_of(const void *ctx, uint32_t item)
{
	return ((const struct inventory *)ctx)->chain_v[item]->hash;
}

static uint64_t chain_hash(bool has_top, const uint8_t *top_sha256, const char *serials)
{
	uint64_t h = ek_hash_bytes(serials, strlen(serials), has_top);
	return has_top ? ek_hash_bytes(top_sha256, 32, h) : h;
}

/* The inventory's copy of a chain; NULL when out of memory. */
static const struct inv_chain *chain_intern(struct inventory *inv, bool has_top, const uint8_t *top_sha256,
					    const char *serials)
{
	struct chain_key k = { chain_hash(has_top, top_sha256, serials), has_top, top_sha256, serials };
	int64_t i = itab_find(&inv->chains, k.hash, chain_eq, inv, &k);
	if (i >= 0) return inv->chain_v[i];
	if (inv->n_chains == inv->cap_chains) {
		size_t nc = inv->cap_chains ? inv->cap_chains * 2 : 16;
		struct inv_chain **v = realloc(inv->chain_v, nc * sizeof *v);
		if (!v) return NULL;
		inv->chain_v = v;
		inv->cap_chains = nc;
	}
	size_t sl = strlen(serials) + 1;
	struct inv_chain *c = malloc(sizeof *c + sl);
	if (!c) return NULL;
	c->hash = k.hash;
	c->has_top = has_top;
	memset(c->top_sha256, 0, sizeof c->top_sha256);
	if (has_top) memcpy(c->top_sha256, top_sha256, sizeof c->top_sha256);
	memcpy(c->serials, serials, sl);
	inv->chain_v[inv->n_chains] = c;
	if (!itab_add(&inv->chains, k.hash, (uint32_t)inv->n_chains, chain_hash_of, inv)) {
		free(c);
		return NULL;
	}
	inv->n_chains++;
	return c;
}

/* The chain of a note: its serials after the leaf and its top parsed
 * certificate (*top, NULL: none). */
static const struct inv_chain *chain_of(struct inventory *inv, struct x509_info *const *chain, size_t n,
					struct x509_info **top)
{
	*top = NULL;
	for (size_t i = n; i-- > 0;) {
		if (chain[i] && chain[i]->parsed) {
			*top = chain[i];
			break;
		}
	}
	size_t len = 1;
	for (size_t i = 1; i < n; i++) len += (chain[i] ? strlen(chain[i]->serial_hex) : 0) + 1;
	char small[512];
	char *s = len <= sizeof small ? small : malloc(len);
	if (!s) return NULL;
	char *o = s;
	for (size_t i = 1; i < n; i++) {
		if (i > 1) *o++ = ';';
		if (!chain[i]) continue;
		size_t l = strlen(chain[i]->serial_hex);
		memcpy(o, chain[i]->serial_hex, l);
		o += l;
	}
	*o = '\0';
	const struct inv_chain *c = chain_intern(inv, *top != NULL, *top ? (*top)->sha256 : NULL, s);
	if (s != small) free(s);
	return c;
}

/* ---- notes ---------------------------------------------------------------- */

struct inventory *inventory_new(struct x509_cache *cache, struct trust *trust)
{
	struct inventory *inv = calloc(1, sizeof *inv);
	if (!inv) return NULL;
	inv->cache = cache;
	inv->trust = trust;
	return inv;
}

/* Drop e's references (its memory is its block's). */
static void release_entry(struct inventory *inv, struct inv_entry *e)
{
	if (e->leaf) x509_unref(inv->cache, e->leaf);
	if (e->top) {
		x509_unpin(inv->cache, e->top);
		x509_unref(inv->cache, e->top);
	}
	e->leaf = e->top = NULL;
}

/* Everything but the references: blocks, tables, chains, log. */
static void free_storage(struct inventory *inv)
{
	for (size_t i = 0; i < inv->n_blocks; i++) free(inv->blocks[i]);
	free(inv->blocks);
	inv->blocks = NULL;
	inv->n = inv->n_blocks = inv->cap_blocks = 0;
	itab_free(&inv->groups);
	itab_free(&inv->chains);
	for (size_t i = 0; i < inv->n_chains; i++) free(inv->chain_v[i]);
	free(inv->chain_v);
	inv->chain_v = NULL;
	inv->n_chains = inv->cap_chains = 0;
	free(inv->log);
	inv->log = NULL;
	inv->n_log = inv->cap_log = 0;
}

void inventory_free(struct inventory *inv)
{
	if (!inv) return;
	for (size_t i = 0; i < inv->n; i++) release_entry(inv, ent(inv, i));
	free_storage(inv);
	free(inv);
}

/* Room in the log for one more note; false when out of memory. */
static bool log_room(struct inventory *inv)
{
	if (inv->n_log < inv->cap_log) return true;
	size_t nc = inv->cap_log ? inv->cap_log * 2 : 256;
	const struct inv_entry **v = realloc(inv->log, nc * sizeof *v);
	if (!v) return false;
	inv->log = v;
	inv->cap_log = nc;
	return true;
}

/* A note's key (its entry's): what the -j log replays. */
static struct nkey nkey_of(const struct inv_entry *e)
{
	struct nkey k;
	memset(&k, 0, sizeof k);
	k.client = e->client;
	k.v6 = e->v6;
	memcpy(k.a, e->addr, sizeof k.a);
	k.port = e->port;
	memcpy(k.sha256, e->leaf->sha256, sizeof k.sha256);
	return k;
}

struct inv_entry *inventory_note(struct inventory *inv, const struct ek_endpoint *ep, bool client,
				 struct x509_info *const *chain, size_t n, uint32_t file_index, uint64_t frame,
				 bool *other_role)
{
	*other_role = false;
	if (!n || !chain[0]) return NULL;
	struct gkey k;
	gkey_of(&k, ep, chain[0]->sha256);
	uint64_t h = gkey_hash(k.v6, k.a, k.sha256);
	struct inv_entry *g = group_get(inv, &k, h);
	uint8_t mine = client ? 1 : 2;
	*other_role = g && (g->roles & (3u ^ mine));
	if (g) g->roles |= mine;

	uint16_t port = client ? 0 : ep->port;
	if (inv->logging && !log_room(inv)) return NULL;
	struct inv_entry *e = g ? group_entry(inv, g, client, port) : NULL;
	if (!e) {
		struct x509_info *top;
		const struct inv_chain *c = chain_of(inv, chain, n, &top);
		if (!c || !(e = entry_new(inv, g))) return NULL;
		e->leaf = chain[0];
		memcpy(e->addr, k.a, sizeof e->addr);
		e->v6 = k.v6;
		e->port = port;
		e->client = client;
		if (!g) {
			if (!group_add(inv, h)) return NULL;
			g = e;
			g->roles = mine;
		}
		x509_ref(e->leaf);
		e->chain = c;
		/* trust_is_public looks at the chain's top parsed certificate
		 * only: its DER stays until public_ca is known */
		e->public_ca = top ? -1 : 0;
		if (top) {
			e->top = top;
			x509_ref(top);
			x509_pin(inv->cache, top);
		}
		e->first_file = file_index;
		e->first_frame = frame;
	}
	if (inv->logging) inv->log[inv->n_log++] = e;
	e->conns++;
	e->last_file = file_index;
	e->last_frame = frame;
	return e;
}

bool inventory_public_ca(const struct inventory *inv, struct inv_entry *e)
{
	if (e->public_ca < 0) {
		e->public_ca = trust_is_public(inv->trust, inv->cache, &e->top, 1);
		x509_unpin(inv->cache, e->top);
		x509_unref(inv->cache, e->top);
		e->top = NULL;
	}
	return e->public_ca > 0;
}

void inventory_mark(struct inv_entry *e, enum finding_code code)
{
	if (e) e->codes |= 1u << code;
}

void inventory_endpoint(const struct inv_entry *e, char buf[EK_ENDPOINT_STRLEN])
{
	struct ek_endpoint ep;
	memset(&ep, 0, sizeof ep);
	ep.addr.family = e->v6 ? 6 : 4;
	memcpy(ep.addr.a, e->addr, sizeof ep.addr.a);
	ep.port = e->port;
	ek_endpoint_str(&ep, !e->client, buf, EK_ENDPOINT_STRLEN);
}

size_t inventory_count(const struct inventory *inv) { return inv->n; }
struct inv_entry *inventory_at(const struct inventory *inv, size_t i) { return i < inv->n ? ent(inv, i) : NULL; }

/* ---- -j --------------------------------------------------------------------- */

void inventory_log_notes(struct inventory *inv) { inv->logging = true; }

/* merge_conflict's tables: notes by their bytes (with the roles seen). */
struct nset {
	struct nkey *v;
	unsigned *roles;
	size_t n, cap;
	struct itab t;
};

static bool nset_eq(const void *ctx, uint32_t item, const void *key)
{
	return memcmp(&((const struct nset *)ctx)->v[item], key, sizeof(struct nkey)) == 0;
}

static uint64_t nkey_hash(const struct nkey *k) { return ek_hash_bytes(k, sizeof *k, 0); }

static uint64_t nset_hash_of(const void *ctx, uint32_t item) { return nkey_hash(&((const struct nset *)ctx)->v[item]); }

/* k's roles in s (added when missing and add is set); NULL when absent or
 * out of memory. */
static unsigned *nset_get(struct nset *s, const struct nkey *k, bool add)
{
	uint64_t h = nkey_hash(k);
	int64_t i = itab_find(&s->t, h, nset_eq, s, k);
	if (i >= 0) return &s->roles[i];
	if (!add) return NULL;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		struct nkey *v = realloc(s->v, nc * sizeof *v);
		if (v) s->v = v;
		unsigned *r = v ? realloc(s->roles, nc * sizeof *r) : NULL;
		if (!r) return NULL;
		s->roles = r;
		s->cap = nc;
	}
	s->v[s->n] = *k;
	s->roles[s->n] = 0;
	if (!itab_add(&s->t, h, (uint32_t)s->n, nset_hash_of, s)) return NULL;
	return &s->roles[s->n++];
}

static void nset_free(struct nset *s)
{
	free(s->v);
	free(s->roles);
	itab_free(&s->t);
}

/* The key of a note's address and leaf. */
static struct nkey ip_key(const struct nkey *k)
{
	struct nkey ip = *k;
	ip.client = 0;
	ip.port = 0;
	return ip;
}

bool inventory_merge_conflict(const struct inventory *dst, const struct inventory *src)
{
	/* public_ca is worked out from an entry's first chain: dst's, not src's */
	for (size_t i = 0; i < src->n; i++) {
		const struct inv_entry *e = ent(src, i);
		if (!e->leaf->parsed || !(e->leaf->eku_flags & EKU_CLIENT)) continue;
		const struct inv_entry *d = find_entry(dst, e->v6, e->addr, e->leaf->sha256, e->client, e->port);
		if (!d) continue;
		if (d->chain->has_top != e->chain->has_top ||
		    (e->chain->has_top &&
		     memcmp(d->chain->top_sha256, e->chain->top_sha256, sizeof e->chain->top_sha256) != 0))
			return true;
	}
	/* Replay the notes twice, as the worker saw them (this file alone) and
	 * after dst's files: same_cert_both_roles (rules.c) is raised when
	 * the ip used the leaf in the other role before and the entry has not
	 * had it yet.  Nothing to replay when dst never saw these ips' leaves. */
	bool known = false;
	for (size_t i = 0; i < src->n_log && !known; i++) {
		const struct inv_entry *e = src->log[i];
		struct gkey g = { e->v6, { 0 }, e->leaf->sha256 };
		memcpy(g.a, e->addr, sizeof g.a);
		known = group_get(dst, &g, gkey_hash(g.v6, g.a, g.sha256)) != NULL;
	}
	if (!known) return false;
	struct nset roles = { 0 }, raised = { 0 };
	bool conflict = false;
	for (size_t i = 0; i < src->n_log && !conflict; i++) {
		const struct nkey note = nkey_of(src->log[i]), *k = &note;
		struct nkey ip = ip_key(k);
		unsigned mine = k->client ? 1u : 2u;
		unsigned *lr = nset_get(&roles, &ip, false);
		struct gkey gk = { k->v6, { 0 }, k->sha256 };
		memcpy(gk.a, k->a, sizeof gk.a);
		struct inv_entry *g = group_get(dst, &gk, gkey_hash(gk.v6, gk.a, gk.sha256));
		const struct inv_entry *ge = g ? group_entry(dst, g, k->client, k->port) : NULL;
		unsigned local = lr ? *lr : 0, global = g ? g->roles : 0;
		bool before = nset_get(&raised, k, false) != NULL;
		bool in_file = (local & (3u ^ mine)) && !before;
		bool in_run = ((local | global) & (3u ^ mine)) && !before &&
			      !(ge && (ge->codes & (1u << F_SAME_CERT_BOTH_ROLES)));
		if (in_file != in_run) conflict = true;
		if (in_file && !nset_get(&raised, k, true)) conflict = true;
		if (!lr && !(lr = nset_get(&roles, &ip, true))) conflict = true;
		if (lr) *lr |= mine;
	}
	nset_free(&roles);
	nset_free(&raised);
	return conflict;
}

void inventory_merge(struct inventory *dst, struct inventory *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct inv_entry *e = ent(src, i);
		uint8_t roles = e->roles; /* src's first entry of its address and leaf: the roles */
		struct gkey k = { e->v6, { 0 }, e->leaf->sha256 };
		memcpy(k.a, e->addr, sizeof k.a);
		uint64_t h = gkey_hash(k.v6, k.a, k.sha256);
		struct inv_entry *g = group_get(dst, &k, h);
		struct inv_entry *d = g ? group_entry(dst, g, e->client, e->port) : NULL;
		if (d) {
			d->conns += e->conns;
			d->last_file = e->last_file;
			d->last_frame = e->last_frame;
			d->codes |= e->codes;
			g->roles |= roles;
			release_entry(src, e);
			continue;
		}
		const struct inv_chain *c = e->chain;
		c = chain_intern(dst, c->has_top, c->top_sha256, c->serials);
		bool top = e->top != NULL;
		e->leaf = x509_move(dst->cache, src->cache, e->leaf);
		if (e->top) e->top = x509_move(dst->cache, src->cache, e->top);
		if (!c || !e->leaf || (top && !e->top) || !(d = entry_new(dst, g))) {
			release_entry(dst, e);
			continue;
		}
		uint32_t next = d->next; /* entry_new's link */
		*d = *e;
		d->chain = c;
		d->next = next;
		d->roles = 0;
		if (!g) {
			if (!group_add(dst, h)) {
				release_entry(dst, d);
				continue;
			}
			g = d;
		}
		g->roles |= roles;
	}
	src->n = 0;
	free_storage(src);
}

/* ---- the report's endpoint section --------------------------------------- */

void inventory_frame_ref(char *buf, size_t n, char *const *names, uint32_t n_files, uint32_t f, uint64_t frame)
{
	if (!n) return;
	bool named = n_files > 1 && f < n_files && names[f];
	char t[EK_U64_DIGITS + 1], *d = t;
	if (named) *d++ = ':';
	d = ek_put_u64(d, (unsigned long long)frame);
	size_t nl = named ? strlen(names[f]) : 0, tl = (size_t)(d - t);
	if (nl > n - 1) nl = n - 1;
	if (tl > n - 1 - nl) tl = n - 1 - nl;
	if (nl) memcpy(buf, names[f], nl);
	memcpy(buf + nl, t, tl);
	buf[nl + tl] = '\0';
}

/* The endpoint up to its port (IPv4 servers), the address of the others. */
static void group_text(const struct inv_entry *e, char *t)
{
	inventory_endpoint(e, t);
	char *p = strrchr(t, ':');
	if (!e->client && p && t[0] != '[') *p = '\0';
}

static int cmp_entries(const void *a, const void *b)
{
	const struct inv_entry *x = *(const struct inv_entry *const *)a, *y = *(const struct inv_entry *const *)b;
	/* group by address (the endpoint up to its port), servers before clients */
	char ax[EK_ENDPOINT_STRLEN], ay[EK_ENDPOINT_STRLEN];
	group_text(x, ax);
	group_text(y, ay);
	int c = strcmp(ax, ay);
	if (c) return c;
	if (x->client != y->client) return x->client ? 1 : -1;
	inventory_endpoint(x, ax);
	inventory_endpoint(y, ay);
	return strcmp(ax, ay);
}

/* Most connections first (then the report's order). */
static int cmp_busiest(const void *a, const void *b)
{
	const struct inv_entry *x = *(const struct inv_entry *const *)a, *y = *(const struct inv_entry *const *)b;
	if (x->conns != y->conns) return x->conns < y->conns ? 1 : -1;
	return cmp_entries(a, b);
}

/* The report lists at most this many entries, the busiest (--certs has all). */
#define REPORT_MAX_ENTRIES 20

void inventory_print(const struct inventory *inv, FILE *fp, char *const *file_names, uint32_t n_files)
{
	size_t n = inv->n, shown = n;
	if (!n) return;
	struct inv_entry **v = malloc((n < REPORT_MAX_ENTRIES ? n : REPORT_MAX_ENTRIES) * sizeof *v);
	if (!v) return;
	if (n > REPORT_MAX_ENTRIES) {
		/* the busiest by insertion into a short sorted list: sorting
		 * tens of thousands of entries costs more than the report */
		shown = 0;
		for (size_t i = 0; i < n; i++) {
			struct inv_entry *e = ent(inv, i);
			if (shown == REPORT_MAX_ENTRIES && cmp_busiest(&e, &v[shown - 1]) >= 0) continue;
			size_t at = shown < REPORT_MAX_ENTRIES ? shown++ : shown - 1;
			while (at > 0 && cmp_busiest(&e, &v[at - 1]) < 0) {
				v[at] = v[at - 1];
				at--;
			}
			v[at] = e;
		}
	} else {
		for (size_t i = 0; i < n; i++) v[i] = ent(inv, i);
	}
	qsort(v, shown, sizeof *v, cmp_entries);
	fprintf(fp, "\nENDPOINTS (what each presented%s)\n", shown < n ? ": the busiest" : "");
	char buf[512];
	for (size_t i = 0; i < shown; i++) {
		struct inv_entry *e = v[i];
		const struct x509_info *c = e->leaf;
		char ep[EK_ENDPOINT_STRLEN];
		inventory_endpoint(e, ep);
		fprintf(fp, "\n  %s as %s, %llu connection%s\n", ep, e->client ? "client" : "server",
			(unsigned long long)e->conns, e->conns == 1 ? "" : "s");
		/* one field a line: serials run to 40 hex digits, the report must fit 80 columns */
		if (n_files > 1) {
			/* several files: where the first and the last were seen */
			char ff[300], lf[300];
			inventory_frame_ref(ff, sizeof ff, file_names, n_files, e->first_file, e->first_frame);
			inventory_frame_ref(lf, sizeof lf, file_names, n_files, e->last_file, e->last_frame);
			fprintf(fp, "    frames  %s", sanitize_str(ff, buf, sizeof buf));
			if (strcmp(ff, lf) != 0) fprintf(fp, " .. %s", sanitize_str(lf, buf, sizeof buf));
			fputc('\n', fp);
		}
		fprintf(fp, "    serial  %s\n", sanitize_str(c->serial_hex, buf, sizeof buf));
		fprintf(fp, "    eku     %s%s\n", c->parsed ? c->eku : "(unparsable)",
			inventory_public_ca(inv, e) ? "  (chains to a public root)" : "");
		if (c->parsed) {
			fprintf(fp, "    subject %s\n", sanitize_str(c->subject, buf, sizeof buf));
			fprintf(fp, "    issuer  %s\n", sanitize_str(c->issuer, buf, sizeof buf));
			if (c->have_validity) {
				char nb[32], na[32];
				ek_unix_str(c->not_before, nb, sizeof nb);
				ek_unix_str(c->not_after, na, sizeof na);
				fprintf(fp, "    valid   %s .. %s\n", nb, na);
			}
		}
	}
	if (shown < n) fprintf(fp, "\n  ... and %zu more: see --certs\n", n - shown);
	free(v);
}
