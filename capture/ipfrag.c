/* IP fragment reassembly: see ipfrag.h.  Few datagrams are ever pending
 * at once, so they sit in one list in order of their first fragment
 * (oldest first: what times out or is evicted first) and a lookup scans
 * it; nothing here runs for unfragmented packets. */
#include "ipfrag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cursor.h"

#define MAX_DATAGRAM 65535u /* no jumbograms */

struct span {
	uint32_t a, b; /* bytes [a, b) held */
};

struct dgram {
	struct dgram *next, *prev;
	uint8_t family, proto, depth;
	bool broken;        /* a fragment was cut or inconsistent: never completes */
	uint32_t id;
	uint8_t src[16], dst[16];
	int64_t first;      /* capture second of its first fragment */
	uint32_t total;     /* datagram length, once the last fragment was seen (else 0) */
	uint32_t cap;       /* bytes allocated at buf */
	uint8_t *buf;
	struct span *spans; /* sorted, disjoint, not adjacent */
	size_t nspans, capspans;
};

struct ipfrag {
	struct dgram *head, *tail;
	size_t n;
	size_t bytes, max_bytes;
	uint8_t *done;      /* the datagram handed out last (freed at the next call) */
	struct ipfrag_stats st;
};

struct ipfrag *ipfrag_new(size_t max_bytes)
{
	struct ipfrag *t = calloc(1, sizeof *t);
	if (t) t->max_bytes = max_bytes;
	return t;
}

static size_t cost(const struct dgram *d)
{
	return sizeof *d + d->cap + d->capspans * sizeof(struct span);
}

static void unlink_dg(struct ipfrag *t, struct dgram *d)
{
	if (d->prev) d->prev->next = d->next;
	else t->head = d->next;
	if (d->next) d->next->prev = d->prev;
	else t->tail = d->prev;
	t->n--;
	t->bytes -= cost(d);
}

static void drop(struct ipfrag *t, struct dgram *d)
{
	unlink_dg(t, d);
	t->st.dropped++;
	free(d->buf);
	free(d->spans);
	free(d);
}

static bool same(const struct dgram *d, const struct dec_frag *f)
{
	size_t n = f->family == 4 ? 4 : 16;
	return d->id == f->id && d->family == f->family && d->proto == f->proto && d->depth == f->depth &&
	       !memcmp(d->src, f->src, n) && !memcmp(d->dst, f->dst, n);
}

/* Room for `more` bytes: evict the oldest datagrams other than keep. */
static bool make_room(struct ipfrag *t, size_t more, const struct dgram *keep)
{
	while (t->bytes + more > t->max_bytes) {
		struct dgram *o = t->head;
		if (o == keep) o = o->next;
		if (!o) return false;
		drop(t, o);
	}
	return true;
}

static bool grow(struct ipfrag *t, struct dgram *d, uint32_t need_buf, size_t need_spans)
{
	uint32_t nc = d->cap;
	size_t ns = d->capspans;
	if (need_buf > nc) nc = need_buf < 2 * nc ? (2 * nc < MAX_DATAGRAM ? 2 * nc : MAX_DATAGRAM) : need_buf;
	if (need_spans > ns) ns = need_spans < 2 * ns ? 2 * ns : need_spans + 4;
	size_t extra = (size_t)(nc - d->cap) + (ns - d->capspans) * sizeof(struct span);
	if (!extra) return true;
	if (!make_room(t, extra, d)) return false;
	if (nc != d->cap) {
		uint8_t *b = realloc(d->buf, nc);
		if (!b) return false;
		d->buf = b;
	}
	if (ns != d->capspans) {
		struct span *s = realloc(d->spans, ns * sizeof *s);
		if (!s) {
			t->bytes += nc - d->cap;
			d->cap = nc;
			return false;
		}
		d->spans = s;
	}
	t->bytes += extra;
	d->cap = nc;
	d->capspans = ns;
	return true;
}

/* Copy the parts of [a, b) no earlier fragment gave; true if some part
 * had been given (an overlap). */
