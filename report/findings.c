#include "findings.h"

#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/connid.h"
#include "../common/hash.h"
#include "csv_out.h"
#include "detail.h"
#include "ipcerts.h"
#include "sanitize.h"

#define LADDER_MAX 24
#define MSG_LEN 512
#define STEP_EVENT_LEN 24
#define STEP_INFO_LEN 112

/* One step of a connection's handshake ladder: 32 bytes (a connection
 * keeps LADDER_MAX of them, and is cold when an event comes).  The info
 * column is made when a ladder is printed: from the certificate (serial,
 * EKU) or from a copy of the row's detail. */
struct ladder_step {
	uint64_t frame;
	int64_t sec;               /* the packet's time: sec, nsec */
	union {
		struct x509_info *cert; /* is_cert: referenced */
		char *info;        /* the detail (alerts, missing data, empty chains): interned, or a
				    * heap copy when its bit is set in refs; or NULL */
	} u;
	uint32_t nsec;
	uint8_t kind, hs_type;     /* the event: its name is detail_event_name's, as the row's */
	uint8_t sender;            /* enum tls_role */
	bool is_cert;
};

/* A ladder kept by an aggregate (a copy of a connection's). */
struct ladder {
	char *title;
	struct ladder_step *steps;
	size_t n, dropped;
	uint32_t refs;             /* bit i: steps[i] holds a certificate reference or an info copy */
};

/* Per-connection state (connmap's fc).  Recycled through struct
 * findings' pool: a capture has thousands of them alive at a time, and
 * each event finds its own cold: what every event touches is in the
 * first cache line (allocated aligned to one). */
struct findings_conn {
	_Alignas(64) struct findings *f; /* the pool, the cache (ladder certificate references) */
	uint32_t refs;             /* the ladder's: bit i, steps[i] holds a reference or an info copy */
	unsigned codes;            /* findings raised on this connection */
	size_t dropped;            /* ladder steps past LADDER_MAX */
	const char *last_name;
	uint64_t last_frame;
	struct ek_time last_ts;
	uint8_t n_steps;
	uint8_t last_sender;       /* enum tls_role */
	bool title_set;
	bool failed_done, missing_done, encrypted_done;
	bool client_encrypted;     /* the client sent an encrypted handshake record (TLS 1.3) */
	uint8_t inc_sender;        /* enum tls_role: the last incomplete message's (inc_name) */
	const char *inc_name;      /* a message the stream of inc_sender ended inside, until that
				    * sender completes another (dissector's static names) */
	const char *file;          /* of the connection's rows (for findings without a row) */
	bool server_encrypted;     /* the same for the server (with keys: its handshake did not decrypt) */
	/* less often */
	const char *sni;           /* interned (findings.strs) or, when sni_owned, a heap copy */
	bool sni_owned;
	bool cert_requested;
	bool client_cert_seen;
	uint64_t cr_frame;
	char **ca_names;
	size_t n_ca;
	uint64_t client_cert_frame;
	struct ek_time client_cert_ts;
	struct findings_conn *next_free;
	/* the ladder's title, formatted when a ladder is copied: "%s conn %s  client %s  server %s" */
	const char *title_file;
	uint64_t title_conn;
	struct ek_endpoint title_client, title_server;
	/* zeroed for a new connection up to here */
	struct ladder_step steps[LADDER_MAX];
};

#define FC_POOL_MAX 16384

/* An endpoint as aggregation keys compare it: what ek_endpoint_str prints. */
struct agg_ep {
	uint8_t v6;
	uint8_t a[16];             /* IPv4: first 4 bytes, rest 0 */
	uint16_t port;             /* 0 for a bare address */
};

/* One aggregated finding for the text report.  Key: code, client address,
 * server endpoint, certificate (SHA-256), extra text (what the old
 * "code|client ip|server|sha256|extra" string key said). */
struct agg {
	uint64_t hash;
	uint64_t count;
	struct ladder *ladder;     /* handshake_failed: the first occurrence's ladder */
	char *extra;               /* NULL: none ("" and NULL key alike); else after message */
	enum finding_code code;
	bool has_cert;
	bool openvpn;              /* raised on an OpenVPN connection: the remedy names its options */
	struct agg_ep cip, server;
	uint8_t sha256[32];
	char message[];            /* then extra: one arena allocation */
};

/* Aggregates are bump-allocated from blocks owned by struct findings and
 * freed with it: thousands of them, each with its texts, would otherwise
 * be two or three mallocs (and frees) apiece. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	uint64_t data[];
};

#define ARENA_BLOCK ((size_t)64 << 10)

struct findings {
	struct findings_opts o;
	struct x509_cache *cache;
	struct trust *trust;
	struct inventory *inv;
	struct ipcerts *ipc;       /* the last leaf each address presented (client_cert_empty names it) */
	struct csv_out *csv;
	struct agg **aggs;         /* in order of first occurrence */
	struct arena_block *arena; /* where they are: current block first */
	size_t n_aggs, cap_aggs;
	/* open addressing on agg.hash: the hash's high half, then the index in
	 * aggs + 1 (0: empty): a probe reads an aggregate only when they match */
	uint64_t *slots;
	size_t nslots;
	uint64_t by_sev[3];
	int max_sev;
	struct findings_conn *fc_pool; /* free per-connection states */
	size_t n_pool;
	/* X509_check_host answers for (certificate, SNI): the same pairs recur */
	struct host_memo {
		const struct x509_info *cert;
		uint8_t sha256[32];
		char *sni;
		int result;
	} host_memo[64];
	/* Texts kept by connections (SNI, ladder infos) repeat from one
	 * connection to the next: kept once here, until the end of the run,
	 * instead of a malloc and a free per connection.  Bounded; past the
	 * bounds connections keep their own copies. */
	struct {
		char **slots;          /* open addressing, STRS_SLOTS */
		size_t n, bytes;
	} strs;
};

#define STRS_SLOTS 8192        /* at most half of them used */
#define STRS_MAX_BYTES ((size_t)1 << 20)

static uint64_t str_hash(const char *p, size_t n)
{
	return ek_hash_bytes(p, n, 0);
}

/* The interned copy of p[0..n) (n bytes, then a NUL), or NULL when the
 * table is full or out of memory: the caller makes its own copy. */
static const char *str_intern(struct findings *f, const char *p, size_t n)
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

