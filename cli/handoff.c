#include "handoff.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Small enough to stay in the caches the two cores share, large enough
 * that the threads meet rarely (~1 200 times for 300 MB of TLS). */
#define BLOCKS 4u
#define BLOCK_SIZE ((size_t)128 << 10)
/* Whether the second thread pays is judged as the capture goes: when,
 * over EPOCH_BLOCKS blocks handed over, the sink's thread used less than
 * a third of the CPU of the capture's (bulk data: reading, reassembling
 * and copying are the work, the sink only counts records: 0.1-0.3 there;
 * handshakes 0.9-2.5, ~1.0 for a file whose certificates are known, with
 * single epochs down to 0.44: a half switched such files now and then),
 * the copies cost more than the thread saves, so the next INLINE_CALLS
 * calls are made at once on the capture's thread, without copies; then
 * it is tried again.  Both ways make the same calls in the same order. */
#define EPOCH_BLOCKS 16u
#define INLINE_CALLS 100000u
/* The file's read-ahead thread (capture.h) follows the same judgement:
 * while calls are queued the sink's thread has the other core and a
 * third thread only competes with it (recurring-certs on two files 0.40 s
 * with the reads on the capture's thread, 0.45 s with the third thread);
 * while calls are made at once the capture's thread is the busy one and
 * the reads go to the other core (bulk 0.32 s, 0.49 s without). */

enum kind { K_OPEN, K_DATA, K_GAP, K_FLAG, K_END, K_DGRAM, K_SECRETS };

/* A connection as the sink's thread knows it.  The capture's thread
 * writes it once (K_OPEN) and then only reads `ignored`; the sink's
 * thread frees it at K_END, the capture's last word about it. */
struct proxy {
	struct cap_conn conn;  /* conn.user: the sink's state */
	atomic_bool ignored;   /* the sink said CAP_IGNORE: tell the capture */
	bool dead;             /* sink's thread: ended at CAP_IGNORE, the rest dropped */
};

/* One queued call; n bytes of payload follow, padded to 8. */
struct rec {
	uint8_t kind, dir, arg;
	uint32_t n;
	struct proxy *px;
	struct ek_pktref p;
	uint64_t a;            /* GAP: missing; DGRAM: len */
};

struct handoff {
	struct cap_sink inner, outer;
	cap_secrets_fn secrets;
	void *secrets_ctx;
	void (*after_batch)(void *ctx);
	void *after_ctx;
	uint8_t *buf;                  /* BLOCKS x BLOCK_SIZE */
	size_t used[BLOCKS];
	unsigned tail;                 /* capture's thread: the block being filled */
	unsigned head;                 /* sink's thread: the block being replayed */
	/* under mu */
	unsigned filled;               /* blocks handed over, not yet replayed */
	bool eof, sink_waiting, capture_waiting;
	pthread_mutex_t mu;
	pthread_cond_t to_sink, to_capture;
	bool threaded;                 /* handoff_run: the capture's thread is running */
	/* capture's thread: calls made at once for now (see EPOCH_BLOCKS) */
	bool direct;
	uint32_t direct_calls, epoch_blocks;
	uint64_t n_queued, n_direct, n_switches; /* handoff_counts */
	int64_t epoch_cpu0, epoch_sink0;
	int64_t sink_cpu_ns;           /* under mu: CPU time the sink's thread spent replaying */
	uint64_t drop_gaps, drop_gap_bytes, oom;
	struct cap_reader *reader;     /* handoff_cap_run: the file's, for its read-ahead */
};

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the sink's thread ------------------------------------------------ */

/* Make one call on the real sink.  The verdict matters only to a call
 * made on the capture's thread (put: one too large to queue). */
