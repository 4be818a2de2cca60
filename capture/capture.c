/* The reader: source -> decode -> connection table -> reassembly -> sink.
 *
 * Connection numbering follows Wireshark's tcp.stream: a packet belongs
 * to the entry of its 5-tuple, and only a SYN (without ACK) whose
 * sequence number differs from its direction's base sequence number
 * starts a new connection on a tuple that is already known.  Ended and
 * ignored connections stay in the table as tombstones (no buffers, no
 * callbacks) so their late packets do not make new ids. */
#include "capture.h"

#include <signal.h>
#include <time.h>

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "conntab.h"
#include "decode.h"
#include "ipfrag.h"
#include "reader.h"
#include "reasm.h"
#include "rotate.h"
#include "source.h"
#include "udpflow.h"

#define DEF_CONN_OOO ((size_t)1 << 20)
#define DEF_TOTAL_OOO ((size_t)64 << 20)
#define DEF_MAX_CONNS ((size_t)1000000)
#define DEF_IDLE 600
/* A closed connection waits this long for stragglers (retransmitted
 * FINs, a last ACK, data that fills a hole) before conn_end. */
#define CLOSE_LINGER 10
/* The same for a connection closed cleanly (FIN both ways, nothing
 * missing): only retransmissions and a last ACK can follow, which would
 * change nothing.  Short, because such connections are most of a busy
 * capture, and each holds its state until it ends (Zeek's
 * tcp_close_delay is 5 s). */
#define DONE_LINGER 1

#define CONN_OF(pub) ct_conn_of((struct ct_key *)(void *)((char *)(pub) - offsetof(struct ct_key, pub)))

/* ---- sink calls ---------------------------------------------------- */

struct dirctx {
	struct cap_reader *r;
	struct ct_conn *c;
	int dir;
};

static bool cb_data(void *ctx, const uint8_t *b, size_t n, const struct ek_pktref *p)
{
	struct dirctx *x = ctx;
	if (x->c->ignored) return false;
	if (x->r->sink.data && x->r->sink.data(x->r->sink.ctx, &x->c->k.pub, x->dir, b, n, p) == CAP_IGNORE)
		cap_mark_ignored(x->c);
	return !x->c->ignored;
}

static bool cb_gap(void *ctx, uint64_t missing, const struct ek_pktref *p)
{
	struct dirctx *x = ctx;
	if (x->c->ignored) return false;
	x->r->st.gaps++;
	x->r->st.gap_bytes += missing;
	if (x->r->sink.gap) x->r->sink.gap(x->r->sink.ctx, &x->c->k.pub, x->dir, missing, p);
	return true;
}

static bool cb_flag(void *ctx, enum cap_flag f, const struct ek_pktref *p)
{
	struct dirctx *x = ctx;
	if (x->c->ignored) return false;
	if (x->r->sink.flag) x->r->sink.flag(x->r->sink.ctx, &x->c->k.pub, x->dir, f, p);
	return true;
}

static const struct reasm_cb CB = { cb_data, cb_gap, cb_flag };

/* ---- connection life ----------------------------------------------- */

/* Report the end of a tracked connection (flushing what reassembly still
 * holds unless the sink ignored it), then keep a tombstone (returned) or
 * forget it (NULL).  Either way c is recycled. */
struct ct_key *cap_end_conn(struct cap_reader *r, struct ct_conn *c, enum cap_end why, const struct ek_pktref *p,
			    bool tomb)
{
	struct conntab *tab = cap_table_of(r, &c->k);
	/* a direction whose FIN waits for the other's bytes goes second */
	int first = c->rd[0].fin_wait ? 1 : 0;
	for (int i = 0; i < 2 && !c->ignored; i++) {
		int d = i ? 1 - first : first;
		struct dirctx x = { r, c, d };
		reasm_finish(&c->rd[d], &r->pool, p, &CB, &x);
	}
	reasm_free(&c->rd[0], &r->pool);
	reasm_free(&c->rd[1], &r->pool);
	if (r->sink.conn_end) r->sink.conn_end(r->sink.ctx, &c->k.pub, why, p);
	c->k.pub.user = NULL;
	c->ignored = true;
	if (tomb) return ct_bury(tab, c, r->now);
	ct_del(tab, &c->k);
	return NULL;
}

