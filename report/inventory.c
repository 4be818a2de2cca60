#include "inventory.h"

#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "csv_out.h"
#include "sanitize.h"

/* One record per (address, leaf SHA-256) holds all a note touches: the
 * roles the address used the leaf in, its client entry inline and its
 * server entries (ip:port; servers are few).  A client note then reads one
 * slot and one record.  Records and server entries are allocated one by
 * one: callers keep entry pointers, so entries never move. */
struct ikey {
	uint8_t client;              /* 0 in records; the note log's role */
	uint8_t v6;
	uint8_t a[16];               /* IPv4: first 4 bytes, rest 0 */
	uint16_t port;               /* 0 in records; the note log's server port */
	uint8_t sha256[32];
};

/* What every table's record starts with. */
struct ihead {
	struct ikey k;
	unsigned roles;              /* 1 client, 2 server */
};

struct isrv {
	uint16_t port;
	struct inv_entry *e;
};

struct irec {
	struct ihead h;              /* first: tables hold struct ihead pointers */
	bool has_client;
	struct inv_entry client;     /* when has_client */
	struct isrv *srv;
	size_t n_srv, cap_srv;
};

struct islot {
	uint64_t h;                  /* the record's hash: probes skip other records unread */
	struct ihead *r;
};

struct itab {
	struct islot *slots;
	size_t nslots, n;
};

/* An entry in order of first sight, with what finds it again. */
struct iref {
	struct inv_entry *e;
	struct irec *r;
	uint16_t port;               /* servers' */
};

struct inventory {
	struct x509_cache *cache;
	struct trust *trust;
	struct iref *refs;           /* in order of first sight */
	size_t n, cap;
	struct itab recs;
	struct ikey *log;            /* inventory_log_notes: every note's entry key, in order */
	size_t n_log, cap_log;
	bool logging;
};

static uint64_t ikey_hash(const struct ikey *k)
{
	uint64_t x, y, z;
	memcpy(&x, k->a, 8);
	memcpy(&y, k->a + 8, 8);
	memcpy(&z, k->sha256, 8);
	return ek_hash_word(ek_mum(x ^ EK_HASH_K0, y ^ EK_HASH_K1),
			    z ^ ((uint64_t)k->port << 16 | (uint64_t)k->v6 << 8 | k->client));
}

static struct islot *itab_slot(const struct itab *t, const struct ikey *k, uint64_t h)
{
	size_t mask = t->nslots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct islot *sl = &t->slots[i];
		if (!sl->r || (sl->h == h && memcmp(&sl->r->k, k, sizeof *k) == 0)) return sl;
	}
}

static struct ihead *itab_get(const struct itab *t, const struct ikey *k, uint64_t h)
{
	return t->nslots ? itab_slot(t, k, h)->r : NULL;
}

/* A new zeroed record of size bytes (starting with struct ihead) under k. */
static struct ihead *itab_add(struct itab *t, const struct ikey *k, uint64_t h, size_t size)
{
	if (2 * (t->n + 1) > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256;
		struct islot *sl = calloc(ns, sizeof *sl);
		if (!sl) return NULL;
		struct itab nt = { sl, ns, t->n };
		for (size_t i = 0; i < t->nslots; i++)
			if (t->slots[i].r) *itab_slot(&nt, &t->slots[i].r->k, t->slots[i].h) = t->slots[i];
		free(t->slots);
		*t = nt;
	}
	struct ihead *r = calloc(1, size);
	if (!r) return NULL;
	r->k = *k;
	struct islot *sl = itab_slot(t, k, h);
	sl->h = h;
	sl->r = r;
	t->n++;
	return r;
}

static void itab_free(struct itab *t)
{
	for (size_t i = 0; i < t->nslots; i++) free(t->slots[i].r);
	free(t->slots);
	*t = (struct itab){ NULL, 0, 0 };
}

/* The records (not their entries' certificates: those go with refs). */
static void recs_free(struct itab *t)
{
	for (size_t i = 0; i < t->nslots; i++)
		if (t->slots[i].r) free(((struct irec *)t->slots[i].r)->srv);
	itab_free(t);
}

static struct irec *rec_get(const struct inventory *inv, const struct ikey *k, uint64_t h)
{
	return (struct irec *)itab_get(&inv->recs, k, h);
}

