/* The findings store: per-connection states, aggregation of findings for
 * the text report (by code, endpoints, certificate), interned texts, and
 * the -j merge of a worker's findings. */
#include "findings.h"
#include "findings_int.h"

uint64_t str_hash(const char *p, size_t n)
{
	return ek_hash_bytes(p, n, 0);
}

/* The interned copy of p[0..n) (n bytes, then a NUL), or NULL when the
 * table is full or out of memory: the caller makes its own copy. */
const char *str_intern(struct findings *f, const char *p, size_t n)
{
	if (!f->strs.slots && !(f->strs.slots = calloc(STRS_SLOTS, sizeof *f->strs.slots))) return NULL;
	size_t i = (size_t)str_hash(p, n) & (STRS_SLOTS - 1);
	for (char *e; (e = f->strs.slots[i]) != NULL; i = (i + 1) & (STRS_SLOTS - 1))
		if (strncmp(e, p, n) == 0 && e[n] == '\0') return e;
	if (2 * (f->strs.n + 1) > STRS_SLOTS || f->strs.bytes + n + 1 > STRS_MAX_BYTES) return NULL;
	char *e = malloc(n + 1);
	if (!e) return NULL;
	memcpy(e, p, n);
	e[n] = '\0';
	f->strs.slots[i] = e;
	f->strs.n++;
	f->strs.bytes += n + 1;
	return e;
}

struct findings *findings_new(const struct findings_opts *o, struct x509_cache *cache, struct trust *trust,
			      struct inventory *inv, char *err, size_t errn)
{
	struct findings *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	f->o = *o;
	f->cache = cache;
	f->trust = trust;
	f->inv = inv;
	f->max_sev = -1;
	if (!(f->ipc = ipcerts_new(cache))) {
		snprintf(err, errn, "out of memory");
		findings_free(f);
		return NULL;
	}
	if (o->csv_path) {
		f->csv = findings_csv_open(o->csv_path, !o->live && !o->in_place, err, errn);
		if (!f->csv) {
			findings_free(f);
			return NULL;
		}
	}
	return f;
}

/* Release what the steps in refs hold. */
static void steps_release(struct x509_cache *cache, struct ladder_step *steps, uint32_t refs)
{
	for (uint32_t m = refs; m; m &= m - 1) {
		struct ladder_step *s = &steps[__builtin_ctz(m)];
		if (s->is_cert) x509_unref(cache, s->u.cert);
		else free(s->u.info);
	}
}

