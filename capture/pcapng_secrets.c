/* The secrets walk: the pcapng block reader with its packets skipped. */
#include "pcapng_secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decompress.h"
#include "pcapng.h"

#define MAX_TEXT (64u * 1024u * 1024u)

struct acc {
	char *out;
	size_t len;
	int blocks;
	int lost;                 /* blocks left out: over MAX_TEXT (1) or no memory (2) */
};

static void take(void *ctx, const uint8_t *text, size_t n)
{
	struct acc *a = ctx;
	if (a->len + n + 1 > MAX_TEXT) {
		a->lost = 1;
		return;
	}
	char *p = realloc(a->out, a->len + n + 1);
	if (!p) {
		a->lost = 2;
		return;
	}
	a->out = p;
	memcpy(a->out + a->len, text, n);
	a->len += n;
	a->out[a->len++] = '\n';
	a->blocks++;
}

static int fail(char errbuf[EK_ERRBUF_SIZE], const char *path, const char *why, int rc)
{
	snprintf(errbuf, EK_ERRBUF_SIZE, "%.200s: secrets not read ahead: %.250s", path, why);
	return rc;
}

int cap_pcapng_tls_secrets(const char *path, bool compressed, char **text, size_t *len,
			   char errbuf[EK_ERRBUF_SIZE])
{
	*text = NULL;
	*len = 0;
	errbuf[0] = '\0';
	if (!path || strcmp(path, "-") == 0) return fail(errbuf, path ? path : "", "standard input", -1);
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		bool special = stat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
		return fail(errbuf, path, special ? "not a regular file" : strerror(e), special ? -1 : 0);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(errbuf, path, "not a regular file", -1);
	}
	struct dz *z = dz_open(fd, false);
	if (!z) {
		int e = errno;
		close(fd);
		return fail(errbuf, path, strerror(e), 0);
	}
	if (dz_kind(z) != DZ_PLAIN && !compressed) {
		dz_close(z);
		return fail(errbuf, path, "compressed", -1);
	}
	uint8_t head[4];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof head && (r = dz_read(z, head + n, sizeof head - n)) > 0) n += (size_t)r;
	struct acc a = { NULL, 0, 0, 0 };
	static const uint8_t shb[4] = { 0x0A, 0x0D, 0x0D, 0x0A };
	bool is_png = n == 4 && memcmp(head, shb, 4) == 0;
	struct png *p = is_png ? png_open(z, head, n) : NULL;
	if (is_png && !p) fail(errbuf, path, "out of memory", 0);
	if (p) {
		png_set_secrets(p, take, &a);
		png_skip_packets(p, true);
		struct png_pkt pk;
		char e[200] = "";
		enum png_rc rc = png_next(p, &pk, e, sizeof e); /* to the end, or to a bad block */
		png_close(p);
		if (rc == PNG_BAD || rc == PNG_IOERR) fail(errbuf, path, e, 0);
	}
	dz_close(z);
	if (a.lost)
		fail(errbuf, path, a.lost == 1 ? "over 64 MiB of secrets, the rest left out" : "out of memory, secrets left out", 0);
	*text = a.out;
	*len = a.len;
	return a.blocks;
}
