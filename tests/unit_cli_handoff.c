/* cli/handoff.h: the sink on a second thread gets exactly the calls a
 * serial run makes.  A recording sink (ignoring some connections, as the
 * dissector ignores what is not TLS) logs every call it gets; the log of
 * a capture read straight into it must equal the log through the
 * handoff, threaded and not, on the samples and the public corpus, and
 * the capture's hole counts must agree once the handoff's are taken off.
 * Synthetic calls check what captures rarely have: calls too large for a
 * block (made in place, in order), and a verdict the capture learns late. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/handoff.h"
#include "../common/strbuf.h"
#include "check.h"

struct log {
	struct ek_str t;
	uint64_t calls;
};

#define logf_(l, ...) ((l)->calls++, ek_str_printf(&(l)->t, __VA_ARGS__))

static uint64_t fnv(const uint8_t *b, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* The recording sink.  Every third connection is "not ours": CAP_IGNORE
 * at its first data (the dissector decides by content, at some call). */
struct rec_sink {
	struct log log;
	int ignore_mod;
};

struct conn_state {
	uint64_t id;
	bool udp;
};

static enum cap_verdict r_open(void *ctx, struct cap_conn *c, const struct ek_pktref *p)
{
	struct rec_sink *s = ctx;
	struct conn_state *cs = malloc(sizeof *cs);
	if (!cs) abort();
	cs->id = c->id;
	cs->udp = c->udp;
	c->user = cs;
	char a[EK_ENDPOINT_STRLEN], b[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&c->ep[0], true, a, sizeof a);
	ek_endpoint_str(&c->ep[1], true, b, sizeof b);
	logf_(&s->log, "open %s%llu %s %s %d f%u @%llu\n", c->udp ? "u" : "t", (unsigned long long)c->id, a, b,
	      c->initiator, c->file_index, (unsigned long long)p->frame);
	return CAP_KEEP;
}

static bool ignores(const struct rec_sink *s, const struct cap_conn *c)
{
	return s->ignore_mod && c->id % (uint64_t)s->ignore_mod == 1;
}

static enum cap_verdict r_data(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t n,
			       const struct ek_pktref *p)
{
	struct rec_sink *s = ctx;
	logf_(&s->log, "data t%llu %d %zu %016llx @%llu.%09u\n", (unsigned long long)c->id, dir, n,
	      (unsigned long long)fnv(b, n), (unsigned long long)p->frame, p->ts.nsec);
	return ignores(s, c) ? CAP_IGNORE : CAP_KEEP;
}

static enum cap_verdict r_dgram(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t caplen, size_t len,
				const struct ek_pktref *p)
{
	struct rec_sink *s = ctx;
	logf_(&s->log, "dgram u%llu %d %zu/%zu %016llx @%llu\n", (unsigned long long)c->id, dir, caplen, len,
	      (unsigned long long)fnv(b, caplen), (unsigned long long)p->frame);
	return ignores(s, c) ? CAP_IGNORE : CAP_KEEP;
}

static void r_gap(void *ctx, struct cap_conn *c, int dir, uint64_t missing, const struct ek_pktref *p)
{
	struct rec_sink *s = ctx;
	logf_(&s->log, "gap t%llu %d %llu @%llu\n", (unsigned long long)c->id, dir, (unsigned long long)missing,
	      (unsigned long long)p->frame);
}

static void r_flag(void *ctx, struct cap_conn *c, int dir, enum cap_flag f, const struct ek_pktref *p)
{
	struct rec_sink *s = ctx;
	logf_(&s->log, "flag t%llu %d %d @%llu\n", (unsigned long long)c->id, dir, (int)f, (unsigned long long)p->frame);
}

static void r_end(void *ctx, struct cap_conn *c, enum cap_end why, const struct ek_pktref *p)
{
	struct rec_sink *s = ctx;
	struct conn_state *cs = c->user;
	/* the frame of an end after CAP_IGNORE is the call's, not the packet's
	 * being handled (the dissector does not report it for such a connection) */
	if (ignores(s, c))
		logf_(&s->log, "end %s%llu ignored\n", c->udp ? "u" : "t", (unsigned long long)c->id);
	else
		logf_(&s->log, "end %s%llu %d @%llu\n", c->udp ? "u" : "t", (unsigned long long)c->id, (int)why,
		      (unsigned long long)p->frame);
	CHECK(cs && cs->id == c->id && cs->udp == c->udp);
	free(cs);
	c->user = NULL;
}

static void r_secrets(void *ctx, const uint8_t *text, size_t len)
{
	struct rec_sink *s = ctx;
	logf_(&s->log, "secrets %zu %016llx\n", len, (unsigned long long)fnv(text, len));
}

