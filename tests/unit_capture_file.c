/* capture/ end to end: capture files written here (pcap through libpcap,
 * pcapng by hand), read with cap_open_file/cap_run into a sink that logs
 * every call, plus a cross-check of connection numbering against
 * Wireshark's tcp.stream on two public captures (when shared/ is there). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/capture.h"
#include "check.h"

/* ---- a sink that logs ---------------------------------------------- */

static char logbuf[16384];
static uint16_t ignore_port_open, ignore_port_data; /* CAP_IGNORE from conn_open / data */
static struct ek_time last_ts;
static bool log_opens_only; /* big captures: only conn_open lines fit */
static bool log_udp;        /* log UDP flow opens ("U<id>@<frame> ") */

static void add(const char *s)
{
	if (log_opens_only && s[0] != 'O') return;
	strncat(logbuf, s, sizeof logbuf - strlen(logbuf) - 1);
}

static const char *ep(const struct ek_endpoint *e)
{
	static char b[2][EK_ENDPOINT_STRLEN];
	static int k;
	k ^= 1;
	ek_endpoint_str(e, true, b[k], sizeof b[k]);
	return b[k];
}

static enum cap_verdict s_open(void *ctx, struct cap_conn *c, const struct ek_pktref *p)
{
	(void)ctx;
	char t[200];
	if (c->udp) { /* numbered apart: test_udp_flows */
		snprintf(t, sizeof t, "U%llu@%llu ", (unsigned long long)c->id, (unsigned long long)p->frame);
		if (log_udp) add(t);
		return CAP_KEEP;
	}
	snprintf(t, sizeof t, "O%llu@%llu %s>%s i%d\n", (unsigned long long)c->id, (unsigned long long)p->frame,
		 ep(&c->ep[0]), ep(&c->ep[1]), c->initiator);
	add(t);
	return ignore_port_open && c->ep[1].port == ignore_port_open ? CAP_IGNORE : CAP_KEEP;
}

static enum cap_verdict s_data(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t n,
			       const struct ek_pktref *p)
{
	(void)ctx;
	char t[600];
	int k = snprintf(t, sizeof t, "D%llu.%d@%llu:", (unsigned long long)c->id, dir, (unsigned long long)p->frame);
	for (size_t i = 0; i < n && k < (int)sizeof t - 2; i++) t[k++] = (char)b[i];
	t[k++] = '\n';
	t[k] = 0;
	add(t);
	last_ts = p->ts;
	return ignore_port_data && c->ep[1].port == ignore_port_data ? CAP_IGNORE : CAP_KEEP;
}

static void s_gap(void *ctx, struct cap_conn *c, int dir, uint64_t missing, const struct ek_pktref *p)
{
	(void)ctx;
	char t[100];
	snprintf(t, sizeof t, "G%llu.%d@%llu:%llu\n", (unsigned long long)c->id, dir, (unsigned long long)p->frame,
		 (unsigned long long)missing);
	add(t);
}

static void s_flag(void *ctx, struct cap_conn *c, int dir, enum cap_flag f, const struct ek_pktref *p)
{
	(void)ctx;
	char t[100];
	snprintf(t, sizeof t, "F%llu.%d@%llu:%s\n", (unsigned long long)c->id, dir, (unsigned long long)p->frame,
		 f == CAP_FLAG_FIN ? "FIN" : "RST");
	add(t);
}

static void s_end(void *ctx, struct cap_conn *c, enum cap_end why, const struct ek_pktref *p)
{
	(void)ctx;
	static const char *names[] = { "CLOSED", "REUSED", "IDLE", "EVICTED", "EOF" };
	char t[100];
	snprintf(t, sizeof t, "E%llu@%llu:%s\n", (unsigned long long)c->id, (unsigned long long)p->frame, names[why]);
	add(t);
}

static uint64_t udp_datagrams, udp_bytes;
static enum cap_verdict s_datagram(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t caplen,
				   size_t len, const struct ek_pktref *p)
{
	(void)ctx, (void)c, (void)dir, (void)b, (void)p;
	udp_datagrams++;
	udp_bytes += caplen;
	CHECK(caplen <= len);
	return CAP_KEEP;
}

