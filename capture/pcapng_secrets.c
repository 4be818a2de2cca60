/* The secrets walk: the pcapng block reader with its packets skipped. */
#include "pcapng_secrets.h"

#include <fcntl.h>
#include <stdint.h>
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
};

static void take(void *ctx, const uint8_t *text, size_t n)
{
	struct acc *a = ctx;
	if (a->len + n + 1 > MAX_TEXT) return;
	char *p = realloc(a->out, a->len + n + 1);
	if (!p) return;
	a->out = p;
	memcpy(a->out + a->len, text, n);
	a->len += n;
	a->out[a->len++] = '\n';
	a->blocks++;
}

int cap_pcapng_tls_secrets(const char *path, bool compressed, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (!path || strcmp(path, "-") == 0) return -1;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) return stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) ? -1 : 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -1;
	}
	struct dz *z = dz_open(fd);
	if (!z) {
		close(fd);
		return 0;
	}
	if (dz_kind(z) != DZ_PLAIN && !compressed) {
		dz_close(z);
		return -1;
	}
	uint8_t head[4];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof head && (r = dz_read(z, head + n, sizeof head - n)) > 0) n += (size_t)r;
	struct acc a = { NULL, 0, 0 };
	static const uint8_t shb[4] = { 0x0A, 0x0D, 0x0D, 0x0A };
	struct png *p = n == 4 && memcmp(head, shb, 4) == 0 ? png_open(z, head, n) : NULL;
	if (p) {
		png_set_secrets(p, take, &a);
		png_skip_packets(p, true);
		struct png_pkt pk;
		char e[200];
		(void)png_next(p, &pk, e, sizeof e); /* to the end, or to a bad block */
		png_close(p);
	}
	dz_close(z);
	*text = a.out;
	*len = a.len;
	return a.blocks;
}