static enum cap_verdict deliver(struct handoff *h, const struct rec *r, const uint8_t *b, size_t n)
{
	const struct cap_sink *s = &h->inner;
	struct proxy *px = r->px;
	enum cap_verdict v = CAP_KEEP;
	switch ((enum kind)r->kind) {
	case K_SECRETS:
		if (h->secrets) h->secrets(h->secrets_ctx, b, n);
		return CAP_KEEP;
	case K_END:
		if (!px->dead && s->conn_end) s->conn_end(s->ctx, &px->conn, (enum cap_end)r->arg, &r->p);
		free(px);
		return CAP_KEEP;
	case K_OPEN:
		if (s->conn_open) v = s->conn_open(s->ctx, &px->conn, &r->p);
		break;
	case K_DATA:
		if (!px->dead && s->data) v = s->data(s->ctx, &px->conn, r->dir, b, n, &r->p);
		break;
	case K_DGRAM:
		if (!px->dead && s->datagram) v = s->datagram(s->ctx, &px->conn, r->dir, b, n, r->a, &r->p);
		break;
	case K_GAP:
		if (px->dead) { /* a serial run never counts these */
			h->drop_gaps++;
			h->drop_gap_bytes += r->a;
		} else if (s->gap) {
			s->gap(s->ctx, &px->conn, r->dir, r->a, &r->p);
		}
		break;
	case K_FLAG:
		if (!px->dead && s->flag) s->flag(s->ctx, &px->conn, r->dir, (enum cap_flag)r->arg, &r->p);
		break;
	}
	if (v == CAP_IGNORE && !px->dead) {
		/* a serial capture ends it now, before its next packet */
		px->dead = true;
		atomic_store_explicit(&px->ignored, true, memory_order_relaxed);
		if (s->conn_end) s->conn_end(s->ctx, &px->conn, CAP_END_CLOSED, &r->p);
	}
	return v;
}

static void replay(struct handoff *h, const uint8_t *blk, size_t used)
{
	size_t off = 0;
	while (off < used) {
		const struct rec *r = (const struct rec *)(const void *)(blk + off);
		deliver(h, r, blk + off + sizeof *r, r->n);
		off += sizeof *r + pad8(r->n);
	}
}

/* Replay blocks as they are handed over, until the capture is done. */
static void consume(struct handoff *h)
{
	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (!h->filled && !h->eof) {
			h->sink_waiting = true;
			pthread_cond_wait(&h->to_sink, &h->mu);
			h->sink_waiting = false;
		}
		bool done = !h->filled;
		pthread_mutex_unlock(&h->mu);
		if (done) return;
		int64_t t0 = thread_cpu_ns();
		replay(h, h->buf + (size_t)h->head * BLOCK_SIZE, h->used[h->head]);
		if (h->after_batch) h->after_batch(h->after_ctx);
		int64_t t1 = thread_cpu_ns();
		pthread_mutex_lock(&h->mu);
		h->sink_cpu_ns += t1 - t0;
		h->head = (h->head + 1) % BLOCKS;
		h->filled--;
		if (h->capture_waiting) pthread_cond_signal(&h->to_capture);
		pthread_mutex_unlock(&h->mu);
	}
}

/* ---- the capture's thread ------------------------------------------- */

/* Over an epoch of blocks handed over: did the sink's thread work less
 * than a third as much as the capture's?  (Under mu.) */
static bool sink_cheaper(struct handoff *h)
{
	if (!h->epoch_blocks++) {
		h->epoch_cpu0 = thread_cpu_ns();
		h->epoch_sink0 = h->sink_cpu_ns;
		return false;
	}
	if (h->epoch_blocks <= EPOCH_BLOCKS) return false;
	h->epoch_blocks = 0;
	return 3 * (h->sink_cpu_ns - h->epoch_sink0) < thread_cpu_ns() - h->epoch_cpu0;
}

/* Hand the block being filled over (if it holds anything) and take the
 * next free one, waiting while all are handed over.  wait_empty: also
 * wait until the sink's thread has replayed everything. */
