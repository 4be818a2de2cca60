/* capture/ internal: reassembly of one direction of a TCP connection.
 *
 * Segments go in as they were captured; bytes come out once, in sequence
 * order, through callbacks.  Out-of-order data is copied into a sorted
 * list of non-overlapping pieces (first-seen bytes win).  A hole is only
 * reported (gap callback) once it is known to be permanent: the peer
 * ACKed past it and a grace window has passed (REASM_GRACE_*: span ports
 * show ACKs before the data they acknowledge), the out-of-order budget ran
 * out, the snapshot length cut the bytes, or the direction is finished.  Sequence numbers are compared
 * with signed 32-bit differences, so wraparound is transparent.
 *
 * Every callback returns false to stop: the call returns false at once,
 * leaving the state consistent (reasm_free is still needed). */
#ifndef EK_CAPTURE_REASM_H
#define EK_CAPTURE_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/netaddr.h"
#include "capture.h"
#include "decode.h"

/* Signed distance a - b in sequence space (wraparound-safe). */
static inline int32_t sdiff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

/* Shared budget and counters for every direction of a reader. */
struct reasm_pool {
	size_t max_dir;        /* out-of-order bytes per direction */
	size_t max_total;      /* ... across all directions */
	size_t total;          /* currently buffered (data + per-piece overhead) */
	uint64_t ooo_overflow; /* holes forced by a budget */
};

struct reasm_seg; /* buffered piece, private to reasm.c */

/* Grace window: an ACK past a hole does not make it lost at once, as the
 * bytes may still arrive (span ports mirror each direction through its
 * own queue, so the ACK is often captured 1-3 frames before the data it
 * acknowledges).  A hole is declared lost once the peer has ACKed past it
 * and REASM_GRACE_PKTS packets of the connection have been read after the
 * one that revealed it (the first piece past it, the ACK or the FIN past
 * it, whichever came first); or when the direction finishes or a budget
 * forces it.  Packets, not capture time: holding one direction's bytes
 * longer would let the other direction's later events (an alert, a FIN)
 * reach the dissector first. */
#define REASM_GRACE_PKTS 7

/* 88 bytes, two per connection: the grace window lives in what used to
 * be padding, so connections without holes pay nothing for it. */
struct reasm_dir {
	struct reasm_seg *head, *tail; /* sorted, non-overlapping, all past `next` */
	uint32_t ooo_bytes;            /* (pool->max_dir fits: reasm_pool_init) */
	uint32_t next;                 /* next sequence number to deliver */
	uint32_t isn;                  /* SYN's sequence number (valid with syn) */
	uint32_t fin_seq;              /* sequence number of the FIN (valid with fin) */
	uint32_t acked;                /* highest ACK the peer sent (valid with have_ack) */
	uint32_t hi;                   /* end of the highest sequence number seen (valid with started) */
	uint32_t grace_at;             /* `next` when the hole's window opened (valid with grace) */
	uint32_t fin_ack;              /* the ACK the FIN carried (valid with fin_wait) */
	struct ek_pktref fin_pkt;
	bool started : 1;              /* `next` is known */
	bool syn : 1;                  /* started from a SYN */
	bool delivered : 1;            /* some byte or gap was reported */
	bool fin : 1, fin_done : 1;    /* FIN seen / reported */
	bool rst_done : 1;
	bool have_ack : 1;
	bool grace : 1;                /* a hole's grace window is open */
	bool fin_wait : 1;             /* the FIN is held: reasm_fin_ready */
	uint8_t grace_pkts;            /* packets read since it opened */
};

struct reasm_cb {
	/* bytes in order; p: the packet that made them contiguous */
	bool (*data)(void *ctx, const uint8_t *b, size_t n, const struct ek_pktref *p);
	/* `missing` bytes will never come (0: unknown); p: first packet after the hole */
	bool (*gap)(void *ctx, uint64_t missing, const struct ek_pktref *p);
	bool (*flag)(void *ctx, enum cap_flag f, const struct ek_pktref *p);
};