static const struct cap_sink SINK = { NULL, s_open, s_data, s_gap, s_flag, s_end, s_datagram };

/* Run a file; returns cap_run's result (-2: open failed), errbuf kept. */
static char errbuf[CAP_ERRBUF_SIZE];
static struct cap_stats stats;

static int run(const char *path, const struct cap_opts *o)
{
	logbuf[0] = 0;
	errbuf[0] = 0;
	memset(&stats, 0, sizeof stats);
	struct cap_reader *r = cap_open_file(path, 3, o, &SINK, errbuf);
	if (!r) return -2;
	int rc = cap_run(r, errbuf);
	stats = *cap_get_stats(r);
	cap_close(r);
	return rc;
}

/* ---- frames -------------------------------------------------------- */

struct frame {
	uint8_t b[1600];
	size_t n;
	int64_t sec;
	uint32_t nsec;
};

static void put8(struct frame *f, unsigned v) { f->b[f->n++] = (uint8_t)v; }
static void put16(struct frame *f, unsigned v) { put8(f, v >> 8); put8(f, v & 0xFF); }
static void put32(struct frame *f, uint32_t v) { put16(f, v >> 16); put16(f, v & 0xFFFF); }

enum { F_ = 1, S_ = 2, R_ = 4, P_ = 8, A_ = 16 };

/* Ethernet / IPv4 / TCP from host a.b.c.<src>:sport to <dst>:dport */
static struct frame tcpf(int64_t sec, unsigned src, unsigned sport, unsigned dst, unsigned dport, uint32_t seq,
			 uint32_t ack, unsigned flags, const char *data)
{
	struct frame f = { .n = 0, .sec = sec, .nsec = 0 };
	size_t dl = strlen(data);
	for (int i = 0; i < 12; i++) put8(&f, (unsigned)i);
	put16(&f, 0x0800);
	put8(&f, 0x45);
	put8(&f, 0);
	put16(&f, (unsigned)(40 + dl));
	put32(&f, 0);
	put8(&f, 64);
	put8(&f, 6);
	put16(&f, 0);
	put32(&f, 0x0A000000u | src);
	put32(&f, 0x0A000000u | dst);
	put16(&f, sport);
	put16(&f, dport);
	put32(&f, seq);
	put32(&f, ack);
	put16(&f, 0x5000 | flags);
	put16(&f, 65535);
	put32(&f, 0);
	memcpy(f.b + f.n, data, dl);
	f.n += dl;
	return f;
}