static struct cap_sink rec_sink_of(struct rec_sink *s)
{
	return (struct cap_sink){ s, r_open, r_data, r_gap, r_flag, r_end, r_dgram };
}

/* Read path into the recording sink, straight (ho_mode 0), through a
 * handoff with the capture on a thread of its own (1) or through one
 * outside handoff_run: every call made at once (2).  With the handoff the
 * file has its read-ahead thread, paused while calls are queued. */
static int read_into(const char *path, struct rec_sink *s, int ho_mode, struct cap_stats *st)
{
	char eb[CAP_ERRBUF_SIZE];
	struct cap_opts o = { .read_ahead = ho_mode == 1 }; /* as two threads a file run: handoff.c moves the reads */
	struct cap_sink inner = rec_sink_of(s);
	struct handoff *h = NULL;
	const struct cap_sink *sink = &inner;
	if (ho_mode) {
		h = handoff_new(&inner, r_secrets, s, NULL, NULL);
		CHECK(h != NULL);
		if (!h) return -1;
		sink = handoff_sink(h);
	}
	struct cap_reader *r = cap_open_file(path, 0, &o, sink, eb);
	if (!r) {
		handoff_free(h);
		return -1;
	}
	if (h) cap_set_secrets(r, handoff_secrets, h);
	else cap_set_secrets(r, r_secrets, s);
	int rc = ho_mode == 1 ? handoff_cap_run(h, r, eb) : cap_run(r, eb);
	*st = *cap_get_stats(r);
	if (h) {
		uint64_t g, gb;
		handoff_dropped(h, &g, &gb);
		CHECK(g <= st->gaps && gb <= st->gap_bytes);
		st->gaps -= g;
		st->gap_bytes -= gb;
		CHECK_EQ_U(handoff_conns_oom(h), 0);
	}
	cap_close(r);
	handoff_free(h);
	return rc;
}

static int files_checked;
static uint64_t calls_checked;

static void first_difference(const char *path, const char *what, const struct ek_str *a, const struct ek_str *b)
{
	size_t i = 0, line = 1;
	while (i < a->len && i < b->len && a->s[i] == b->s[i]) line += a->s[i++] == '\n';
	size_t sa = i, sb = i;
	while (sa > 0 && a->s[sa - 1] != '\n') sa--;
	while (sb > 0 && b->s[sb - 1] != '\n') sb--;
	fprintf(stderr, "%s (%s): logs differ at line %zu:\n  straight: %.120s\n  handoff:  %.120s\n", path, what, line,
		sa < a->len ? a->s + sa : "(end)", sb < b->len ? b->s + sb : "(end)");
}

static void check_file(const char *path)
{
	for (int mod = 0; mod <= 3; mod += 3) {
		struct rec_sink straight = { .ignore_mod = mod }, thread = { .ignore_mod = mod },
				inline_ = { .ignore_mod = mod };
		struct cap_stats s0, s1, s2;
		int rc0 = read_into(path, &straight, 0, &s0);
		if (rc0 != 0 && !straight.log.t.len) { /* not a capture libpcap reads */
			ek_str_free(&straight.log.t);
			return;
		}
		int rc1 = read_into(path, &thread, 1, &s1);
		int rc2 = read_into(path, &inline_, 2, &s2);
		CHECK(rc0 == rc1 && rc0 == rc2);
		bool same1 = thread.log.t.len == straight.log.t.len && !memcmp(thread.log.t.s, straight.log.t.s, straight.log.t.len);
		bool same2 = inline_.log.t.len == straight.log.t.len && !memcmp(inline_.log.t.s, straight.log.t.s, straight.log.t.len);
		CHECK(same1);
		CHECK(same2);
		if (!same1) first_difference(path, mod ? "thread, ignoring" : "thread", &straight.log.t, &thread.log.t);
		if (!same2) first_difference(path, mod ? "inline, ignoring" : "inline", &straight.log.t, &inline_.log.t);
		CHECK_EQ_U(s1.gaps, s0.gaps);
		CHECK_EQ_U(s1.gap_bytes, s0.gap_bytes);
		CHECK_EQ_U(s2.gaps, s0.gaps);
		CHECK_EQ_U(s1.conns, s0.conns);
		CHECK_EQ_U(s1.packets, s0.packets);
		calls_checked += straight.log.calls;
		ek_str_free(&straight.log.t);
		ek_str_free(&thread.log.t);
		ek_str_free(&inline_.log.t);
	}
	files_checked++;
}

static bool capture_name(const char *p)
{
	static const char *const ext[] = { ".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".pcap.zst" };
	size_t n = strlen(p);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		size_t k = strlen(ext[i]);
		if (n > k && !strcmp(p + n - k, ext[i])) return true;
	}
	return false;
}

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F && capture_name(path) && sb->st_size < (8 << 20)) check_file(path);
	return 0;
}

