/* Read-ahead (capture/readahead.c) and the file reader on top of it
 * (source.c, decompress.c): the ring on its own with tiny blocks, then
 * capture files written here through libpcap (records of every size,
 * some larger than a read-ahead block, so records run over block ends)
 * read with and without the read-ahead thread, each record compared with
 * what libpcap's own pcap_next_ex hands out; a file cut inside a record;
 * the same file gzip and zstd compressed; a pcapng sample. */
#include <fcntl.h>
#include <pthread.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "../capture/readahead.h"
#include "../capture/source.h"
#include "check.h"

/* ---- the ring alone ------------------------------------------------ */

struct counter {
	size_t next, total, step; /* bytes made, to make, at most per fill */
};

/* Byte i of the stream is (uint8_t)(i * 7 + i / 251): fills of varying length. */
static bool count_fill(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	struct counter *c = ctx;
	size_t n = c->total - c->next < cap ? c->total - c->next : cap;
	if (n > c->step) n = c->step;
	for (size_t i = 0; i < n; i++, c->next++) buf[i] = (uint8_t)(c->next * 7 + c->next / 251);
	*len = n;
	return c->next < c->total;
}

static void test_ring(bool thread, size_t size, unsigned n, size_t step)
{
	struct counter c = { 0, 100000, step };
	struct ra *r = ra_open(count_fill, &c, size, n, thread);
	CHECK(r != NULL);
	if (!r) return;
	size_t at = 0, bad = 0, len;
	const uint8_t *p;
	while ((len = ra_next(r, &p)) > 0) {
		CHECK(len <= size);
		for (size_t i = 0; i < len; i++, at++) bad += p[i] != (uint8_t)(at * 7 + at / 251);
	}
	CHECK_EQ_U(at, 100000);
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(ra_next(r, &p), 0); /* over stays over */
	ra_close(r);
}

/* Paused and resumed along the way (ra_pause): the same stream; once the
 * blocks filled before a pause are handed out, every fill is made on the
 * consumer's thread, into the block it just read (still in its cache). */
struct who {
	struct counter c;
	pthread_t consumer;
	bool by_consumer[4096]; /* per fill, in stream order */
	size_t fills;
};

static bool who_fill(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	struct who *w = ctx;
	if (w->fills < 4096) w->by_consumer[w->fills] = pthread_equal(pthread_self(), w->consumer);
	w->fills++;
	return count_fill(&w->c, buf, cap, len);
}

static void test_ring_pause(void)
{
	enum { SIZE = 64, N = 3, BLOCKS = 1000 };
	static struct who w;
	w = (struct who){ .c = { 0, SIZE * BLOCKS, SIZE }, .consumer = pthread_self() };
	struct ra *r = ra_open(who_fill, &w, SIZE, N, true);
	CHECK(r != NULL);
	if (!r) return;
	size_t at = 0, bad = 0, len, k = 0, misplaced = 0, moved = 0;
	const uint8_t *p, *last = NULL;
	bool paused = false;
	size_t since = 0; /* block the current pause began at */
	while ((len = ra_next(r, &p)) > 0) {
		for (size_t i = 0; i < len; i++, at++) bad += p[i] != (uint8_t)(at * 7 + at / 251);
		/* paused from block 100 to 400 and from 600 on */
		if (paused && k > since + N + 1) {
			misplaced += !w.by_consumer[k];
			moved += p != last;
		}
		last = p;
		k++;
		bool want = (k >= 100 && k < 400) || k >= 600;
		if (want != paused) {
			ra_pause(r, want);
			paused = want;
			since = k;
		}
	}
	CHECK_EQ_U(at, (size_t)SIZE * BLOCKS);
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(k, BLOCKS);
	CHECK_EQ_U(misplaced, 0);
	CHECK_EQ_U(moved, 0);
	ra_close(r);
}

/* Stopped before the end: the producer is blocked on a full ring. */
static void test_ring_close_early(void)
{
	struct counter c = { 0, (size_t)1 << 30, 4096 };
	struct ra *r = ra_open(count_fill, &c, 4096, 3, true);
	const uint8_t *p;
	CHECK(r && ra_next(r, &p) == 4096 && p[1] == 7);
	ra_close(r);
}

/* ---- capture files ------------------------------------------------- */

static char dir[] = "/tmp/ek-unit-readahead.XXXXXX";

static const char *tmp_path(const char *name)
{
	static char b[4][300];
	static int k;
	k = (k + 1) % 4;
	snprintf(b[k], sizeof b[k], "%s/%s", dir, name);
	return b[k];
}

/* 3000 records of 0..1999 bytes and, every 500th, one of 200 000 (more
 * than a read-ahead block): about 3.6 MB. */