static const char *const csv_cols[] = {
	"code", "severity", "file", "frame", "conn", "client", "server", "role", "cert_serial", "cert_subject",
	"message",
};

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
	if (!(f->ipc = ipcerts_new())) {
		snprintf(err, errn, "out of memory");
		findings_free(f);
		return NULL;
	}
	if (o->csv_path) {
		f->csv = csv_out_open(o->csv_path, !o->live && !o->in_place, err, errn);
		if (!f->csv) {
			findings_free(f);
			return NULL;
		}
		csv_out_row(f->csv, csv_cols, sizeof csv_cols / sizeof csv_cols[0]);
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

/* Bytes of an aggregate with its texts. */
static size_t agg_size(const struct agg *a)
{
	size_t n = offsetof(struct agg, message) + strlen(a->message) + 1;
	return a->extra ? n + strlen(a->extra) + 1 : n;
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
	ipcerts_free(f->ipc);
	for (size_t i = 0; i < sizeof f->host_memo / sizeof f->host_memo[0]; i++) free(f->host_memo[i].sni);
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

/* Everything a rule needs to say where a finding is. */
struct where {
	const struct tls_event *ev;
	struct row *row;            /* the row it concerns (may be NULL) */
	const char *role;           /* "client" / "server" / "" */
	const struct x509_info *cert;
};

static void raise_finding(struct findings *f, struct findings_conn *fc, enum finding_code code, const struct where *w,
			  const char *aggkey_extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void agg_ep_of(struct agg_ep *k, const struct ek_endpoint *e, bool with_port)
{
	memset(k, 0, sizeof *k);
	k->v6 = e->addr.family == 6;
	memcpy(k->a, e->addr.a, k->v6 ? 16 : 4);
	k->port = with_port ? e->port : 0;
}

static uint64_t agg_hash(const struct agg *k)
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
	if (k->extra)
		h = ek_hash_bytes(k->extra, strlen(k->extra), h);
	return h;
}

static bool agg_eq(const struct agg *a, const struct agg *k)
{
	return a->hash == k->hash && a->code == k->code && memcmp(&a->cip, &k->cip, sizeof a->cip) == 0 &&
	       memcmp(&a->server, &k->server, sizeof a->server) == 0 && a->has_cert == k->has_cert &&
	       (!k->has_cert || memcmp(a->sha256, k->sha256, sizeof a->sha256) == 0) &&
	       (a->extra && k->extra ? strcmp(a->extra, k->extra) == 0 : a->extra == k->extra);
}

/* A slot: the high half of the aggregate's hash, and its index in aggs
 * plus one (0: empty). */
static uint64_t slot_word(const struct agg *a, size_t i) { return a->hash >> 32 << 32 | (i + 1); }
static struct agg *slot_agg(const struct findings *f, uint64_t s) { return f->aggs[(uint32_t)s - 1]; }

static uint64_t *agg_slot(struct findings *f, const struct agg *k)
{
	size_t mask = f->nslots - 1;
	for (size_t i = (size_t)k->hash & mask;; i = (i + 1) & mask) {
		uint64_t s = f->slots[i];
		if (!s || ((s ^ k->hash) >> 32 == 0 && agg_eq(slot_agg(f, s), k))) return &f->slots[i];
	}
}

/* The aggregate with k's key, or NULL. */
static struct agg *agg_find(struct findings *f, const struct agg *k)
{
	uint64_t s = f->nslots ? *agg_slot(f, k) : 0;
	return s ? slot_agg(f, s) : NULL;
}

static int agg_insert(struct findings *f, struct agg *a)
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
		for (size_t i = 0; i < f->n_aggs; i++) *agg_slot(f, f->aggs[i]) = slot_word(f->aggs[i], i);
	}
	*agg_slot(f, a) = slot_word(a, f->n_aggs);
	f->aggs[f->n_aggs++] = a;
	return 0;
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

static void raise_finding(struct findings *f, struct findings_conn *fc, enum finding_code code, const struct where *w,
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
	k.code = code;
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
		if (el) k.extra = extra;
	}
	k.hash = agg_hash(&k);
	struct agg *a = agg_find(f, &k);

	char msg[MSG_LEN];
	if (f->csv || f->o.on_finding || !a) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
	}
	if (f->csv) {
		char client[EK_ENDPOINT_STRLEN], server[EK_ENDPOINT_STRLEN];
		ek_endpoint_str(&v->client, true, client, sizeof client);
		ek_endpoint_str(&v->server, true, server, sizeof server);
		csv_out_field(f->csv, d->name);
		csv_out_field(f->csv, severity_name(d->severity));
		csv_out_field(f->csv, w->row ? w->row->file : fc && fc->file ? fc->file : "");
		csv_out_fieldf(f->csv, "%llu", (unsigned long long)w->ev->pkt.frame);
		char cid[EK_CONN_ID_STRLEN];
		ek_conn_id_str(v->id, cid, sizeof cid);
		csv_out_field(f->csv, cid);
		csv_out_field(f->csv, client);
		csv_out_field(f->csv, server);
		csv_out_field(f->csv, w->role);
		csv_out_field(f->csv, w->cert ? w->cert->serial_hex : "");
		csv_out_field(f->csv, w->cert ? w->cert->subject : "");
		csv_out_field(f->csv, msg);
		csv_out_end_row(f->csv);
	}
	if (f->o.on_finding) {
		struct finding_rec r = { code, w->row ? w->row->file : "", w->ev, w->role, w->cert, msg };
		f->o.on_finding(f->o.on_finding_ctx, &r);
	}

	if (!a) {
		uint32_t fi = w->ev->pkt.file_index;
		if (f->o.n_labels > 1 && fi < f->o.n_labels) {
			size_t ll = strlen(f->o.labels[fi]) + 2, ml = strlen(msg);
			if (ll + ml >= sizeof msg) ml = ll < sizeof msg ? sizeof msg - 1 - ll : 0;
			if (ll < sizeof msg) {
				memmove(msg + ll, msg, ml);
				msg[ll + ml] = '\0';
				memcpy(msg, f->o.labels[fi], ll - 2);
				memcpy(msg + ll - 2, ": ", 2);
			}
		}
		size_t ml = strlen(msg) + 1, el = k.extra ? strlen(k.extra) + 1 : 0;
		a = arena_alloc(f, offsetof(struct agg, message) + ml + el);
		if (!a) return;
		memcpy(a, &k, offsetof(struct agg, message));
		memcpy(a->message, msg, ml);
		if (k.extra) a->extra = memcpy(a->message + ml, k.extra, el);
		if (code == F_HANDSHAKE_FAILED && fc) a->ladder = ladder_copy(fc);
		if (agg_insert(f, a) != 0) {
			free_agg(f, a);
			return;
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
		struct agg *d = agg_find(dst, a);
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
		if (a->extra) d->extra = d->message + (a->extra - a->message);
		for (size_t k = 0; d->ladder && k < d->ladder->n; k++) {
			struct ladder_step *s = &d->ladder->steps[k];
			if (!s->is_cert) continue;
			struct x509_info *x = x509_move(dst->cache, src->cache, s->u.cert);
			s->u.cert = x;
			s->is_cert = x != NULL;
		}
		if (agg_insert(dst, d) != 0) free_agg(dst, d);
	}
	src->n_aggs = 0;
	arena_free(src);
	free(src->slots);
	src->slots = NULL;
	src->nslots = 0;
	for (int s = 0; s < 3; s++) dst->by_sev[s] += src->by_sev[s];
	if (src->max_sev > dst->max_sev) dst->max_sev = src->max_sev;
}