static bool put(struct dgram *d, uint32_t a, uint32_t b, const uint8_t *data)
{
	bool overlap = false;
	uint32_t pos = a;
	size_t i = 0;
	struct span *s = d->spans;
	while (i < d->nspans && s[i].b <= pos) i++;
	while (pos < b) {
		uint32_t upto = i < d->nspans && s[i].a < b ? s[i].a : b;
		if (upto > pos) {
			struct cur c = cur_make(data, b - a);
			cur_skip(&c, pos - a);
			cur_copy(&c, d->buf + pos, upto - pos);
		}
		if (i < d->nspans && s[i].a < b) {
			overlap = true;
			pos = s[i].b;
			i++;
		} else {
			pos = b;
		}
	}
	/* the spans touching or inside [a, b) become one */
	size_t lo = 0;
	while (lo < d->nspans && s[lo].b < a) lo++;
	size_t hi = lo;
	uint32_t na = a, nb = b;
	while (hi < d->nspans && s[hi].a <= b) {
		if (s[hi].a < na) na = s[hi].a;
		if (s[hi].b > nb) nb = s[hi].b;
		hi++;
	}
	if (hi == lo) {
		memmove(s + lo + 1, s + lo, (d->nspans - lo) * sizeof *s);
		d->nspans++;
	} else if (hi > lo + 1) {
		memmove(s + lo + 1, s + hi, (d->nspans - hi) * sizeof *s);
		d->nspans -= hi - lo - 1;
	}
	s[lo].a = na;
	s[lo].b = nb;
	return overlap;
}

const uint8_t *ipfrag_add(struct ipfrag *t, const struct dec_frag *f, int64_t now, size_t *len)
{
	free(t->done);
	t->done = NULL;
	while (t->head && now - t->head->first > IPFRAG_TIMEOUT) drop(t, t->head);

	struct dgram *d = t->head;
	while (d && !same(d, f)) d = d->next;
	if (!d) {
		if (t->n >= IPFRAG_MAX_DATAGRAMS) drop(t, t->head);
		if (!make_room(t, sizeof *d, NULL) || !(d = calloc(1, sizeof *d))) {
			t->st.dropped++;
			return NULL;
		}
		d->family = f->family;
		d->proto = f->proto;
		d->depth = f->depth;
		d->id = f->id;
		memcpy(d->src, f->src, sizeof d->src);
		memcpy(d->dst, f->dst, sizeof d->dst);
		d->first = now;
		d->prev = t->tail;
		if (t->tail) t->tail->next = d;
		else t->head = d;
		t->tail = d;
		t->n++;
		t->bytes += sizeof *d;
	}
	if (d->broken) return NULL;
	uint64_t a = f->offset, b = a + f->len;
	/* cut by the snapshot length, past the largest datagram, not a
	 * multiple of 8 before the end, or against the known end */
	bool bad = f->caplen < f->len || b > MAX_DATAGRAM || (f->more && f->len % 8) ||
		   (d->total && (b > d->total || (!f->more && b != d->total)));
	if (!bad && !f->more) {
		for (size_t i = 0; i < d->nspans; i++)
			if (d->spans[i].b > b) bad = true;
		d->total = (uint32_t)b;
	}
	if (!bad && f->len && !grow(t, d, (uint32_t)b, d->nspans + 1)) bad = true;
	if (bad) {
		/* keep it as a tombstone so its other fragments do not start
		 * another; it goes when it times out */
		t->bytes -= cost(d);
		free(d->buf);
		free(d->spans);
		d->buf = NULL;
		d->spans = NULL;
		d->cap = 0;
		d->nspans = d->capspans = 0;
		t->bytes += cost(d);
		d->broken = true;
		return NULL;
	}
	if (f->len && put(d, (uint32_t)a, (uint32_t)b, f->data)) t->st.overlaps++;
	if (!d->total || !(d->nspans == 1 && d->spans[0].a == 0 && d->spans[0].b == d->total)) return NULL;
	/* complete */
	unlink_dg(t, d);
	t->st.datagrams++;
	t->done = d->buf;
	*len = d->total;
	free(d->spans);
	free(d);
	return t->done;
}

void ipfrag_flush(struct ipfrag *t)
{
	while (t->head) drop(t, t->head);
}

const struct ipfrag_stats *ipfrag_stats(const struct ipfrag *t) { return &t->st; }

void ipfrag_free(struct ipfrag *t)
{
	if (!t) return;
	ipfrag_flush(t);
	free(t->done);
	free(t);
}