static void write_capture(const char *path, int precision)
{
	pcap_t *d = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, CAP_MAX_SNAPLEN, (u_int)precision);
	pcap_dumper_t *w = d ? pcap_dump_open(d, path) : NULL;
	CHECK(w != NULL);
	if (!w) return;
	static uint8_t pkt[200000];
	uint32_t x = 12345;
	for (int i = 0; i < 3000; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = i % 500 == 499 ? sizeof pkt : (x >> 8) % 2000;
		for (size_t j = 0; j < n; j++) pkt[j] = (uint8_t)(x + j * 31);
		struct pcap_pkthdr h = { { 1700000000 + i, (suseconds_t)(i * 997 % 1000000) }, (bpf_u_int32)n,
					 (bpf_u_int32)(n + (size_t)(i % 3)) };
		pcap_dump((u_char *)w, &h, pkt);
	}
	pcap_dump_close(w);
	pcap_close(d);
}

/* The first `keep` bytes of src into dst. */
static void cut_copy(const char *src, const char *dst, long keep)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	CHECK(in && out);
	if (!in || !out) return;
	static char buf[65536];
	size_t n;
	while (keep > 0 && (n = fread(buf, 1, keep < (long)sizeof buf ? (size_t)keep : sizeof buf, in)) > 0) {
		fwrite(buf, 1, n, out);
		keep -= (long)n;
	}
	fclose(in);
	fclose(out);
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	long sz = file_size(path);
	FILE *f = fopen(path, "rb");
	uint8_t *b = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
	*n = f && b ? fread(b, 1, (size_t)sz, f) : 0;
	if (f) fclose(f);
	return b;
}

static void gzip_copy(const char *src, const char *dst)
{
	size_t n;
	uint8_t *b = slurp(src, &n);
	gzFile g = gzopen(dst, "wb6");
	CHECK(b && g && gzwrite(g, b, (unsigned)n) == (int)n);
	if (g) gzclose(g);
	free(b);
}

static void zstd_copy(const char *src, const char *dst)
{
	size_t n;
	uint8_t *b = slurp(src, &n);
	size_t cap = ZSTD_compressBound(n);
	uint8_t *z = malloc(cap);
	size_t zn = b && z ? ZSTD_compress(z, cap, b, n, 3) : 0;
	FILE *f = fopen(dst, "wb");
	CHECK(f && !ZSTD_isError(zn) && fwrite(z, 1, zn, f) == zn);
	if (f) fclose(f);
	free(z);
	free(b);
}

/* A record as handed out, kept to compare. */
struct rec {
	struct pcap_pkthdr h;
	uint8_t *data;
};

struct reading {
	struct rec *r;
	size_t n;
	int end;          /* the enum src_rc that ended it; libpcap: its pcap_next_ex code */
	char msg[CAP_ERRBUF_SIZE];
	uint64_t done, total;
};

static void keep(struct reading *rd, const struct pcap_pkthdr *h, const uint8_t *data)
{
	rd->r = realloc(rd->r, (rd->n + 1) * sizeof *rd->r);
	rd->r[rd->n].h = *h;
	rd->r[rd->n].data = malloc(h->caplen + 1);
	memcpy(rd->r[rd->n].data, data, h->caplen);
	rd->n++;
}

static void reading_free(struct reading *rd)
{
	for (size_t i = 0; i < rd->n; i++) free(rd->r[i].data);
	free(rd->r);
	memset(rd, 0, sizeof *rd);
}

/* libpcap's own reading: the reference. */
static void read_libpcap(const char *path, struct reading *rd)
{
	char e[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, e);
	CHECK(p != NULL);
	if (!p) return;
	struct pcap_pkthdr *h;
	const u_char *d;
	while ((rd->end = pcap_next_ex(p, &h, &d)) == 1) keep(rd, h, d);
	snprintf(rd->msg, sizeof rd->msg, "%s", pcap_geterr(p));
	pcap_close(p);
}

/* toggle: with the read-ahead thread, reading moves between it and this
 * thread every `toggle` records (src_read_ahead). */
static void read_src_toggled(const char *path, bool ahead, size_t toggle, struct reading *rd)
{
	char e[CAP_ERRBUF_SIZE];
	struct src *s = src_open(path, ahead, e);
	CHECK(s != NULL);
	if (!s) return;
	const struct pcap_pkthdr *h;
	const uint8_t *d;
	while ((rd->end = src_next(s, &h, &d, rd->msg)) == SRC_PACKET) {
		keep(rd, h, d);
		if (toggle && rd->n % toggle == 0) src_read_ahead(s, rd->n / toggle % 2 == 0);
	}
	src_position(s, &rd->done, &rd->total);
	src_close(s);
}