static struct irec *rec_add(struct inventory *inv, const struct ikey *k, uint64_t h)
{
	return (struct irec *)itab_add(&inv->recs, k, h, sizeof(struct irec));
}

static struct inv_entry *rec_entry(struct irec *r, bool client, uint16_t port)
{
	if (client) return r->has_client ? &r->client : NULL;
	for (size_t i = 0; i < r->n_srv; i++)
		if (r->srv[i].port == port) return r->srv[i].e;
	return NULL;
}

/* The entry of (record key k, role, port) in inv, or NULL. */
static struct inv_entry *find_entry(const struct inventory *inv, const struct ikey *k, bool client, uint16_t port)
{
	struct irec *r = rec_get(inv, k, ikey_hash(k));
	return r ? rec_entry(r, client, port) : NULL;
}

static bool rec_add_srv(struct irec *r, uint16_t port, struct inv_entry *e)
{
	if (r->n_srv == r->cap_srv) {
		size_t nc = r->cap_srv ? r->cap_srv * 2 : 2;
		struct isrv *v = realloc(r->srv, nc * sizeof *v);
		if (!v) return false;
		r->srv = v;
		r->cap_srv = nc;
	}
	r->srv[r->n_srv++] = (struct isrv){ port, e };
	return true;
}

struct inventory *inventory_new(struct x509_cache *cache, struct trust *trust)
{
	struct inventory *inv = calloc(1, sizeof *inv);
	if (!inv) return NULL;
	inv->cache = cache;
	inv->trust = trust;
	return inv;
}

/* Drop e's references; server entries are allocated alone, client ones
 * live in their record. */
static void free_entry(struct inventory *inv, struct inv_entry *e)
{
	if (e->leaf) x509_unref(inv->cache, e->leaf);
	if (e->top) {
		x509_unpin(inv->cache, e->top);
		x509_unref(inv->cache, e->top);
	}
	free(e->chain_serials);
	if (!e->client) free(e);
}

void inventory_free(struct inventory *inv)
{
	if (!inv) return;
	for (size_t i = 0; i < inv->n; i++) free_entry(inv, inv->refs[i].e);
	free(inv->refs);
	free(inv->log);
	recs_free(&inv->recs);
	free(inv);
}

static char *join_serials(struct x509_info *const *chain, size_t n)
{
	size_t len = 1;
	for (size_t i = 1; i < n; i++) len += (chain[i] ? strlen(chain[i]->serial_hex) : 0) + 1;
	char *s = malloc(len);
	if (!s) return NULL;
	s[0] = '\0';
	for (size_t i = 1; i < n; i++) {
		if (i > 1) strcat(s, ";");
		if (chain[i]) strcat(s, chain[i]->serial_hex);
	}
	return s;
}

static void key_of(struct ikey *k, const struct ek_endpoint *ep, bool client, bool port, const struct x509_info *leaf)
{
	memset(k, 0, sizeof *k);
	k->client = client;
	k->v6 = ep->addr.family == 6; /* ek_endpoint_str prints 4 bytes of anything else */
	memcpy(k->a, ep->addr.a, k->v6 ? 16 : 4);
	k->port = port ? ep->port : 0;
	memcpy(k->sha256, leaf->sha256, sizeof k->sha256);
}

/* Room in refs[] for one more; false when out of memory. */
static bool refs_room(struct inventory *inv)
{
	if (inv->n < inv->cap) return true;
	size_t nc = inv->cap ? inv->cap * 2 : 64;
	struct iref *v = realloc(inv->refs, nc * sizeof *v);
	if (!v) return false;
	inv->refs = v;
	inv->cap = nc;
	return true;
}

/* A new zeroed entry in r (refs_room first), appended to refs[]; NULL when
 * out of memory. */
static struct inv_entry *entry_new(struct inventory *inv, struct irec *r, bool client, uint16_t port)
{
	struct inv_entry *e = &r->client;
	if (client) {
		memset(e, 0, sizeof *e);
		r->has_client = true;
	} else {
		e = calloc(1, sizeof *e);
		if (!e) return NULL;
		if (!rec_add_srv(r, port, e)) {
			free(e);
			return NULL;
		}
	}
	inv->refs[inv->n++] = (struct iref){ e, r, port };
	return e;
}

