/* capture/reasm: one direction of TCP reassembly, fed with segments built
 * here.  Every callback is written to a log line ("D<frame>:<bytes>",
 * "G<frame>:<missing>", "F<frame>:FIN|RST") so a test states the exact
 * sequence of calls it expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/decode.h"
#include "../capture/reasm.h"
#include "check.h"

static char logbuf[8192];
static int stop_after = -1; /* callbacks before one returns false (-1: never) */

static bool go_on(void)
{
	if (stop_after < 0) return true;
	return stop_after-- > 0;
}

static void logf_(const char *s)
{
	strncat(logbuf, s, sizeof logbuf - strlen(logbuf) - 1);
}

static bool t_data(void *ctx, const uint8_t *b, size_t n, const struct ek_pktref *p)
{
	(void)ctx;
	char tmp[600];
	int k = snprintf(tmp, sizeof tmp, "D%llu:", (unsigned long long)p->frame);
	for (size_t i = 0; i < n && k < (int)sizeof tmp - 2; i++) tmp[k++] = (char)b[i];
	tmp[k++] = ' ';
	tmp[k] = 0;
	logf_(tmp);
	return go_on();
}

static bool t_gap(void *ctx, uint64_t missing, const struct ek_pktref *p)
{
	(void)ctx;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "G%llu:%llu ", (unsigned long long)p->frame, (unsigned long long)missing);
	logf_(tmp);
	return go_on();
}

static bool t_flag(void *ctx, enum cap_flag f, const struct ek_pktref *p)
{
	(void)ctx;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "F%llu:%s ", (unsigned long long)p->frame, f == CAP_FLAG_FIN ? "FIN" : "RST");
	logf_(tmp);
	return go_on();
}

static const struct reasm_cb CB = { t_data, t_gap, t_flag };
static struct reasm_pool pool;
static struct reasm_dir d;

static void reset(void)
{
	reasm_free(&d, &pool);
	reasm_init(&d);
	logbuf[0] = 0;
	stop_after = -1;
	pool.max_dir = 1 << 20;
	pool.max_total = 64 << 20;
	pool.ooo_overflow = 0;
}

/* what the reader does after each packet of the connection */
static bool tick(void)
{
	static const struct reasm_dir no_peer; /* nothing seen the other way */
	if (reasm_holey(&d) && !reasm_tick(&d, &pool, &CB, NULL)) return false;
	return !d.fin_wait || reasm_fin_ready(&d, &no_peer, &pool, &CB, NULL);
}

static struct ek_pktref pk(uint64_t frame)
{
	struct ek_pktref p = { frame, { 1700000000, 0 }, 0 };
	return p;
}

/* segment with captured length caplen of a wire payload of len bytes */
static bool segc(uint32_t seq, uint8_t flags, const char *data, size_t caplen, uint32_t len, uint64_t frame)
{
	struct ek_pktref p = pk(frame);
	struct reasm_in in = { seq, flags, (const uint8_t *)data, caplen, len, 0 };
	return reasm_segment(&d, &pool, &in, &p, &CB, NULL) && tick();
}

static bool seg(uint32_t seq, uint8_t flags, const char *data, uint64_t frame)
{
	size_t n = strlen(data);
	return segc(seq, flags, data, n, (uint32_t)n, frame);
}

static bool ack(uint32_t a, uint64_t frame)
{
	struct ek_pktref p = pk(frame);
	return reasm_ack(&d, &pool, a, false, &p, &CB, NULL) && tick();
}

/* Packets of the connection (other directions', say) go by until a grace
 * window closes. */
static void pass_grace(void)
{
	for (int i = 0; i < REASM_GRACE_PKTS; i++) tick();
}

static bool finish(uint64_t frame)
{
	struct ek_pktref p = pk(frame);
	return reasm_finish(&d, &pool, &p, &CB, NULL);
}

#define A TCPF_ACK
#define SYN TCPF_SYN
#define FIN (TCPF_FIN | TCPF_ACK)
#define RST TCPF_RST

static void test_in_order(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "hello", 2);
	seg(1006, A, " world", 3);
	seg(1012, FIN, "", 4);
	CHECK_STR(logbuf, "D2:hello D3: world F4:FIN ");
	CHECK_EQ_U(d.next, 1013); /* SYN and FIN take one sequence number each */
	finish(5);
	CHECK_STR(logbuf, "D2:hello D3: world F4:FIN "); /* nothing more at the end */
}