/* --- helpers -------------------------------------------------------------- */

static const char *role_name(enum tls_role r)
{
	return r == TLS_ROLE_CLIENT ? "client" : r == TLS_ROLE_SERVER ? "server" : "";
}

static void sender_endpoint(const struct tls_event *ev, enum tls_role r, bool with_port, char *buf, size_t n)
{
	ek_endpoint_str(r == TLS_ROLE_CLIENT ? &ev->conn->client : &ev->conn->server, with_port, buf, n);
}

static double ms_between(struct ek_time a, struct ek_time b)
{
	return (double)(b.sec - a.sec) * 1e3 + ((double)b.nsec - (double)a.nsec) / 1e6;
}

/* Append src to dst (size bytes, *len used), truncating as snprintf
 * would: ladder_add runs for every event, and snprintf("%s") is costly. */
static void put_trunc(char *dst, size_t size, size_t *len, const char *src)
{
	size_t k = strlen(src);
	if (*len + k >= size) k = size - 1 - *len;
	memcpy(dst + *len, src, k);
	*len += k;
	dst[*len] = '\0';
}

static void ladder_add(struct findings_conn *fc, const struct tls_event *ev, const struct row *rows, size_t n)
{
	if (!n) return;
	if (fc->n_steps == LADDER_MAX) {
		fc->dropped++;
		return;
	}
	unsigned i = fc->n_steps++;
	struct ladder_step *s = &fc->steps[i];
	s->frame = ev->pkt.frame;
	s->sec = ev->pkt.ts.sec;
	s->nsec = ev->pkt.ts.nsec;
	s->kind = (uint8_t)ev->kind;
	s->hs_type = ev->kind == TLS_EV_HANDSHAKE ? ev->u.hs.type : 0;
	s->sender = (uint8_t)ev->sender;
	s->is_cert = rows[0].cert != NULL;
	s->u.info = NULL;
	if (rows[0].cert) {
		s->u.cert = rows[0].cert;
		x509_ref(s->u.cert);
		fc->refs |= 1u << i;
	} else if (ev->kind == TLS_EV_ALERT || ev->kind == TLS_EV_DATA_MISSING ||
		   (ev->kind == TLS_EV_HANDSHAKE && ev->u.hs.type == TLS_HS_CERTIFICATE)) {
		const char *d = rows[0].detail ? rows[0].detail : "(null)"; /* as printf */
		size_t dn = strnlen(d, STEP_INFO_LEN - 1);
		const char *in = str_intern(fc->f, d, dn);
		if (in) {
			s->u.info = (char *)(uintptr_t)in; /* not in refs: the table keeps it */
		} else {
			s->u.info = strndup(d, dn);
			if (s->u.info) fc->refs |= 1u << i;
		}
	}
}

/* A step's message and info columns, as the ladder prints them. */
static void step_text(const struct ladder_step *s, char event[STEP_EVENT_LEN], char info[STEP_INFO_LEN])
{
	size_t el = 0, il = 0;
	event[0] = info[0] = '\0';
	/* the row's event name, from the event's kind and handshake type */
	struct tls_event ev = { .kind = (enum tls_event_kind)s->kind };
	ev.u.hs.type = s->hs_type;
	put_trunc(event, STEP_EVENT_LEN, &el, detail_event_name(&ev));
	if (s->is_cert) {
		put_trunc(info, STEP_INFO_LEN, &il, s->u.cert->serial_hex);
		put_trunc(info, STEP_INFO_LEN, &il, "  ");
		put_trunc(info, STEP_INFO_LEN, &il, s->u.cert->parsed ? s->u.cert->eku : "(unparsable)");
	} else if (s->u.info) {
		put_trunc(info, STEP_INFO_LEN, &il, s->u.info);
	}
}

/* Plain-language meaning of the alerts that end certificate problems. */
static const char *alert_meaning(uint8_t desc)
{
	switch (desc) {
	case 40: return "no acceptable parameters (cipher, version, or a required certificate)";
	case 42: return "the peer rejected the certificate";
	case 43: return "the peer rejected the certificate's type or purpose (EKU)";
	case 44: return "the certificate was revoked";
	case 45: return "the certificate has expired";
	case 46: return "the peer could not validate the certificate";
	case 48: return "the peer does not trust the issuing CA";
	case 49: return "access denied";
	case 70: return "no common protocol version";
	case 112: return "the server does not know the requested name (SNI)";
	case 116: return "the server requires a client certificate";
	default: return NULL;
	}
}

/* Findings that can explain a failed handshake, most telling first. */
static const struct {
	enum finding_code code;
	const char *why;
} causes[] = {
	{ F_CLIENT_CERT_NO_CLIENTAUTH, "client certificate without clientAuth EKU" },
	{ F_SERVER_CERT_NO_SERVERAUTH, "server certificate without serverAuth EKU" },
	{ F_EKU_ANY_ONLY, "leaf relies on anyExtendedKeyUsage, which NSS and OpenSSL's purpose check reject" },
	{ F_CERT_EXPIRED, "expired certificate" },
	{ F_CERT_NOT_YET_VALID, "certificate not yet valid" },
	{ F_CHAIN_UNTRUSTED, "chain does not verify" },
	{ F_ISSUER_NOT_REQUESTED, "client certificate from a CA the server did not list" },
	{ F_CLIENT_CERT_EMPTY, "no client certificate sent" },
	{ F_SNI_MISMATCH, "server certificate does not match the SNI" },
	{ F_DATA_MISSING, "capture incomplete" },
};

/* Index in causes[] of the finding on this connection that best explains
 * a failure, -1 when none. */
static int likely_cause(const struct findings_conn *fc)
{
	for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
		if (fc->codes & (1u << causes[i].code)) return (int)i;
	return -1;
}

/* --- rules ---------------------------------------------------------------- */

/* X509_check_host(leaf, sni), remembered per (certificate, SNI). */
static int check_host(struct findings *f, const struct x509_info *leaf, const char *sni)
{
	uint64_t h = str_hash(sni, strlen(sni));
	h ^= leaf->sha256[0] | (uint64_t)leaf->sha256[1] << 8;
	struct host_memo *m = &f->host_memo[(h ^ h >> 32) % (sizeof f->host_memo / sizeof f->host_memo[0])];
	if (m->sni && memcmp(m->sha256, leaf->sha256, sizeof m->sha256) == 0 && strcmp(m->sni, sni) == 0)
		return m->result;
	int r = x509_check_host(f->cache, leaf, sni);
	char *copy = strdup(sni);
	if (copy) {
		free(m->sni);
		m->sni = copy;
		memcpy(m->sha256, leaf->sha256, sizeof m->sha256);
		m->result = r;
	}
	return r;
}

/* client_cert_empty: what the client's address presented elsewhere (as a
 * server, or as a client on another connection), as "; ..." in buf. */
