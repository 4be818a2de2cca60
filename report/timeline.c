#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"

#define MAX_WRITERS 4
#define BLK_SIZE ((size_t)64 << 10)
#define SPARE_BLKS 4
/* The hold queue is a list of chunks of rows, not one ring that doubles:
 * its memory follows the rows held (a doubling ring peaks at up to twice
 * them, three times while it copies), and nothing is ever copied.  Chunks
 * emptied are kept for reuse (as the ring kept its size): no malloc and
 * free as the queue breathes. */
#define QCHUNK_ROWS 256

/* Detail texts live in blocks: a block is reused once no row points
 * into it (rows leave the hold queue in order, so blocks empty in order
 * too).  No allocation per row. */
struct dblk {
	struct dblk *next;       /* spare list */
	size_t refs;             /* rows whose detail is in here */
	size_t used, cap;
	char data[];
};

struct held {
	struct row row;
	struct conn_rec *cr;
};

struct qchunk {
	struct qchunk *next;
	struct held h[QCHUNK_ROWS];
};

struct timeline {
	struct x509_cache *cache;
	struct connmap *map;
	void (*free_fc)(struct findings_conn *);
	timeline_annotate_fn annotate;
	void *actx;
	struct row_writer writers[MAX_WRITERS];
	size_t n_writers;
	/* the hold queue: the oldest row at head (in chunk qh), the next
	 * free slot at tail (in chunk qt); each chunk's end at *_end */
	struct qchunk *qh, *qt, *qspare;
	struct held *head, *head_end, *tail, *tail_end;
	size_t n_held;
	uint64_t written, dropped_cap;
	struct dblk *blk;            /* where new details go */
	struct dblk *spare;
	size_t n_spare;
	char *dbuf;                  /* detail_write's buffer */
	size_t dcap;
	struct row *rows;            /* an event's rows */
	size_t rows_cap;
	/* version texts by the version's low two bits (distinct for SSL 3.0
	 * to TLS 1.3): every row has one, from a handful of values */
	struct {
		uint16_t v;
		const char *text;
	} ver[4];
};

struct timeline *timeline_new(struct x509_cache *cache, struct connmap *map,
			      void (*free_fc)(struct findings_conn *), timeline_annotate_fn annotate, void *actx)
{
	struct timeline *t = calloc(1, sizeof *t);
	if (!t) return NULL;
	t->cache = cache;
	t->map = map;
	t->free_fc = free_fc;
	t->annotate = annotate;
	t->actx = actx;
	for (size_t i = 0; i < 4; i++) t->ver[i].text = ""; /* version 0: none */
	return t;
}

void timeline_add_writer(struct timeline *t, const struct row_writer *w)
{
	if (t->n_writers < MAX_WRITERS) t->writers[t->n_writers++] = *w;
}

/* ---- detail storage ---------------------------------------------------- */

static struct dblk *blk_new(struct timeline *t, size_t need)
{
	struct dblk *b;
	if (need <= BLK_SIZE && t->spare) {
		b = t->spare;
		t->spare = b->next;
		t->n_spare--;
	} else {
		size_t cap = need > BLK_SIZE ? need : BLK_SIZE;
		b = malloc(sizeof *b + cap);
		if (!b) return NULL;
		b->cap = cap;
	}
	b->next = NULL;
	b->refs = 0;
	b->used = 0;
	return b;
}

static void blk_put(struct timeline *t, struct dblk *b)
{
	if (b->cap == BLK_SIZE && t->n_spare < SPARE_BLKS) {
		b->next = t->spare;
		t->spare = b;
		t->n_spare++;
	} else {
		free(b);
	}
}

/* A copy of s[0..n) (NUL-terminated) for rows; NULL when out of memory. */
static struct dblk *detail_store(struct timeline *t, const char *s, size_t n, const char **out)
{
	struct dblk *b = t->blk;
	if (b && b->refs == 0) b->used = 0;
	if (!b || b->cap - b->used < n + 1) {
		struct dblk *nb = blk_new(t, n + 1);
		if (!nb) return NULL;
		if (b && b->refs == 0) blk_put(t, b);
		t->blk = b = nb;
	}
	char *p = b->data + b->used;
	memcpy(p, s, n);
	p[n] = '\0';
	b->used += n + 1;
	*out = p;
	return b;
}