static void test_reorder(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1007, A, "ccc", 2);
	seg(1001, A, "aaa", 3);
	CHECK_STR(logbuf, "D3:aaa ");
	CHECK(d.ooo_bytes > 0);
	seg(1004, A, "bbb", 4);
	/* the filling packet (frame 4) is where the buffered bytes become readable */
	CHECK_STR(logbuf, "D3:aaa D4:bbb D4:ccc ");
	CHECK_EQ_U(d.ooo_bytes, 0);
	CHECK_EQ_U(pool.total, 0);
}

static void test_retransmission(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1001, A, "aaa", 3);  /* exact retransmission */
	seg(1000, SYN, "", 4);   /* retransmitted SYN */
	seg(1004, A, "bbb", 5);
	seg(1004, A, "bbb", 6);
	CHECK_STR(logbuf, "D2:aaa D5:bbb ");
}

static void test_overlap_first_seen_wins(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "abc", 2);
	seg(1001, A, "XYZd", 3);   /* overlaps delivered bytes: only 'd' is new */
	CHECK_STR(logbuf, "D2:abc D3:d ");

	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "DEF", 2);    /* past a hole: buffered */
	seg(1004, A, "xyzGHI", 3); /* overlaps the buffered bytes with different ones */
	seg(1012, A, "KL", 4);
	seg(1009, A, "IqqKL", 5);  /* covers the end of GHI, the hole before KL, and KL */
	seg(1001, A, "abc", 6);
	CHECK_STR(logbuf, "D6:abc D6:DEF D6:GHI D6:qq D6:KL ");
	CHECK_EQ_U(d.next, 1014);
	CHECK_EQ_U(pool.total, 0);

	/* an in-order segment that overlaps buffered data keeps the buffered bytes */
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "DEF", 2);
	seg(1001, A, "abcxyzg", 3);
	CHECK_STR(logbuf, "D3:abc D3:DEF D3:g ");
}

static void test_hole_acked(void)
{
	/* a segment past the hole, then the peer's ACK beyond the hole */
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1007, A, "ccc", 3); /* 1004..1006 never captured */
	ack(1004, 4);           /* receiver only has the first bytes: wait */
	CHECK_STR(logbuf, "D2:aaa ");
	ack(1010, 5);           /* receiver got everything: the hole is permanent once its grace window closes */
	CHECK_STR(logbuf, "D2:aaa ");
	pass_grace();           /* "ccc" stays in frame 3, where Wireshark shows it */
	CHECK_STR(logbuf, "D2:aaa G3:3 D3:ccc ");

	/* the ACK first, then the segment past the hole */
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	ack(1007, 3);
	CHECK_STR(logbuf, "D2:aaa ");
	seg(1007, A, "ccc", 4);
	CHECK_STR(logbuf, "D2:aaa ");
	pass_grace();
	CHECK_STR(logbuf, "D2:aaa G4:3 D4:ccc ");

	/* an ACK that covers only part of the hole waits for the rest */
	reset();
	seg(1000, SYN, "", 1);
	seg(1010, A, "kk", 2);
	ack(1005, 3);
	CHECK_STR(logbuf, "");
	seg(1005, A, "fffff", 4);
	pass_grace();           /* "kk" became contiguous in frame 4 */
	CHECK_STR(logbuf, "G4:4 D4:fffff D4:kk ");

	/* a wild ACK (far past anything sent) is not believed */
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1007, A, "ccc", 3);
	ack(1001 + 0x40000000u, 4);
	CHECK_STR(logbuf, "D2:aaa ");
	ack(1010, 5);
	pass_grace();
	CHECK_STR(logbuf, "D2:aaa G3:3 D3:ccc ");
}

static void test_hole_until_fin(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1007, A, "ccc", 3);
	seg(1010, FIN, "", 4); /* FIN past the hole: held */
	CHECK_STR(logbuf, "D2:aaa ");
	finish(9);
	CHECK_STR(logbuf, "D2:aaa G3:3 D3:ccc F4:FIN ");

	/* the peer ACKing the FIN settles it before the end */
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1007, FIN, "ccc", 3);
	CHECK_STR(logbuf, "D2:aaa ");
	ack(1011, 4);
	pass_grace();
	CHECK_STR(logbuf, "D2:aaa G3:3 D3:ccc F3:FIN ");

	/* a FIN alone after a hole, ACKed */
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1009, FIN, "", 3);
	ack(1010, 4);
	pass_grace();
	CHECK_STR(logbuf, "D2:aaa G3:5 F3:FIN ");

	/* data the peer ACKed but the capture never had, at the very end */
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	ack(1104, 3);
	finish(7);
	CHECK_STR(logbuf, "D2:aaa G7:100 ");
}

