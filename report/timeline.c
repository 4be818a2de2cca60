#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"

#define MAX_WRITERS 4
#define SPARE_MAX 256

struct held {
	struct row row;
	struct conn_rec *cr;
	struct held *next;
};

struct timeline {
	struct x509_cache *cache;
	struct connmap *map;
	void (*free_fc)(struct findings_conn *);
	timeline_annotate_fn annotate;
	void *actx;
	struct row_writer writers[MAX_WRITERS];
	size_t n_writers;
	struct held *head, *tail;
	size_t n_held;
	uint64_t written, dropped_cap;
	struct held *spare;          /* popped nodes, reused by queue_row ... */
	size_t n_spare;              /* ... at most SPARE_MAX of them */
	/* The last endpoints formatted by fill_common: a connection's rows
	 * come in bursts, and formatting is a good part of a row's cost. */
	struct ep_memo {
		struct ek_endpoint ep;
		bool set;
		char str[EK_ENDPOINT_STRLEN];
	} ep_memo[2];
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
	return t;
}

void timeline_add_writer(struct timeline *t, const struct row_writer *w)
{
	if (t->n_writers < MAX_WRITERS) t->writers[t->n_writers++] = *w;
}

static void row_release(struct timeline *t, struct row *r)
{
	free(r->detail);
	r->detail = NULL;
	if (r->cert) x509_unref(t->cache, r->cert);
	r->cert = NULL;
}

static void emit(struct timeline *t, struct row *r)
{
	for (size_t i = 0; i < t->n_writers; i++)
		t->writers[i].write(t->writers[i].ctx, r);
	t->written++;
}

static void pop_head(struct timeline *t)
{
	struct held *h = t->head;
	t->head = h->next;
	if (!t->head) t->tail = NULL;
	t->n_held--;
	h->cr->queued--;
	row_release(t, &h->row);
	if (!h->cr->queued && h->cr->ended) connmap_release(t->map, h->cr, t->free_fc);
	if (t->n_spare < SPARE_MAX) {
		h->next = t->spare;
		t->spare = h;
		t->n_spare++;
	} else {
		free(h);
	}
}

/* Write or drop decided rows at the head of the hold queue. */
static void flush(struct timeline *t)
{
	while (t->head && t->head->cr->state != CONN_UNDECIDED) {
		if (t->head->cr->state == CONN_TLS) emit(t, &t->head->row);
		pop_head(t);
	}
}

/* ek_endpoint_str(e, true, ...) through the memo slot m. */
static void endpoint_str(struct ep_memo *m, const struct ek_endpoint *e, char *buf, size_t n)
{
	if (!m->set || m->ep.port != e->port || m->ep.addr.family != e->addr.family ||
	    memcmp(m->ep.addr.a, e->addr.a, sizeof e->addr.a) != 0) {
		ek_endpoint_str(e, true, m->str, sizeof m->str);
		m->ep = *e;
		m->set = true;
	}
	size_t len = strlen(m->str);
	if (len < n) memcpy(buf, m->str, len + 1);
	else ek_endpoint_str(e, true, buf, n);
}

static void fill_common(struct timeline *t, struct row *r, const struct tls_event *ev, const char *file)
{
	const struct tls_conn_view *v = ev->conn;
	memset(r, 0, sizeof *r);
	r->file = file;
	r->frame = ev->pkt.frame;
	r->ts = ev->pkt.ts;
	r->conn = v->id;
	endpoint_str(&t->ep_memo[0], &v->client, r->client, sizeof r->client);
	endpoint_str(&t->ep_memo[1], &v->server, r->server, sizeof r->server);
	r->sender = ev->sender == TLS_ROLE_CLIENT ? "client" : ev->sender == TLS_ROLE_SERVER ? "server" : "";
	const char *ver = ev->version ? tls_version_name(ev->version) : NULL;
	r->version = ver ? ver : "";
	r->event = detail_event_name(ev);
	r->cert_index = -1;
}

static void queue_row(struct timeline *t, struct conn_rec *cr, struct row *r)
{
	if (!t->head && cr->state == CONN_TLS) {
		emit(t, r);
		row_release(t, r);
		return;
	}
	if (cr->state == CONN_NOT_TLS) {
		row_release(t, r);
		return;
	}
	struct held *h = t->spare;
	if (h) {
		t->spare = h->next;
		t->n_spare--;
	} else {
		h = malloc(sizeof *h);
	}
	if (!h) {
		row_release(t, r);
		return;
	}
	h->row = *r;
	h->cr = cr;
	h->next = NULL;
	cr->queued++;
	if (t->tail) t->tail->next = h;
	else t->head = h;
	t->tail = h;
	t->n_held++;
	while (t->n_held > TIMELINE_MAX_HELD && t->head) {
		/* Give up on the oldest undecided connection's held rows. */
		struct conn_rec *victim = t->head->cr;
		while (t->head && t->head->cr == victim) {
			t->dropped_cap++;
			pop_head(t);
		}
		flush(t);
	}
}

void timeline_event(struct timeline *t, struct conn_rec *cr, const struct tls_event *ev, const char *file)
{
	struct row one;
	struct row *rows = &one;
	size_t n = 0;

	switch (ev->kind) {
	case TLS_EV_CONN_TLS:
		cr->state = CONN_TLS;
		break;
	case TLS_EV_CONN_END:
		if (cr->state == CONN_UNDECIDED && !ev->conn->is_tls) cr->state = CONN_NOT_TLS;
		break;
	default:
		break;
	}

	bool certs = ev->kind == TLS_EV_HANDSHAKE && ev->u.hs.type == TLS_HS_CERTIFICATE && !ev->u.hs.malformed &&
		     ev->u.hs.u.cert.n_certs > 0;
	if (certs) {
		size_t nc = ev->u.hs.u.cert.n_certs;
		rows = calloc(nc, sizeof *rows);
		if (!rows) return;
		char *detail = detail_for_event(ev);
		for (size_t i = 0; i < nc; i++) {
			fill_common(t, &rows[i], ev, file);
			rows[i].detail = strdup(detail ? detail : "");
			rows[i].cert_index = (int)i;
			rows[i].cert = ev->u.hs.u.cert.certs[i];
			if (rows[i].cert) x509_ref(rows[i].cert);
		}
		free(detail);
		n = nc;
	} else if (ev->kind != TLS_EV_CONN_TLS && ev->kind != TLS_EV_CONN_END) {
		fill_common(t, &one, ev, file);
		one.detail = detail_for_event(ev);
		n = 1;
	}

	if (t->annotate) t->annotate(t->actx, cr, ev, rows, n);
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].detail) rows[i].detail = strdup("");
		queue_row(t, cr, &rows[i]);
	}
	if (rows != &one) free(rows);
	flush(t);
}

void timeline_drain(struct timeline *t)
{
	while (t->head) {
		if (t->head->cr->state == CONN_TLS) emit(t, &t->head->row);
		pop_head(t);
	}
}

uint64_t timeline_rows_written(const struct timeline *t) { return t->written; }
uint64_t timeline_rows_dropped_by_cap(const struct timeline *t) { return t->dropped_cap; }

void timeline_free(struct timeline *t)
{
	if (!t) return;
	while (t->head) pop_head(t);
	while (t->spare) {
		struct held *h = t->spare;
		t->spare = h->next;
		free(h);
	}
	free(t);
}