static void row_release(struct timeline *t, struct row *r)
{
	struct dblk *b = r->detail_store;
	if (b && --b->refs == 0 && b != t->blk) blk_put(t, b);
	r->detail_store = NULL;
	r->detail = "";
	if (r->cert) x509_unref(t->cache, r->cert);
	r->cert = NULL;
}

/* ---- the hold queue ------------------------------------------------------ */

static void emit(struct timeline *t, struct row *r)
{
	for (size_t i = 0; i < t->n_writers; i++)
		t->writers[i].write(t->writers[i].ctx, r);
	t->written++;
}

static struct held *q_head(struct timeline *t)
{
	return t->n_held ? t->head : NULL;
}

static void pop_head(struct timeline *t)
{
	struct held *h = t->head;
	struct conn_rec *cr = h->cr;
	cr->queued--;
	row_release(t, &h->row);
	if (!cr->queued && cr->ended) connmap_release(t->map, cr, t->free_fc);
	if (--t->n_held == 0) {
		t->head = t->tail = t->qh->h; /* empty: the one chunk starts over */
	} else if (++t->head == t->head_end) {
		struct qchunk *done = t->qh;
		t->qh = done->next;
		t->head = t->qh->h;
		t->head_end = t->qh->h + QCHUNK_ROWS;
		done->next = t->qspare;
		t->qspare = done;
	}
}

/* Write or drop decided rows at the head of the hold queue. */
static void flush(struct timeline *t)
{
	struct held *h;
	while ((h = q_head(t)) && h->cr->state != CONN_UNDECIDED) {
		if (h->cr->state == CONN_TLS) emit(t, &h->row);
		pop_head(t);
	}
}

/* The slot for one more held row (counted in n_held); NULL when out of
 * memory. */
static struct held *q_push(struct timeline *t)
{
	if (t->tail == t->tail_end) { /* also before the first chunk: both NULL */
		struct qchunk *c = t->qspare;
		if (c) {
			t->qspare = c->next;
		} else if (!(c = malloc(sizeof *c))) {
			return NULL;
		}
		c->next = NULL;
		if (t->qt) {
			t->qt->next = c;
		} else {
			t->qh = c;
			t->head = c->h;
			t->head_end = c->h + QCHUNK_ROWS;
		}
		t->qt = c;
		t->tail = c->h;
		t->tail_end = c->h + QCHUNK_ROWS;
	}
	t->n_held++;
	return t->tail++;
}

/* tls_version_name(v), "" for 0 or an unknown version. */
static const char *version_text(struct timeline *t, uint16_t v)
{
	if (t->ver[v & 3].v != v) {
		const char *s = v ? tls_version_name(v) : NULL;
		t->ver[v & 3].v = v;
		t->ver[v & 3].text = s ? s : "";
	}
	return t->ver[v & 3].text;
}

static void fill_common(struct timeline *t, struct row *r, struct conn_rec *cr, const struct tls_event *ev, const char *file)
{
	const struct tls_conn_view *v = ev->conn;
	r->file = file;
	r->frame = ev->pkt.frame;
	r->ts = ev->pkt.ts;
	r->conn = v->id;
	const struct ep_text *c = conn_endpoint(cr, 0, &v->client), *s = conn_endpoint(cr, 1, &v->server);
	r->client = c->s;
	r->client_len = c->len;
	r->server = s->s;
	r->server_len = s->len;
	r->n_findings = 0;
	r->findings_len = 0;
	r->sender = ev->sender == TLS_ROLE_CLIENT ? "client" : ev->sender == TLS_ROLE_SERVER ? "server" : "";
	r->version = version_text(t, ev->version);
	r->event = detail_event_name(ev);
	r->detail = "";
	r->detail_len = 0;
	r->detail_store = NULL;
	r->cert_index = -1;
	r->cert = NULL;
}

