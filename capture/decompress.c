/* Decompressing reader: a producer thread (readahead.c) reads the
 * descriptor and decompresses into a ring of NCHUNK chunks; dz_read hands
 * them out.  zlib (gzip, several members as zcat reads them), libzstd
 * (frames, several), liblz4 (frame format, several).  Plain streams are
 * read on the caller's thread, or through the ring when asked to. */
#include "decompress.h"

#include <errno.h>
#include <lz4frame.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "readahead.h"

#define CHUNK ((size_t)256 << 10)
#define NCHUNK 4
#define IN_BUF ((size_t)128 << 10)

enum step { ST_MORE, ST_END, ST_BAD };

struct dz {
	int fd;
	bool regular;
	enum dz_kind kind;
	uint8_t head[4];
	size_t head_n, head_pos;       /* plain: the magic bytes read, handed out first */
	_Atomic uint64_t consumed;     /* compressed bytes read (by the producer) */
	uint64_t given;                /* bytes dz_read handed out */
	_Atomic bool stop;             /* dz_close: a pipe's read ends */

	/* the ring (compressed, or plain when asked for) */
	struct ra *ra;
	bool threaded;                  /* the fd is read on the producer thread */
	const uint8_t *cur;             /* the chunk being handed out */
	size_t cur_n, cur_pos;
	bool ended;                     /* dz_read has returned 0 */
	/* the producer's, read by the consumer once the ring has ended */
	int err;                        /* errno of a read error */
	char reason[200];               /* why the stream ended early ("" clean) */

	/* producer only */
	uint8_t *in;
	size_t in_n, in_pos;
	bool in_eof;
	bool at_end;                    /* the last member / frame is complete */
	z_stream zs;
	bool zs_on;
	ZSTD_DStream *zd;
	LZ4F_dctx *lz;
};

const char *dz_kind_name(enum dz_kind k)
{
	switch (k) {
	case DZ_GZIP: return "gzip";
	case DZ_ZSTD: return "zstd";
	case DZ_LZ4: return "lz4";
	default: return "";
	}
}

static enum dz_kind sniff(const uint8_t *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return DZ_GZIP;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return DZ_ZSTD;
	if (n >= 4 && b[0] == 0x04 && b[1] == 0x22 && b[2] == 0x4d && b[3] == 0x18) return DZ_LZ4;
	return DZ_PLAIN;
}

/* read(2) that a pipe cannot block past dz_close. */
static ssize_t read_some(struct dz *z, void *buf, size_t n)
{
	for (;;) {
		if (!z->regular && z->threaded) {
			struct pollfd pf = { z->fd, POLLIN, 0 };
			int pr = poll(&pf, 1, 200);
			if (atomic_load(&z->stop)) return 0;
			if (pr == 0 || (pr < 0 && errno == EINTR)) continue;
		}
		ssize_t r = read(z->fd, buf, n);
		if (r < 0 && errno == EINTR) continue;
		if (r > 0) atomic_fetch_add(&z->consumed, (uint64_t)r);
		return r;
	}
}

static void set_reason(struct dz *z, const char *what, const char *detail)
{
	snprintf(z->reason, sizeof z->reason, "%s %s%s%s", dz_kind_name(z->kind), what, detail ? ": " : "",
		 detail ? detail : "");
}