static void empty_cert_elsewhere(struct findings *f, const struct tls_event *ev, const struct ek_addr *addr,
				 const char *me, char *buf, size_t n)
{
	const struct ipcert *pc = ipcerts_get(f->ipc, addr);
	/* another connection of the same file (on this one it is the peer's: both on one host) */
	if (!pc || pc->file_index != ev->pkt.file_index || pc->conn == ev->conn->id) return;
	char ser[160], eku[200], id[EK_CONN_ID_STRLEN];
	ek_conn_id_str(pc->conn, id, sizeof id);
	bool no_clientauth = (pc->eku_flags & EKU_PRESENT) && !(pc->eku_flags & EKU_CLIENT);
	snprintf(buf, n, "; %s presented certificate %s (EKU %s) as TLS %s on conn %s (frame %llu)%s", me,
		 sanitize_str(pc->serial, ser, sizeof ser), sanitize_str(pc->eku, eku, sizeof eku),
		 pc->client ? "client" : "server", id, (unsigned long long)pc->frame,
		 no_clientauth ? ": it has no clientAuth, and clients that withhold such a certificate (NSS-based "
				 "ones among them) send an empty Certificate"
			       : "");
}

static void on_certificate(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			   size_t n)
{
	const struct tls_certificate *c = &ev->u.hs.u.cert;
	bool client = ev->sender == TLS_ROLE_CLIENT;
	/* The texts of a message, made only when a finding needs them. */
	char me[EK_ENDPOINT_STRLEN], peer[EK_ENDPOINT_STRLEN];
	char sbuf[256];
	const char *serial = "";
	bool named = false;
	const struct x509_info *named_leaf = c->n_certs ? c->certs[0] : NULL;
#define NAMED()                                                                                                 \
	do {                                                                                                    \
		if (!named) {                                                                                   \
			named = true;                                                                           \
			sender_endpoint(ev, ev->sender, !client, me, sizeof me);                               \
			sender_endpoint(ev, client ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT, client, peer, sizeof peer); \
			if (named_leaf) serial = sanitize_str(named_leaf->serial_hex, sbuf, sizeof sbuf);      \
		}                                                                                               \
	} while (0)
	struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };

	if (client) {
		fc->client_cert_seen = true;
		fc->client_cert_frame = ev->pkt.frame;
		fc->client_cert_ts = ev->pkt.ts;
	}
	const struct ek_addr *my_addr = client ? &ev->conn->client.addr : &ev->conn->server.addr;
	if (c->n_certs == 0) {
		if (client && fc->cert_requested) {
			NAMED();
			char seen[400] = "";
			empty_cert_elsewhere(f, ev, my_addr, me, seen, sizeof seen);
			raise_finding(f, fc, F_CLIENT_CERT_EMPTY, &w, NULL,
				      "client %s sent an empty Certificate (frame %llu) to %s although the server "
				      "requested one (CertificateRequest, frame %llu)%s",
				      me, (unsigned long long)ev->pkt.frame, peer, (unsigned long long)fc->cr_frame, seen);
		}
		return;
	}
	struct x509_info *leaf = c->certs[0];
	if (!leaf) return;
	w.cert = leaf;
	if (leaf->parsed)
		ipcerts_note(f->ipc, my_addr, client, &ev->pkt, ev->conn->id, leaf->serial_hex, leaf->eku,
			     leaf->eku_flags);

	bool other_role = false;
	struct inv_entry *ie =
		inventory_note(f->inv, client ? &ev->conn->client : &ev->conn->server, client, c->certs, c->n_certs,
			       ev->pkt.file_index, ev->pkt.frame, &other_role);

	if (leaf->parsed) {
		unsigned e = leaf->eku_flags;
		if (client && (e & EKU_PRESENT) && !(e & (EKU_CLIENT | EKU_ANY))) {
			NAMED();
			raise_finding(f, fc, F_CLIENT_CERT_NO_CLIENTAUTH, &w, NULL,
				      "%s presented certificate %s (EKU %s) as TLS client to %s (frame %llu): no "
				      "clientAuth",
				      me, serial, leaf->eku, peer, (unsigned long long)ev->pkt.frame);
			inventory_mark(ie, F_CLIENT_CERT_NO_CLIENTAUTH);
		}
		if (!client && (e & EKU_PRESENT) && !(e & (EKU_SERVER | EKU_ANY))) {
			NAMED();
			raise_finding(f, fc, F_SERVER_CERT_NO_SERVERAUTH, &w, NULL,
				      "%s presented certificate %s (EKU %s) as TLS server to %s (frame %llu): no "
				      "serverAuth",
				      me, serial, leaf->eku, peer, (unsigned long long)ev->pkt.frame);
			inventory_mark(ie, F_SERVER_CERT_NO_SERVERAUTH);
		}
		unsigned role_bit = client ? EKU_CLIENT : EKU_SERVER;
		if ((e & EKU_PRESENT) && (e & EKU_ANY) && !(e & role_bit)) {
			NAMED();
			raise_finding(f, fc, F_EKU_ANY_ONLY, &w, NULL,
				      "%s presented certificate %s (EKU %s) as TLS %s to %s (frame %llu): no %s, relies "
				      "on anyExtendedKeyUsage (Go, Java, GnuTLS accept it; NSS, OpenSSL reject it)",
				      me, serial, leaf->eku, role_name(ev->sender), peer, (unsigned long long)ev->pkt.frame,
				      client ? "clientAuth" : "serverAuth");
			inventory_mark(ie, F_EKU_ANY_ONLY);
		}
		if (!(e & EKU_PRESENT)) {
			NAMED();
			raise_finding(f, fc, F_CERT_NO_EKU, &w, NULL,
				      "%s %s presented certificate %s without an EKU extension (any purpose)",
				      role_name(ev->sender), me, serial);
			inventory_mark(ie, F_CERT_NO_EKU);
		}
		if ((e & EKU_CLIENT) && ie && inventory_public_ca(f->inv, ie)) {
			NAMED();
			raise_finding(f, fc, F_PUBLIC_CA_CLIENTAUTH, &w, NULL,
				      "%s presents certificate %s (EKU %s) from a public CA: its renewal will not "
				      "carry clientAuth",
				      me, serial, leaf->eku);
			inventory_mark(ie, F_PUBLIC_CA_CLIENTAUTH);
		}
		int host;
		if (!client && fc->sni && leaf->parsed && (host = check_host(f, leaf, fc->sni)) != 1 && host != -2) {
			char sni[300], san[400];
			NAMED();
			raise_finding(f, fc, F_SNI_MISMATCH, &w, fc->sni,
				      "server %s certificate %s (%s) does not match SNI %s", me, serial,
				      sanitize_str(*leaf->san ? leaf->san : leaf->subject, san, sizeof san),
				      sanitize_str(fc->sni, sni, sizeof sni));
			inventory_mark(ie, F_SNI_MISMATCH);
		}
		char reason[256];
		if (trust_verify(f->trust, f->cache, c->certs, c->n_certs, client, ev->pkt.ts.sec, reason, sizeof reason) == 1) {
			NAMED();
			raise_finding(f, fc, F_CHAIN_UNTRUSTED, &w, reason,
				      "%s chain of %s (leaf %s) does not verify for %s: %s", role_name(ev->sender), me,
				      serial, client ? "sslclient" : "sslserver", reason);
			inventory_mark(ie, F_CHAIN_UNTRUSTED);
		}
	}
	if (other_role && ie && !(ie->codes & (1u << F_SAME_CERT_BOTH_ROLES))) {
		char ip[EK_ENDPOINT_STRLEN];
		sender_endpoint(ev, ev->sender, false, ip, sizeof ip);
		NAMED();
		raise_finding(f, fc, F_SAME_CERT_BOTH_ROLES, &w, NULL,
			      "%s presented certificate %s both as TLS server and as TLS client (now as %s, frame %llu)",
			      ip, serial, role_name(ev->sender), (unsigned long long)ev->pkt.frame);
		inventory_mark(ie, F_SAME_CERT_BOTH_ROLES);
	}

	/* Validity of every certificate, at the packet's time. */
	for (size_t i = 0; i < c->n_certs && i < n; i++) {
		const struct x509_info *x = c->certs[i];
		if (!x || !x->have_validity) continue;
		struct where wi = { ev, &rows[i], role_name(ev->sender), x };
		char when[32], at[32], xs[256];
		if (ev->pkt.ts.sec > x->not_after) {
			ek_unix_str(ev->pkt.ts.sec, at, sizeof at);
			ek_unix_str(x->not_after, when, sizeof when);
			NAMED();
			raise_finding(f, fc, F_CERT_EXPIRED, &wi, NULL,
				      "%s %s presented certificate %s (chain position %zu) that expired %s, before the "
				      "packet (%s, frame %llu)",
				      role_name(ev->sender), me, sanitize_str(x->serial_hex, xs, sizeof xs), i, when, at,
				      (unsigned long long)ev->pkt.frame);
			if (i == 0) inventory_mark(ie, F_CERT_EXPIRED);
		} else if (ev->pkt.ts.sec < x->not_before) {
			ek_unix_str(ev->pkt.ts.sec, at, sizeof at);
			ek_unix_str(x->not_before, when, sizeof when);
			NAMED();
			raise_finding(f, fc, F_CERT_NOT_YET_VALID, &wi, NULL,
				      "%s %s presented certificate %s (chain position %zu) valid only from %s, after "
				      "the packet (%s, frame %llu)",
				      role_name(ev->sender), me, sanitize_str(x->serial_hex, xs, sizeof xs), i, when, at,
				      (unsigned long long)ev->pkt.frame);
			if (i == 0) inventory_mark(ie, F_CERT_NOT_YET_VALID);
		}
	}

	/* Did one of the CAs the server listed issue the client's chain? */
	if (client && fc->cert_requested && fc->n_ca) {
		bool match = false;
		for (size_t i = 0; i < c->n_certs && !match; i++) {
			const struct x509_info *x = c->certs[i];
			if (!x || !x->parsed) continue;
			for (size_t k = 0; k < fc->n_ca && !match; k++)
				match = strcmp(x->issuer, fc->ca_names[k]) == 0 || strcmp(x->subject, fc->ca_names[k]) == 0;
		}
		if (!match && leaf->parsed) {
			char iss[300], listed[300];
			NAMED();
			raise_finding(f, fc, F_ISSUER_NOT_REQUESTED, &w, NULL,
				      "client %s sent certificate %s issued by %s; the server %s listed %zu other CA%s "
				      "(first: %s)",
				      me, serial, sanitize_str(leaf->issuer, iss, sizeof iss), peer, fc->n_ca,
				      fc->n_ca == 1 ? "" : "s", sanitize_str(fc->ca_names[0], listed, sizeof listed));
			inventory_mark(ie, F_ISSUER_NOT_REQUESTED);
		}
	}
}
#undef NAMED

