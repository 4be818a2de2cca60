/* capture/ internal: the connection table.
 *
 * Tracked connections (struct ct_conn) are in a hash index (open
 * addressing on a symmetric hash of the endpoint pair, so both
 * directions of a 5-tuple find the same entry; each slot keeps the hash,
 * so a lookup reads only the entry that matches) and in a list per state
 * ordered by last activity, so idle expiry and eviction look at list
 * heads only.  They come from slabs with free lists: adding a connection
 * does not call malloc except when a slab block or the bucket array
 * grows.
 *
 * A capture keeps many more ended connections (tombstones) than open
 * ones, so a tombstone is a compact record of its own (56 bytes for an
 * IPv4 tuple, 88 for others, plus 4 to 8 of index: the tuple, id, file,
 * base sequence numbers, flags and its place in the activity list) in an
 * index of its own.  The caller
 * sees a tombstone as a struct ct_key in state CT_TOMB: a copy the table
 * keeps (one at a time), valid until the next call on the table, which
 * keeps what the caller changed in it (base_seq, base_set, pub.initiator).
 * Room for every tracked connection's tombstone is reserved when the
 * connection is added, so burying one cannot fail.  The table does no
 * callbacks: capture.c decides what an entry's end means. */
#ifndef EK_CAPTURE_CONNTAB_H
#define EK_CAPTURE_CONNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "reasm.h"

enum ct_state {
	CT_OPEN,    /* tracked, not closed */
	CT_CLOSED,  /* tracked, RST seen or FIN both ways with data missing: ends after a quiet spell */
	CT_DONE,    /* tracked, FIN both ways and every byte delivered: ends after a short one */
	CT_TOMB,    /* ended or ignored: keeps only the tuple, the id and the base numbers */
	CT_NSTATES
};

/* Tracked: the sink still hears about it. */
static inline bool ct_tracked(unsigned state)
{
	return state == CT_OPEN || state == CT_CLOSED || state == CT_DONE;
}

/* An entry as the caller sees it: the head of a tracked connection, or
 * the table's copy of a tombstone (state CT_TOMB; no hash, no list). */
struct ct_key {
	struct cap_conn pub;        /* what the sink sees */
	uint64_t hash;              /* of the endpoint pair (its index slot) */
	struct ct_key *prev, *next; /* list of its state, oldest first; next: free list once recycled */
	int64_t last_seen;          /* seconds, reader's monotonic clock */
	uint32_t base_seq[2];       /* per direction, as Wireshark keeps it (stream numbering) */
	bool base_set[2];
	bool dropped;               /* the sink said CAP_IGNORE: not its kind of traffic */
	uint8_t state;              /* enum ct_state; CT_NSTATES once recycled */
};

/* A tracked connection (CT_OPEN, CT_CLOSED, CT_DONE). */
struct ct_conn {
	struct ct_key k;            /* first: a tracked entry's key is its head */
	bool fin_seen[2];
	bool rst_seen;
	bool ignored;               /* no more sink calls (CAP_IGNORE, or ended) */
	struct ek_pktref last_pkt;  /* the connection's latest packet */
	struct reasm_dir rd[2];     /* per direction (dir d: sent by pub.ep[d]) */
};

/* The connection a tracked entry's key heads. */
static inline struct ct_conn *ct_conn_of(struct ct_key *k)
{
	return (struct ct_conn *)(void *)((char *)k - offsetof(struct ct_conn, k));
}

struct conntab;

struct conntab *ct_new(void);
/* Frees every entry, without callbacks. */
void ct_destroy(struct conntab *t);

/* The entry for the packet src -> dst, or NULL; *dir is the packet's
 * direction in it (0 when src is ep[0]).  A tombstone comes as the
 * table's copy (see above). */
struct ct_key *ct_lookup(struct conntab *t, const struct ek_endpoint *src, const struct ek_endpoint *dst,
			 int *dir);

/* A new zeroed connection in state CT_OPEN with ep[0], ep[1] set, or NULL
 * when out of memory (also for its tombstone's room).  The caller fills
 * the rest of pub. */
struct ct_conn *ct_add(struct conntab *t, const struct ek_endpoint *ep0, const struct ek_endpoint *ep1,
		       int64_t now);

/* Unlink and recycle an entry, a tombstone too (a connection's reasm
 * buffers must be freed already). */
void ct_del(struct conntab *t, struct ct_key *k);

/* Mark activity: the entry moves to the tail of its list (a tombstone
 * keeps the changes made to its copy). */
void ct_touch(struct conntab *t, struct ct_key *k, int64_t now);

/* Move a connection to another tracked state's list (as most recent). */
void ct_move(struct conntab *t, struct ct_conn *c, enum ct_state s, int64_t now);

/* The connection (its reasm buffers freed) becomes a tombstone: its key
 * is kept, c is recycled.  The tombstone's copy; never NULL (its room was
 * reserved by ct_add). */
struct ct_key *ct_bury(struct conntab *t, struct ct_conn *c, int64_t now);

/* A tombstone (its copy) becomes an open connection again with the same
 * key (id, endpoints, base sequence numbers; pub.user NULL, the rest
 * zeroed and reassembly reset); the tombstone is recycled.  NULL when out
 * of memory (the tombstone stays). */
struct ct_conn *ct_raise(struct conntab *t, struct ct_key *tomb, int64_t now);

/* Least recently active entry of a state, or NULL (a tombstone: its
 * copy). */
struct ct_key *ct_oldest(struct conntab *t, enum ct_state s);

/* Entries in the table / in one state. */
size_t ct_size(const struct conntab *t);
size_t ct_count(const struct conntab *t, enum ct_state s);

#endif
