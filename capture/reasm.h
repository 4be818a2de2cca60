/* capture/ internal: reassembly of one direction of a TCP connection.
 *
 * Segments go in as they were captured; bytes come out once, in sequence
 * order, through callbacks.  Out-of-order data is copied into a sorted
 * list of non-overlapping pieces (first-seen bytes win).  A hole is only
 * reported (gap callback) once it is known to be permanent: the peer
 * ACKed past it, the out-of-order budget ran out, the snapshot length cut
 * the bytes, or the direction is finished.  Sequence numbers are compared
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

/* Shared budget and counters for every direction of a reader. */
struct reasm_pool {
	size_t max_dir;        /* out-of-order bytes per direction */
	size_t max_total;      /* ... across all directions */
	size_t total;          /* currently buffered (data + per-piece overhead) */
	uint64_t ooo_overflow; /* holes forced by a budget */
};

struct reasm_seg; /* buffered piece, private to reasm.c */

struct reasm_dir {
	struct reasm_seg *head, *tail; /* sorted, non-overlapping, all past `next` */
	size_t ooo_bytes;
	uint32_t next;                 /* next sequence number to deliver */
	uint32_t isn;                  /* SYN's sequence number (valid with syn) */
	uint32_t fin_seq;              /* sequence number of the FIN (valid with fin) */
	uint32_t acked;                /* highest ACK the peer sent (valid with have_ack) */
	uint32_t hi;                   /* end of the highest sequence number seen (valid with started) */
	struct ek_pktref fin_pkt;
	bool started;                  /* `next` is known */
	bool syn;                      /* started from a SYN */
	bool delivered;                /* some byte or gap was reported */
	bool fin, fin_done;            /* FIN seen / reported */
	bool rst_done;
	bool have_ack;
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
};

void reasm_init(struct reasm_dir *d);

/* Everything up to its FIN was delivered: nothing held, nothing missing. */
static inline bool reasm_complete(const struct reasm_dir *d)
{
	return d->fin_done && !d->head;
}

/* A segment of this direction arrived in packet p. */
bool reasm_segment(struct reasm_dir *d, struct reasm_pool *pool, const struct reasm_in *in,
		   const struct ek_pktref *p, const struct reasm_cb *cb, void *ctx);

/* The peer sent ACK `ack` (a packet of the other direction with the ACK
 * flag).  syn: that packet was a SYN-ACK, which also tells where this
 * direction starts when its SYN was not captured. */
bool reasm_ack(struct reasm_dir *d, struct reasm_pool *pool, uint32_t ack, bool syn,
	       const struct ek_pktref *p, const struct reasm_cb *cb, void *ctx);

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