/* Span ports: the peer's ACK (or our FIN) is captured before the data. */
static void test_grace_window(void)
{
	/* the ACK passes the next byte; the data comes a few packets later */
	reset();
	seg(1000, SYN, "", 1);
	ack(1006, 2);             /* reveals the hole: its window opens */
	CHECK(d.grace);
	tick();
	seg(1004, A, "ef", 3);    /* the second half first */
	CHECK_STR(logbuf, "");
	seg(1001, A, "abc", 4);
	CHECK_STR(logbuf, "D4:abc D4:ef ");
	CHECK(!d.grace);          /* nothing missing: no window */

	/* REASM_GRACE_PKTS packets after the one that revealed it, it is lost */
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "ef", 2);    /* reveals the hole */
	ack(1006, 3);
	for (int i = 0; i < REASM_GRACE_PKTS - 2; i++) tick();
	CHECK_STR(logbuf, "");
	tick();                   /* the REASM_GRACE_PKTS-th after frame 2 */
	CHECK_STR(logbuf, "G2:3 D2:ef ");
	CHECK(!d.grace);

	/* without an ACK past it, a hole is only out of order: no loss */
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "ef", 2);
	for (int i = 0; i < 3 * REASM_GRACE_PKTS; i++) tick();
	CHECK_STR(logbuf, "");
	ack(1006, 3);             /* its window has long closed */
	CHECK_STR(logbuf, "G2:3 D2:ef ");

	/* the next hole gets a window of its own, from the packet that
	 * revealed it (here: the one that settled the first) */
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "ef", 2);
	seg(1010, A, "jk", 3);
	ack(1012, 4);
	for (int i = 0; i < REASM_GRACE_PKTS - 2; i++) tick();
	CHECK_STR(logbuf, "G2:3 D2:ef ");
	CHECK(d.grace);
	for (int i = 0; i < REASM_GRACE_PKTS - 1; i++) tick();
	seg(1006, A, "ghij", 5);  /* the last packet of its window: in time */
	CHECK_STR(logbuf, "G2:3 D2:ef D5:ghij D5:jk ");
	CHECK(!d.grace);

	/* the FIN seen before the data it follows */
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, FIN, "", 2);
	ack(1005, 3);
	seg(1001, A, "abc", 4);
	CHECK_STR(logbuf, "D4:abc F2:FIN ");

	/* the connection ends inside the window: the hole is reported then */
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "ef", 2);
	ack(1006, 3);
	finish(9);
	CHECK_STR(logbuf, "G2:3 D2:ef ");
}

static void test_wraparound(void)
{
	reset();
	seg(0xFFFFFFFDu, SYN, "", 1);
	seg(0xFFFFFFFEu, A, "abcd", 2); /* crosses 2^32 */
	seg(2, A, "efgh", 3);
	seg(8, A, "mn", 4);             /* past a hole, on the other side of 0 */
	seg(6, A, "ij", 5);
	CHECK_STR(logbuf, "D2:abcd D3:efgh D5:ij D5:mn ");
	seg(0xFFFFFFFFu, A, "bcd", 6);  /* old, from before the wrap */
	ack(10, 7);
	CHECK_STR(logbuf, "D2:abcd D3:efgh D5:ij D5:mn ");

	/* a hole that straddles 0, declared by an ACK */
	reset();
	seg(0xFFFFFFF0u, SYN, "", 1);
	seg(0xFFFFFFF1u, A, "x", 2);
	seg(4, A, "yy", 3);
	ack(6, 4);
	pass_grace();
	CHECK_STR(logbuf, "D2:x G3:18 D3:yy ");
}

static void test_ooo_cap(void)
{
	reset();
	pool.max_dir = reasm_piece_overhead() * 2 + 8; /* room for two small pieces */
	seg(1000, SYN, "", 1);
	seg(1011, A, "bbbb", 2);
	seg(1021, A, "cccc", 3);
	CHECK_STR(logbuf, "");
	CHECK_EQ_U(pool.ooo_overflow, 0);
	seg(1031, A, "dddd", 4); /* no room: the first hole is given up */
	CHECK_EQ_U(pool.ooo_overflow, 1);
	CHECK_STR(logbuf, "G2:10 D2:bbbb ");
	seg(1015, A, "xxxxxx", 5);
	CHECK_STR(logbuf, "G2:10 D2:bbbb D5:xxxxxx D5:cccc "); /* dddd still waits past 1025..1030 */
	finish(9);
	CHECK_STR(logbuf, "G2:10 D2:bbbb D5:xxxxxx D5:cccc G4:6 D4:dddd ");
	CHECK_EQ_U(pool.total, 0);

	/* the shared budget is the limit too */
	reset();
	pool.max_total = reasm_piece_overhead() + 4;
	seg(1000, SYN, "", 1);
	seg(1011, A, "bbbb", 2);
	seg(1021, A, "cc", 3);
	CHECK_EQ_U(pool.ooo_overflow, 1);
	CHECK_STR(logbuf, "G2:10 D2:bbbb ");
	finish(9);
	CHECK_STR(logbuf, "G2:10 D2:bbbb G3:6 D3:cc ");
}