/* An alert, reset or FIN ended the connection: was the handshake done? */
static void on_end_signal(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			  size_t n)
{
	const struct tls_conn_view *v = ev->conn;
	if (fc->failed_done || tls_handshake_complete(v)) return;
	if (!v->client_sent_hello && !v->server_sent_hello) return; /* picked up mid-stream */
	if (ev->kind == TLS_EV_ALERT && !ev->u.alert.encrypted) {
		/* warnings other than close_notify/user_canceled do not end a connection */
		if (ev->u.alert.level != 2 && ev->u.alert.desc != 0 && ev->u.alert.desc != 90) return;
	}
	/* TLS 1.3 without keys: after the client's encrypted flight nothing can be told. */
	if (v->tls13 && fc->client_encrypted && !v->client_finished) return;
	/* keys given, but the server's handshake did not decrypt: its outcome is not visible either */
	if (v->tls13 && v->keys && fc->server_encrypted && !v->server_finished) return;
	fc->failed_done = true;

	char who[EK_ENDPOINT_STRLEN], peer[EK_ENDPOINT_STRLEN], how[160], after[200] = "", cause[200] = "";
	enum tls_role r = ev->sender;
	sender_endpoint(ev, r, r == TLS_ROLE_SERVER, who, sizeof who);
	sender_endpoint(ev, r == TLS_ROLE_CLIENT ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT, r == TLS_ROLE_CLIENT, peer,
			sizeof peer);
	const char *meaning = NULL;
	if (ev->kind == TLS_EV_ALERT) {
		char a[96];
		detail_alert(&ev->u.alert, a, sizeof a);
		snprintf(how, sizeof how, "%s alert", a);
		if (!ev->u.alert.encrypted) meaning = alert_meaning(ev->u.alert.desc);
	} else {
		snprintf(how, sizeof how, "%s", ev->kind == TLS_EV_TCP_RESET ? "a TCP reset" : "a TCP FIN");
	}
	int cause_i = likely_cause(fc);
	const char *why = cause_i >= 0 ? causes[cause_i].why : NULL;
	const char *code = cause_i >= 0 ? finding_def(causes[cause_i].code)->name : NULL;
	/* Point at the client's Certificate when the cause is the client's certificate. */
	bool client_cert_cause = fc->client_cert_seen && r == TLS_ROLE_SERVER &&
				 (fc->codes & (1u << F_CLIENT_CERT_NO_CLIENTAUTH | 1u << F_CLIENT_CERT_EMPTY |
					       1u << F_ISSUER_NOT_REQUESTED | 1u << F_EKU_ANY_ONLY));
	if (client_cert_cause)
		snprintf(after, sizeof after, ", %.1f ms after the client's Certificate (frame %llu)",
			 ms_between(fc->client_cert_ts, ev->pkt.ts), (unsigned long long)fc->client_cert_frame);
	else if (fc->last_name)
		snprintf(after, sizeof after, ", %.1f ms after the %s's %s (frame %llu)", ms_between(fc->last_ts, ev->pkt.ts),
			 role_name(fc->last_sender), fc->last_name, (unsigned long long)fc->last_frame);
	if (why)
		snprintf(cause, sizeof cause, "; likely cause: %s (%s)", why, code);
	else if (meaning)
		snprintf(cause, sizeof cause, "; %s", meaning);
	struct where w = { ev, n ? &rows[0] : NULL, role_name(r), NULL };
	char extra[64];
	snprintf(extra, sizeof extra, "%d|%u|%s", (int)ev->kind, ev->kind == TLS_EV_ALERT ? ev->u.alert.desc : 0,
		 code ? code : "");
	raise_finding(f, fc, F_HANDSHAKE_FAILED, &w, extra,
		      "%s %s aborted the handshake with %s by %s at frame %llu%s%s", role_name(r), who, peer, how,
		      (unsigned long long)ev->pkt.frame, after, cause);
}