/* After the sink's calls about c: end it if the sink said CAP_IGNORE. */
bool cap_ended_if_ignored(struct cap_reader *r, struct ct_conn *c, const struct ek_pktref *p)
{
	if (!c->ignored || !ct_tracked(c->k.state)) return false;
	cap_end_conn(r, c, CAP_END_CLOSED, p, true);
	return true;
}

/* Idle connections, closed ones past their linger, and old tombstones. */
static void expire_now(struct cap_reader *r)
{
	struct ct_key *k;
	int64_t idle = r->o.idle_timeout_sec;
	r->expired = true;
	r->expired_at = r->now;
	while ((k = ct_oldest(r->ct, CT_OPEN)) && r->now - k->last_seen > idle) {
		struct ct_conn *c = ct_conn_of(k);
		cap_end_conn(r, c, CAP_END_IDLE, &c->last_pkt, true);
	}
	/* closed connections end in the order of their last packets, from
	 * both lists (each in that order) */
	for (;;) {
		struct ct_key *a = ct_oldest(r->ct, CT_CLOSED), *b = ct_oldest(r->ct, CT_DONE);
		if (a && r->now - a->last_seen <= r->linger) a = NULL;
		if (b && r->now - b->last_seen <= r->done_linger) b = NULL;
		if (!a && !b) break;
		struct ct_conn *ca = a ? ct_conn_of(a) : NULL, *cb = b ? ct_conn_of(b) : NULL;
		struct ct_conn *c = !cb || (ca && ca->last_pkt.frame < cb->last_pkt.frame) ? ca : cb;
		cap_end_conn(r, c, CAP_END_CLOSED, &c->last_pkt, true);
	}
	while ((k = ct_oldest(r->ct, CT_TOMB)) && r->now - k->last_seen > idle)
		ct_del(r->ct, k);
	udp_expire(r);
}

/* Every packet asks; once a second of packet time something is done.
 * List heads are the least recently active entries, and an entry only
 * ever becomes active at now: within one second of packet time, what did
 * not expire at its first packet does not expire later. */
static inline void expire(struct cap_reader *r)
{
	if (!r->expired || r->expired_at != r->now) expire_now(r);
}

/* Table full: a tombstone goes first, else the least recently active. */
static void evict_one(struct cap_reader *r, const struct ek_pktref *p)
{
	struct ct_key *k = ct_oldest(r->ct, CT_TOMB);
	if (k) {
		ct_del(r->ct, k);
		return;
	}
	k = NULL;
	for (enum ct_state s = CT_OPEN; s < CT_TOMB; s++) {
		struct ct_key *o = ct_oldest(r->ct, s);
		if (o && (!k || o->last_seen < k->last_seen)) k = o;
	}
	if (!k) return;
	r->st.conns_evicted++;
	cap_end_conn(r, ct_conn_of(k), CAP_END_EVICTED, p, false);
}

/* The base sequence numbers (stream numbering) and who started it. */
static void note_tuple_new(struct ct_key *k, int dir, const struct dec_tcp *t)
{
	bool syn = t->flags & TCPF_SYN, ack = t->flags & TCPF_ACK;
	if (!k->base_set[dir]) {
		k->base_seq[dir] = syn ? t->seq : t->seq - 1;
		k->base_set[dir] = true;
	}
	if (ack && !k->base_set[1 - dir]) {
		k->base_seq[1 - dir] = t->ack - 1;
		k->base_set[1 - dir] = true;
	}
	if (syn && k->pub.initiator < 0 && dir == (ack ? 1 : 0)) k->pub.initiator = 0;
}

/* After the first packets of each side there is nothing left to note. */
static inline void note_tuple(struct ct_key *k, int dir, const struct dec_tcp *t)
{
	if (!k->base_set[0] || !k->base_set[1] || (k->pub.initiator < 0 && (t->flags & TCPF_SYN)))
		note_tuple_new(k, dir, t);
}

void cap_conn_opened(struct cap_reader *r, struct ct_conn *c, const struct ek_pktref *p)
{
	if (!c->k.pub.udp) r->st.conns++;
	if (r->sink.conn_open && r->sink.conn_open(r->sink.ctx, &c->k.pub, p) == CAP_IGNORE) cap_mark_ignored(c);
}

/* Nothing waits in either direction: no hole in its grace window, no FIN
 * held back.  Nearly every packet, so one test first. */
static inline bool settled(const struct ct_conn *c)
{
	return !reasm_holey(&c->rd[0]) && !reasm_holey(&c->rd[1]) && !c->rd[0].fin_wait && !c->rd[1].fin_wait;
}

