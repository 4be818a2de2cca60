/* capture/ internal: the reader's state, shared by the TCP path
 * (capture.c) and the UDP flows (udpflow.c). */
#ifndef EK_CAPTURE_READER_H
#define EK_CAPTURE_READER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "conntab.h"
#include "reasm.h"

struct ipfrag;

struct cap_reader {
	struct src *src;
	uint32_t file_index;
	int dlt;
	struct cap_opts o;
	struct cap_sink sink;
	struct cap_stats st;
	struct conntab *ct;
	struct conntab *ut;   /* UDP flows (udpflow.c) */
	struct reasm_pool pool;
	struct ipfrag *frag;  /* IP fragments being reassembled (NULL: out of memory, skipped) */
	uint64_t next_id;
	uint64_t next_udp_id; /* UDP flows are numbered apart (Wireshark's udp.stream) */
	int64_t now;          /* latest packet second seen: never runs backwards; a lone packet far ahead does not move it (cap_run) */
	int64_t expired_at;   /* expire() ran fully for this value of now ... */
	bool expired;         /* ... (nothing more can expire until now changes) */
	int64_t linger, done_linger;
	struct ek_pktref last; /* latest packet read */
	cap_progress_fn progress; /* cap_set_progress */
	volatile sig_atomic_t stop; /* cap_stop (a signal handler) */
	uint64_t max_packets, max_seconds; /* cap_set_limits; 0 = none */
	void *progress_ctx;
	uint64_t progress_every;
	void (*flush)(void *ctx);  /* cap_set_flush */
	void *flush_ctx;
	bool filtered;             /* a BPF filter is set (cap_set_filter): records are tested */
	bool evidence;             /* -w: frames and file indexes are the evidence files' */
	uint64_t ev_frames;        /* packets in the evidence file being written */
};

/* The table an entry lives in: UDP flows have their own (own ids). */
static inline struct conntab *cap_table_of(const struct cap_reader *r, const struct ct_key *k)
{
	return k->pub.udp ? r->ut : r->ct;
}

/* capture.c: connection life, for both tables. */
void cap_conn_opened(struct cap_reader *r, struct ct_conn *c, const struct ek_pktref *p);
struct ct_key *cap_end_conn(struct cap_reader *r, struct ct_conn *c, enum cap_end why, const struct ek_pktref *p,
			    bool tomb);
/* After the sink's calls about c: end it if the sink said CAP_IGNORE. */
bool cap_ended_if_ignored(struct cap_reader *r, struct ct_conn *c, const struct ek_pktref *p);

/* The sink said CAP_IGNORE: no more calls about c but conn_end. */
static inline void cap_mark_ignored(struct ct_conn *c)
{
	c->ignored = true;
	c->k.dropped = true;
}

#endif