static void *arena_alloc(struct findings *f, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	struct arena_block *b = f->arena;
	if (!b || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		if (!(b = malloc(offsetof(struct arena_block, data) + size))) return NULL;
		b->next = f->arena;
		b->used = 0;
		b->size = size;
		f->arena = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

static void arena_free(struct findings *f)
{
	while (f->arena) {
		struct arena_block *b = f->arena;
		f->arena = b->next;
		free(b);
	}
}

/* The key's extra text of a, or NULL. */
static const char *agg_extra(const struct agg *a)
{
	return a->has_extra ? a->message + strlen(a->message) + 1 : NULL;
}

/* Bytes of an aggregate with its texts. */
static size_t agg_size(const struct agg *a)
{
	size_t n = offsetof(struct agg, message) + strlen(a->message) + 1;
	return a->has_extra ? n + strlen(agg_extra(a)) + 1 : n;
}

/* An aggregate's memory is its arena's: only its ladder is freed. */
static void free_agg(struct findings *f, struct agg *a)
{
	if (a->ladder) {
		steps_release(f->cache, a->ladder->steps, a->ladder->refs);
		free(a->ladder->steps);
		free(a->ladder->title);
		free(a->ladder);
		a->ladder = NULL;
	}
}

void findings_free(struct findings *f)
{
	if (!f) return;
	if (f->csv) {
		char e[256];
		csv_out_close(f->csv, false, e, sizeof e);
	}
	for (size_t i = 0; i < f->n_aggs; i++) free_agg(f, f->aggs[i]);
	arena_free(f);
	free(f->aggs);
	free(f->slots);
	free(f->examples);
	ipcerts_free(f->ipc);
	for (size_t i = 0; i < sizeof f->host_memo / sizeof f->host_memo[0]; i++)
		if (f->host_memo[i].sni_owned) free((char *)(uintptr_t)f->host_memo[i].sni);
	if (f->strs.slots)
		for (size_t i = 0; i < STRS_SLOTS; i++) free(f->strs.slots[i]);
	free(f->strs.slots);
	while (f->fc_pool) {
		struct findings_conn *fc = f->fc_pool;
		f->fc_pool = fc->next_free;
		free(fc);
	}
	free(f);
}

void findings_flush(struct findings *f)
{
	if (f->csv) csv_out_flush(f->csv);
}

int findings_close(struct findings *f, char *err, size_t errn)
{
	int rc = 0;
	if (f->csv) rc = csv_out_close(f->csv, true, err, errn);
	f->csv = NULL;
	return rc;
}

unsigned findings_conn_codes(const struct findings_conn *fc) { return fc ? fc->codes : 0; }

void findings_discard(struct findings *f)
{
	char e[256];
	if (f && f->csv) csv_out_close(f->csv, false, e, sizeof e);
	if (f) f->csv = NULL;
}

void findings_free_conn(struct findings_conn *fc)
{
	if (!fc) return;
	struct findings *f = fc->f;
	steps_release(f->cache, fc->steps, fc->refs);
	if (fc->sni_owned) free((char *)(uintptr_t)fc->sni);
	for (size_t i = 0; i < fc->n_ca; i++) free(fc->ca_names[i]);
	free(fc->ca_names);
	if (f->n_pool < FC_POOL_MAX) {
		fc->next_free = f->fc_pool;
		f->fc_pool = fc;
		f->n_pool++;
	} else {
		free(fc);
	}
}

void findings_trim(struct findings *f)
{
	while (f->fc_pool) {
		struct findings_conn *fc = f->fc_pool;
		f->fc_pool = fc->next_free;
		free(fc);
	}
	f->n_pool = 0;
}

int findings_max_severity(const struct findings *f) { return f->max_sev; }

uint64_t findings_count(const struct findings *f, enum severity s) { return f->by_sev[s]; }

static void agg_ep_of(struct agg_ep *k, const struct ek_endpoint *e, bool with_port)
{
	memset(k, 0, sizeof *k);
	k->v6 = e->addr.family == 6;
	memcpy(k->a, e->addr.a, k->v6 ? 16 : 4);
	k->port = with_port ? e->port : 0;
}

/* An aggregate's key as lookups take it: the fields of a (its message
 * aside), the extra text (NULL: none) and their hash. */
struct agg_key {
	const struct agg *a;
	const char *extra;
	uint64_t hash;
};

static uint64_t agg_hash(const struct agg *k, const char *extra)
{
	uint64_t h = ek_hash_word(0, (uint64_t)k->code);
	const struct agg_ep *e[2] = { &k->cip, &k->server };
	for (int i = 0; i < 2; i++) {
		uint64_t x, y;
		memcpy(&x, e[i]->a, 8);
		memcpy(&y, e[i]->a + 8, 8);
		h = ek_hash_word(ek_hash_word(ek_hash_word(h, x), y), (uint64_t)e[i]->port << 8 | e[i]->v6);
	}
	if (k->has_cert) {
		uint64_t x;
		memcpy(&x, k->sha256, 8);
		h = ek_hash_word(h, x);
	}
	if (extra)
		h = ek_hash_bytes(extra, strlen(extra), h);
	return h;
}

static struct agg_key agg_key_of(const struct agg *a)
{
	const char *extra = agg_extra(a);
	return (struct agg_key){ a, extra, agg_hash(a, extra) };
}

static bool agg_eq(const struct agg *a, const struct agg_key *key)
{
	const struct agg *k = key->a;
	const char *ae = agg_extra(a);
	return a->code == k->code && memcmp(&a->cip, &k->cip, sizeof a->cip) == 0 &&
	       memcmp(&a->server, &k->server, sizeof a->server) == 0 && a->has_cert == k->has_cert &&
	       (!k->has_cert || memcmp(a->sha256, k->sha256, sizeof a->sha256) == 0) &&
	       (ae && key->extra ? strcmp(ae, key->extra) == 0 : ae == key->extra);
}

/* A slot: the high half of the aggregate's hash, and its index in aggs
 * plus one (0: empty). */
static uint64_t slot_word(uint64_t hash, size_t i) { return hash >> 32 << 32 | (i + 1); }

static struct agg *slot_agg(const struct findings *f, uint64_t s) { return f->aggs[(uint32_t)s - 1]; }

static uint64_t *agg_slot(struct findings *f, const struct agg_key *k)
{
	size_t mask = f->nslots - 1;
	for (size_t i = (size_t)k->hash & mask;; i = (i + 1) & mask) {
		uint64_t s = f->slots[i];
		if (!s || ((s ^ k->hash) >> 32 == 0 && agg_eq(slot_agg(f, s), k))) return &f->slots[i];
	}
}

/* The aggregate with k's key, or NULL. */
static struct agg *agg_find(struct findings *f, const struct agg_key *k)
{
	uint64_t s = f->nslots ? *agg_slot(f, k) : 0;
	return s ? slot_agg(f, s) : NULL;
}

/* a (not in f, its key k) is added. */
static int agg_insert(struct findings *f, struct agg *a, const struct agg_key *k)
{
	if (f->n_aggs == f->cap_aggs) {
		size_t nc = f->cap_aggs ? f->cap_aggs * 2 : 64;
		struct agg **v = realloc(f->aggs, nc * sizeof *v);
		if (!v) return -1;
		f->aggs = v;
		f->cap_aggs = nc;
	}
	if (f->n_aggs >= UINT32_MAX) return -1;
	if (2 * (f->n_aggs + 1) > f->nslots) {
		size_t ns = f->nslots ? f->nslots * 2 : 256;
		uint64_t *sl = calloc(ns, sizeof *sl);
		if (!sl) return -1;
		free(f->slots);
		f->slots = sl;
		f->nslots = ns;
		/* the hashes are not kept: worked out again (as often as the table doubles) */
		for (size_t i = 0; i < f->n_aggs; i++) {
			struct agg_key ki = agg_key_of(f->aggs[i]);
			*agg_slot(f, &ki) = slot_word(ki.hash, i);
		}
	}
	*agg_slot(f, k) = slot_word(k->hash, f->n_aggs);
	f->aggs[f->n_aggs++] = a;
	return 0;
}

/* ---- what the text report can show (LADDERS_SHOWN) --------------------------- */

static bool same_ep(const struct agg_ep *a, const struct agg_ep *b)
{
	return a->v6 == b->v6 && a->port == b->port && memcmp(a->a, b->a, sizeof a->a) == 0;
}

/* The slot of (code, server), or the empty one where it goes (examples
 * allocated). */
static struct example_slot *example_slot(const struct findings *f, enum finding_code code,
					 const struct agg_ep *server)
{
	uint64_t x, y;
	memcpy(&x, server->a, 8);
	memcpy(&y, server->a + 8, 8);
	uint64_t h = ek_hash_word(ek_mum(x ^ EK_HASH_K0, y ^ EK_HASH_K1),
				  (uint64_t)code << 24 | (uint64_t)server->port << 8 | server->v6);
	size_t mask = f->cap_examples - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct example_slot *sl = &f->examples[i];
		if (!sl->code || (sl->code == (uint32_t)code + 1 && same_ep(&sl->server, server))) return sl;
	}
}

/* A new aggregate of code at server: would the text report show its
 * message? */
static bool agg_example(const struct findings *f, enum finding_code code, const struct agg_ep *server)
{
	return f->aggs_by_code[code] < REPORT_MAX_GROUPS || !f->cap_examples || !example_slot(f, code, server)->code;
}

/* a was added: agg_example's bookkeeping.  Out of memory, a later
 * aggregate at a's server keeps its message too (only memory is lost). */
static void agg_counted(struct findings *f, const struct agg *a)
{
	f->aggs_by_code[a->code]++;
	if (2 * (f->n_examples + 1) > f->cap_examples) {
		size_t nc = f->cap_examples ? f->cap_examples * 2 : 64;
		struct example_slot *old = f->examples, *v = calloc(nc, sizeof *v);
		if (!v) return;
		size_t oc = f->cap_examples;
		f->examples = v;
		f->cap_examples = nc;
		for (size_t i = 0; i < oc; i++)
			if (old[i].code) *example_slot(f, (enum finding_code)(old[i].code - 1), &old[i].server) = old[i];
		free(old);
	}
	struct example_slot *sl = example_slot(f, a->code, &a->server);
	if (sl->code) return;
	sl->code = (uint32_t)a->code + 1;
	sl->server = a->server;
	f->n_examples++;
}

static struct ladder *ladder_copy(const struct findings_conn *fc)
{
	struct ladder *l = calloc(1, sizeof *l);
	if (!l) return NULL;
	char title[200] = "";
	if (fc->title_set) {
		char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
		ek_endpoint_str(&fc->title_client, true, c, sizeof c);
		ek_endpoint_str(&fc->title_server, true, s, sizeof s);
		char cid[EK_CONN_ID_STRLEN];
		ek_conn_id_str(fc->title_conn, cid, sizeof cid);
		snprintf(title, sizeof title, "%s conn %s  client %s  server %s", fc->title_file, cid, c, s);
	}
	l->title = strdup(title);
	size_t n = fc->n_steps;
	if (n) l->steps = malloc(n * sizeof *l->steps);
	if (!l->title || (n && !l->steps)) {
		free(l->title);
		free(l->steps);
		free(l);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct ladder_step *s = &l->steps[i];
		*s = fc->steps[i];
		if (s->is_cert) x509_ref(s->u.cert);
		/* the copy owns its infos (a connection's may be interned) */
		else if (s->u.info) s->u.info = strdup(s->u.info);
		if (s->is_cert || s->u.info) l->refs |= 1u << i;
	}
	l->n = n;
	l->dropped = fc->dropped;
	return l;
}

void raise_finding(struct findings *f, struct findings_conn *fc, enum finding_code code, const struct where *w,
			  const char *aggkey_extra, const char *fmt, ...)
{
	const struct finding_def *d = finding_def(code);

	if (w->row) row_add_finding(w->row, d->name);
	if (fc) fc->codes |= 1u << code;
	f->by_sev[d->severity]++;
	if ((int)d->severity > f->max_sev) f->max_sev = (int)d->severity;

	/* Aggregate: same code, same endpoints (client by address), same certificate. */
	const struct tls_conn_view *v = w->ev->conn;
	struct agg k;
	memset(&k, 0, sizeof k);
	k.code = (uint8_t)code;
	agg_ep_of(&k.cip, &v->client, false);
	agg_ep_of(&k.server, &v->server, true);
	k.has_cert = w->cert != NULL;
	if (w->cert) memcpy(k.sha256, w->cert->sha256, sizeof k.sha256);
	char extra[600];
	if (aggkey_extra && *aggkey_extra) {
		/* cut where the key's text (code, addresses, certificate
		 * hash, extra) reaches 599 bytes, so a long extra aggregates
		 * as it always has */
		size_t el = strlen(aggkey_extra);
		if (el > 300) {
			char cip[EK_ENDPOINT_STRLEN], server[EK_ENDPOINT_STRLEN];
			ek_endpoint_str(&v->client, false, cip, sizeof cip);
			ek_endpoint_str(&v->server, true, server, sizeof server);
			size_t used = strlen(d->name) + strlen(cip) + strlen(server) + (w->cert ? 64 : 0) + 4;
			size_t room = used < sizeof extra - 1 ? sizeof extra - 1 - used : 0;
			if (el > room) el = room;
		}
		memcpy(extra, aggkey_extra, el);
		extra[el] = '\0';
		if (el) k.has_extra = true;
	}
	struct agg_key key = { &k, k.has_extra ? extra : NULL, 0 };
	key.hash = agg_hash(&k, key.extra);
	struct agg *a = agg_find(f, &key);
	bool example = !a && agg_example(f, code, &k.server);

	char msg[MSG_LEN];
	if (f->csv || f->o.on_finding || example) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
	}
	/* live with -w: the evidence file of this finding's packet */
	const char *file = w->row ? w->row->file
			 : f->o.evidence ? f->o.evidence(f->o.evidence_ctx, w->ev->pkt.file_index)
			 : fc && fc->file ? fc->file : "";
	/* several inputs: the report's messages name the input */
	uint32_t fi = w->ev->pkt.file_index;
	const char *label = f->o.n_labels > 1 && fi < f->o.n_labels ? f->o.labels[fi] : NULL;
	if (f->csv) findings_csv_row(f->csv, d, file, w->ev, w->role, w->cert, msg);
	if (f->o.on_finding) {
		struct finding_rec r = { code, file, w->ev, w->role, w->cert, msg, label };
		f->o.on_finding(f->o.on_finding_ctx, &r);
	}

	if (!a) {
		if (!example) msg[0] = '\0';
		else if (label) {
			size_t ll = strlen(label) + 2, ml = strlen(msg);
			if (ll + ml >= sizeof msg) ml = ll < sizeof msg ? sizeof msg - 1 - ll : 0;
			if (ll < sizeof msg) {
				memmove(msg + ll, msg, ml);
				msg[ll + ml] = '\0';
				memcpy(msg, label, ll - 2);
				memcpy(msg + ll - 2, ": ", 2);
			}
		}
		size_t ml = strlen(msg) + 1, el = key.extra ? strlen(key.extra) + 1 : 0;
		a = arena_alloc(f, offsetof(struct agg, message) + ml + el);
		if (!a) return;
		memcpy(a, &k, offsetof(struct agg, message));
		memcpy(a->message, msg, ml);
		if (key.extra) memcpy(a->message + ml, key.extra, el);
		if (agg_insert(f, a, &key) != 0) return;
		agg_counted(f, a);
		if (code == F_HANDSHAKE_FAILED && fc) {
			if (f->ladders >= LADDERS_SHOWN) a->ladder_left = true;
			else if ((a->ladder = ladder_copy(fc))) f->ladders++;
		}
	}
	a->count++;
	if (v->openvpn) a->openvpn = true;
}

