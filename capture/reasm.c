/* One direction of TCP reassembly: see reasm.h for the rules.
 *
 * In-order data is handed out straight from the packet (no copy); only
 * data past a hole is copied into pieces.  Invariant between calls: every
 * buffered piece starts after `next`; a hole at `next` is declared lost
 * only by reasm_tick (its grace window), a budget or reasm_finish. */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include "../common/cursor.h"
#include "decode.h"

struct reasm_seg {
	struct reasm_seg *next;
	uint32_t seq;           /* first sequence number covered */
	uint32_t len;           /* sequence space covered (claimed: later copies are dropped) */
	uint32_t cap;           /* data bytes present, at the start; the rest was cut by snaplen */
	struct ek_pktref pkt;   /* packet the piece came in */
	uint8_t data[];
};

/* How far past the highest byte we saw an ACK may reach and still be
 * believed (bytes lost by the capture); beyond, it is taken as bogus (a
 * challenge ACK, an ACK for an older incarnation of the tuple). */
#define ACK_SLACK ((uint32_t)16 << 20)
static inline uint32_t seg_end(const struct reasm_seg *s) { return s->seq + s->len; }
static inline size_t seg_cost(size_t cap) { return sizeof(struct reasm_seg) + cap; }

size_t reasm_piece_overhead(void) { return sizeof(struct reasm_seg); }

struct call {
	struct reasm_dir *d;
	struct reasm_pool *pool;
	const struct reasm_cb *cb;
	void *ctx;
};

void reasm_init(struct reasm_dir *d)
{
	memset(d, 0, sizeof *d);
}

void reasm_pool_init(struct reasm_pool *pool, size_t max_dir, size_t max_total)
{
	memset(pool, 0, sizeof *pool);
	pool->max_dir = max_dir < UINT32_MAX ? max_dir : UINT32_MAX;
	pool->max_total = max_total;
}

static bool emit_data(struct call *k, const uint8_t *b, size_t n, const struct ek_pktref *p)
{
	if (n == 0) return true;
	k->d->delivered = true;
	return k->cb->data(k->ctx, b, n, p);
}

static bool emit_gap(struct call *k, uint32_t missing, const struct ek_pktref *p)
{
	if (missing == 0) return true;
	k->d->delivered = true;
	return k->cb->gap(k->ctx, missing, p);
}

static void free_seg(struct call *k, struct reasm_seg *s)
{
	size_t c = seg_cost(s->cap);
	k->d->ooo_bytes -= (uint32_t)c;
	k->pool->total -= c;
	free(s);
}

static struct reasm_seg *pop_head(struct reasm_dir *d)
{
	struct reasm_seg *h = d->head;
	d->head = h->next;
	if (!d->head) d->tail = NULL;
	return h;
}

static void free_all(struct call *k)
{
	while (k->d->head) free_seg(k, pop_head(k->d));
}

/* Hand out whatever became contiguous and report a FIN once its sequence
 * number is reached.
 * trig: the packet that caused it (NULL after a hole was declared: the
 * pieces past it then became contiguous with the latest of their own
 * packets so far, where Wireshark shows them, not in the ACK). */
static bool drain_held(struct call *k, const struct ek_pktref *trig)
{
	struct reasm_dir *d = k->d;
	struct ek_pktref run = { 0 };
	for (;;) {
		struct reasm_seg *h = d->head;
		if (h && sdiff(h->seq, d->next) <= 0) {
			pop_head(d);
			bool ok = true;
			uint32_t skip = d->next - h->seq; /* already delivered by an earlier piece */
			if (skip < h->len) {
				if (!trig && h->pkt.frame >= run.frame) run = h->pkt;
				const struct ek_pktref *p = trig ? trig : &run;
				d->next = seg_end(h);
				if (skip < h->cap) {
					struct cur c = cur_make(h->data, h->cap);
					cur_skip(&c, skip);
					ok = emit_data(k, cur_rest(&c), cur_left(&c), p);
				}
				uint32_t have = skip > h->cap ? skip : h->cap;
				if (ok && h->len > have) ok = emit_gap(k, h->len - have, &h->pkt);
			}
			free_seg(k, h);
			if (!ok) return false;
			continue;
		}
		if (d->fin && !d->fin_done && d->next == d->fin_seq && !d->fin_wait) {
			d->fin_done = true;
			d->next++;
			free_all(k); /* nothing legitimate follows a FIN */
			return k->cb->flag(k->ctx, CAP_FLAG_FIN, &d->fin_pkt);
		}
		return true;
	}
}