/* One TCP segment sent in this direction. */
struct reasm_in {
	uint32_t seq;
	uint8_t flags;           /* TCPF_* (decode.h) */
	const uint8_t *payload;  /* caplen captured bytes */
	size_t caplen;
	uint32_t len;            /* payload length on the wire (>= caplen: the rest was cut) */
	uint32_t ack;            /* with TCPF_ACK in flags */
};

void reasm_init(struct reasm_dir *d);
/* Budgets (a direction's is capped to what ooo_bytes holds). */
void reasm_pool_init(struct reasm_pool *pool, size_t max_dir, size_t max_total);

/* Everything up to its FIN was delivered: nothing held, nothing missing. */
static inline bool reasm_complete(const struct reasm_dir *d)
{
	return d->fin_done && !d->head;
}

/* A bare ACK (no payload, no SYN, FIN or RST; half the packets of a
 * transfer) on a direction that holds nothing: nothing can become
 * contiguous, only `hi` may move.  Done here, inline, and true; false
 * when the segment is not one (reasm_segment then). */
static inline bool reasm_bare_ack(struct reasm_dir *d, uint32_t seq, uint32_t len, uint8_t flags)
{
	if (len || (flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) || !d->started || d->head || d->fin) return false;
	if (sdiff(seq, d->hi) > 0 || sdiff(d->hi, d->next) < 0) d->hi = seq;
	return true;
}

/* A segment of this direction arrived in packet p. */
bool reasm_segment(struct reasm_dir *d, struct reasm_pool *pool, const struct reasm_in *in,
		   const struct ek_pktref *p, const struct reasm_cb *cb, void *ctx);

/* The peer sent ACK `ack` (a packet of the other direction with the ACK
 * flag).  syn: that packet was a SYN-ACK, which also tells where this
 * direction starts when its SYN was not captured. */
bool reasm_ack(struct reasm_dir *d, struct reasm_pool *pool, uint32_t ack, bool syn,
	       const struct ek_pktref *p, const struct reasm_cb *cb, void *ctx);
/* reasm_ack would change nothing: the peer ACKed this far already (most
 * packets repeat the last ACK). */
static inline bool reasm_ack_seen(const struct reasm_dir *d, uint32_t ack)
{
	return d->started && d->have_ack && sdiff(ack, d->acked) <= 0;
}

/* Something is missing before data, a FIN or an ACK already seen. */
static inline bool reasm_hole(const struct reasm_dir *d)
{
	return d->head || (d->have_ack && sdiff(d->acked, d->next) > 0) ||
	       (d->fin && !d->fin_done && d->fin_seq != d->next);
}
static inline bool reasm_holey(const struct reasm_dir *d) { return d->grace || reasm_hole(d); }

/* A packet of the connection was read (call after reasm_ack and
 * reasm_segment for it, while reasm_holey): opens, counts and closes the
 * grace window of the hole at `next`, declaring it lost when it closes. */
bool reasm_tick(struct reasm_dir *d, struct reasm_pool *pool, const struct reasm_cb *cb, void *ctx);

/* A FIN that acknowledges bytes of the other direction not seen yet
 * (span ports) is held until they are (or their hole was declared lost):
 * the sender closed after them, so the sink must see them first.  Call
 * after each packet while d->fin_wait, with the other direction's state;
 * reports the FIN once it may go. */
bool reasm_fin_ready(struct reasm_dir *d, const struct reasm_dir *peer, struct reasm_pool *pool,
		     const struct reasm_cb *cb, void *ctx);

/* The direction is over: deliver everything buffered in order, reporting
 * every hole (and bytes ACKed but never seen), then a held FIN.  end is
 * the packet that ended it (used where no buffered packet applies). */
bool reasm_finish(struct reasm_dir *d, struct reasm_pool *pool, const struct ek_pktref *end,
		  const struct reasm_cb *cb, void *ctx);

/* Drop buffered data without callbacks. */
void reasm_free(struct reasm_dir *d, struct reasm_pool *pool);

/* Bytes a buffered piece costs beyond its data (for budgets and tests). */
size_t reasm_piece_overhead(void);

#endif