struct inv_entry *inventory_note(struct inventory *inv, const struct ek_endpoint *ep, bool client,
				 struct x509_info *const *chain, size_t n, uint32_t file_index, uint64_t frame,
				 bool *other_role)
{
	*other_role = false;
	if (!n || !chain[0]) return NULL;
	struct ikey k;

	key_of(&k, ep, false, false, chain[0]);
	uint64_t h = ikey_hash(&k);
	struct irec *r = rec_get(inv, &k, h);
	unsigned mine = client ? 1u : 2u;
	*other_role = r && (r->h.roles & (3u ^ mine));
	if (!r && !(r = rec_add(inv, &k, h))) return NULL;
	r->h.roles |= mine;

	uint16_t port = client ? 0 : ep->port;
	if (inv->logging) {
		if (inv->n_log == inv->cap_log) {
			size_t nc = inv->cap_log ? inv->cap_log * 2 : 256;
			struct ikey *v = realloc(inv->log, nc * sizeof *v);
			if (!v) return NULL;
			inv->log = v;
			inv->cap_log = nc;
		}
		k.client = client;
		k.port = port;
		inv->log[inv->n_log++] = k;
	}
	struct inv_entry *e = rec_entry(r, client, port);
	if (!e) {
		if (!refs_room(inv) || !(e = entry_new(inv, r, client, port))) return NULL;
		ek_endpoint_str(ep, !client, e->endpoint, sizeof e->endpoint);
		e->client = client;
		e->leaf = chain[0];
		x509_ref(e->leaf);
		e->chain_serials = join_serials(chain, n);
		/* trust_is_public looks at the chain's top parsed certificate only */
		e->public_ca = -1;
		for (size_t i = n; i-- > 0;) {
			if (chain[i] && chain[i]->parsed) {
				/* its DER stays until public_ca is known */
				e->top = chain[i];
				x509_ref(e->top);
				x509_pin(inv->cache, e->top);
				e->has_top = true;
				memcpy(e->top_sha256, e->top->sha256, sizeof e->top_sha256);
				break;
			}
		}
		if (!e->top) e->public_ca = 0;
		e->first_file = file_index;
		e->first_frame = frame;
	}
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

void inventory_log_notes(struct inventory *inv) { inv->logging = true; }

/* The record key of a note's key. */
static struct ikey ip_key(const struct ikey *k)
{
	struct ikey ip = *k;
	ip.client = 0;
	ip.port = 0;
	return ip;
}

bool inventory_merge_conflict(const struct inventory *dst, const struct inventory *src)
{
	/* public_ca is worked out from an entry's first chain: dst's, not src's */
	for (size_t i = 0; i < src->n; i++) {
		const struct iref *s = &src->refs[i];
		const struct inv_entry *e = s->e;
		if (!e->leaf->parsed || !(e->leaf->eku_flags & EKU_CLIENT)) continue;
		const struct inv_entry *d = find_entry(dst, &s->r->h.k, e->client, s->port);
		if (!d) continue;
		if (d->has_top != e->has_top ||
		    (e->has_top && memcmp(d->top_sha256, e->top_sha256, sizeof e->top_sha256) != 0))
			return true;
	}
	/* Replay the notes twice, as the worker saw them (this file alone) and
	 * after dst's files: same_cert_both_roles (rules.c) is raised when
	 * the ip used the leaf in the other role before and the entry has not
	 * had it yet.  Nothing to replay when dst never saw these ips' leaves. */
	bool known = false;
	for (size_t i = 0; i < src->n_log && !known; i++) {
		struct ikey ip = ip_key(&src->log[i]);
		known = rec_get(dst, &ip, ikey_hash(&ip)) != NULL;
	}
	if (!known) return false;
	struct itab roles = { NULL, 0, 0 }, raised = { NULL, 0, 0 };
	bool conflict = false;
	for (size_t i = 0; i < src->n_log && !conflict; i++) {
		const struct ikey *k = &src->log[i];
		struct ikey ip = ip_key(k);
		uint64_t hip = ikey_hash(&ip), hk = ikey_hash(k);
		unsigned mine = k->client ? 1u : 2u;
		struct ihead *lr = itab_get(&roles, &ip, hip);
		struct irec *gr = rec_get(dst, &ip, hip);
		const struct inv_entry *ge = gr ? rec_entry(gr, k->client, k->port) : NULL;
		unsigned local = lr ? lr->roles : 0, global = gr ? gr->h.roles : 0;
		bool before = itab_get(&raised, k, hk) != NULL;
		bool in_file = (local & (3u ^ mine)) && !before;
		bool in_run = ((local | global) & (3u ^ mine)) && !before &&
			      !(ge && (ge->codes & (1u << F_SAME_CERT_BOTH_ROLES)));
		if (in_file != in_run) conflict = true;
		if (in_file && !itab_add(&raised, k, hk, sizeof(struct ihead))) conflict = true;
		if (!lr && !(lr = itab_add(&roles, &ip, hip, sizeof(struct ihead)))) conflict = true;
		if (lr) lr->roles |= mine;
	}
	itab_free(&roles);
	itab_free(&raised);
	return conflict;
}

static struct x509_info *move_cert(struct inventory *dst, struct inventory *src, struct x509_info *x)
{
	return x509_move(dst->cache, src->cache, x);
}

void inventory_merge(struct inventory *dst, struct inventory *src)
{
	for (size_t i = 0; i < src->recs.nslots; i++) {
		const struct ihead *s = src->recs.slots[i].r;
		if (!s) continue;
		uint64_t h = src->recs.slots[i].h;
		struct irec *d = rec_get(dst, &s->k, h);
		if (!d) d = rec_add(dst, &s->k, h);
		if (d) d->h.roles |= s->roles;
	}
	for (size_t i = 0; i < src->n; i++) {
		const struct iref *s = &src->refs[i];
		struct inv_entry *e = s->e;
		struct irec *dr = rec_get(dst, &s->r->h.k, ikey_hash(&s->r->h.k));
		struct inv_entry *d = dr ? rec_entry(dr, e->client, s->port) : NULL;
		if (d) {
			d->conns += e->conns;
			d->last_file = e->last_file;
			d->last_frame = e->last_frame;
			d->codes |= e->codes;
			free_entry(src, e);
			continue;
		}
		e->leaf = move_cert(dst, src, e->leaf);
		if (e->top) e->top = move_cert(dst, src, e->top);
		if (!e->leaf || (e->has_top && e->public_ca < 0 && !e->top) || !dr || !refs_room(dst) ||
		    !(d = entry_new(dst, dr, e->client, s->port))) {
			free_entry(dst, e);
			continue;
		}
		/* client entries live in src's record: copied, references and all */
		*d = *e;
		if (!e->client) free(e);
	}
	src->n = 0;
	recs_free(&src->recs);
}

size_t inventory_count(const struct inventory *inv) { return inv->n; }
const struct inv_entry *inventory_at(const struct inventory *inv, size_t i) { return i < inv->n ? inv->refs[i].e : NULL; }

static void frame_ref(char *buf, size_t n, char *const *names, uint32_t n_files, uint32_t f, uint64_t frame)
{
	if (n_files > 1 && f < n_files && names[f])
		snprintf(buf, n, "%s:%llu", names[f], (unsigned long long)frame);
	else
		snprintf(buf, n, "%llu", (unsigned long long)frame);
}

int inventory_write_csv(const struct inventory *inv, const char *path, char *const *file_names, uint32_t n_files,
			char *err, size_t errn)
{
	static const char *const cols[] = {
		"endpoint", "role", "cert_serial", "cert_subject", "cert_issuer", "cert_san", "cert_eku",
		"cert_key_usage", "cert_not_before", "cert_not_after", "cert_sha256", "chain_serials", "public_ca",
		"conns", "first_frame", "last_frame", "findings",
	};
	struct csv_out *o = csv_out_open(path, true, err, errn);
	if (!o) return -1;
	csv_out_row(o, cols, sizeof cols / sizeof cols[0]);
	for (size_t i = 0; i < inv->n; i++) {
		struct inv_entry *e = inv->refs[i].e;
		const struct x509_info *c = e->leaf;
		char nb[32] = "", na[32] = "", ff[300], lf[300], codes[512] = "";
		if (c->have_validity) {
			ek_unix_str(c->not_before, nb, sizeof nb);
			ek_unix_str(c->not_after, na, sizeof na);
		}
		frame_ref(ff, sizeof ff, file_names, n_files, e->first_file, e->first_frame);
		frame_ref(lf, sizeof lf, file_names, n_files, e->last_file, e->last_frame);
		for (int k = 0; k < F_COUNT; k++) {
			if (!(e->codes & (1u << k))) continue;
			if (codes[0]) strcat(codes, ";");
			strcat(codes, finding_def((enum finding_code)k)->name);
		}
		csv_out_field(o, e->endpoint);
		csv_out_field(o, e->client ? "client" : "server");
		csv_out_field(o, c->serial_hex);
		csv_out_field(o, c->parsed ? c->subject : "(unparsable certificate)");
		csv_out_field(o, c->issuer);
		csv_out_field(o, c->san);
		csv_out_field(o, c->parsed ? c->eku : "");
		csv_out_field(o, c->key_usage);
		csv_out_field(o, nb);
		csv_out_field(o, na);
		csv_out_field(o, c->sha256_hex);
		csv_out_field(o, e->chain_serials ? e->chain_serials : "");
		csv_out_field(o, inventory_public_ca(inv, e) ? "yes" : "no");
		csv_out_fieldf(o, "%llu", (unsigned long long)e->conns);
		csv_out_field(o, ff);
		csv_out_field(o, lf);
		csv_out_field(o, codes);
		csv_out_end_row(o);
	}
	return csv_out_close(o, true, err, errn);
}

static int cmp_entries(const void *a, const void *b)
{
	const struct inv_entry *x = *(const struct inv_entry *const *)a, *y = *(const struct inv_entry *const *)b;
	/* group by address (the endpoint up to its port), servers before clients */
	char ax[EK_ENDPOINT_STRLEN], ay[EK_ENDPOINT_STRLEN];
	snprintf(ax, sizeof ax, "%s", x->endpoint);
	snprintf(ay, sizeof ay, "%s", y->endpoint);
	char *p = strrchr(ax, ':');
	if (!x->client && p && ax[0] != '[') *p = '\0';
	p = strrchr(ay, ':');
	if (!y->client && p && ay[0] != '[') *p = '\0';
	int c = strcmp(ax, ay);
	if (c) return c;
	if (x->client != y->client) return x->client ? 1 : -1;
	return strcmp(x->endpoint, y->endpoint);
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
	struct inv_entry **v = malloc(n * sizeof *v);
	if (!v) return;
	if (n > REPORT_MAX_ENTRIES) {
		/* the busiest by insertion into a short sorted list: sorting
		 * tens of thousands of entries costs more than the report */
		shown = 0;
		for (size_t i = 0; i < n; i++) {
			struct inv_entry *e = inv->refs[i].e;
			if (shown == REPORT_MAX_ENTRIES && cmp_busiest(&e, &v[shown - 1]) >= 0) continue;
			size_t at = shown < REPORT_MAX_ENTRIES ? shown++ : shown - 1;
			while (at > 0 && cmp_busiest(&e, &v[at - 1]) < 0) {
				v[at] = v[at - 1];
				at--;
			}
			v[at] = e;
		}
	} else {
		for (size_t i = 0; i < n; i++) v[i] = inv->refs[i].e;
	}
	qsort(v, shown, sizeof *v, cmp_entries);
	fprintf(fp, "\nENDPOINTS (what each presented%s)\n", shown < n ? ": the busiest" : "");
	char buf[512];
	for (size_t i = 0; i < shown; i++) {
		struct inv_entry *e = v[i];
		const struct x509_info *c = e->leaf;
		fprintf(fp, "\n  %s as %s, %llu connection%s\n", e->endpoint, e->client ? "client" : "server",
			(unsigned long long)e->conns, e->conns == 1 ? "" : "s");
		/* one field a line: serials run to 40 hex digits, the report must fit 80 columns */
		if (n_files > 1) {
			/* several files: where the first and the last were seen */
			char ff[300], lf[300];
			frame_ref(ff, sizeof ff, file_names, n_files, e->first_file, e->first_frame);
			frame_ref(lf, sizeof lf, file_names, n_files, e->last_file, e->last_frame);
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