/* Nearly every segment: nothing buffered, no FIN pending, nothing to do. */
static inline bool drain(struct call *k, const struct ek_pktref *trig)
{
	return (!k->d->head && !k->d->fin) || drain_held(k, trig);
}

/* The hole at `next` is lost (its window closed, the receiver has bytes
 * past it): report it, up to the next piece or the FIN, and hand out what
 * follows. */
static bool declare_lost(struct call *k)
{
	struct reasm_dir *d = k->d;
	struct reasm_seg *h = d->head;
	uint32_t to;
	const struct ek_pktref *p;
	if (h && sdiff(d->acked, h->seq) >= 0) {
		to = h->seq;
		p = &h->pkt;
	} else if (!h && d->fin && !d->fin_done && sdiff(d->acked, d->fin_seq) >= 0) {
		to = d->fin_seq;
		p = &d->fin_pkt;
	} else {
		return true; /* the ACK ends inside the hole: more may come; finish reports the rest */
	}
	uint32_t missing = to - d->next;
	d->next = to;
	if (!emit_gap(k, missing, p)) return false;
	return drain(k, NULL);
}

static bool over_budget(const struct call *k, size_t need)
{
	return k->d->ooo_bytes + need > k->pool->max_dir || k->pool->total + need > k->pool->max_total;
}

/* Copy [a, b) of a segment starting at s whose captured bytes are c. */
static struct reasm_seg *new_piece(struct call *k, uint32_t s, const struct cur *c, uint32_t a, uint32_t b,
				   const struct ek_pktref *p)
{
	uint32_t off = a - s, len = b - a;
	size_t have = cur_left(c);
	uint32_t cap = off >= have ? 0 : (uint32_t)(have - off < len ? have - off : len);
	struct reasm_seg *g = malloc(sizeof *g + cap);
	if (!g) return NULL; /* the range stays unclaimed: it ends up reported as a hole */
	g->next = NULL;
	g->seq = a;
	g->len = len;
	g->cap = cap;
	g->pkt = *p;
	if (cap) {
		struct cur t = *c;
		cur_skip(&t, off);
		cur_copy(&t, g->data, cap);
	}
	k->d->ooo_bytes += (uint32_t)seg_cost(cap);
	k->pool->total += seg_cost(cap);
	return g;
}

static void link_after(struct reasm_dir *d, struct reasm_seg *prev, struct reasm_seg *g)
{
	if (!prev) {
		g->next = d->head;
		d->head = g;
	} else {
		g->next = prev->next;
		prev->next = g;
	}
	if (!g->next) d->tail = g;
}

/* Buffer the parts of [s, s+len) no piece holds yet (first-seen bytes win). */
static void insert(struct call *k, uint32_t s, uint32_t len, const struct cur *c, const struct ek_pktref *p)
{
	struct reasm_dir *d = k->d;
	uint32_t end = s + len;
	struct reasm_seg *g;
	if (!d->tail || sdiff(s, seg_end(d->tail)) >= 0) { /* common case: past everything */
		if ((g = new_piece(k, s, c, s, end, p))) link_after(d, d->tail, g);
		return;
	}
	uint32_t pos = s;
	struct reasm_seg *prev = NULL;
	for (struct reasm_seg *it = d->head; it && sdiff(end, pos) > 0; prev = it, it = it->next) {
		if (sdiff(seg_end(it), pos) <= 0) continue;
		if (sdiff(it->seq, pos) > 0) {
			uint32_t b = sdiff(it->seq, end) < 0 ? it->seq : end;
			if ((g = new_piece(k, s, c, pos, b, p))) {
				link_after(d, prev, g);
				prev = g;
			}
		}
		pos = seg_end(it);
	}
	if (sdiff(end, pos) > 0 && (g = new_piece(k, s, c, pos, end, p))) link_after(d, prev, g);
}