/* ---- synthetic calls --------------------------------------------------- */

struct synth {
	const struct cap_sink *k;
	struct handoff *h;         /* NULL: the direct run */
	struct rec_sink *rec;
	const uint8_t *bytes;
	size_t big;
};

/* Many blocks' worth of calls, one too large for a block, a large secrets
 * block, then the end. */
static int synth_calls(void *ctx)
{
	struct synth *y = ctx;
	const struct cap_sink *k = y->k;
	struct cap_conn c = { .id = 4, .ep = { { .port = 5061 }, { .port = 40000 } } };
	struct ek_pktref p = { .frame = 1 };
	CHECK(k->conn_open(k->ctx, &c, &p) == CAP_KEEP);
	for (int i = 0; i < 5000; i++) {
		p.frame++;
		CHECK(k->data(k->ctx, &c, i & 1, y->bytes + i, 100 + (size_t)i % 900, &p) == CAP_KEEP);
		if (i % 1000 == 999) k->gap(k->ctx, &c, 0, (uint64_t)i, &p);
	}
	p.frame++;
	CHECK(k->data(k->ctx, &c, 0, y->bytes, y->big, &p) == CAP_KEEP);
	if (y->h) handoff_secrets(y->h, y->bytes, y->big);
	else r_secrets(y->rec, y->bytes, y->big);
	p.frame++;
	k->flag(k->ctx, &c, 1, CAP_FLAG_FIN, &p);
	k->conn_end(k->ctx, &c, CAP_END_EOF, &p);
	return 7;
}

/* A capture that works hard for a sink that does little (bulk data): the
 * calls switch to being made at once, and back, in the same order. */
struct light {
	struct log log;
	uint64_t sum;
};

static enum cap_verdict l_open(void *ctx, struct cap_conn *c, const struct ek_pktref *p)
{
	struct light *s = ctx;
	logf_(&s->log, "open %llu @%llu\n", (unsigned long long)c->id, (unsigned long long)p->frame);
	return CAP_KEEP;
}

static enum cap_verdict l_data(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t n,
			       const struct ek_pktref *p)
{
	struct light *s = ctx;
	(void)c;
	/* the log only every 64th call: a sink that counts and moves on */
	s->sum = s->sum * 31 + b[0] + b[n - 1] + n + (unsigned)dir + p->frame;
	if (p->frame % 64 == 0) logf_(&s->log, "%llu %llu\n", (unsigned long long)p->frame, (unsigned long long)s->sum);
	return CAP_KEEP;
}

static void l_end(void *ctx, struct cap_conn *c, enum cap_end why, const struct ek_pktref *p)
{
	struct light *s = ctx;
	logf_(&s->log, "end %llu %d @%llu %llu\n", (unsigned long long)c->id, (int)why, (unsigned long long)p->frame,
	      (unsigned long long)s->sum);
}

struct heavy {
	const struct cap_sink *k;
	const uint8_t *bytes;
	uint64_t work;
};

static int heavy_calls(void *ctx)
{
	struct heavy *y = ctx;
	const struct cap_sink *k = y->k;
	struct cap_conn c = { .id = 9 };
	struct ek_pktref p = { .frame = 1 };
	k->conn_open(k->ctx, &c, &p);
	for (uint64_t i = 0; i < 400000; i++) {
		p.frame++;
		size_t n = 200 + i % 1000;
		for (int rep = 0; rep < 4; rep++) y->work += fnv(y->bytes + i % 1000, n); /* the capture's own work */
		CHECK(k->data(k->ctx, &c, (int)(i & 1), y->bytes + i % 1000, n, &p) == CAP_KEEP);
	}
	k->conn_end(k->ctx, &c, CAP_END_EOF, &p);
	return 0;
}

static void switches(const uint8_t *bytes)
{
	struct light a = { 0 }, b = { 0 };
	struct cap_sink inner = { &a, l_open, l_data, NULL, NULL, l_end, NULL }, direct = inner;
	direct.ctx = &b;
	struct handoff *h = handoff_new(&inner, NULL, NULL, NULL, NULL);
	CHECK(h != NULL);
	struct heavy x = { handoff_sink(h), bytes, 0 }, y = { &direct, bytes, 0 };
	CHECK(handoff_run(h, heavy_calls, &x) == 0);
	heavy_calls(&y);
	CHECK(a.log.t.len == b.log.t.len && !memcmp(a.log.t.s, b.log.t.s, b.log.t.len));
	CHECK_EQ_U(a.sum, b.sum);
	uint64_t queued, made_direct, sw;
	handoff_counts(h, &queued, &made_direct, &sw);
	CHECK_EQ_U(queued + made_direct, 400002);
	CHECK(sw >= 1 && made_direct > 0 && queued > 0);
	fprintf(stderr, "handoff: heavy capture, light sink: %llu calls queued, %llu made at once, %llu switches\n",
		(unsigned long long)queued, (unsigned long long)made_direct, (unsigned long long)sw);
	handoff_free(h);
	ek_str_free(&a.log.t);
	ek_str_free(&b.log.t);
}