/* certs_encrypted, once per connection: "<what> between C and S<why>" */
static void raise_encrypted(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			    size_t n, const char *what, const char *why)
{
	fc->encrypted_done = true;
	char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
	ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
	struct where w = { ev, n ? &rows[0] : NULL, "", NULL };
	raise_finding(f, fc, F_CERTS_ENCRYPTED, &w, NULL, "%s between %s and %s%s", what, c, s, why);
}

/* The connection ends (end of the capture, idle, evicted) with its
 * handshake under way and nothing that ended it (no alert, FIN or RST:
 * those raise handshake_failed).  Say what is not in the file. */
static void on_unfinished(struct findings *f, struct findings_conn *fc, const struct tls_event *ev)
{
	const struct tls_conn_view *v = ev->conn;
	if (fc->failed_done || !v->is_tls || tls_handshake_complete(v)) return;
	if (!v->client_sent_hello && !v->server_sent_hello) return; /* picked up mid-stream */
	/* the same blind spots as handshake_failed: whether it finished cannot be told */
	if (v->tls13 && fc->client_encrypted && !v->client_finished) return;
	if (v->tls13 && v->keys && fc->server_encrypted && !v->server_finished) return;
	char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN], at[160], missing[160];
	ek_endpoint_str(&v->client, true, c, sizeof c);
	ek_endpoint_str(&v->server, true, s, sizeof s);
	/* the dissector names a cut message, or else the record it was in */
	static const char *const records[] = { "record", "Handshake", "EncryptedHandshake", "ApplicationData",
					       "Alert", "ChangeCipherSpec", "Heartbeat" };
	bool msg = fc->inc_name != NULL;
	for (size_t i = 0; msg && i < sizeof records / sizeof records[0]; i++)
		if (!strcmp(fc->inc_name, records[i])) msg = false;
	if (fc->inc_name && msg)
		snprintf(at, sizeof at, "inside the %s's %s", role_name(fc->inc_sender), fc->inc_name);
	else if (fc->inc_name)
		snprintf(at, sizeof at, "inside the %s's %s record", role_name(fc->inc_sender),
			 strcmp(fc->inc_name, "record") ? fc->inc_name : "TLS");
	else if (fc->last_name)
		snprintf(at, sizeof at, "after the %s's %s (frame %llu)", role_name(fc->last_sender), fc->last_name,
			 (unsigned long long)fc->last_frame);
	else
		snprintf(at, sizeof at, "before any complete handshake message");
	if (msg) {
		snprintf(missing, sizeof missing, "the rest of the %s's %s and of the handshake are",
			 role_name(fc->inc_sender), fc->inc_name);
	} else {
		const char *m = !v->server_sent_hello ? "the server's reply (ServerHello) and the rest of the handshake are"
				: !v->client_sent_hello ? "the client's ClientHello and the rest of the handshake are"
				: v->tls13 && !v->keys ? "the client's encrypted flight (with its Finished) is"
				: v->client_finished ? "the server's Finished is"
				: v->server_finished ? "the client's Finished is"
				: "the rest of the handshake (both Finished) is";
		snprintf(missing, sizeof missing, "%s", m);
	}
	struct where w = { ev, NULL, "", NULL };
	raise_finding(f, fc, F_HANDSHAKE_UNFINISHED, &w, NULL,
		      "the capture of the handshake between %s and %s ends at frame %llu %s: %s not in the file", c,
		      s, (unsigned long long)ev->pkt.frame, at, missing);
}

static struct findings_conn *conn_state(struct findings *f, struct conn_rec *cr)
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

