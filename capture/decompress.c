/* Decompressing reader: a producer thread reads the descriptor and
 * decompresses into a ring of NCHUNK chunks; dz_read hands them out.
 * zlib (gzip, several members as zcat reads them), libzstd (frames,
 * several), liblz4 (frame format, several). */
#include "decompress.h"

#include <errno.h>
#include <lz4frame.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

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
	_Atomic uint64_t consumed;

	/* compressed: the ring */
	pthread_t th;
	bool th_on;
	pthread_mutex_t mu;
	pthread_cond_t filled, freed;
	uint8_t *ring[NCHUNK];
	size_t ring_n[NCHUNK];
	size_t r_head, r_count, r_pos;  /* next chunk to read, chunks ready, read offset in it */
	bool done, stop;
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
		if (!z->regular && z->th_on) {
			struct pollfd pf = { z->fd, POLLIN, 0 };
			int pr = poll(&pf, 1, 200);
			if (__atomic_load_n(&z->stop, __ATOMIC_RELAXED)) return 0;
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
static bool fill(struct dz *z, uint8_t *out, size_t *len)
{
	size_t n = 0;
	bool more = true;
	while (n < CHUNK) {
		size_t before = z->in_pos, made;
		/* also without input: the decoder may hold output a full chunk left */
		enum step s = step(z, out + n, CHUNK - n, &made);
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
				else if (__atomic_load_n(&z->stop, __ATOMIC_RELAXED))
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

static void *producer(void *arg)
{
	struct dz *z = arg;
	size_t tail = 0;
	for (;;) {
		pthread_mutex_lock(&z->mu);
		while (z->r_count == NCHUNK && !z->stop) pthread_cond_wait(&z->freed, &z->mu);
		bool stop = z->stop;
		pthread_mutex_unlock(&z->mu);
		if (stop) break;
		size_t len = 0;
		bool more = fill(z, z->ring[tail], &len);
		pthread_mutex_lock(&z->mu);
		if (len) {
			z->ring_n[tail] = len;
			z->r_count++;
			tail = (tail + 1) % NCHUNK;
		}
		if (!more) z->done = true;
		pthread_cond_signal(&z->filled);
		pthread_mutex_unlock(&z->mu);
		if (!more) break;
	}
	return NULL;
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

struct dz *dz_open(int fd)
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
	if (z->kind == DZ_PLAIN) return z;
	z->in = malloc(IN_BUF);
	bool ok = z->in && codec_init(z);
	for (int i = 0; ok && i < NCHUNK; i++) ok = (z->ring[i] = malloc(CHUNK)) != NULL;
	if (ok) {
		memcpy(z->in, z->head, z->head_n);
		z->in_n = z->head_n;
		pthread_mutex_init(&z->mu, NULL);
		pthread_cond_init(&z->filled, NULL);
		pthread_cond_init(&z->freed, NULL);
		z->th_on = true;
		if (pthread_create(&z->th, NULL, producer, z) != 0) {
			z->th_on = false;
			pthread_mutex_destroy(&z->mu);
			pthread_cond_destroy(&z->filled);
			pthread_cond_destroy(&z->freed);
			ok = false;
		}
	}
	if (!ok) {
		codec_free(z);
		for (int i = 0; i < NCHUNK; i++) free(z->ring[i]);
		free(z->in);
		free(z);
		errno = ENOMEM;
		return NULL;
	}
	return z;
}

enum dz_kind dz_kind(const struct dz *z) { return z->kind; }

ssize_t dz_read(struct dz *z, void *buf, size_t n)
{
	if (!n) return 0;
	if (z->kind == DZ_PLAIN) {
		if (z->head_pos < z->head_n) {
			size_t k = z->head_n - z->head_pos < n ? z->head_n - z->head_pos : n;
			memcpy(buf, z->head + z->head_pos, k);
			z->head_pos += k;
			return (ssize_t)k;
		}
		return read_some(z, buf, n);
	}
	pthread_mutex_lock(&z->mu);
	while (!z->r_count && !z->done) pthread_cond_wait(&z->filled, &z->mu);
	bool have = z->r_count > 0;
	pthread_mutex_unlock(&z->mu);
	if (!have) {
		if (z->err && !z->reason[0]) {
			errno = z->err;
			return -1;
		}
		return 0;
	}
	/* the producer does not touch a ready chunk */
	size_t c = z->r_head, k = z->ring_n[c] - z->r_pos < n ? z->ring_n[c] - z->r_pos : n;
	memcpy(buf, z->ring[c] + z->r_pos, k);
	z->r_pos += k;
	if (z->r_pos == z->ring_n[c]) {
		z->r_pos = 0;
		z->r_head = (c + 1) % NCHUNK;
		pthread_mutex_lock(&z->mu);
		z->r_count--;
		pthread_cond_signal(&z->freed);
		pthread_mutex_unlock(&z->mu);
	}
	return (ssize_t)k;
}

const char *dz_end_reason(const struct dz *z)
{
	if (z->kind == DZ_PLAIN || !z->reason[0]) return NULL;
	return z->reason;
}

uint64_t dz_consumed(const struct dz *z) { return atomic_load(&((struct dz *)z)->consumed); }

void dz_close(struct dz *z)
{
	if (!z) return;
	if (z->th_on) {
		pthread_mutex_lock(&z->mu);
		__atomic_store_n(&z->stop, true, __ATOMIC_RELAXED);
		pthread_cond_signal(&z->freed);
		pthread_mutex_unlock(&z->mu);
		pthread_join(z->th, NULL);
		pthread_mutex_destroy(&z->mu);
		pthread_cond_destroy(&z->filled);
		pthread_cond_destroy(&z->freed);
	}
	codec_free(z);
	for (int i = 0; i < NCHUNK; i++) free(z->ring[i]);
	free(z->in);
	close(z->fd);
	free(z);
}