/* One decompression call from z->in into out. */
static enum step step(struct dz *z, uint8_t *out, size_t cap, size_t *made)
{
	*made = 0;
	size_t avail = z->in_n - z->in_pos;
	if (z->kind == DZ_GZIP) {
		if (z->at_end) {
			/* another member follows (zcat reads them all); anything
			 * else after a member is ignored, as zcat does */
			if (!avail) return ST_MORE;
			if (z->in[z->in_pos] != 0x1f) return ST_END;
			if (inflateReset(&z->zs) != Z_OK) return ST_BAD;
			z->at_end = false;
		}
		z->zs.next_in = z->in + z->in_pos;
		z->zs.avail_in = (uInt)avail;
		z->zs.next_out = out;
		z->zs.avail_out = (uInt)cap;
		int rc = inflate(&z->zs, Z_NO_FLUSH);
		z->in_pos = z->in_n - z->zs.avail_in;
		*made = cap - z->zs.avail_out;
		if (rc == Z_STREAM_END) z->at_end = true;
		else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			set_reason(z, "data corrupt", z->zs.msg ? z->zs.msg : "inflate failed");
			return ST_BAD;
		}
		return ST_MORE;
	}
	/* a frame is complete and flushed: only more input can follow (a
	 * call without input would ask for the next frame's header) */
	if (z->at_end && !avail) return ST_MORE;
	if (z->kind == DZ_ZSTD) {
		ZSTD_inBuffer ib = { z->in, z->in_n, z->in_pos };
		ZSTD_outBuffer ob = { out, cap, 0 };
		size_t r = ZSTD_decompressStream(z->zd, &ob, &ib);
		z->in_pos = ib.pos;
		*made = ob.pos;
		if (ZSTD_isError(r)) {
			set_reason(z, "data corrupt", ZSTD_getErrorName(r));
			return ST_BAD;
		}
		z->at_end = r == 0;
		return ST_MORE;
	}
	size_t dst = cap, src = avail;
	size_t r = LZ4F_decompress(z->lz, out, &dst, z->in + z->in_pos, &src, NULL);
	z->in_pos += src;
	*made = dst;
	if (LZ4F_isError(r)) {
		set_reason(z, "data corrupt", LZ4F_getErrorName(r));
		return ST_BAD;
	}
	z->at_end = r == 0;
	return ST_MORE;
}

/* Keep the unread input, read more after it; false at the end or on error. */
static bool refill(struct dz *z)
{
	size_t left = z->in_n - z->in_pos;
	memmove(z->in, z->in + z->in_pos, left);
	z->in_n = left;
	z->in_pos = 0;
	if (z->in_eof || left == IN_BUF) return false;
	ssize_t r = read_some(z, z->in + left, IN_BUF - left);
	if (r < 0) {
		z->err = errno;
		return false;
	}
	if (r == 0) z->in_eof = true;
	z->in_n += (size_t)r;
	return r > 0;
}

/* Fill one chunk; false when the stream is over (ended, bad or stopped). */
static bool fill(void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	struct dz *z = ctx;
	size_t n = 0;
	bool more = true;
	while (n < cap) {
		size_t before = z->in_pos, made;
		/* also without input: the decoder may hold output a full chunk left */
		enum step s = step(z, out + n, cap - n, &made);
		if (s == ST_BAD) {
			n += made;
			more = false;
			break;
		}
		if (s == ST_END) {
			more = false;
			break;
		}
		n += made;
		if (made == 0 && z->in_pos == before) {
			/* no progress: it needs more input */
			if (!refill(z)) {
				if (z->err)
					set_reason(z, "read error", strerror(z->err));
				else if (atomic_load(&z->stop))
					;
				else if (!z->at_end)
					set_reason(z, "data ends early", "the compressed file is truncated");
				more = false;
				break;
			}
		}
	}
	*len = n;
	return more;
}

/* A plain stream's chunk: what one read(2) gives (a pipe's bytes are
 * handed on as they come, not held until a chunk is full). */
static bool fill_plain(void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	struct dz *z = ctx;
	ssize_t r = read_some(z, out, cap);
	if (r < 0) z->err = errno;
	*len = r > 0 ? (size_t)r : 0;
	return r > 0;
}

static bool codec_init(struct dz *z)
{
	switch (z->kind) {
	case DZ_GZIP:
		memset(&z->zs, 0, sizeof z->zs);
		z->zs_on = inflateInit2(&z->zs, 15 + 16) == Z_OK; /* gzip wrapper only */
		return z->zs_on;
	case DZ_ZSTD:
		z->zd = ZSTD_createDStream();
		return z->zd && !ZSTD_isError(ZSTD_initDStream(z->zd));
	case DZ_LZ4:
		return !LZ4F_isError(LZ4F_createDecompressionContext(&z->lz, LZ4F_VERSION));
	default:
		return true;
	}
}