static void read_src(const char *path, bool ahead, struct reading *rd) { read_src_toggled(path, ahead, 0, rd); }

static size_t same_records(const struct reading *a, const struct reading *b)
{
	size_t diff = a->n == b->n ? 0 : 1;
	for (size_t i = 0; !diff && i < a->n; i++) {
		const struct pcap_pkthdr *x = &a->r[i].h, *y = &b->r[i].h;
		diff += x->ts.tv_sec != y->ts.tv_sec || x->ts.tv_usec != y->ts.tv_usec || x->caplen != y->caplen ||
			x->len != y->len || memcmp(a->r[i].data, b->r[i].data, x->caplen) != 0;
	}
	return diff;
}

/* Both ways through src_open (and with reading moved between the threads
 * every few records): the same records as ref, the same end. */
static void check_both_ways(const char *path, const struct reading *ref, int end, size_t min_records)
{
	struct reading on = { 0 }, off = { 0 }, moved = { 0 };
	read_src(path, false, &off);
	read_src(path, true, &on);
	read_src_toggled(path, true, 7, &moved);
	CHECK(off.n >= min_records);
	CHECK_EQ_U(same_records(&off, ref), 0);
	CHECK_EQ_U(same_records(&on, ref), 0);
	CHECK_EQ_U(same_records(&moved, ref), 0);
	CHECK_EQ_U(off.end, end);
	CHECK_EQ_U(on.end, end);
	CHECK_EQ_U(moved.end, end);
	CHECK_STR(on.msg, off.msg);
	CHECK_STR(moved.msg, off.msg);
	CHECK_EQ_U(on.done, off.done);
	CHECK_EQ_U(on.total, off.total);
	CHECK_EQ_U(moved.done, off.done);
	CHECK_EQ_U(moved.total, off.total);
	reading_free(&on);
	reading_free(&off);
	reading_free(&moved);
}

static void test_file(int precision)
{
	char path[300];
	snprintf(path, sizeof path, "%s", tmp_path("a.pcap"));
	write_capture(path, precision);
	struct reading ref = { 0 };
	read_libpcap(path, &ref);
	CHECK_EQ_U(ref.n, 3000);
	CHECK_EQ_U(ref.end, PCAP_ERROR_BREAK); /* the end of the file */
	check_both_ways(path, &ref, SRC_EOF, 3000);

	/* the same bytes compressed (decompressed on a thread either way) */
	gzip_copy(path, tmp_path("a.pcap.gz"));
	check_both_ways(tmp_path("a.pcap.gz"), &ref, SRC_EOF, 3000);
	zstd_copy(path, tmp_path("a.pcap.zst"));
	check_both_ways(tmp_path("a.pcap.zst"), &ref, SRC_EOF, 3000);
	reading_free(&ref);

	/* cut inside the last large record (2999th: 200 000 bytes), inside a
	 * record header, and inside a record straddling a block end */
	long size = file_size(path), cuts[] = { size - 150000, size - 2000, 24 + 128 * 1024 + 5 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		const char *cut = tmp_path("cut.pcap");
		cut_copy(path, cut, cuts[i]);
		read_libpcap(cut, &ref);
		CHECK_EQ_U(ref.end, PCAP_ERROR);
		CHECK(strstr(ref.msg, "truncated") != NULL);
		check_both_ways(cut, &ref, SRC_TRUNCATED, 1);
		struct reading on = { 0 };
		read_src(cut, true, &on);
		CHECK(strstr(on.msg, ref.msg) != NULL); /* "PATH: " + libpcap's message */
		reading_free(&on);
		reading_free(&ref);
	}
}

/* pcapng goes through decompress.c's plain stream: compared with the
 * reading without a thread (libpcap 1.10 reads this one too). */
static void test_pcapng(void)
{
	const char *path = "samples/tls13-mtls-5061-dsb.pcapng";
	if (access(path, R_OK) != 0) return;
	struct reading ref = { 0 };
	read_src(path, false, &ref);
	CHECK(ref.n > 5);
	check_both_ways(path, &ref, SRC_EOF, 5);
	reading_free(&ref);
}

int main(void)
{
	test_ring(false, 1000, 4, 333);
	test_ring(true, 7, 3, 5);     /* tiny blocks, fills shorter than a block */
	test_ring(true, 4096, 2, 100000);
	test_ring(true, 65536, 8, 65536);
	test_ring_close_early();
	test_ring_pause();
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_file(PCAP_TSTAMP_PRECISION_MICRO);
	test_file(PCAP_TSTAMP_PRECISION_NANO);
	test_pcapng();
	const char *names[] = { "a.pcap", "a.pcap.gz", "a.pcap.zst", "cut.pcap" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
	rmdir(dir);
	return check_summary();
}