/* A packet of c was read: the grace windows of holes (ACKs ahead of their
 * data), then the FINs held for the other direction's bytes. */
static bool tick_waits(struct cap_reader *r, struct ct_conn *c)
{
	bool ok = true;
	for (int d = 0; d < 2 && ok; d++)
		if (reasm_holey(&c->rd[d])) {
			struct dirctx x = { r, c, d };
			ok = reasm_tick(&c->rd[d], &r->pool, &CB, &x);
		}
	for (int d = 0; d < 2 && ok; d++)
		if (c->rd[d].fin_wait) {
			struct dirctx x = { r, c, d };
			ok = reasm_fin_ready(&c->rd[d], &c->rd[1 - d], &r->pool, &CB, &x);
		}
	return ok;
}

static void tcp_packet(struct cap_reader *r, const struct dec_tcp *t, const struct ek_pktref *p)
{
	int dir = 0;
	bool syn = t->flags & TCPF_SYN, ack = t->flags & TCPF_ACK;
	struct ct_key *k = ct_lookup(r->ct, &t->src, &t->dst, &dir);
	struct ct_conn *c = NULL;

	/* Wireshark's rule for a new stream on a known tuple */
	if (k && syn && !ack && k->base_set[dir] && t->seq != k->base_seq[dir]) {
		if (k->state == CT_TOMB) ct_del(r->ct, k);
		else cap_end_conn(r, ct_conn_of(k), CAP_END_REUSED, p, false);
		k = NULL;
	}
	if (k && syn && !ack && !k->dropped && k->state != CT_OPEN) {
		/* A retried SYN (same ISN) after the connection was reset or
		 * closed keeps Wireshark's stream id, but is a new conversation
		 * for the sink. */
		if (k->state != CT_TOMB) k = cap_end_conn(r, ct_conn_of(k), CAP_END_REUSED, p, true);
		c = ct_raise(r->ct, k, r->now);
		if (!c) {
			r->st.oom++;
			return;
		}
		cap_conn_opened(r, c, p);
	} else if (k && k->state == CT_TOMB) {
		/* ended or ignored: only the numbering still counts */
		ct_touch(r->ct, k, r->now);
		note_tuple(k, dir, t);
		return;
	} else if (k) {
		c = ct_conn_of(k);
		/* the sink's state for this connection: needed with the payload,
		 * cold by now, fetched while reassembly runs */
		if (t->caplen && c->k.pub.user) {
			__builtin_prefetch(c->k.pub.user);
			__builtin_prefetch((char *)c->k.pub.user + 64);
		}
		ct_touch(r->ct, k, r->now);
	} else {
		while (ct_size(r->ct) >= r->o.max_conns) evict_one(r, p);
		bool synack = syn && ack; /* its receiver is the client */
		c = ct_add(r->ct, synack ? &t->dst : &t->src, synack ? &t->src : &t->dst, r->now);
		if (!c) {
			r->st.oom++; /* nothing sensible left to do with it */
			return;
		}
		dir = synack ? 1 : 0;
		c->k.pub.id = r->next_id++;
		c->k.pub.file_index = r->file_index;
		c->k.pub.initiator = syn ? 0 : -1;
		cap_conn_opened(r, c, p);
	}

	note_tuple(&c->k, dir, t);
	if (t->flags & TCPF_FIN) c->fin_seen[dir] = true;
	if (t->flags & TCPF_RST) c->rst_seen = true;
	c->last_pkt = *p;

	if (cap_ended_if_ignored(r, c, p)) return;

	bool ok = true;
	if (ack && !reasm_ack_seen(&c->rd[1 - dir], t->ack)) {
		struct dirctx x = { r, c, 1 - dir };
		ok = reasm_ack(&c->rd[1 - dir], &r->pool, t->ack, syn, p, &CB, &x);
	}
	if (ok && !reasm_bare_ack(&c->rd[dir], t->seq, t->len, t->flags)) {
		struct dirctx x = { r, c, dir };
		struct reasm_in in = { t->seq, t->flags, t->payload, t->caplen, t->len, t->ack };
		ok = reasm_segment(&c->rd[dir], &r->pool, &in, p, &CB, &x);
	}
	if (ok && !settled(c)) ok = tick_waits(r, c);
	if (!cap_ended_if_ignored(r, c, p) && (c->k.state == CT_OPEN || c->k.state == CT_CLOSED)) {
		bool clean = !c->rst_seen && reasm_complete(&c->rd[0]) && reasm_complete(&c->rd[1]);
		if (clean) ct_move(r->ct, c, CT_DONE, r->now);
		else if (c->k.state == CT_OPEN && (c->rst_seen || (c->fin_seen[0] && c->fin_seen[1])))
			ct_move(r->ct, c, CT_CLOSED, r->now);
	}
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = (*(struct ct_conn *const *)a)->k.pub.id, y = (*(struct ct_conn *const *)b)->k.pub.id;
	return x < y ? -1 : x > y;
}

