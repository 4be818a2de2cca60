/* Following a key log as it grows (dissect/keylog.c tls_keylog_follow,
 * tls_keylog_refresh): appended lines are read, a line only once its
 * newline is written, and a file truncated and written again, or replaced,
 * is read from its start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../dissect/keylog.h"
#include "check.h"

static void put(const char *path, const char *mode, const char *text)
{
	FILE *fp = fopen(path, mode);
	if (!fp) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
}

/* past the refresh rate limit */
static void later(void)
{
	struct timespec ts = { 0, (TLS_KEYLOG_REFRESH_MS + 20) * 1000000L };
	nanosleep(&ts, NULL);
}

static void random_of(uint8_t r[32], uint8_t b)
{
	memset(r, b, 32);
}

/* "LABEL <64 hex digits of byte b> <32 bytes of secret>" */
static void line(char *out, size_t n, const char *label, uint8_t b)
{
	char hex[65];
	for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", b);
	snprintf(out, n, "%s %s %s\n", label, hex, "0101010101010101010101010101010101010101010101010101010101010101");
}

int main(void)
{
	char path[] = "/tmp/ek-keylog-follow-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	char l1[256], l2[256], l3[256];
	line(l1, sizeof l1, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0xa1);
	line(l2, sizeof l2, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0xb2);
	line(l3, sizeof l3, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0xc3);
	uint8_t r1[32], r2[32], r3[32];
	random_of(r1, 0xa1);
	random_of(r2, 0xb2);
	random_of(r3, 0xc3);

	put(path, "w", l1);
	struct tls_keylog *k = tls_keylog_new(0);
	char err[256];
	CHECK(tls_keylog_add_file(k, path, err, sizeof err) == 0);
	CHECK(tls_keylog_follow(k, path) == 0);
	CHECK(tls_keylog_find(k, r1) != NULL);
	CHECK(tls_keylog_find(k, r2) == NULL);

	/* half a line: not read until its newline is there */
	size_t half = strlen(l2) / 2;
	char first[256];
	memcpy(first, l2, half);
	first[half] = 0;
	put(path, "a", first);
	later();
	CHECK(tls_keylog_refresh(k) == 0);
	CHECK(tls_keylog_find(k, r2) == NULL);
	put(path, "a", l2 + half);
	later();
	CHECK(tls_keylog_refresh(k) == 1);
	CHECK(tls_keylog_find(k, r2) != NULL);
	/* rate limit: a second refresh at once reads nothing */
	put(path, "a", l3);
	CHECK(tls_keylog_refresh(k) == 0);
	CHECK(tls_keylog_find(k, r3) == NULL);
	later();
	CHECK(tls_keylog_refresh(k) == 1);
	CHECK(tls_keylog_find(k, r3) != NULL);

	/* truncated and written again to a greater length (a client restarted) */
	char l4[256], l5[256];
	line(l4, sizeof l4, "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0xd4);
	line(l5, sizeof l5, "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0xe5);
	char both[1024];
	snprintf(both, sizeof both, "%s%s%s%s", l4, l5, l4, l5);
	put(path, "w", both);
	later();
	CHECK(tls_keylog_refresh(k) == 1);
	uint8_t r4[32], r5[32];
	random_of(r4, 0xd4);
	random_of(r5, 0xe5);
	CHECK(tls_keylog_find(k, r4) != NULL);
	CHECK(tls_keylog_find(k, r5) != NULL);

	/* replaced by a new file (rename over it) */
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	char l6[256];
	line(l6, sizeof l6, "CLIENT_RANDOM", 0xf6);
	/* a master secret is 48 bytes */
	char *sp = strrchr(l6, ' ');
	snprintf(sp + 1, 100, "%s\n", "010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101");
	put(tmp, "w", l6);
	CHECK(rename(tmp, path) == 0);
	later();
	CHECK(tls_keylog_refresh(k) == 1);
	uint8_t r6[32];
	random_of(r6, 0xf6);
	const struct tls_keylog_entry *e = tls_keylog_find(k, r6);
	CHECK(e && (e->have & 1u << TLS_SECRET_MASTER));

	tls_keylog_free(k);
	unlink(path);
	return check_summary();
}