static void hand_over(struct handoff *h, bool wait_empty)
{
	pthread_mutex_lock(&h->mu);
	if (h->used[h->tail]) {
		h->filled++;
		h->tail = (h->tail + 1) % BLOCKS;
		if (h->sink_waiting) pthread_cond_signal(&h->to_sink);
		if (sink_cheaper(h)) {
			h->n_switches++;
			h->direct = true;
			h->direct_calls = 0;
			wait_empty = true;
		}
	}
	while (h->filled == BLOCKS || (wait_empty && h->filled)) {
		h->capture_waiting = true;
		pthread_cond_wait(&h->to_capture, &h->mu);
		h->capture_waiting = false;
	}
	bool now_direct = h->direct;
	pthread_mutex_unlock(&h->mu);
	h->used[h->tail] = 0;
	if (now_direct && h->reader) cap_read_ahead(h->reader, true);
}

/* Queue a call, or make it here when it does not fit in a block: once the
 * sink's thread has replayed everything before it, it is idle and the
 * call may run here (the mutex orders the two threads' memory).  Without
 * the second thread every call is made at once. */
static enum cap_verdict put(struct handoff *h, struct rec *r, const uint8_t *b, size_t n)
{
	if (h->threaded && !h->direct && n <= BLOCK_SIZE - sizeof *r) {
		size_t need = sizeof *r + pad8(n);
		if (h->used[h->tail] + need > BLOCK_SIZE) hand_over(h, false);
		if (!h->direct) { /* (hand_over may have just switched) */
			uint8_t *dst = h->buf + (size_t)h->tail * BLOCK_SIZE + h->used[h->tail];
			r->n = (uint32_t)n;
			memcpy(dst, r, sizeof *r);
			if (n) memcpy(dst + sizeof *r, b, n);
			h->used[h->tail] += need;
			h->n_queued++;
			return CAP_KEEP;
		}
	}
	if (h->direct) {
		h->n_direct++;
		enum cap_verdict v = deliver(h, r, b, n);
		if (++h->direct_calls % 4096 == 0 && h->after_batch) h->after_batch(h->after_ctx);
		if (h->direct_calls >= INLINE_CALLS) {
			h->direct = false;
			if (h->reader) cap_read_ahead(h->reader, false);
		}
		return v;
	}
	if (h->threaded) hand_over(h, true); /* too large for a block */
	return deliver(h, r, b, n);
}

static struct rec mkrec(enum kind k, struct proxy *px, int dir, unsigned arg, uint64_t a, const struct ek_pktref *p)
{
	struct rec r = { .kind = (uint8_t)k, .dir = (uint8_t)dir, .arg = (uint8_t)arg, .px = px, .a = a };
	if (p) r.p = *p;
	return r;
}

static enum cap_verdict h_open(void *ctx, struct cap_conn *c, const struct ek_pktref *p)
{
	struct handoff *h = ctx;
	struct proxy *px = malloc(sizeof *px);
	if (!px) {
		h->oom++;
		return CAP_IGNORE;
	}
	px->conn = *c;
	px->conn.user = NULL;
	atomic_init(&px->ignored, false);
	px->dead = false;
	c->user = px;
	struct rec r = mkrec(K_OPEN, px, 0, 0, 0, p);
	return put(h, &r, NULL, 0);
}

static bool ignored(const struct proxy *px)
{
	return !px || atomic_load_explicit(&px->ignored, memory_order_relaxed);
}

static enum cap_verdict h_data(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t n,
			       const struct ek_pktref *p)
{
	struct handoff *h = ctx;
	if (ignored(c->user)) return CAP_IGNORE;
	/* a chunk is never split: the sink sees the calls a serial run makes */
	struct rec r = mkrec(K_DATA, c->user, dir, 0, 0, p);
	return put(h, &r, b, n);
}

static enum cap_verdict h_dgram(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t caplen, size_t len,
				const struct ek_pktref *p)
{
	struct handoff *h = ctx;
	if (ignored(c->user)) return CAP_IGNORE;
	struct rec r = mkrec(K_DGRAM, c->user, dir, 0, len, p);
	return put(h, &r, b, caplen);
}

static void h_gap(void *ctx, struct cap_conn *c, int dir, uint64_t missing, const struct ek_pktref *p)
{
	if (!c->user) return;
	struct rec r = mkrec(K_GAP, c->user, dir, 0, missing, p);
	put(ctx, &r, NULL, 0);
}