static void write_pcap(const char *path, const struct frame *fr, size_t n, int nano)
{
	pcap_t *pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
							  nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
	pcap_dumper_t *d = pcap_dump_open(pd, path);
	CHECK(d != NULL);
	if (!d) return;
	for (size_t i = 0; i < n; i++) {
		struct pcap_pkthdr h;
		h.ts.tv_sec = (time_t)fr[i].sec;
		h.ts.tv_usec = (suseconds_t)fr[i].nsec;
		h.caplen = h.len = (bpf_u_int32)fr[i].n;
		pcap_dump((u_char *)d, &h, fr[i].b);
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

static char tmpdir[] = "/tmp/ek_capture_test_XXXXXX";
static char *tmp(const char *name)
{
	static char p[4][256];
	static int k;
	k = (k + 1) & 3;
	snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
	return p[k];
}

/* ---- tests --------------------------------------------------------- */

#define C 1   /* 10.0.0.1: client */
#define S 2   /* 10.0.0.2: server */
#define C2 3  /* 10.0.0.3 */
#define C3 4  /* 10.0.0.4 */

static void test_lifecycle(void)
{
	struct frame fr[] = {
		/* 1-8: handshake, data both ways, FIN both ways */
		tcpf(100, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(100, S, 443, C, 1000, 900, 101, S_ | A_, ""),
		tcpf(100, C, 1000, S, 443, 101, 901, A_, ""),
		tcpf(101, C, 1000, S, 443, 101, 901, P_ | A_, "hello"),
		tcpf(101, S, 443, C, 1000, 901, 106, P_ | A_, "world!"),
		tcpf(102, C, 1000, S, 443, 106, 907, F_ | A_, ""),
		tcpf(102, S, 443, C, 1000, 907, 107, F_ | A_, ""),
		tcpf(102, C, 1000, S, 443, 107, 908, A_, ""),
		/* 9-10: a connection whose first packet is the SYN-ACK */
		tcpf(103, S, 443, C2, 2000, 7000, 301, S_ | A_, ""),
		tcpf(103, C2, 2000, S, 443, 301, 7001, P_ | A_, "abc"),
		/* 11: the first tuple again, new ISN, within the short linger of a
		 * clean close: a new connection, the old one ends as reused */
		tcpf(103, C, 1000, S, 443, 5000, 0, S_, ""),
		/* 12: picked up mid-stream */
		tcpf(104, C3, 3000, S, 443, 42, 77, P_ | A_, "mid"),
		/* 13-14: the new connection gets data, out of order */
		tcpf(105, S, 443, C, 1000, 800, 5001, S_ | A_, ""),
		tcpf(105, C, 1000, S, 443, 5004, 801, P_ | A_, "def"),
		tcpf(105, C, 1000, S, 443, 5001, 801, P_ | A_, "abc"),
		/* 16: late retransmission on tuple 2 (same ISN): not a new connection */
		tcpf(106, S, 443, C2, 2000, 7000, 301, S_ | A_, ""),
		/* 17: 12 minutes later: every connection has been idle too long */
		tcpf(826, C2, 2001, S, 443, 1, 0, S_, ""),
		/* 18: the mid-stream tuple after its idle end: still its id (tombstone) */
		tcpf(826, C3, 3000, S, 443, 45, 77, P_ | A_, "zzz"),
	};
	size_t n = sizeof fr / sizeof fr[0];
	write_pcap(tmp("life.pcap"), fr, n, 0);
	CHECK_EQ_U(run(tmp("life.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D0.0@4:hello\n"
		  "D0.1@5:world!\n"
		  "F0.0@6:FIN\n"
		  "F0.1@7:FIN\n"
		  "O1@9 10.0.0.3:2000>10.0.0.2:443 i0\n"
		  "D1.0@10:abc\n"
		  "E0@11:REUSED\n"
		  "O2@11 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "O3@12 10.0.0.4:3000>10.0.0.2:443 i-1\n"
		  "D3.0@12:mid\n"
		  "D2.0@15:abc\n"
		  "D2.0@15:def\n"
		  "E3@12:IDLE\n"
		  "E2@15:IDLE\n"
		  "E1@16:IDLE\n"
		  "O4@17 10.0.0.3:2001>10.0.0.2:443 i0\n"
		  "E4@18:EOF\n");
	CHECK_EQ_U(stats.packets, n);
	CHECK_EQ_U(stats.tcp_packets, n);
	CHECK_EQ_U(stats.conns, 5);
	CHECK_EQ_U(stats.gaps, 0);
	CHECK(!stats.truncated);

	/* closed connections end after a quiet spell; RST closes too */
	struct frame fr2[] = {
		tcpf(10, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(10, S, 443, C, 1000, 900, 101, S_ | A_, ""),
		tcpf(10, C, 1000, S, 443, 101, 901, F_ | A_, "bye"),
		tcpf(10, S, 443, C, 1000, 901, 105, F_ | A_, ""),
		tcpf(11, C2, 1, S, 2, 5, 0, S_, ""),
		tcpf(11, S, 2, C2, 1, 9, 6, R_ | A_, ""),
		tcpf(40, C3, 7, S, 8, 1, 1, A_, ""),
		tcpf(40, C, 1000, S, 443, 105, 902, A_, ""), /* straggler: same id, nothing reported */
	};
	write_pcap(tmp("closed.pcap"), fr2, 8, 0);
	CHECK_EQ_U(run(tmp("closed.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D0.0@3:bye\n"
		  "F0.0@3:FIN\n"
		  "F0.1@4:FIN\n"
		  "O1@5 10.0.0.3:1>10.0.0.2:2 i0\n"
		  "F1.1@6:RST\n"
		  "E0@4:CLOSED\n"
		  "E1@6:CLOSED\n"
		  "O2@7 10.0.0.4:7>10.0.0.2:8 i-1\n"
		  "E2@8:EOF\n");
	CHECK_EQ_U(stats.conns, 3);

	/* a clean close (every byte delivered) ends after about a second, one
	 * with data missing waits the full linger for it */
	struct frame fr3[] = {
		tcpf(10, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(10, S, 443, C, 1000, 900, 101, S_ | A_, ""),
		tcpf(10, C, 1000, S, 443, 101, 901, F_ | A_, "bye"),
		tcpf(10, S, 443, C, 1000, 901, 105, F_ | A_, ""),
		tcpf(10, C2, 5, S, 443, 200, 0, S_, ""),
		tcpf(10, S, 443, C2, 5, 700, 201, S_ | A_, ""),
		tcpf(10, C2, 5, S, 443, 205, 701, F_ | A_, "x"), /* 201..204 never come */
		tcpf(10, S, 443, C2, 5, 701, 201, F_ | A_, ""),
		tcpf(13, C3, 7, S, 8, 1, 1, A_, ""),
		tcpf(30, C3, 7, S, 8, 1, 1, A_, ""),
	};
	write_pcap(tmp("linger.pcap"), fr3, 10, 0);
	CHECK_EQ_U(run(tmp("linger.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D0.0@3:bye\n"
		  "F0.0@3:FIN\n"
		  "F0.1@4:FIN\n"
		  "O1@5 10.0.0.3:5>10.0.0.2:443 i0\n"
		  "F1.1@8:FIN\n"
		  "E0@4:CLOSED\n"               /* at t=13: 3 s after its clean close */
		  "O2@9 10.0.0.4:7>10.0.0.2:8 i-1\n"
		  "G1.0@7:4\n"                  /* at t=30: the bytes did not come */
		  "D1.0@7:x\n"
		  "F1.0@7:FIN\n"
		  "E1@8:CLOSED\n"
		  "E2@10:EOF\n");

	/* a tombstone (the connection ended after its linger) keeps the
	 * numbering: stragglers change nothing, a retried SYN with the same
	 * ISN opens the same id again, with reassembly from scratch */
	struct frame fr4[] = {
		tcpf(10, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(10, S, 443, C, 1000, 900, 101, S_ | A_, ""),
		tcpf(10, C, 1000, S, 443, 101, 901, P_ | A_, "one"),
		tcpf(10, S, 443, C, 1000, 901, 104, R_ | A_, ""),
		tcpf(30, C, 1000, S, 443, 104, 901, A_, ""),      /* 5: straggler on the tombstone */
		tcpf(40, C, 1000, S, 443, 100, 0, S_, ""),        /* 6: same ISN again */
		tcpf(40, S, 443, C, 1000, 300, 101, S_ | A_, ""),
		tcpf(40, C, 1000, S, 443, 101, 301, P_ | A_, "two"),
		tcpf(40, S, 443, C, 1000, 301, 104, P_ | A_, "ok"),
	};
	write_pcap(tmp("tomb.pcap"), fr4, 9, 0);
	CHECK_EQ_U(run(tmp("tomb.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D0.0@3:one\n"
		  "F0.1@4:RST\n"
		  "E0@4:CLOSED\n"
		  "O0@6 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D0.0@8:two\n"
		  "D0.1@9:ok\n"
		  "E0@9:EOF\n");
	CHECK_EQ_U(stats.conns, 2);
}

/* A lone packet stamped far ahead (pcapng-example.pcapng: a SYN-ACK of
 * 2061 among packets of 2015) does not move the expiry clock, so neither
 * its own connection nor the others end; a jump that the next packet
 * confirms (a real quiet spell) or the end of the file confirms does. */
static void test_clock_outlier(void)
{
	struct frame fr[] = {
		tcpf(100, C2, 2000, S, 443, 10, 0, S_, ""),
		tcpf(100, S, 443, C2, 2000, 70, 11, S_ | A_, ""),
		tcpf(100, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(2000000000, S, 443, C, 1000, 900, 101, S_ | A_, ""), /* 4: the outlier */
		tcpf(100, C, 1000, S, 443, 101, 901, A_, ""),
		tcpf(101, C, 1000, S, 443, 101, 901, P_ | A_, "hello"),
		tcpf(101, C2, 2000, S, 443, 11, 71, P_ | A_, "abc"),
	};
	write_pcap(tmp("outlier.pcap"), fr, 7, 0);
	CHECK_EQ_U(run(tmp("outlier.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.3:2000>10.0.0.2:443 i0\n"
		  "O1@3 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D1.0@6:hello\n"
		  "D0.0@7:abc\n"
		  "E0@7:EOF\n"
		  "E1@7:EOF\n");

	/* the same packet 12 minutes late, and the next one too: a quiet
	 * spell, every connection idle; its own one ended before it */
	fr[3] = tcpf(820, S, 443, C, 1000, 900, 101, S_ | A_, "");
	fr[4] = tcpf(820, C, 1000, S, 443, 101, 901, A_, "");
	fr[5] = tcpf(821, C, 1000, S, 443, 101, 901, P_ | A_, "hello");
	write_pcap(tmp("quiet.pcap"), fr, 6, 0);
	CHECK_EQ_U(run(tmp("quiet.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.3:2000>10.0.0.2:443 i0\n"
		  "O1@3 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "E0@2:IDLE\n"
		  "E1@3:IDLE\n");

	/* the jump is the last packet: the end of the file confirms it */
	fr[3] = tcpf(820, C2, 2000, S, 443, 11, 71, P_ | A_, "late");
	write_pcap(tmp("quiet_last.pcap"), fr, 4, 0);
	CHECK_EQ_U(run(tmp("quiet_last.pcap"), NULL), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.3:2000>10.0.0.2:443 i0\n"
		  "O1@3 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "E0@2:IDLE\n"
		  "E1@3:IDLE\n");
}

static void test_gaps_and_ignore(void)
{
	struct frame fr[] = {
		tcpf(1, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(1, S, 443, C, 1000, 900, 101, S_ | A_, ""),
		tcpf(1, C, 1000, S, 443, 101, 901, P_ | A_, "aaa"),
		tcpf(1, C, 1000, S, 443, 107, 901, P_ | A_, "ccc"), /* 104..106 lost */
		tcpf(1, S, 443, C, 1000, 901, 110, A_, ""),         /* server has them all */
		/* 6-8: ignored in conn_open (port 8443): no more calls, still one id */
		tcpf(2, C, 1001, S, 8443, 1, 0, S_, ""),
		tcpf(2, S, 8443, C, 1001, 1, 2, S_ | A_, ""),
		tcpf(2, C, 1001, S, 8443, 2, 2, P_ | A_, "secret"),
		/* 9-11: ignored from inside a data call (port 9443) */
		tcpf(3, C, 1002, S, 9443, 1, 0, S_, ""),
		tcpf(3, C, 1002, S, 9443, 2, 0, P_ | A_, "first"),
		tcpf(3, C, 1002, S, 9443, 7, 0, P_ | A_, "second"),
		tcpf(4, C2, 5, S, 6, 10, 0, S_, ""),
	};
	write_pcap(tmp("gaps.pcap"), fr, sizeof fr / sizeof fr[0], 0);
	ignore_port_open = 8443;
	ignore_port_data = 9443;
	CHECK_EQ_U(run(tmp("gaps.pcap"), NULL), 0);
	ignore_port_open = ignore_port_data = 0;
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\n"
		  "D0.0@3:aaa\n"
		  "O1@6 10.0.0.1:1001>10.0.0.2:8443 i0\n"
		  "E1@6:CLOSED\n"
		  "O2@9 10.0.0.1:1002>10.0.0.2:9443 i0\n"
		  "D2.0@10:first\n"
		  "E2@10:CLOSED\n"
		  "O3@12 10.0.0.3:5>10.0.0.2:6 i0\n"
		  /* the ACK's grace window was still open: settled at the end,
		   * "ccc" keeping the frame it came in */
		  "G0.0@4:3\n"
		  "D0.0@4:ccc\n"
		  "E0@12:EOF\n"
		  "E3@12:EOF\n");
	CHECK_EQ_U(stats.gaps, 1);
	CHECK_EQ_U(stats.gap_bytes, 3);
	CHECK_EQ_U(stats.conns, 4);

	/* a full table evicts the least recently active connection; a
	 * forgotten tuple then gets a new id */
	struct frame ev[] = {
		tcpf(1, C, 1, S, 443, 10, 0, S_, ""),
		tcpf(1, C, 2, S, 443, 10, 0, S_, ""),
		tcpf(1, C, 1, S, 443, 11, 0, P_ | A_, "one"),
		tcpf(2, C, 3, S, 443, 10, 0, S_, ""),
		tcpf(3, C, 2, S, 443, 11, 0, P_ | A_, "two"),
	};
	write_pcap(tmp("evict.pcap"), ev, 5, 0);
	struct cap_opts o = { .max_conns = 2 };
	CHECK_EQ_U(run(tmp("evict.pcap"), &o), 0);
	CHECK_STR(logbuf,
		  "O0@1 10.0.0.1:1>10.0.0.2:443 i0\n"
		  "O1@2 10.0.0.1:2>10.0.0.2:443 i0\n"
		  "D0.0@3:one\n"
		  "E1@4:EVICTED\n"
		  "O2@4 10.0.0.1:3>10.0.0.2:443 i0\n"
		  "E0@5:EVICTED\n"
		  "O3@5 10.0.0.1:2>10.0.0.2:443 i-1\n"
		  "D3.0@5:two\n"
		  "E2@5:EOF\n"
		  "E3@5:EOF\n");
	CHECK_EQ_U(stats.conns_evicted, 2);
	CHECK_EQ_U(stats.conns, 4);
}

static void test_nano_truncated(void)
{
	struct frame fr[] = {
		tcpf(1, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(1, C, 1000, S, 443, 101, 0, P_ | A_, "x"),
		tcpf(2, C, 1000, S, 443, 102, 0, P_ | A_, "lost in the cut"),
	};
	fr[1].nsec = 123456789;
	write_pcap(tmp("nano.pcap"), fr, 3, 1);
	CHECK_EQ_U(run(tmp("nano.pcap"), NULL), 0);
	CHECK(strstr(logbuf, "D0.0@2:x\nD0.0@3:lost in the cut\n") != NULL);
	CHECK_EQ_U(last_ts.sec, 2);
	CHECK_EQ_U(last_ts.nsec, 0);

	/* cut the last record in the middle: everything before it still counts */
	FILE *f = fopen(tmp("nano.pcap"), "rb");
	uint8_t b[4096];
	size_t n = f ? fread(b, 1, sizeof b, f) : 0;
	if (f) fclose(f);
	f = fopen(tmp("cut.pcap"), "wb");
	if (f) {
		fwrite(b, 1, n - 7, f);
		fclose(f);
	}
	CHECK_EQ_U(run(tmp("cut.pcap"), NULL), 0);
	CHECK(stats.truncated);
	CHECK(strstr(stats.truncated_msg, "truncated") != NULL);
	CHECK_EQ_U(stats.packets, 2);
	CHECK_STR(logbuf, "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\nD0.0@2:x\nE0@2:EOF\n");
	CHECK_EQ_U(last_ts.sec, 1);
	CHECK_EQ_U(last_ts.nsec, 123456789); /* nanoseconds survive */

	/* open errors: one line naming the file */
	CHECK_EQ_U(run(tmp("missing.pcap"), NULL), -2);
	CHECK(strstr(errbuf, "missing.pcap: No such file or directory") != NULL);
	f = fopen(tmp("empty.pcap"), "wb");
	if (f) fclose(f);
	CHECK_EQ_U(run(tmp("empty.pcap"), NULL), -2);
	CHECK(strstr(errbuf, "empty.pcap: empty file") != NULL);
	f = fopen(tmp("junk.pcap"), "wb");
	if (f) {
		fputs("this is not a capture file at all\n", f);
		fclose(f);
	}
	CHECK_EQ_U(run(tmp("junk.pcap"), NULL), -2);
	CHECK(strstr(errbuf, "junk.pcap: not a pcap or pcapng file (bad magic)") != NULL);
	CHECK(strchr(errbuf, '\n') == NULL);
}

/* ---- pcapng by hand: SHB, IDBs, EPBs ------------------------------- */

static void le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	fwrite(b, 1, 4, f);
}

static void le16(FILE *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	fwrite(b, 1, 2, f);
}

static void write_pcapng(const char *path, const uint16_t *linktypes, int nif, const struct frame *fr,
			 const int *ifc, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) return;
	le32(f, 0x0A0D0D0A); le32(f, 28); le32(f, 0x1A2B3C4D); le16(f, 1); le16(f, 0);
	le32(f, 0xFFFFFFFF); le32(f, 0xFFFFFFFF); le32(f, 28);
	for (int i = 0; i < nif; i++) { /* IDB with if_tsresol = 9 (nanoseconds) */
		le32(f, 1); le32(f, 32); le16(f, linktypes[i]); le16(f, 0); le32(f, 0);
		le16(f, 9); le16(f, 1); le32(f, 9); le16(f, 0); le16(f, 0);
		le32(f, 32);
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t pad = (uint32_t)((4 - fr[i].n % 4) % 4);
		uint32_t len = (uint32_t)(32 + fr[i].n + pad);
		uint64_t ts = (uint64_t)fr[i].sec * 1000000000u + fr[i].nsec;
		le32(f, 6); le32(f, len); le32(f, (uint32_t)ifc[i]);
		le32(f, (uint32_t)(ts >> 32)); le32(f, (uint32_t)ts);
		le32(f, (uint32_t)fr[i].n); le32(f, (uint32_t)fr[i].n);
		fwrite(fr[i].b, 1, fr[i].n, f);
		for (uint32_t k = 0; k < pad; k++) fputc(0, f);
		le32(f, len);
	}
	fclose(f);
}

/* Ethernet frame -> Linux cooked (v1) frame: 16-byte header for the 14. */
static void to_sll(struct frame *f)
{
	static const uint8_t h[16] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00 };
	memmove(f->b + 16, f->b + 14, f->n - 14);
	memcpy(f->b, h, 16);
	f->n += 2;
}

static void test_pcapng(void)
{
	struct frame fr[] = {
		tcpf(50, C, 1000, S, 443, 100, 0, S_, ""),
		tcpf(50, S, 443, C, 1000, 900, 101, S_ | A_, ""),
		tcpf(51, C, 1000, S, 443, 101, 901, P_ | A_, "ng"),
	};
	fr[2].nsec = 987654321;
	uint16_t same[2] = { 1, 1 };
	int ifc[3] = { 0, 1, 1 };
	write_pcapng(tmp("two-if.pcapng"), same, 2, fr, ifc, 3);
	CHECK_EQ_U(run(tmp("two-if.pcapng"), NULL), 0);
	CHECK_STR(logbuf, "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\nD0.0@3:ng\nE0@3:EOF\n");
	CHECK_EQ_U(last_ts.sec, 51);
	CHECK_EQ_U(last_ts.nsec, 987654321);

	/* interfaces with different link types (Ethernet, Linux cooked v1):
	 * libpcap 1.10 refuses such a file; each packet is decoded with its
	 * own interface's link type */
	uint16_t mixed[2] = { 1, 113 };
	struct frame m[3] = { fr[0], fr[1], fr[2] };
	for (int i = 1; i < 3; i++) to_sll(&m[i]);
	write_pcapng(tmp("mixed.pcapng"), mixed, 2, m, ifc, 3);
	CHECK_EQ_U(run(tmp("mixed.pcapng"), NULL), 0);
	CHECK_STR(logbuf, "O0@1 10.0.0.1:1000>10.0.0.2:443 i0\nD0.0@3:ng\nE0@3:EOF\n");
	CHECK(!stats.truncated && stats.malformed == 0 && stats.not_ip == 0);
}

/* ---- real captures vs Wireshark's tcp.stream ----------------------- */

struct known {
	const char *path;
	/* "O<id>@<first frame>" for every connection: the first frame of each
	 * tcp.stream in `tshark -r F -T fields -e frame.number -e tcp.stream`
	 * (Wireshark 4.0); a frame's stream is then the latest one opened on
	 * its tuple */
	const char *opens;
};

/* First frame of each stream id ("O<id>@<frame> "): a retried SYN opens
 * the same id again for the sink, but tshark lists a stream once. */
static void opens_only(char *out, size_t n)
{
	out[0] = 0;
	for (char *l = logbuf; *l;) {
		char *e = strchr(l, '\n');
		if (!e) break;
		if (*l == 'O') {
			char *sp = strchr(l, ' '), *at = strchr(l, '@'), id[32];
			snprintf(id, sizeof id, " %.*s@", (int)(at - l), l);
			char with_space[8200];
			snprintf(with_space, sizeof with_space, " %s", out);
			if (!strstr(with_space, id)) {
				strncat(out, l, (size_t)(sp - l));
				strncat(out, " ", n - strlen(out) - 1);
			}
		}
		l = e + 1;
	}
}

/* UDP flows: ids are Wireshark's udp.stream (tshark -T fields -e udp.stream: the
 * first frames of streams 0-4 are 1, 2, 18, 21, 116; its stream 5 is the UDP
 * header quoted inside the ICMP error of frame 280, which is no flow). */
static void test_udp_flows(void)
{
	const char *path = "../shared/corpus/public/ntop_nDPI/tests/cfgs/default/pcap/capwap.pcap";
	if (access(path, R_OK) != 0) {
		printf("skip (not here): %s\n", path);
		return;
	}
	log_udp = true;
	udp_datagrams = udp_bytes = 0;
	CHECK_EQ_U(run(path, NULL), 0);
	log_udp = false;
	char got[256] = "";
	for (const char *l = logbuf; (l = strchr(l, 'U')) != NULL; l++) {
		const char *e = strchr(l, ' ');
		if (!e) break;
		strncat(got, l, (size_t)(e - l + 1));
	}
	CHECK_STR(got, "U0@1 U1@2 U2@18 U3@21 U4@116 ");
	CHECK_EQ_U(stats.udp_flows, 5);
	CHECK_EQ_U(stats.conns, 0); /* TCP connections only */
	CHECK_EQ_U(udp_datagrams, stats.udp_packets);
}

static void test_corpus(void)
{
	static const struct known k[] = {
		{ "../shared/corpus/public/ntop_nDPI/tests/cfgs/default/pcap/tls_multiple_synack_different_seq.pcapng",
		  "O0@1 " },
		{ "../shared/corpus/public/OISF_suricata-verify/tests/tls-duplicate-hello/input.pcap", "O0@1 O1@3 " },
		/* includes a tuple reused after a RST with the same ISN: one stream (7) */
		{ "../shared/corpus/public/OISF_suricata-verify/tests/tls/tls-subjectaltname/input.pcap",
		  "O0@10 O1@11 O2@35 O3@43 O4@44 O5@67 O6@81 O7@152 O8@249 O9@270 O10@337 O11@338 O12@339 "
		  "O13@343 O14@344 O15@373 O16@375 O17@387 O18@389 O19@390 O20@391 O21@434 O22@456 O23@457 "
		  "O24@458 O25@463 O26@466 O27@533 O28@559 O29@640 O30@761 O31@887 O32@888 O33@1137 O34@1359 "
		  "O35@1380 O36@1560 O37@1615 O38@1630 O39@1640 O40@1854 O41@1990 O42@2003 O43@2225 O44@2226 "
		  "O45@2227 O46@2243 O47@2325 O48@2464 O49@2468 O50@2470 O51@2492 O52@2533 O53@2540 O54@2542 "
		  "O55@2703 O56@2704 O57@2729 O58@2774 O59@2840 O60@2902 O61@2903 O62@2949 O63@2950 O64@2997 "
		  "O65@2998 O66@3040 O67@3041 " },
	};
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		if (access(k[i].path, R_OK) != 0) {
			printf("skip (not here): %s\n", k[i].path);
			continue;
		}
		log_opens_only = true;
		CHECK_EQ_U(run(k[i].path, NULL), 0);
		log_opens_only = false;
		char got[8192];
		opens_only(got, sizeof got);
		CHECK_STR(got, k[i].opens);
		CHECK_EQ_U(stats.gaps, 0); /* none of them lost a segment */
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_lifecycle();
	test_clock_outlier();
	test_gaps_and_ignore();
	test_nano_truncated();
	test_pcapng();
	test_corpus();
	test_udp_flows();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_summary();
}