static void codec_free(struct dz *z)
{
	if (z->zs_on) inflateEnd(&z->zs);
	ZSTD_freeDStream(z->zd);
	if (z->lz) LZ4F_freeDecompressionContext(z->lz);
}

struct dz *dz_open(int fd, bool ahead)
{
	struct dz *z = calloc(1, sizeof *z);
	if (!z) return NULL;
	z->fd = fd;
	struct stat sb;
	z->regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	while (z->head_n < sizeof z->head) {
		ssize_t r = read_some(z, z->head + z->head_n, sizeof z->head - z->head_n);
		if (r <= 0) break;
		z->head_n += (size_t)r;
	}
	z->kind = sniff(z->head, z->head_n);
	if (z->kind == DZ_PLAIN && !ahead) return z;
	bool ok = true;
	if (z->kind != DZ_PLAIN) {
		z->in = malloc(IN_BUF);
		ok = z->in && codec_init(z);
		if (ok) memcpy(z->in, z->head, z->head_n);
		z->in_n = z->head_n;
	}
	/* decompression always has its thread (as `zcat FILE |` would) */
	z->threaded = ok;
	if (ok) z->ra = ra_open(z->kind == DZ_PLAIN ? fill_plain : fill, z, CHUNK, NCHUNK, true);
	if (!z->ra) {
		codec_free(z);
		free(z->in);
		free(z);
		errno = ENOMEM;
		return NULL;
	}
	return z;
}

enum dz_kind dz_kind(const struct dz *z) { return z->kind; }

void dz_pause(struct dz *z, bool pause)
{
	if (z->kind == DZ_PLAIN && z->regular) ra_pause(z->ra, pause);
}

/* A plain stream read here: the first bytes (read to tell the kind), then
 * the descriptor's. */
static ssize_t read_plain(struct dz *z, void *buf, size_t n)
{
	if (z->head_pos < z->head_n) {
		size_t k = z->head_n - z->head_pos < n ? z->head_n - z->head_pos : n;
		memcpy(buf, z->head + z->head_pos, k);
		z->head_pos += k;
		return (ssize_t)k;
	}
	return read_some(z, buf, n);
}

/* Out of the ring's chunks. */
static ssize_t read_ring(struct dz *z, void *buf, size_t n)
{
	if (z->cur_pos == z->cur_n) {
		z->cur_n = ra_next(z->ra, &z->cur);
		z->cur_pos = 0;
	}
	if (!z->cur_n) {
		/* the producer's err and reason are final now (ra_next synchronised) */
		z->ended = true;
		if (z->err && !z->reason[0]) {
			errno = z->err;
			return -1;
		}
		return 0;
	}
	size_t k = z->cur_n - z->cur_pos < n ? z->cur_n - z->cur_pos : n;
	memcpy(buf, z->cur + z->cur_pos, k);
	z->cur_pos += k;
	return (ssize_t)k;
}

ssize_t dz_read(struct dz *z, void *buf, size_t n)
{
	if (!n) return 0;
	/* a plain stream's first bytes were read here, also with a ring */
	bool here = z->kind == DZ_PLAIN && (!z->ra || z->head_pos < z->head_n);
	ssize_t r = here ? read_plain(z, buf, n) : read_ring(z, buf, n);
	if (r > 0) z->given += (size_t)r;
	return r;
}

const char *dz_end_reason(const struct dz *z)
{
	/* only once dz_read has met the end: the producer may still be
	 * writing it before then (and a reason must not depend on timing) */
	if (z->kind == DZ_PLAIN || !z->ended || !z->reason[0]) return NULL;
	return z->reason;
}

uint64_t dz_consumed(const struct dz *z)
{
	/* plain: what was handed out, however far a read-ahead thread is */
	return z->kind == DZ_PLAIN ? z->given : atomic_load(&((struct dz *)z)->consumed);
}

void dz_close(struct dz *z)
{
	if (!z) return;
	atomic_store(&z->stop, true); /* a pipe's read_some returns */
	ra_close(z->ra);
	codec_free(z);
	free(z->in);
	close(z->fd);
	free(z);
}