static void h_flag(void *ctx, struct cap_conn *c, int dir, enum cap_flag f, const struct ek_pktref *p)
{
	if (!c->user) return;
	struct rec r = mkrec(K_FLAG, c->user, dir, (unsigned)f, 0, p);
	put(ctx, &r, NULL, 0);
}

static void h_end(void *ctx, struct cap_conn *c, enum cap_end why, const struct ek_pktref *p)
{
	if (!c->user) return;
	struct rec r = mkrec(K_END, c->user, 0, (unsigned)why, 0, p);
	c->user = NULL;
	put(ctx, &r, NULL, 0);
}

void handoff_secrets(void *ctx, const uint8_t *text, size_t len)
{
	struct rec r = mkrec(K_SECRETS, NULL, 0, 0, 0, NULL);
	put(ctx, &r, text, len);
}

/* ---- life ------------------------------------------------------------ */

struct handoff *handoff_new(const struct cap_sink *inner, cap_secrets_fn secrets, void *secrets_ctx,
			    void (*after_batch)(void *ctx), void *after_ctx)
{
	struct handoff *h = calloc(1, sizeof *h);
	if (!h) return NULL;
	if (!(h->buf = malloc(BLOCKS * BLOCK_SIZE))) {
		free(h);
		return NULL;
	}
	h->inner = *inner;
	h->outer = (struct cap_sink){ h, h_open, h_data, h_gap, h_flag, h_end, h_dgram };
	h->secrets = secrets;
	h->secrets_ctx = secrets_ctx;
	h->after_batch = after_batch;
	h->after_ctx = after_ctx;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->to_sink, NULL);
	pthread_cond_init(&h->to_capture, NULL);
	return h;
}

const struct cap_sink *handoff_sink(struct handoff *h) { return &h->outer; }

struct producer {
	struct handoff *h;
	int (*fn)(void *ctx);
	void *ctx;
	int rc;
};

static void *capture_thread(void *arg)
{
	struct producer *p = arg;
	struct handoff *h = p->h;
	if (h->reader) cap_read_ahead(h->reader, false); /* calls are queued at first */
	p->rc = p->fn(p->ctx);
	hand_over(h, false);
	pthread_mutex_lock(&h->mu);
	h->eof = true;
	if (h->sink_waiting) pthread_cond_signal(&h->to_sink);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int handoff_run(struct handoff *h, int (*produce)(void *ctx), void *ctx)
{
	struct producer p = { h, produce, ctx, 0 };
	pthread_t thread;
	h->threaded = true;
	if (pthread_create(&thread, NULL, capture_thread, &p) == 0) {
		consume(h);
		pthread_join(thread, NULL);
		h->threaded = false;
		h->direct = false;
	} else {
		h->threaded = false; /* every call made at once, here */
		p.rc = produce(ctx);
	}
	return p.rc;
}

struct cap_job {
	struct cap_reader *r;
	char *errbuf;
};

static int run_cap(void *ctx)
{
	struct cap_job *j = ctx;
	return cap_run(j->r, j->errbuf);
}

int handoff_cap_run(struct handoff *h, struct cap_reader *r, char errbuf[CAP_ERRBUF_SIZE])
{
	struct cap_job j = { r, errbuf };
	h->reader = r;
	int rc = handoff_run(h, run_cap, &j);
	h->reader = NULL;
	return rc;
}

void handoff_dropped(const struct handoff *h, uint64_t *gaps, uint64_t *gap_bytes)
{
	*gaps = h->drop_gaps;
	*gap_bytes = h->drop_gap_bytes;
}

uint64_t handoff_conns_oom(const struct handoff *h) { return h->oom; }

void handoff_counts(const struct handoff *h, uint64_t *queued, uint64_t *direct, uint64_t *switches)
{
	*queued = h->n_queued;
	*direct = h->n_direct;
	*switches = h->n_switches;
}

void handoff_free(struct handoff *h)
{
	if (!h) return;
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->to_sink);
	pthread_cond_destroy(&h->to_capture);
	free(h->buf);
	free(h);
}