/* End of input: every tracked connection ends, in id order (TCP, then
 * the UDP flows). */
static void end_all_in(struct cap_reader *r, struct conntab *tab)
{
	size_t n = ct_count(tab, CT_OPEN) + ct_count(tab, CT_CLOSED) + ct_count(tab, CT_DONE);
	if (!n) return;
	struct ct_conn **v = malloc(n * sizeof *v);
	if (!v) { /* no order then */
		struct ct_key *k;
		while ((k = ct_oldest(tab, CT_OPEN)) || (k = ct_oldest(tab, CT_CLOSED)) ||
		       (k = ct_oldest(tab, CT_DONE)))
			cap_end_conn(r, ct_conn_of(k), CAP_END_EOF, &r->last, false);
		return;
	}
	size_t m = 0;
	for (enum ct_state s = CT_OPEN; s < CT_TOMB; s++)
		for (struct ct_key *k = ct_oldest(tab, s); k && m < n; k = k->next) v[m++] = ct_conn_of(k);
	qsort(v, m, sizeof *v, by_id);
	for (size_t i = 0; i < m; i++) cap_end_conn(r, v[i], CAP_END_EOF, &r->last, false);
	free(v);
}

static void end_all(struct cap_reader *r)
{
	end_all_in(r, r->ct);
	end_all_in(r, r->ut);
}

/* ---- public API ---------------------------------------------------- */

/* The reader around an opened source (which it owns from now on). */
static struct cap_reader *reader_new(struct src *src, const char *name, uint32_t file_index,
				     const struct cap_opts *o, const struct cap_sink *sink,
				     char errbuf[CAP_ERRBUF_SIZE])
{
	struct cap_reader *r = calloc(1, sizeof *r);
	if (r) {
		r->ct = ct_new();
		r->ut = ct_new();
	}
	if (!r || !r->ct || !r->ut) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%.200s: out of memory", name);
		if (r) {
			if (r->ct) ct_destroy(r->ct);
			if (r->ut) ct_destroy(r->ut);
		}
		free(r);
		src_close(src);
		return NULL;
	}
	if (o) r->o = *o;
	if (!r->o.max_conn_ooo_bytes) r->o.max_conn_ooo_bytes = DEF_CONN_OOO;
	if (!r->o.max_total_ooo_bytes) r->o.max_total_ooo_bytes = DEF_TOTAL_OOO;
	if (!r->o.max_conns) r->o.max_conns = DEF_MAX_CONNS;
	if (!r->o.idle_timeout_sec) r->o.idle_timeout_sec = DEF_IDLE;
	r->linger = r->o.idle_timeout_sec < CLOSE_LINGER ? r->o.idle_timeout_sec : CLOSE_LINGER;
	r->done_linger = r->linger < DONE_LINGER ? r->linger : DONE_LINGER;
	if (sink) r->sink = *sink;
	r->file_index = file_index;
	reasm_pool_init(&r->pool, r->o.max_conn_ooo_bytes, r->o.max_total_ooo_bytes);
	r->frag = ipfrag_new(r->o.max_total_ooo_bytes / 8); /* within the out-of-order budget's share of --max-memory */
	r->src = src;
	r->dlt = src_dlt(src);
	r->last.file_index = file_index;
	return r;
}

struct cap_reader *cap_open_file(const char *path, uint32_t file_index, const struct cap_opts *o,
				 const struct cap_sink *sink, char errbuf[CAP_ERRBUF_SIZE])
{
	struct src *src = src_open(path, o && o->read_ahead, errbuf);
	return src ? reader_new(src, path, file_index, o, sink, errbuf) : NULL;
}