static void queue_row(struct timeline *t, struct conn_rec *cr, struct row *r)
{
	if (!t->n_held && cr->state == CONN_TLS) {
		emit(t, r);
		row_release(t, r);
		return;
	}
	struct held *h;
	if (cr->state == CONN_NOT_TLS || !(h = q_push(t))) {
		row_release(t, r);
		return;
	}
	h->row = *r;
	h->cr = cr;
	cr->queued++;
	while (t->n_held > TIMELINE_MAX_HELD) {
		/* Give up on the oldest undecided connection's held rows. */
		struct conn_rec *victim = q_head(t)->cr;
		struct held *x;
		while ((x = q_head(t)) && x->cr == victim) {
			victim->rows_dropped++;
			pop_head(t);
		}
		flush(t);
	}
}

void timeline_event(struct timeline *t, struct conn_rec *cr, const struct tls_event *ev, const char *file)
{
	size_t n = 0;

	switch (ev->kind) {
	case TLS_EV_CONN_TLS:
		cr->state = CONN_TLS;
		t->dropped_cap += cr->rows_dropped; /* lost rows of a TLS connection */
		break;
	case TLS_EV_CONN_END:
		if (cr->state == CONN_UNDECIDED && !ev->conn->is_tls) cr->state = CONN_NOT_TLS;
		break;
	default:
		break;
	}

	bool certs = ev->kind == TLS_EV_HANDSHAKE && ev->u.hs.type == TLS_HS_CERTIFICATE && !ev->u.hs.malformed &&
		     ev->u.hs.u.cert.n_certs > 0;
	if (certs || (ev->kind != TLS_EV_CONN_TLS && ev->kind != TLS_EV_CONN_END)) {
		n = certs ? ev->u.hs.u.cert.n_certs : 1;
		if (n > t->rows_cap) {
			struct row *nr = realloc(t->rows, n * sizeof *nr);
			if (!nr) return;
			t->rows = nr;
			t->rows_cap = n;
		}
		const char *detail = "";
		size_t dlen = detail_write(ev, &t->dbuf, &t->dcap);
		struct dblk *store = NULL;
		if (dlen) {
			store = detail_store(t, t->dbuf, dlen, &detail);
			if (!store) {
				detail = "";
				dlen = 0;
			}
		}
		fill_common(t, &t->rows[0], cr, ev, file);
		for (size_t i = 0; i < n; i++) {
			struct row *r = &t->rows[i];
			if (i) *r = t->rows[0];
			r->detail = detail;
			r->detail_len = (uint32_t)dlen;
			if (store) {
				r->detail_store = store;
				store->refs++;
			}
			if (certs) {
				r->cert_index = (int)i;
				r->cert = ev->u.hs.u.cert.certs[i];
				if (r->cert) x509_ref(r->cert);
			}
		}
	}

	if (t->annotate) t->annotate(t->actx, cr, ev, t->rows, n);
	for (size_t i = 0; i < n; i++) queue_row(t, cr, &t->rows[i]);
	flush(t);
}

void timeline_drain(struct timeline *t)
{
	struct held *h;
	while ((h = q_head(t))) {
		if (h->cr->state == CONN_TLS) emit(t, &h->row);
		pop_head(t);
	}
}

uint64_t timeline_rows_written(const struct timeline *t) { return t->written; }
uint64_t timeline_rows_dropped_by_cap(const struct timeline *t) { return t->dropped_cap; }

void timeline_free(struct timeline *t)
{
	if (!t) return;
	while (q_head(t)) pop_head(t);
	free(t->qh); /* the one chunk an empty queue keeps */
	while (t->qspare) {
		struct qchunk *c = t->qspare;
		t->qspare = c->next;
		free(c);
	}
	if (t->blk) free(t->blk);
	while (t->spare) {
		struct dblk *b = t->spare;
		t->spare = b->next;
		free(b);
	}
	free(t->dbuf);
	free(t->rows);
	free(t);
}