static void test_keepalive_zwp(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1001, A, "aaa", 2);
	seg(1003, A, "X", 3);  /* keep-alive: one garbage byte at next-1 */
	seg(1003, A, "", 4);   /* keep-alive without data */
	seg(1004, A, "b", 5);  /* zero-window probe: the next byte */
	seg(1004, A, "bcd", 6);/* ... then sent again with more */
	CHECK_STR(logbuf, "D2:aaa D5:b D6:cd ");
	CHECK_EQ_U(d.next, 1007);
}

static void test_snaplen_cut(void)
{
	reset();
	seg(1000, SYN, "", 1);
	segc(1001, A, "abcdef", 2, 6, 2); /* only 2 of 6 bytes captured */
	CHECK_STR(logbuf, "D2:ab G2:4 ");
	seg(1007, A, "ghi", 3);
	CHECK_STR(logbuf, "D2:ab G2:4 D3:ghi ");

	/* a cut segment past a hole keeps its missing tail as a hole */
	reset();
	seg(1000, SYN, "", 1);
	segc(1004, A, "defgh", 1, 5, 2);
	seg(1009, A, "ij", 3);
	seg(1001, A, "abc", 4);
	CHECK_STR(logbuf, "D4:abc D4:d G2:4 D4:ij ");
}

static void test_midstream_flags(void)
{
	reset();
	seg(5000, A, "xyz", 1); /* no SYN: start at the first data */
	seg(4990, A, "0123456789", 2);
	seg(5003, A | RST, "zz", 3);
	seg(5005, RST, "", 4);  /* one RST report per direction */
	CHECK_STR(logbuf, "D1:xyz D3:zz F3:RST ");

	/* pure ACKs before any data do not anchor the direction */
	reset();
	seg(7000, A, "", 1);
	seg(8000, A, "q", 2);
	CHECK_STR(logbuf, "D2:q ");

	/* SYN-ACK seen without the SYN: the other side's start comes from its ACK */
	reset();
	{
		struct ek_pktref p = pk(1);
		reasm_ack(&d, &pool, 301, true, &p, &CB, NULL);
	}
	seg(305, A, "late", 2);
	ack(309, 3);
	pass_grace();
	CHECK_STR(logbuf, "G2:4 D2:late ");

	/* a second SYN with another ISN before any data: the newest counts */
	reset();
	seg(100, SYN, "", 1);
	seg(500, SYN, "", 2);
	seg(501, A, "ok", 3);
	CHECK_STR(logbuf, "D3:ok ");
}

static void test_stop(void)
{
	reset();
	seg(1000, SYN, "", 1);
	seg(1004, A, "bbb", 2);
	seg(1007, A, "ccc", 3);
	stop_after = 0; /* the first callback asks to stop */
	CHECK(!seg(1001, A, "aaa", 4));
	CHECK_STR(logbuf, "D4:aaa ");
	reasm_free(&d, &pool);
	CHECK_EQ_U(pool.total, 0);
	CHECK_EQ_U(d.ooo_bytes, 0);
}

/* ---- randomized: any segmentation, order, duplication, loss --------- */

static uint8_t orig[6000];
static size_t off_seen;  /* stream offset the callbacks have reached */
static int mismatches;

static bool r_data(void *ctx, const uint8_t *b, size_t n, const struct ek_pktref *p)
{
	(void)ctx;
	(void)p;
	if (off_seen + n > sizeof orig || memcmp(b, orig + off_seen, n) != 0) mismatches++;
	off_seen += n;
	return true;
}

static int gaps_seen;
static bool gaps_seen_reset(void)
{
	bool any = gaps_seen != 0;
	gaps_seen = 0;
	return any;
}

static bool r_gap(void *ctx, uint64_t missing, const struct ek_pktref *p)
{
	(void)ctx;
	(void)p;
	gaps_seen++;
	if (missing == 0) mismatches++;
	off_seen += missing;
	return true;
}

static bool r_flag(void *ctx, enum cap_flag f, const struct ek_pktref *p)
{
	(void)ctx;
	(void)p;
	if (f != CAP_FLAG_FIN || off_seen != sizeof orig) mismatches++; /* FIN right after the last byte */
	return true;
}