/* Put segment data [s, s+len) (captured prefix in c) where it belongs. */
static bool place(struct call *k, uint32_t s, uint32_t len, struct cur c, const struct ek_pktref *p)
{
	struct reasm_dir *d = k->d;
	uint32_t end = s + len;
	bool forced = false;
	for (;;) {
		if (sdiff(end, d->next) <= 0) return true; /* old: retransmission, keep-alive */
		if (sdiff(s, d->next) < 0) {              /* overlaps delivered bytes: trim */
			uint32_t k0 = d->next - s;
			if (k0 >= cur_left(&c)) c = cur_make(NULL, 0);
			else cur_skip(&c, k0);
			s = d->next;
		}
		if (s == d->next) {
			/* in order: straight from the packet, up to the first buffered piece */
			struct reasm_seg *h = d->head;
			uint32_t upto = (h && sdiff(h->seq, end) < 0) ? h->seq : end;
			uint32_t n = upto - s;
			size_t have = cur_left(&c) < n ? cur_left(&c) : n;
			d->next = upto;
			s = upto; /* the cursor is consumed up to here (or empty) */
			if (!emit_data(k, cur_bytes(&c, have), have, p)) return false;
			if (have < n && !emit_gap(k, (uint32_t)(n - have), p)) return false; /* snaplen cut */
			if (upto == end) return true;
			if (!drain(k, p)) return false;
			continue;
		}
		/* past a hole: copy, within budget */
		size_t span = end - s;
		size_t need = seg_cost(cur_left(&c) < span ? cur_left(&c) : span);
		if (!over_budget(k, need)) {
			insert(k, s, end - s, &c, p);
			return true;
		}
		if (!forced) {
			k->pool->ooo_overflow++;
			forced = true;
		}
		/* give up the oldest hole, which frees what follows it */
		struct reasm_seg *h = d->head;
		uint32_t to = h ? h->seq : s;
		uint32_t missing = to - d->next;
		d->next = to;
		if (!emit_gap(k, missing, h ? &h->pkt : p)) return false;
		if (h && !drain(k, NULL)) return false;
	}
}

bool reasm_segment(struct reasm_dir *d, struct reasm_pool *pool, const struct reasm_in *in,
		   const struct ek_pktref *p, const struct reasm_cb *cb, void *ctx)
{
	uint32_t s = in->seq;
	uint32_t len = in->len;
	if (reasm_bare_ack(d, s, len, in->flags)) return true;
	struct call k = { d, pool, cb, ctx };
	size_t cap = in->caplen < len ? in->caplen : len;

	if (in->flags & TCPF_SYN) {
		/* A second SYN(-ACK) with another ISN before anything happened
		 * (a new handshake attempt): follow the newest. */
		if (!d->started || (d->syn && !d->delivered && !d->head && s != d->isn && d->next == d->isn + 1)) {
			d->started = d->syn = true;
			d->isn = s;
			d->next = s + 1;
			d->hi = s + 1;
		}
		s++; /* SYN takes one sequence number */
	}
	if (!d->started) {
		if (len == 0 && !(in->flags & TCPF_FIN)) goto rst; /* nothing to anchor on */
		d->started = true; /* picked up mid-stream */
		d->next = s;
		d->hi = s;
	}
	{
		uint32_t e = s + len + ((in->flags & TCPF_FIN) ? 1u : 0u);
		if (sdiff(e, d->hi) > 0 || sdiff(d->hi, d->next) < 0) d->hi = e;
	}
	if ((in->flags & TCPF_FIN) && !d->fin && !d->fin_done) {
		d->fin = true;
		d->fin_seq = s + len;
		d->fin_pkt = *p;
		d->fin_wait = (in->flags & TCPF_ACK) != 0;
		d->fin_ack = in->ack;
	}
	if (d->fin && len && sdiff(s + len, d->fin_seq) > 0) /* nothing after the FIN */
		len = sdiff(d->fin_seq, s) > 0 ? d->fin_seq - s : 0;
	if (len && !d->fin_done) {
		if (!place(&k, s, len, cur_make(in->payload, cap < len ? cap : len), p)) return false;
	}
	if (!drain(&k, p)) return false;
	if (d->fin && !d->fin_done && !d->fin_wait && sdiff(d->fin_seq, d->next) < 0) {
		/* a FIN for bytes already delivered (odd, but it was sent) */
		d->fin_done = true;
		if (!cb->flag(ctx, CAP_FLAG_FIN, &d->fin_pkt)) return false;
	}
rst:
	if ((in->flags & TCPF_RST) && !d->rst_done) {
		d->rst_done = true;
		return cb->flag(ctx, CAP_FLAG_RST, p);
	}
	return true;
}