void findings_on_event(void *ctx, struct conn_rec *cr, const struct tls_event *ev, struct row *rows, size_t n)
{
	struct findings *f = ctx;
	/* Rules look at TLS connections only: no state for the (possibly
	 * millions of) connections that are not, or not yet, TLS. */
	if (!cr->fc && cr->state != CONN_TLS) return;
	struct findings_conn *fc = conn_state(f, cr);
	if (!fc) return;
	if (n && ev->kind != TLS_EV_TCP_OPEN) ladder_add(fc, ev, rows, n);
	if (!fc->title_set) {
		fc->title_set = true;
		uint32_t fi = ev->pkt.file_index;
		fc->title_file = f->o.n_labels > 1 && fi < f->o.n_labels ? f->o.labels[fi] : n ? rows[0].file : "";
		fc->title_conn = ev->conn->id;
		fc->title_client = ev->conn->client;
		fc->title_server = ev->conn->server;
	}
	if (n && !fc->file) fc->file = rows[0].file; /* the first events have no row */

	switch (ev->kind) {
	case TLS_EV_HANDSHAKE: {
		const struct tls_handshake *hs = &ev->u.hs;
		fc->last_name = n ? rows[0].event : NULL;
		fc->last_sender = (uint8_t)ev->sender;
		fc->last_frame = ev->pkt.frame;
		fc->last_ts = ev->pkt.ts;
		if (hs->malformed) break;
		if (hs->type == TLS_HS_CLIENT_HELLO && hs->u.ch.sni && !fc->sni) {
			fc->sni = str_intern(f, hs->u.ch.sni, strlen(hs->u.ch.sni));
			if (!fc->sni && (fc->sni = strdup(hs->u.ch.sni))) fc->sni_owned = true;
		}
		if (hs->type == TLS_HS_CERTIFICATE_REQUEST && !fc->cert_requested) {
			fc->cert_requested = true;
			fc->cr_frame = ev->pkt.frame;
			fc->ca_names = calloc(hs->u.cr.n_ca_names + 1, sizeof *fc->ca_names);
			for (size_t i = 0; fc->ca_names && i < hs->u.cr.n_ca_names; i++)
				if ((fc->ca_names[fc->n_ca] = strdup(hs->u.cr.ca_names[i])) != NULL) fc->n_ca++;
		}
		if (hs->type == TLS_HS_CERTIFICATE) on_certificate(f, fc, ev, rows, n);
		if (hs->type == TLS_HS_SERVER_HELLO &&
		    (hs->u.sh.selected_version == 0x0304 || hs->u.sh.selected_version == 0xfefc) && !ev->conn->keys &&
		    !fc->encrypted_done) {
			if (hs->u.sh.resumed == TLS_RESUMED_PSK) {
				fc->encrypted_done = true;
				char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
				ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
				ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
				struct where w = { ev, n ? &rows[0] : NULL, "", NULL };
				raise_finding(f, fc, F_RESUMED_NO_CERTS, &w, NULL,
					      "TLS 1.3 between %s and %s (ServerHello frame %llu) resumed a session "
					      "(pre_shared_key): no certificates in this handshake",
					      c, s, (unsigned long long)ev->pkt.frame);
			} else {
				char why[128];
				snprintf(why, sizeof why, " (ServerHello frame %llu): certificates are encrypted and no key "
					 "was given for this connection", (unsigned long long)ev->pkt.frame);
				raise_encrypted(f, fc, ev, rows, n, ev->conn->dtls ? "DTLS 1.3" : "TLS 1.3", why);
			}
		}
		break;
	}
	case TLS_EV_ENCRYPTED_HANDSHAKE:
		if (ev->sender == TLS_ROLE_CLIENT) fc->client_encrypted = true;
		else fc->server_encrypted = true;
		break;
	case TLS_EV_DECRYPT_FAILED:
		/* a key was given, but the TLS 1.3 handshake stays encrypted */
		if (ev->conn->tls13 && ev->u.decrypt.handshake && !fc->encrypted_done) {
			fc->encrypted_done = true;
			char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
			ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
			ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
			struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };
			raise_finding(f, fc, F_CERTS_ENCRYPTED, &w, NULL,
				      "TLS 1.3 between %s and %s: the key log's secrets for this connection do not "
				      "decrypt the %s's handshake (frame %llu: %s): certificates not visible",
				      c, s, role_name(ev->sender), (unsigned long long)ev->pkt.frame,
				      ev->u.decrypt.reason ? ev->u.decrypt.reason : "");
		}
		break;
	case TLS_EV_DATA_MISSING:
		if (!fc->missing_done && !tls_handshake_complete(ev->conn) && !(ev->conn->tls13 && fc->client_encrypted)) {
			fc->missing_done = true;
			char who[EK_ENDPOINT_STRLEN], b[64] = "bytes";
			sender_endpoint(ev, ev->sender, ev->sender == TLS_ROLE_SERVER, who, sizeof who);
			if (ev->u.missing.bytes) snprintf(b, sizeof b, "%llu bytes", (unsigned long long)ev->u.missing.bytes);
			struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };
			raise_finding(f, fc, F_DATA_MISSING, &w, NULL,
				      "%s of the handshake sent by %s %s were not captured (before frame %llu)", b,
				      role_name(ev->sender), who, (unsigned long long)ev->pkt.frame);
		}
		break;
	case TLS_EV_ALERT:
	case TLS_EV_TCP_RESET:
	case TLS_EV_TCP_FIN:
		on_end_signal(f, fc, ev, rows, n);
		break;
	case TLS_EV_RECORD_INCOMPLETE:
		fc->inc_name = ev->u.incomplete;
		fc->inc_sender = (uint8_t)ev->sender;
		break;
	case TLS_EV_CONN_END:
		on_unfinished(f, fc, ev);
		if (ev->conn->tls_crypt && !fc->encrypted_done) /* said per connection, nothing guessed */
			raise_encrypted(f, fc, ev, rows, n, "OpenVPN --tls-crypt",
					": the control channel is encrypted with the key all peers share, so the TLS "
					"handshake and its certificates are not visible (a key log does not help)");
		break;
	default:
		break;
	}
	if (ev->kind == TLS_EV_HANDSHAKE && ev->sender == fc->inc_sender) fc->inc_name = NULL;
}

/* --- text report ------------------------------------------------------------ */

/* Print text wrapped to 78 columns: first line at indent, the rest at hang.
 * Built in memory and written at once (the report has a line per
 * aggregated finding: thousands on big captures). */
static void wrap_hang(FILE *fp, const char *text, int indent, int hang)
{
	const int width = 78;
	size_t len = strlen(text);
	int in = indent > 0 ? indent : 0, hg = hang > 0 ? hang : 0;
	/* worst case: every character a one-letter word on its own line */
	size_t cap = (len + 1) * (size_t)(hg + 3) + (size_t)in + 2;
	char stack[8192];
	char *buf = cap <= sizeof stack ? stack : malloc(cap);
	if (!buf) return;
	char *o = buf;
	int col = 0;
	const char *p = text;
	while (*p) {
		while (*p == ' ') p++;
		const char *e = p;
		while (*e && *e != ' ') e++;
		int wl = (int)(e - p);
		if (col == 0) {
			memset(o, ' ', (size_t)in);
			o += in;
			col = indent;
		} else if (col + 1 + wl > width) {
			*o++ = '\n';
			memset(o, ' ', (size_t)hg);
			o += hg;
			col = hang;
		} else {
			*o++ = ' ';
			col++;
		}
		memcpy(o, p, (size_t)wl);
		o += wl;
		col += wl;
		p = e;
	}
	if (col) *o++ = '\n';
	if (o != buf) fwrite(buf, 1, (size_t)(o - buf), fp);
	if (buf != stack) free(buf);
}

static void wrap(FILE *fp, const char *text, int indent)
{
	wrap_hang(fp, text, indent, indent);
}

/* The text report lists a code's aggregates one a line; above
 * REPORT_MAX_GROUPS of them it groups them by server endpoint (one line
 * per endpoint with its first finding as the example) and lists the
 * REPORT_MAX_GROUPS largest groups (the CSVs keep every row). */
#define REPORT_MAX_GROUPS 20

struct agg_group {
	size_t first;     /* index in f->aggs of the first aggregate */
	size_t n;         /* aggregates */
	uint64_t count;   /* occurrences */
};

struct by_server {
	struct agg_ep server;
	size_t i;
};