struct csv_out *findings_csv(struct findings *f) { return f->csv; }

void findings_merge(struct findings *dst, struct findings *src)
{
	for (size_t i = 0; i < src->n_aggs; i++) {
		struct agg *a = src->aggs[i];
		struct agg_key key = agg_key_of(a);
		struct agg *d = agg_find(dst, &key);
		if (d) {
			d->count += a->count;
			d->openvpn |= a->openvpn;
			free_agg(src, a);
			continue;
		}
		/* copied into dst's arena: src's is freed below */
		size_t size = agg_size(a);
		if (!(d = arena_alloc(dst, size))) {
			free_agg(src, a);
			continue;
		}
		memcpy(d, a, size);
		for (size_t k = 0; d->ladder && k < d->ladder->n; k++) {
			struct ladder_step *s = &d->ladder->steps[k];
			if (!s->is_cert) continue;
			struct x509_info *x = x509_move(dst->cache, src->cache, s->u.cert);
			s->u.cert = x;
			s->is_cert = x != NULL;
		}
		key = agg_key_of(d);
		if (agg_insert(dst, d, &key) != 0) {
			free_agg(dst, d);
			continue;
		}
		agg_counted(dst, d);
		if (d->ladder && dst->ladders >= LADDERS_SHOWN) {
			free_agg(dst, d);
			d->ladder_left = true;
		} else if (d->ladder) {
			dst->ladders++;
		}
	}
	src->n_aggs = 0;
	arena_free(src);
	free(src->slots);
	src->slots = NULL;
	src->nslots = 0;
	for (int s = 0; s < 3; s++) dst->by_sev[s] += src->by_sev[s];
	if (src->max_sev > dst->max_sev) dst->max_sev = src->max_sev;
}

struct findings_conn *conn_state(struct findings *f, struct conn_rec *cr)
{
	if (!cr->fc) {
		struct findings_conn *fc = f->fc_pool;
		if (fc) {
			f->fc_pool = fc->next_free;
			f->n_pool--;
		} else if (!(fc = aligned_alloc(_Alignof(struct findings_conn), sizeof *fc))) {
			return NULL;
		}
		memset(fc, 0, offsetof(struct findings_conn, steps));
		fc->f = f;
		cr->fc = fc;
	}
	return cr->fc;
}