static uint32_t rng = 12345;
static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

static void test_random(void)
{
	static const struct reasm_cb RCB = { r_data, r_gap, r_flag };
	struct rseg {
		uint32_t off, len;
	} segs[400];
	for (size_t i = 0; i < sizeof orig; i++) orig[i] = (uint8_t)rnd(256);
	int bad_runs = 0;
	for (int run = 0; run < 300; run++) {
		reset();
		pool.max_dir = run % 3 == 0 ? 2000 : 1 << 20; /* sometimes a tight budget */
		uint32_t isn = 0xFFFFFFFFu - rnd(8000);         /* often wraps inside the stream */
		int n = 0;
		for (uint32_t o = 0; o < sizeof orig && n < 390;) {
			uint32_t l = 1 + rnd(300);
			if (o + l > sizeof orig) l = (uint32_t)sizeof orig - o;
			segs[n].off = o;
			segs[n].len = l;
			n++;
			o += l;
		}
		segs[n - 1].len = (uint32_t)sizeof orig - segs[n - 1].off; /* cover to the end */
		/* local reordering */
		for (int i = 0; i + 1 < n; i++)
			if (rnd(4) == 0) {
				int j = i + 1 + (int)rnd(3);
				if (j >= n) j = n - 1;
				struct rseg t = segs[i];
				segs[i] = segs[j];
				segs[j] = t;
			}
		bool lossy = run % 2 == 1;
		bool fin_sent = false;
		static uint8_t sent[sizeof orig];
		size_t contig = 0;
		memset(sent, 0, sizeof sent);
		gaps_seen_reset();
		off_seen = 0;
		mismatches = 0;
		struct ek_pktref p = pk(1);
		struct reasm_in syn = { isn, TCPF_SYN, NULL, 0, 0, 0 };
		reasm_segment(&d, &pool, &syn, &p, &RCB, NULL);
		for (int i = 0; i < n; i++) {
			p.frame++;
			bool last = segs[i].off + segs[i].len == sizeof orig;
			/* the receiver gets every segment (loss is the capture's): it
			 * can ACK what is contiguous so far */
			memset(sent + segs[i].off, 1, segs[i].len);
			while (contig < sizeof orig && sent[contig]) contig++;
			if (lossy && rnd(10) == 0) continue; /* never captured */
			fin_sent |= last;
			uint32_t o = segs[i].off, l = segs[i].len;
			if (rnd(5) == 0 && o > 0) { /* a retransmission re-cut to overlap what came before */
				uint32_t back = 1 + rnd(o < 200 ? o : 200);
				o -= back;
				l += back;
			}
			struct reasm_in in = { isn + 1 + o, (uint8_t)(TCPF_ACK | (last ? TCPF_FIN : 0)), orig + o, l, l, 0 };
			reasm_segment(&d, &pool, &in, &p, &RCB, NULL);
			if (rnd(3) == 0) { /* the peer ACKs some of what it has */
				struct ek_pktref q = p;
				reasm_ack(&d, &pool, isn + 1 + rnd((uint32_t)contig + 1), false, &q, &RCB, NULL);
			}
			if (rnd(8) == 0) { /* duplicate */
				reasm_segment(&d, &pool, &in, &p, &RCB, NULL);
			}
		}
		p.frame++;
		reasm_ack(&d, &pool, isn + 1 + (uint32_t)sizeof orig + 1, false, &p, &RCB, NULL);
		reasm_finish(&d, &pool, &p, &RCB, NULL);
		/* when the FIN itself was not captured, the peer's ACK of it is
		 * counted as one more missing byte: nothing tells it from data */
		size_t want = fin_sent ? sizeof orig : sizeof orig + 1;
		if (mismatches || off_seen != want || d.fin_done != fin_sent || pool.total != 0) {
			bad_runs++;
			if (getenv("DEBUG")) fprintf(stderr, "run %d: mism %d off %zu fin %d total %zu lossy %d\n", run, mismatches, off_seen, d.fin_done, pool.total, lossy);
		}
		if (!lossy && pool.max_dir > 2000 && gaps_seen_reset()) bad_runs++;
	}
	CHECK_EQ_U(bad_runs, 0);
}

int main(void)
{
	reasm_init(&d);
	test_in_order();
	test_reorder();
	test_retransmission();
	test_overlap_first_seen_wins();
	test_hole_acked();
	test_hole_until_fin();
	test_grace_window();
	test_wraparound();
	test_ooo_cap();
	test_keepalive_zwp();
	test_snaplen_cut();
	test_midstream_flags();
	test_stop();
	test_random();
	reset();
	return check_summary();
}