static int cmp_by_server(const void *pa, const void *pb)
{
	const struct by_server *a = pa, *b = pb;
	int c = memcmp(&a->server, &b->server, sizeof a->server);
	return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int cmp_group_size(const void *pa, const void *pb)
{
	const struct agg_group *a = pa, *b = pb;
	if (a->count != b->count) return a->count < b->count ? 1 : -1;
	return (a->first > b->first) - (a->first < b->first);
}

static int cmp_group_first(const void *pa, const void *pb)
{
	const struct agg_group *a = pa, *b = pb;
	return (a->first > b->first) - (a->first < b->first);
}

static void print_agg_line(FILE *fp, const struct agg *a, const struct agg_group *g)
{
	char buf[MSG_LEN * 2], line[MSG_LEN * 2 + 160];
	sanitize_str(a->message, buf, sizeof buf);
	if (g->n > 1) {
		char ep[EK_ENDPOINT_STRLEN];
		struct ek_endpoint e;
		memset(&e, 0, sizeof e);
		e.addr.family = a->server.v6 ? 6 : 4;
		memcpy(e.addr.a, a->server.a, sizeof e.addr.a);
		e.port = a->server.port;
		ek_endpoint_str(&e, true, ep, sizeof ep);
		snprintf(line, sizeof line, "- %zu findings with server %s (x%llu in all), for example: %s", g->n, ep,
			 (unsigned long long)g->count, buf);
	} else if (a->count > 1) {
		snprintf(line, sizeof line, "- %s (x%llu)", buf, (unsigned long long)a->count);
	} else {
		snprintf(line, sizeof line, "- %s", buf);
	}
	wrap_hang(fp, line, 4, 6);
}

/* One code's aggregates (indices idx[0..n), in order), grouped. */
static void print_code(const struct findings *f, FILE *fp, size_t *idx, size_t n)
{
	if (n <= REPORT_MAX_GROUPS) {
		struct agg_group one = { 0, 1, 0 };
		for (size_t i = 0; i < n; i++) print_agg_line(fp, f->aggs[idx[i]], &one);
		return;
	}
	struct agg_group *g = malloc(n * sizeof *g);
	struct by_server *k = malloc(n * sizeof *k);
	size_t ng = 0;
	bool ok = g && k;
	if (ok) {
		for (size_t i = 0; i < n; i++) k[i] = (struct by_server){ f->aggs[idx[i]]->server, idx[i] };
		qsort(k, n, sizeof *k, cmp_by_server);
		for (size_t i = 0; i < n; i++) {
			const struct agg *a = f->aggs[k[i].i];
			if (ng && memcmp(&k[i - 1].server, &k[i].server, sizeof k[i].server) == 0) {
				g[ng - 1].n++;
				g[ng - 1].count += a->count;
				continue;
			}
			g[ng++] = (struct agg_group){ k[i].i, 1, a->count };
		}
	}
	free(k);
	if (!ok) { /* out of memory: each alone */
		free(g);
		struct agg_group one = { 0, 1, 0 };
		for (size_t i = 0; i < n; i++) print_agg_line(fp, f->aggs[idx[i]], &one);
		return;
	}
	size_t shown = ng;
	if (ng > REPORT_MAX_GROUPS) {
		qsort(g, ng, sizeof *g, cmp_group_size);
		shown = REPORT_MAX_GROUPS;
	}
	qsort(g, shown, sizeof *g, cmp_group_first);
	uint64_t rest_aggs = 0;
	for (size_t i = shown; i < ng; i++) rest_aggs += g[i].n;
	for (size_t i = 0; i < shown; i++) print_agg_line(fp, f->aggs[g[i].first], &g[i]);
	if (ng > shown)
		fprintf(fp, "    ... and %llu more at %zu other servers: see --findings\n", (unsigned long long)rest_aggs,
			ng - shown);
	free(g);
}

void findings_print(const struct findings *f, FILE *fp)
{
	static const char *const titles[] = { "INFO", "WARNINGS", "ERRORS" };
	if (f->max_sev < 0) {
		fprintf(fp, "\nNo findings.\n");
		return;
	}
	/* each code's aggregates, in order of first occurrence */
	size_t start[F_COUNT + 1] = { 0 };
	for (size_t i = 0; i < f->n_aggs; i++) start[f->aggs[i]->code + 1]++;
	for (int c = 0; c < F_COUNT; c++) start[c + 1] += start[c];
	size_t *idx = malloc((f->n_aggs ? f->n_aggs : 1) * sizeof *idx), fill[F_COUNT];
	if (!idx) return;
	memcpy(fill, start, sizeof fill);
	for (size_t i = 0; i < f->n_aggs; i++) idx[fill[f->aggs[i]->code]++] = i;
	for (int sev = SEV_ERROR; sev >= SEV_INFO; sev--) {
		if (!f->by_sev[sev]) continue;
		fprintf(fp, "\n%s (%llu)\n", titles[sev], (unsigned long long)f->by_sev[sev]);
		for (int code = 0; code < F_COUNT; code++) {
			const struct finding_def *d = finding_def((enum finding_code)code);
			if ((int)d->severity != sev || start[code + 1] == start[code]) continue;
			fprintf(fp, "\n  %s\n", d->name);
			print_code(f, fp, idx + start[code], start[code + 1] - start[code]);
			bool openvpn = false;
			for (size_t i = start[code]; i < start[code + 1]; i++) openvpn |= f->aggs[idx[i]]->openvpn;
			fprintf(fp, "    What it means:\n");
			wrap(fp, d->explanation, 6);
			fprintf(fp, "    What fixes it:\n");
			wrap(fp, d->remedy, 6);
			const char *ov = openvpn ? findings_openvpn_remedy((enum finding_code)code) : NULL;
			if (ov) wrap(fp, ov, 6);
		}
	}
	free(idx);
}

void findings_print_ladders(const struct findings *f, FILE *fp)
{
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < f->n_aggs; i++) {
		const struct agg *a = f->aggs[i];
		if (a->code == F_HANDSHAKE_FAILED && a->ladder) total++;
	}
	if (!total) return;
	fprintf(fp, "\nFAILED HANDSHAKES (%zu distinct)\n", total);
	for (size_t i = 0; i < f->n_aggs && shown < 10; i++) {
		const struct agg *a = f->aggs[i];
		if (a->code != F_HANDSHAKE_FAILED || !a->ladder) continue;
		shown++;
		char buf[512];
		fprintf(fp, "\n  %s", sanitize_str(a->ladder->title, buf, sizeof buf));
		if (a->count > 1) fprintf(fp, "  (and %llu more like it)", (unsigned long long)a->count - 1);
		fprintf(fp, "\n    %-7s %-9s %-3s %-19s %s\n", "frame", "+ms", "dir", "message", "certificate / detail");
		const struct ladder *l = a->ladder;
		for (size_t k = 0; k < l->n; k++) {
			const struct ladder_step *s = &l->steps[k];
			const char *dir = s->sender == TLS_ROLE_CLIENT ? "C>S" : s->sender == TLS_ROLE_SERVER ? "S>C" : "";
			struct ek_time t0 = { l->steps[0].sec, l->steps[0].nsec }, ts = { s->sec, s->nsec };
			char event[STEP_EVENT_LEN], info[STEP_INFO_LEN];
			step_text(s, event, info);
			fprintf(fp, "    %-7llu %-9.1f %-3s %-19s %s\n", (unsigned long long)s->frame,
				ms_between(t0, ts), dir, event, sanitize_str(info, buf, sizeof buf));
		}
		if (l->dropped) fprintf(fp, "    ... %zu more steps\n", l->dropped);
	}
	if (total > shown) fprintf(fp, "\n  (%zu more failed handshakes: see --findings)\n", total - shown);
}
