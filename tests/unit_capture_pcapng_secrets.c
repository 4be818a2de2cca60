/* capture/pcapng_secrets.c: Decryption Secrets Blocks out of pcapng files
 * written here in both byte orders; several blocks and sections; other
 * secrets types; blocks after the first packet (read too); corrupt and
 * truncated blocks (the walk stops quietly, what came before is kept);
 * classic pcap, a missing file, a pipe, standard input, a compressed file. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/pcapng_secrets.h"
#include "bytebuf.h"
#include "check.h"


static void put32(struct buf *b, uint32_t v, bool le)
{
	uint8_t x[4];
	for (int i = 0; i < 4; i++) x[le ? i : 3 - i] = (uint8_t)(v >> (8 * i));
	put(b, x, 4);
}

static void put16(struct buf *b, uint16_t v, bool le)
{
	uint8_t x[2] = { le ? (uint8_t)v : (uint8_t)(v >> 8), le ? (uint8_t)(v >> 8) : (uint8_t)v };
	put(b, x, 2);
}

static void shb(struct buf *b, bool le)
{
	put32(b, 0x0A0D0D0A, le);
	put32(b, 28, le);
	put32(b, 0x1A2B3C4D, le);
	put16(b, 1, le);
	put16(b, 0, le);
	put32(b, 0xffffffff, le); /* section length: unknown */
	put32(b, 0xffffffff, le);
	put32(b, 28, le);
}

static void idb(struct buf *b, bool le)
{
	put32(b, 1, le);
	put32(b, 20, le);
	put16(b, 1, le); /* Ethernet */
	put16(b, 0, le);
	put32(b, 262144, le);
	put32(b, 20, le);
}

static void dsb(struct buf *b, bool le, uint32_t type, const char *text)
{
	uint32_t n = (uint32_t)strlen(text), pad = (4 - n % 4) % 4, total = 12 + 8 + n + pad;
	put32(b, 0x0A, le);
	put32(b, total, le);
	put32(b, type, le);
	put32(b, n, le);
	put(b, text, n);
	put(b, "\0\0\0", pad);
	put32(b, total, le);
}

static void epb(struct buf *b, bool le)
{
	static const uint8_t frame[60] = { 0 };
	put32(b, 6, le);
	put32(b, 32 + 60, le);
	put32(b, 0, le);
	put32(b, 0, le);
	put32(b, 0, le);
	put32(b, 60, le);
	put32(b, 60, le);
	put(b, frame, 60);
	put32(b, 32 + 60, le);
}

static char path[64];
static char eb[EK_ERRBUF_SIZE]; /* the reason of the last call */

static int secrets_of(const struct buf *b, char **text, size_t *len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp) return -1;
	fwrite(b->p, 1, b->n, fp);
	fclose(fp);
	return cap_pcapng_tls_secrets(path, false, text, len, eb);
}

#define TLSK 0x544c534bu
#define L1 "CLIENT_RANDOM 00 11"
#define L2 "SERVER_TRAFFIC_SECRET_0 aa bb\nCLIENT_TRAFFIC_SECRET_0 cc dd\n"