bool reasm_ack(struct reasm_dir *d, struct reasm_pool *pool, uint32_t ack, bool syn,
	       const struct ek_pktref *p, const struct reasm_cb *cb, void *ctx)
{
	(void)pool, (void)p, (void)cb, (void)ctx; /* holes it passes wait for reasm_tick */
	if (!d->started) {
		if (!syn) return true;
		/* SYN-ACK without the SYN: it tells where our data starts */
		d->started = true;
		d->next = ack;
		d->hi = ack;
	}
	if (d->have_ack && sdiff(ack, d->acked) <= 0) return true;
	uint32_t top = sdiff(d->hi, d->next) > 0 ? d->hi : d->next;
	if (sdiff(ack, top) > 0 && (uint32_t)(ack - top) > ACK_SLACK) return true; /* not believable */
	d->acked = ack;
	d->have_ack = true;
	return true; /* a hole it passes waits for its grace window: reasm_tick */
}

bool reasm_tick(struct reasm_dir *d, struct reasm_pool *pool, const struct reasm_cb *cb, void *ctx)
{
	struct call k = { d, pool, cb, ctx };
	if (d->grace && d->grace_at == d->next) {
		if (d->grace_pkts < UINT8_MAX) d->grace_pkts++;
		if (d->grace_pkts < REASM_GRACE_PKTS || !(d->have_ack && sdiff(d->acked, d->next) > 0))
			return true; /* still open, or no sign the bytes were ever received */
		if (!declare_lost(&k)) return false;
		if (d->next == d->grace_at) return true; /* the ACK ends inside the hole */
	}
	/* the hole at `next` (if any) is new: this packet revealed it */
	d->grace = reasm_hole(d);
	d->grace_at = d->next;
	d->grace_pkts = 0;
	return true;
}

bool reasm_fin_ready(struct reasm_dir *d, const struct reasm_dir *peer, struct reasm_pool *pool,
		     const struct reasm_cb *cb, void *ctx)
{
	struct call k = { d, pool, cb, ctx };
	if (peer->started && sdiff(d->fin_ack, peer->next) > 0) return true; /* still waiting */
	d->fin_wait = false;
	if (!drain(&k, NULL)) return false;
	if (d->fin && !d->fin_done && sdiff(d->fin_seq, d->next) < 0) {
		d->fin_done = true; /* for bytes already delivered */
		return cb->flag(ctx, CAP_FLAG_FIN, &d->fin_pkt);
	}
	return true;
}

bool reasm_finish(struct reasm_dir *d, struct reasm_pool *pool, const struct ek_pktref *end,
		  const struct reasm_cb *cb, void *ctx)
{
	struct call k = { d, pool, cb, ctx };
	d->fin_wait = false;
	if (!d->started) return true;
	while (d->head) {
		struct reasm_seg *h = d->head;
		if (sdiff(h->seq, d->next) > 0) {
			uint32_t missing = h->seq - d->next;
			d->next = h->seq;
			if (!emit_gap(&k, missing, &h->pkt)) return false;
		}
		if (!drain(&k, NULL)) return false;
	}
	if (d->fin && !d->fin_done) {
		if (sdiff(d->fin_seq, d->next) > 0) {
			uint32_t missing = d->fin_seq - d->next;
			d->next = d->fin_seq;
			if (!emit_gap(&k, missing, &d->fin_pkt)) return false;
		}
		d->fin_done = true;
		d->next++;
		return cb->flag(ctx, CAP_FLAG_FIN, &d->fin_pkt);
	}
	if (!d->fin && d->have_ack && sdiff(d->acked, d->next) > 0) {
		/* the capture ended (or lost) bytes the peer did receive */
		uint32_t missing = d->acked - d->next;
		d->next = d->acked;
		return emit_gap(&k, missing, end);
	}
	return true;
}

void reasm_free(struct reasm_dir *d, struct reasm_pool *pool)
{
	struct call k = { d, pool, NULL, NULL };
	free_all(&k);
}