struct cap_reader *cap_open_live(const struct cap_live_opts *lo, uint32_t file_index, const struct cap_opts *o,
				 const struct cap_sink *sink, char errbuf[CAP_ERRBUF_SIZE])
{
	int kib = lo->buffer_kib > 0 ? lo->buffer_kib : CAP_DEFAULT_BUFFER_KIB;
	struct src *src = src_open_live(lo->iface, lo->snaplen > 0 ? lo->snaplen : CAP_DEFAULT_SNAPLEN, lo->promisc,
					kib > INT32_MAX / 1024 ? INT32_MAX : kib * 1024, errbuf);
	return src ? reader_new(src, lo->iface, file_index, o, sink, errbuf) : NULL;
}

int cap_set_filter(struct cap_reader *r, const char *bpf, char errbuf[CAP_ERRBUF_SIZE])
{
	r->filtered = true;
	return src_set_filter(r->src, bpf, errbuf);
}

int cap_write_to(struct cap_reader *r, const struct cap_evidence *ev, char errbuf[CAP_ERRBUF_SIZE])
{
	if (src_dump_open(r->src, ev, errbuf) != 0) return -1;
	r->evidence = true;
	return 0;
}

void cap_set_limits(struct cap_reader *r, uint64_t max_packets, uint64_t max_seconds)
{
	r->max_packets = max_packets;
	r->max_seconds = max_seconds;
}

void cap_set_flush(struct cap_reader *r, void (*fn)(void *ctx), void *ctx)
{
	r->flush = fn;
	r->flush_ctx = ctx;
}

void cap_stop(struct cap_reader *r)
{
	r->stop = 1;
	src_break(r->src);
}

int cap_list_interfaces(void (*fn)(void *ctx, const char *name, const char *desc), void *ctx,
			char errbuf[CAP_ERRBUF_SIZE])
{
	return src_list_interfaces(fn, ctx, errbuf);
}

static void progress_report(struct cap_reader *r)
{
	uint64_t done = 0, total = 0;
	src_position(r->src, &done, &total);
	r->progress(r->progress_ctx, done, total);
}

void cap_read_ahead(struct cap_reader *r, bool on)
{
	if (r->src) src_read_ahead(r->src, on);
}

void cap_set_progress(struct cap_reader *r, cap_progress_fn fn, void *ctx, uint64_t every)
{
	r->progress = fn;
	r->progress_ctx = ctx;
	r->progress_every = every ? every : 65536;
}

/* Live: packet time is wall time, so quiet periods still expire
 * connections. */
static void live_tick(struct cap_reader *r)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec > r->now) r->now = now.tv_sec;
	expire(r);
}