static void both_orders(bool le)
{
	struct buf b = { 0 };
	char *t = NULL;
	size_t n = 0;
	shb(&b, le);
	idb(&b, le);
	dsb(&b, le, TLSK, L1);
	dsb(&b, le, 0x57474b4c, "WireGuard keys, not TLS"); /* another secrets type: skipped */
	dsb(&b, le, TLSK, L2);
	shb(&b, !le); /* a second section in the other byte order */
	dsb(&b, !le, TLSK, "X");
	idb(&b, !le);
	epb(&b, !le);
	dsb(&b, !le, TLSK, "after the first packet");
	CHECK_EQ_U(secrets_of(&b, &t, &n), 4);
	CHECK(eb[0] == 0); /* all of them */
	CHECK_EQ_U(n, strlen(L1) + 1 + strlen(L2) + 1 + 2 + strlen("after the first packet") + 1);
	CHECK(t && memcmp(t, L1 "\n" L2 "\nX\nafter the first packet\n", n) == 0);
	free(t);

	/* the same file gzip-compressed: read only when asked to */
	char cmd[200];
	snprintf(cmd, sizeof cmd, "gzip -c %s > %s.gz", path, path);
	if (system(cmd) == 0) {
		char gzpath[80];
		snprintf(gzpath, sizeof gzpath, "%s.gz", path);
		CHECK(cap_pcapng_tls_secrets(gzpath, false, &t, &n, eb) == -1);
		CHECK(strstr(eb, "compressed") != NULL);
		CHECK(t == NULL && n == 0);
		CHECK_EQ_U(cap_pcapng_tls_secrets(gzpath, true, &t, &n, eb), 4);
		CHECK(eb[0] == 0);
		CHECK(t && n == strlen(L1) + 1 + strlen(L2) + 1 + 2 + strlen("after the first packet") + 1);
		free(t);
		unlink(gzpath);
	}

	/* truncated in the middle of the second TLSK block: the first is kept */
	struct buf c = { 0 };
	shb(&c, le);
	dsb(&c, le, TLSK, L1);
	size_t keep = c.n;
	dsb(&c, le, TLSK, L2);
	c.n = keep + 20;
	CHECK_EQ_U(secrets_of(&c, &t, &n), 1);
	CHECK(t && n == strlen(L1) + 1);
	free(t);

	/* corrupt: trailing length differs, secrets length past the block,
	 * block length not a multiple of 4, too short */
	for (int k = 0; k < 4; k++) {
		struct buf d = { 0 };
		shb(&d, le);
		size_t at = d.n;
		dsb(&d, le, TLSK, "ABCD");
		struct buf e = { 0 };
		switch (k) {
		case 0: put32(&e, 99, le); memcpy(d.p + d.n - 4, e.p, 4); break;
		case 1: put32(&e, 1000, le); memcpy(d.p + at + 12, e.p, 4); break;
		case 2: put32(&e, 27, le); memcpy(d.p + at + 4, e.p, 4); break;
		case 3: put32(&e, 8, le); memcpy(d.p + at + 4, e.p, 4); break;
		}
		dsb(&d, le, TLSK, L1);
		t = (char *)1;
		CHECK_EQ_U(secrets_of(&d, &t, &n), 0);
		CHECK(t == NULL && n == 0);
		CHECK(strstr(eb, path) == eb && strlen(eb) > strlen(path) + 30); /* the path, and the block's fault */
		free(d.p);
		free(e.p);
	}
	free(b.p);
	free(c.p);
}

int main(void)
{
	snprintf(path, sizeof path, "/tmp/ek-dsb-test.%ld", (long)getpid());
	both_orders(true);
	both_orders(false);

	/* classic pcap, empty file, no file, a directory */
	struct buf p = { 0 };
	put32(&p, 0xa1b2c3d4, true);
	put(&p, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	char *t = NULL;
	size_t n = 1;
	CHECK_EQ_U(secrets_of(&p, &t, &n), 0);
	CHECK(t == NULL && n == 0);
	CHECK(eb[0] == 0); /* none to read: no reason needed */
	p.n = 0;
	CHECK_EQ_U(secrets_of(&p, &t, &n), 0);
	unlink(path);
	CHECK_EQ_U(cap_pcapng_tls_secrets(path, false, &t, &n, eb), 0);
	CHECK(strstr(eb, "No such file") != NULL);
	CHECK(cap_pcapng_tls_secrets("/tmp", false, &t, &n, eb) == -1);
	CHECK(strstr(eb, "/tmp: secrets not read ahead: not a regular file") == eb);
	CHECK(cap_pcapng_tls_secrets("-", false, &t, &n, eb) == -1);
	CHECK(strstr(eb, "standard input") != NULL);
	/* a pipe is not read (its bytes belong to the capture reader) */
	char fifo[80];
	snprintf(fifo, sizeof fifo, "%s.fifo", path);
	if (mkfifo(fifo, 0600) == 0) {
		CHECK(cap_pcapng_tls_secrets(fifo, false, &t, &n, eb) == -1);
		CHECK(strstr(eb, "not a regular file") != NULL);
		unlink(fifo);
	}
	free(p.p);
	return check_summary();
}