/* A verdict the capture learns late: after CAP_IGNORE the sink gets
 * conn_end at once and nothing more; holes the capture reports meanwhile
 * are handed back; the capture is told at its next data call. */
struct late {
	const struct cap_sink *k;
	struct cap_conn c;
	const uint8_t *bytes;
};

static int late_open(void *ctx)
{
	struct late *l = ctx;
	struct ek_pktref p = { .frame = 10 };
	CHECK(l->k->conn_open(l->k->ctx, &l->c, &p) == CAP_KEEP);
	CHECK(l->k->data(l->k->ctx, &l->c, 0, l->bytes, 10, &p) == CAP_KEEP); /* queued: no verdict yet */
	return 0;
}

static void synthetic(void)
{
	size_t big = 300000; /* larger than a block: made in place, after what is queued */
	uint8_t *bytes = malloc(big);
	if (!bytes) abort();
	for (size_t i = 0; i < big; i++) bytes[i] = (uint8_t)(i * 7 + i / 251);

	struct rec_sink s = { .ignore_mod = 0 }, ref = { .ignore_mod = 0 };
	struct cap_sink inner = rec_sink_of(&s), direct = rec_sink_of(&ref);
	struct handoff *h = handoff_new(&inner, r_secrets, &s, NULL, NULL);
	CHECK(h != NULL);
	struct synth a = { handoff_sink(h), h, &s, bytes, big }, b = { &direct, NULL, &ref, bytes, big };
	CHECK(handoff_run(h, synth_calls, &a) == 7);
	CHECK(synth_calls(&b) == 7);
	CHECK(s.log.t.len == ref.log.t.len && !memcmp(s.log.t.s, ref.log.t.s, ref.log.t.len));
	CHECK(s.log.calls > 5000);
	handoff_free(h);
	ek_str_free(&s.log.t);
	ek_str_free(&ref.log.t);

	struct rec_sink t = { .ignore_mod = 2 }; /* id 1 is ignored */
	inner = rec_sink_of(&t);
	h = handoff_new(&inner, NULL, NULL, NULL, NULL);
	CHECK(h != NULL);
	struct late l = { handoff_sink(h), { .id = 1 }, bytes };
	struct ek_pktref p = { .frame = 11 };
	CHECK(handoff_run(h, late_open, &l) == 0); /* replayed: the sink said CAP_IGNORE */
	const struct cap_sink *o = l.k;            /* from here on calls are made at once */
	o->gap(o->ctx, &l.c, 1, 77, &p);
	o->flag(o->ctx, &l.c, 1, CAP_FLAG_RST, &p);
	CHECK(o->data(o->ctx, &l.c, 1, bytes, 10, &p) == CAP_IGNORE); /* now the capture knows */
	o->conn_end(o->ctx, &l.c, CAP_END_CLOSED, &p);
	CHECK(l.c.user == NULL);
	uint64_t g, gb;
	handoff_dropped(h, &g, &gb);
	CHECK_EQ_U(g, 1);
	CHECK_EQ_U(gb, 77);
	CHECK(t.log.t.len && !strncmp(t.log.t.s, "open t1 ", 8) && strstr(t.log.t.s, "\ndata t1 0 10 ") &&
	      strstr(t.log.t.s, "\nend t1 ignored\n"));
	CHECK_EQ_U(t.log.calls, 3); /* open, data, end: nothing after the verdict */
	handoff_free(h);
	ek_str_free(&t.log.t);
	switches(bytes);
	free(bytes);
}

int main(void)
{
	synthetic();
	DIR *d = opendir("samples");
	CHECK(d != NULL);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (capture_name(e->d_name)) {
			char p[512];
			snprintf(p, sizeof p, "samples/%s", e->d_name);
			check_file(p);
		}
	if (d) closedir(d);
	int samples = files_checked;
	CHECK(samples >= 30);
	const char *shared = getenv("EK_SHARED");
	char corpus[1024];
	snprintf(corpus, sizeof corpus, "%s/corpus/public", shared && *shared ? shared : "../shared");
	nftw(corpus, visit, 16, FTW_PHYS);
	fprintf(stderr, "handoff: %d captures (%d samples), %llu calls compared\n", files_checked, samples,
		(unsigned long long)calls_checked);
	return check_summary();
}