static int64_t mono_ms(clockid_t clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Live: what the sink wrote and the -w file reach their files. */
static void live_flush(struct cap_reader *r, int64_t now_ms, int64_t *flushed_ms)
{
	*flushed_ms = now_ms;
	if (r->flush) r->flush(r->flush_ctx);
	src_dump_flush(r->src);
}

/* A packet as read: the source's (valid until the next src_next) or the
 * copy held while the packet after it is looked at. */
struct rawpkt {
	const struct pcap_pkthdr *h;
	const uint8_t *data;
	uint64_t frame; /* Wireshark's: every record counts, the filter applies after */
	int dlt;
	bool match;     /* passes the filter */
};

/* The next record that is a packet (pcapng records without one only take
 * a frame number); any other status as src_next gave it. */
static inline enum src_rc read_packet(struct cap_reader *r, uint64_t *seen, struct rawpkt *pk,
				      char errbuf[CAP_ERRBUF_SIZE])
{
	enum src_rc rc;
	while ((rc = src_next(r->src, &pk->h, &pk->data, errbuf)) == SRC_RECORD && !r->stop) ++*seen;
	if (rc != SRC_PACKET) return rc == SRC_RECORD ? SRC_EOF : rc;
	pk->frame = ++*seen;
	pk->dlt = src_pkt_dlt(r->src);
	pk->match = !r->filtered || src_match(r->src, pk->h, pk->data);
	return SRC_PACKET;
}

/* A copy of a packet that outlives the next src_next. */
struct heldpkt {
	struct pcap_pkthdr h;
	uint8_t *buf;
	size_t cap;
};

static bool hold(struct heldpkt *hp, struct rawpkt *pk)
{
	if (pk->h->caplen > hp->cap) {
		uint8_t *b = realloc(hp->buf, pk->h->caplen);
		if (!b) return false;
		hp->buf = b;
		hp->cap = pk->h->caplen;
	}
	hp->h = *pk->h;
	/* a zero-length packet leaves buf NULL, and memcpy(NULL, .., 0) is UB */
	if (pk->h->caplen) memcpy(hp->buf, pk->data, pk->h->caplen);
	pk->h = &hp->h;
	pk->data = hp->buf;
	return true;
}

/* The clock that expiry runs on follows packet time forward.  A packet of
 * a file stamped more than the idle timeout ahead of it either starts a
 * real quiet spell (or a second capture merged after the first), or is a
 * lone broken timestamp: the corpus' pcapng-example.pcapng has a SYN-ACK
 * stamped 2061 among packets of 2015, which would end every connection,
 * its own too.  Only the next packet tells: the jump is real unless that
 * one is back within the idle timeout of the old time (the end of the
 * file confirms it).  So such a packet is held and the next one read
 * ahead (*ahead, *ahead_rc, *have_ahead); false: the packet is an
 * outlier, it does not move the clock (its connection counts it as active
 * now). */
static bool clock_jump_real(struct cap_reader *r, uint64_t *seen, struct rawpkt *pk, struct heldpkt *hp,
			    struct rawpkt *ahead, enum src_rc *ahead_rc, bool *have_ahead, char errbuf[CAP_ERRBUF_SIZE])
{
	if (!hold(hp, pk)) return true; /* out of memory: take the time as it is */
	*ahead_rc = read_packet(r, seen, ahead, errbuf);
	*have_ahead = true;
	return *ahead_rc != SRC_PACKET || (int64_t)ahead->h->ts.tv_sec > r->now + r->o.idle_timeout_sec;
}

int cap_run(struct cap_reader *r, char errbuf[CAP_ERRBUF_SIZE])
{
	int ret = 0;
	bool first = r->st.packets == 0;
	bool live = src_is_live(r->src);
	int64_t t0 = mono_ms(CLOCK_MONOTONIC), flushed = t0;
	int64_t deadline = r->max_seconds ? t0 + (int64_t)r->max_seconds * 1000 : INT64_MAX;
	uint64_t seen = 0; /* records read, before the filter */
	struct rawpkt pk, ahead;
	enum src_rc ahead_rc = SRC_EOF;
	bool have_ahead = false;
	struct heldpkt held = { 0 };
	for (;;) {
		if (r->stop) break;
		if (r->max_packets && r->st.packets >= r->max_packets) break;
		if (live) {
			/* coarse clock: a few ns, every packet; milliseconds late at most */
			int64_t now = mono_ms(CLOCK_MONOTONIC_COARSE);
			if (now >= deadline) break;
			if (now - flushed >= CAP_LIVE_LATENCY_MS) live_flush(r, now, &flushed);
		} else if (r->max_seconds && mono_ms(CLOCK_MONOTONIC) >= deadline) {
			break;
		}
		enum src_rc rc;
		if (have_ahead) {
			have_ahead = false;
			rc = ahead_rc;
			pk = ahead;
		} else {
			rc = read_packet(r, &seen, &pk, errbuf);
		}
		if (rc == SRC_TIMEOUT) {
			/* nothing waiting: the batch is done */
			int64_t now = mono_ms(CLOCK_MONOTONIC);
			live_flush(r, now, &flushed);
			live_tick(r);
			int64_t left = deadline - now;
			if (left <= 0) break;
			src_wait(r->src, left < CAP_LIVE_LATENCY_MS ? (int)left : CAP_LIVE_LATENCY_MS);
			continue;
		}
		if (rc == SRC_EOF) break;
		if (rc == SRC_TRUNCATED) {
			r->st.truncated = true;
			snprintf(r->st.truncated_msg, sizeof r->st.truncated_msg, "%s", errbuf);
			break;
		}
		if (rc == SRC_ERROR) {
			ret = -1;
			break;
		}
		if (!pk.match) continue;
		/* the clock, before the packet's bytes are used: reading ahead
		 * moves them to the held copy */
		int64_t ts = (int64_t)pk.h->ts.tv_sec;
		bool tick = first || ts > r->now;
		if (tick && !first && !live && ts - r->now > r->o.idle_timeout_sec)
			tick = clock_jump_real(r, &seen, &pk, &held, &ahead, &ahead_rc, &have_ahead, errbuf);
		const struct pcap_pkthdr *h = pk.h;
		const uint8_t *data = pk.data;
		r->st.packets++;
		r->st.bytes += h->caplen;
		int dr = r->evidence ? src_dump(r->src, h, data, errbuf) : ROT_SAME;
		if (dr == ROT_DONE) break;
		if (dr == ROT_ERROR) {
			ret = -1;
			break;
		}
		/* live with -w: frames count within the evidence file */
		if (dr == ROT_NEW) r->ev_frames = 0;
		r->ev_frames++;
		if (r->progress && r->st.packets % r->progress_every == 0) progress_report(r);
		/* Field by field, and used in place: a struct built on the stack
		 * and copied whole stalls on store forwarding, every packet. */
		struct ek_pktref *p = &r->last;
		p->frame = !live ? pk.frame : r->evidence ? r->ev_frames : r->st.packets;
		p->ts.sec = (int64_t)h->ts.tv_sec;
		p->ts.nsec = (uint32_t)h->ts.tv_usec;
		p->file_index = r->file_index + (r->evidence ? src_dump_index(r->src) : 0);
		if (tick) r->now = p->ts.sec;
		first = false;
		expire(r);

		struct dec_tcp t;
		struct dec_frag fr;
		enum dec_status ds = dec_frame_frag(pk.dlt, data, h->caplen, h->len, &t, &fr);
		if (ds == DEC_FRAGMENT) {
			r->st.ip_fragments++;
			size_t n = 0;
			const uint8_t *dg = r->frag ? ipfrag_add(r->frag, &fr, r->now, &n) : NULL;
			/* the datagram is this packet's: the one that completed it */
			ds = dg ? dec_reassembled(&fr, dg, n, &t) : DEC_FRAGMENT;
		}
		switch (ds) {
		case DEC_TCP:
			r->st.tcp_packets++;
			if (t.caplen < t.len) r->st.snaplen_cut++;
			tcp_packet(r, &t, p);
			r->st.ooo_overflow = r->pool.ooo_overflow;
			break;
		case DEC_UDP:
			r->st.not_tcp++;
			r->st.udp_packets++;
			udp_packet(r, &t, p);
			break;
		case DEC_NOT_IP: r->st.not_ip++; break;
		case DEC_NOT_TCP: r->st.not_tcp++; break;
		case DEC_FRAGMENT: break;
		case DEC_MALFORMED: r->st.malformed++; break;
		}
	}
	if (live)
		r->st.have_pcap_stats = src_stats(r->src, &r->st.ps_recv, &r->st.ps_drop, &r->st.ps_ifdrop);
	free(held.buf);
	end_all(r);
	r->st.ooo_overflow = r->pool.ooo_overflow;
	if (r->frag) {
		ipfrag_flush(r->frag);
		const struct ipfrag_stats *fs = ipfrag_stats(r->frag);
		r->st.ip_datagrams = fs->datagrams;
		r->st.ip_frag_overlaps = fs->overlaps;
		r->st.ip_frag_dropped = fs->dropped;
	}
	if (r->progress) progress_report(r);
	return ret;
}

const struct cap_stats *cap_get_stats(const struct cap_reader *r) { return &r->st; }

const struct cap_stats *cap_live_stats(struct cap_reader *r)
{
	r->st.have_pcap_stats = src_stats(r->src, &r->st.ps_recv, &r->st.ps_drop, &r->st.ps_ifdrop);
	return &r->st;
}

const char *cap_linktype(const struct cap_reader *r) { return src_dlt_name(r->src); }

void cap_set_secrets(struct cap_reader *r, cap_secrets_fn fn, void *ctx) { src_set_secrets(r->src, fn, ctx); }

void cap_close(struct cap_reader *r)
{
	if (!r) return;
	/* connections still tracked (cap_run not called or not finished) go
	 * without callbacks: the caller is tearing down */
	for (enum ct_state s = CT_OPEN; s < CT_TOMB; s++)
		for (struct ct_key *k = ct_oldest(r->ct, s); k; k = k->next) {
			struct ct_conn *c = ct_conn_of(k);
			reasm_free(&c->rd[0], &r->pool);
			reasm_free(&c->rd[1], &r->pool);
		}
	ct_destroy(r->ct);
	ct_destroy(r->ut); /* UDP flows hold no reassembly buffers */
	ipfrag_free(r->frag);
	src_close(r->src);
	free(r);
}
