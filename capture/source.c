/* Savefile reading.  Classic pcap through libpcap on our own FILE*, so we
 * choose the stdio buffer size and can tell an empty file from a bad one;
 * pcapng through our own block reader (pcapng.c); compressed files and
 * standard input through decompress.c (classic pcap then reaches libpcap
 * through a stdio cookie). */
#define _GNU_SOURCE 1 /* fopencookie */
#include "source.h"

#include "rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "decompress.h"
#include "pcapng.h"
#include "readahead.h"

#define READ_BUF (256 * 1024) /* fewer read(2) calls than stdio's default */
#define FAST_BLOCK ((size_t)128 << 10) /* per pread: what was just read is still in the cache */
#define FAST_BLOCKS 4                   /* with a read-ahead thread: 512 KiB ahead (it reads ~5x faster than the analysis) */

/* Classic pcap files are read here in large blocks and their records
 * handed out in place (libpcap copies each record out of stdio with two
 * freads: most of its cost).  Only records libpcap would hand out as they
 * are: version 2.4, a byte order and timestamp precision we convert the
 * same way, caplen within the snapshot length.  Anything else (pcapng,
 * pipes, a record over the snapshot length, the end of a truncated file,
 * a read error) goes back to libpcap at that record's offset, for its own
 * behaviour and messages.  The blocks come from readahead.h: pread on a
 * thread of its own when the run has a core to spare (src_open's ahead),
 * else on this one.  A record is handed out where it lies in its block; one
 * that runs over a block's end is copied whole into join. */
struct fast {
	bool on;
	bool swapped, scale_up;   /* byte order; microsecond file (nanoseconds wanted) */
	bool le;                  /* the file's byte order is little-endian */
	uint32_t snapshot;
	struct ra *ra;
	const uint8_t *blk;       /* the block being read (ra_next) */
	size_t have, pos;         /* bytes in blk, next record at blk + pos */
	off_t file_off;           /* file offset of blk[0] */
	uint8_t *join;            /* a record over a block's end (grown to the largest: 16 + snapshot at most) */
	size_t join_cap;
	const uint8_t *rec;       /* the record handed out last */
	volatile bool brk;        /* src_break */
	struct pcap_pkthdr h;
	/* the producer's (fast_fill), read here once the ring has ended */
	int fd;
	off_t rd_off;             /* the next block's file offset */
	bool rd_err;              /* a read failed */
};

/* A file's filter compiled for one link type (pcapng: per interface). */
struct dlt_prog {
	int dlt;
	struct bpf_program prog;
};

struct src {
	pcap_t *p;                /* libpcap: live, classic pcap */
	struct dz *dz;            /* pcapng, compressed files, standard input */
	struct png *png;          /* pcapng */
	uint8_t head[4];          /* the first bytes, read to tell the format */
	size_t head_n, head_pos;  /* (handed to libpcap first through the cookie) */
	struct pcap_pkthdr ph;    /* pcapng: the current packet */
	int pkt_dlt;              /* the current packet's link type */
	bool brk;                 /* src_break on a pcapng */
	bool live;
	bool have_filter;         /* files: a compiled program tested per record */
	struct bpf_program prog;
	char *filter;             /* pcapng: the expression, compiled per link type */
	struct dlt_prog *progs;
	size_t n_progs;
	struct rot *dump;          /* -w */
	int fd;                   /* live: pcap_get_selectable_fd, polled by src_wait */
	char *buf; /* stdio buffer: lives until pcap_close has closed the FILE */
	int dlt;
	uint64_t size;  /* of a regular file, else 0 */
	char name[CAP_ERRBUF_SIZE / 2];
	char dltname[48];
	struct fast fast;
};

static void say(char errbuf[CAP_ERRBUF_SIZE], const char *path, const char *what, const char *more)
{
	if (snprintf(errbuf, CAP_ERRBUF_SIZE, "%.200s: %.250s%s", path, what, more ? more : "") < 0) errbuf[0] = 0;
	/* one line, whatever libpcap put in its message */
	for (char *q = errbuf; *q; q++)
		if (*q == '\n' || *q == '\r') *q = ' ';
}

#define HOST_LE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

/* The link type and the name messages use, once libpcap has opened it. */
static void opened(struct src *s, const char *name)
{
	s->dlt = pcap_datalink(s->p);
	const char *n = pcap_datalink_val_to_name(s->dlt);
	if (n) snprintf(s->dltname, sizeof s->dltname, "%s", n);
	else snprintf(s->dltname, sizeof s->dltname, "DLT_%d", s->dlt);
	snprintf(s->name, sizeof s->name, "%s", name);
}

/* The producer: the file's blocks in order, from the first record on. */
static bool fast_fill(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	struct fast *f = ctx;
	size_t n = 0;
	bool more = true;
	while (n < cap) {
		ssize_t r = pread(f->fd, buf + n, cap - n, f->rd_off);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			f->rd_err = r < 0;
			more = false;
			break;
		}
		n += (size_t)r;
		f->rd_off += (off_t)r;
	}
	*len = n;
	return more;
}

/* After libpcap has read the file header: can the records be read here? */
static void fast_setup(struct src *s, FILE *fp, bool ahead)
{
	struct fast *f = &s->fast;
	if (!s->size) return; /* regular files only: a fallback seeks */
	uint8_t hdr[24];
	off_t at = ftello(fp);
	if (at != 24 || pread(fileno(fp), hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) return;
	/* the magic as written in little-endian order tells the file's order */
	struct cur h = cur_make(hdr, sizeof hdr);
	uint32_t magic = cur_u32le(&h);
	bool nsec;
	if (magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u) nsec = false;
	else if (magic == 0xa1b23c4du || magic == 0x4d3cb2a1u) nsec = true;
	else return;
	f->le = magic == 0xa1b2c3d4u || magic == 0xa1b23c4du;
	f->swapped = f->le != HOST_LE;
	uint16_t major = cur_u16_in(&h, f->le), minor = cur_u16_in(&h, f->le);
	/* 2.4 only: older minors may have caplen and len swapped */
	if (major != 2 || minor != 4 || f->swapped != (pcap_is_swapped(s->p) == 1)) return;
	/* byte-swapped pseudo-headers are fixed up by libpcap for some link types */
	if (f->swapped && s->dlt != DLT_EN10MB) return;
	if (pcap_get_tstamp_precision(s->p) != PCAP_TSTAMP_PRECISION_NANO) return;
	/* at most libpcap's MAXIMUM_SNAPLEN: no link type's maximum is lower */
	int snap = pcap_snapshot(s->p);
	if (snap <= 0 || snap > CAP_MAX_SNAPLEN) return;
	f->scale_up = !nsec;
	f->snapshot = (uint32_t)snap;
	f->fd = fileno(fp);
	f->file_off = f->rd_off = at;
	f->ra = ra_open(fast_fill, f, FAST_BLOCK, FAST_BLOCKS, ahead);
	f->on = f->ra != NULL;
}

/* Hand the rest of the file to libpcap, from the next record on. */
static void fast_off(struct src *s)
{
	struct fast *f = &s->fast;
	f->on = false;
	ra_close(f->ra); /* the read-ahead thread ends before libpcap reads */
	f->ra = NULL;
	free(f->join);
	f->join = NULL;
	f->join_cap = 0;
	fseeko(pcap_file(s->p), f->file_off + (off_t)f->pos, SEEK_SET);
}

/* A record header's four words, in the file's byte order (the bounds
 * known here: the checks fold; one branch on the order, not one a word). */
static inline void rec_header(const uint8_t *p, bool le, uint32_t h[4])
{
	struct cur r = cur_make(p, 16);
	if (le) {
		h[0] = cur_u32le(&r);
		h[1] = cur_u32le(&r);
		h[2] = cur_u32le(&r);
		h[3] = cur_u32le(&r);
	} else {
		h[0] = cur_u32(&r);
		h[1] = cur_u32(&r);
		h[2] = cur_u32(&r);
		h[3] = cur_u32(&r);
	}
}

/* As libpcap would hand the record out (else it takes over there). */
static inline bool rec_ok(const struct fast *f, const uint32_t h[4])
{
	/* sec, usec, caplen, len; times past 2038 (or negative): libpcap
	 * versions differ on the sign */
	return h[2] <= f->snapshot && !((h[0] | h[1]) & 0x80000000u);
}

static inline void rec_set(struct fast *f, const uint32_t h[4], const uint8_t *data)
{
	f->h.ts.tv_sec = (time_t)h[0];
	f->h.ts.tv_usec = (suseconds_t)h[1];
	if (f->scale_up) f->h.ts.tv_usec = f->h.ts.tv_usec * 1000;
	f->h.caplen = h[2];
	f->h.len = h[3];
	f->rec = data;
}

/* The next block (the last one is done with): false at the end of the
 * file or a read error. */
static bool next_block(struct fast *f)
{
	f->file_off += (off_t)f->have;
	f->pos = 0;
	f->have = ra_next(f->ra, &f->blk);
	return f->have > 0;
}

/* Bytes from blk + pos on, block after block, until join holds `want`. */
static bool join_more(struct fast *f, size_t *got, size_t want)
{
	if (want > f->join_cap) {
		size_t cap = (want + 4095) & ~(size_t)4095;
		uint8_t *j = realloc(f->join, cap);
		if (!j) return false;
		f->join = j;
		f->join_cap = cap;
	}
	while (*got < want) {
		if (f->pos == f->have && !next_block(f)) return false;
		size_t k = want - *got < f->have - f->pos ? want - *got : f->have - f->pos;
		memcpy(f->join + *got, f->blk + f->pos, k);
		*got += k;
		f->pos += k;
	}
	return true;
}

/* A record that runs over the block's end, copied whole: 1, or -1 with
 * the position back at its start (for fast_off). */
static int fast_join(struct fast *f)
{
	off_t start = f->file_off + (off_t)f->pos;
	uint32_t h[4];
	size_t got = 0;
	if (join_more(f, &got, 16)) {
		rec_header(f->join, f->le, h);
		if (rec_ok(f, h) && join_more(f, &got, 16 + (size_t)h[2])) {
			rec_set(f, h, f->join + 16);
			return 1;
		}
	}
	/* the end of the file inside the record, a read error, a record
	 * libpcap must judge: it reads from the record on */
	f->file_off = start;
	f->pos = f->have = 0;
	return -1;
}

/* The next record in place: 1, 0 at the end of the file, -1 when libpcap
 * must take over. */
static int fast_next(struct fast *f)
{
	for (;;) {
		size_t left = f->have - f->pos;
		if (left >= 16) {
			uint32_t h[4];
			rec_header(f->blk + f->pos, f->le, h);
			if (!rec_ok(f, h)) return -1;
			if (left - 16 >= (size_t)h[2]) {
				rec_set(f, h, f->blk + f->pos + 16);
				f->pos += 16 + (size_t)h[2];
				return 1;
			}
		}
		if (left) return fast_join(f);
		/* libpcap retries (and reports) what failed here */
		if (!next_block(f)) return f->rd_err ? -1 : 0;
	}
}

/* LINKTYPE_ values as files store them -> libpcap's DLT_ values (they
 * differ for a few, e.g. LINKTYPE_RAW 101 is DLT_RAW 12 on Linux). */
static int linktype_dlt(int lt)
{
	switch (lt) {
	case 100: return DLT_ATM_RFC1483;
	case 101: return DLT_RAW;
	case 102: return DLT_SLIP_BSDOS;
	case 103: return DLT_PPP_BSDOS;
	case 106: return DLT_ATM_CLIP;
	default: return lt;
	}
}

/* libpcap reads the decompressed stream through this: the bytes read to
 * tell the format first, then the rest. */
static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
	struct src *s = cookie;
	if (s->head_pos < s->head_n) {
		size_t k = s->head_n - s->head_pos < n ? s->head_n - s->head_pos : n;
		memcpy(buf, s->head + s->head_pos, k);
		s->head_pos += k;
		return (ssize_t)k;
	}
	return dz_read(s->dz, buf, n);
}

/* The first bytes: pcapng's Section Header Block type, the same in both orders. */
static bool is_pcapng(const uint8_t *b, size_t n)
{
	struct cur c = cur_make(b, n);
	return cur_u32(&c) == 0x0A0D0D0Au && cur_ok(&c);
}

/* The first bytes of a regular file: classic pcap (or anything that is
 * neither pcapng nor compressed) goes to libpcap on its own FILE*. */
static bool for_libpcap_file(int fd)
{
	uint8_t b[4];
	if (pread(fd, b, 4, 0) != 4) return true; /* short: libpcap's messages */
	if (is_pcapng(b, 4)) return false;
	struct cur c = cur_make(b, 4);
	if (cur_u16(&c) == 0x1f8b) return false; /* gzip */
	c = cur_make(b, 4);
	uint32_t m = cur_u32le(&c);
	return m != 0xfd2fb528u && m != 0x184d2204u; /* zstd, lz4 frames (little-endian magics) */
}

/* libpcap on fp (a classic pcap file); false with the reason in errbuf.
 * after: what the bytes went through ("after gzip decompression"). */
static bool pcap_on(struct src *s, FILE *fp, const char *path, const char *after, char errbuf[CAP_ERRBUF_SIZE])
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!s->p) {
		if (strstr(ebuf, "unknown file format"))
			say(errbuf, path, "not a pcap or pcapng file (bad magic)", after);
		else
			say(errbuf, path, ebuf[0] ? ebuf : "cannot read", NULL);
		return false;
	}
	opened(s, path);
	return true;
}

/* Standard input, pcapng or a compressed file: through decompress.c. */
static struct src *open_stream(struct src *s, int fd, const char *path, bool ahead, char errbuf[CAP_ERRBUF_SIZE])
{
	s->dz = dz_open(fd, ahead);
	if (!s->dz) {
		close(fd);
		say(errbuf, path, strerror(errno), NULL);
		return NULL;
	}
	const char *kind = dz_kind_name(dz_kind(s->dz));
	char after[64] = "";
	if (*kind) snprintf(after, sizeof after, " (after %s decompression)", kind);
	while (s->head_n < sizeof s->head) {
		ssize_t r = dz_read(s->dz, s->head + s->head_n, sizeof s->head - s->head_n);
		if (r < 0) {
			say(errbuf, path, strerror(errno), NULL);
			return NULL;
		}
		if (r == 0) break;
		s->head_n += (size_t)r;
	}
	if (s->head_n == 0) {
		const char *why = dz_end_reason(s->dz);
		say(errbuf, path, why ? why : "empty file", why ? NULL : after);
		return NULL;
	}
	if (is_pcapng(s->head, s->head_n)) {
		s->png = png_open(s->dz, s->head, s->head_n);
		if (!s->png) {
			say(errbuf, path, "out of memory", NULL);
			return NULL;
		}
		char e[200];
		if (!png_start(s->png, e, sizeof e)) {
			const char *why = dz_end_reason(s->dz);
			say(errbuf, path, why ? why : e, NULL);
			return NULL;
		}
		s->dlt = -1;
		snprintf(s->dltname, sizeof s->dltname, "pcapng (per interface)");
		snprintf(s->name, sizeof s->name, "%s", path);
		return s;
	}
	cookie_io_functions_t io = { cookie_read, NULL, NULL, NULL };
	FILE *fp = fopencookie(s, "rb", io);
	if (!fp) {
		say(errbuf, path, strerror(errno), NULL);
		return NULL;
	}
	if (s->buf) setvbuf(fp, s->buf, _IOFBF, READ_BUF);
	if (!pcap_on(s, fp, path, after, errbuf)) {
		fclose(fp);
		return NULL;
	}
	return s;
}

static void src_free(struct src *s)
{
	if (s->p) pcap_close(s->p); /* closes its FILE */
	png_close(s->png);
	dz_close(s->dz);
	ra_close(s->fast.ra);
	free(s->fast.join);
	free(s->buf);
	free(s);
}

struct src *src_open(const char *path, bool ahead, char errbuf[CAP_ERRBUF_SIZE])
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say(errbuf, path, strerror(errno), NULL);
		return NULL;
	}
	struct src *s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		say(errbuf, path, "out of memory", NULL);
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) s->size = (uint64_t)sb.st_size;
	s->buf = malloc(READ_BUF);
	if (strcmp(path, "-") == 0 || !s->size || !for_libpcap_file(fd)) {
		if (open_stream(s, fd, path, ahead, errbuf)) return s;
		src_free(s);
		return NULL;
	}
	FILE *fp = fdopen(fd, "rb");
	if (!fp) {
		say(errbuf, path, strerror(errno), NULL);
		close(fd);
		src_free(s);
		return NULL;
	}
	if (s->buf) setvbuf(fp, s->buf, _IOFBF, READ_BUF);

	errno = 0;
	int ch = getc(fp);
	if (ch == EOF) {
		say(errbuf, path, ferror(fp) ? strerror(errno ? errno : EIO) : "empty file", NULL);
		goto fail;
	}
	ungetc(ch, fp);

	if (!pcap_on(s, fp, path, NULL, errbuf)) goto fail;
	fast_setup(s, fp, ahead);
	return s;
fail:
	fclose(fp);
	src_free(s);
	return NULL;
}

/* The filter for a link type met for the first time in a pcapng. */
static int filter_for(struct src *s, int dlt, char errbuf[CAP_ERRBUF_SIZE])
{
	for (size_t i = 0; i < s->n_progs; i++)
		if (s->progs[i].dlt == dlt) return 0;
	struct dlt_prog *v = realloc(s->progs, (s->n_progs + 1) * sizeof *v);
	if (!v) {
		say(errbuf, "filter", "out of memory", NULL);
		return -1;
	}
	s->progs = v;
	pcap_t *d = pcap_open_dead(dlt, CAP_MAX_SNAPLEN);
	if (!d || pcap_compile(d, &v[s->n_progs].prog, s->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		const char *n = pcap_datalink_val_to_name(dlt);
		char dn[32], more[300];
		if (n) snprintf(dn, sizeof dn, "%s", n);
		else snprintf(dn, sizeof dn, "DLT_%d", dlt);
		snprintf(more, sizeof more, " (for link type %s, of an interface in %.150s)", dn, s->name);
		say(errbuf, "filter", d ? pcap_geterr(d) : "out of memory", more);
		if (d) pcap_close(d);
		return -1;
	}
	pcap_close(d);
	v[s->n_progs++].dlt = dlt;
	return 0;
}

/* The end of a stream: a compressed file cut short says so. */
static enum src_rc stream_end(struct src *s, enum src_rc rc, char errbuf[CAP_ERRBUF_SIZE])
{
	const char *why = s->dz ? dz_end_reason(s->dz) : NULL;
	if (!why) return rc;
	say(errbuf, s->name, why, "; read up to there");
	return SRC_TRUNCATED;
}

static enum src_rc png_step(struct src *s, const struct pcap_pkthdr **h, const uint8_t **data,
			    char errbuf[CAP_ERRBUF_SIZE])
{
	if (s->brk) {
		s->brk = false;
		return SRC_EOF;
	}
	struct png_pkt p;
	char e[300];
	switch (png_next(s->png, &p, e, sizeof e)) {
	case PNG_PACKET:
		break;
	case PNG_RECORD:
		return SRC_RECORD;
	case PNG_EOF:
		return stream_end(s, SRC_EOF, errbuf);
	case PNG_BAD:
		if (stream_end(s, SRC_EOF, errbuf) == SRC_TRUNCATED) return SRC_TRUNCATED;
		say(errbuf, s->name, e, "; read up to there");
		return SRC_TRUNCATED;
	default:
		say(errbuf, s->name, e, NULL);
		return SRC_ERROR;
	}
	s->pkt_dlt = linktype_dlt(p.linktype);
	if (s->filter && filter_for(s, s->pkt_dlt, errbuf) != 0) return SRC_ERROR;
	s->ph.ts.tv_sec = (time_t)p.sec;
	s->ph.ts.tv_usec = (suseconds_t)p.nsec;
	s->ph.caplen = p.caplen;
	s->ph.len = p.len;
	*h = &s->ph;
	*data = p.data;
	return SRC_PACKET;
}

enum src_rc src_next(struct src *s, const struct pcap_pkthdr **h, const uint8_t **data,
		     char errbuf[CAP_ERRBUF_SIZE])
{
	if (s->png) return png_step(s, h, data, errbuf);
	if (s->fast.on) {
		if (s->fast.brk) {
			s->fast.brk = false;
			return SRC_EOF;
		}
		int rc = fast_next(&s->fast);
		if (rc == 1) {
			*h = &s->fast.h;
			*data = s->fast.rec;
			return SRC_PACKET;
		}
		if (rc == 0) return SRC_EOF;
		fast_off(s);
	}
	for (;;) {
		struct pcap_pkthdr *hh;
		const u_char *d;
		int rc = pcap_next_ex(s->p, &hh, &d);
		if (rc == 1) {
			*h = hh;
			*data = d;
			return SRC_PACKET;
		}
		if (rc == 0) return SRC_TIMEOUT; /* live: nothing ready now (src_wait waits) */
		if (rc == PCAP_ERROR_BREAK) return stream_end(s, SRC_EOF, errbuf);
		const char *msg = pcap_geterr(s->p);
		if (stream_end(s, SRC_EOF, errbuf) == SRC_TRUNCATED) return SRC_TRUNCATED;
		if (strstr(msg, "truncated")) {
			say(errbuf, s->name, msg, NULL);
			return SRC_TRUNCATED;
		}
		say(errbuf, s->name, msg, NULL);
		return SRC_ERROR;
	}
}

void src_position(struct src *s, uint64_t *done, uint64_t *total)
{
	/* the FILE libpcap reads: ftello counts what stdio has handed out */
	off_t pos = !s->size ? -1 :
		    s->dz ? (off_t)dz_consumed(s->dz) :
		    s->fast.on ? s->fast.file_off + (off_t)s->fast.pos : ftello(pcap_file(s->p));
	*done = pos >= 0 ? (uint64_t)pos : 0;
	*total = pos >= 0 ? s->size : 0;
}

void src_read_ahead(struct src *s, bool on)
{
	if (s->fast.on) ra_pause(s->fast.ra, !on);
	if (s->dz) dz_pause(s->dz, !on);
}

int src_dlt(const struct src *s) { return s->dlt; }
int src_pkt_dlt(const struct src *s) { return s->png ? s->pkt_dlt : s->dlt; }

void src_set_secrets(struct src *s, void (*fn)(void *ctx, const uint8_t *text, size_t len), void *ctx)
{
	if (s->png) png_set_secrets(s->png, fn, ctx);
}
const char *src_dlt_name(const struct src *s) { return s->dltname; }

struct src *src_open_live(const char *iface, int snaplen, bool promisc, int buffer_bytes,
			  char errbuf[CAP_ERRBUF_SIZE])
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct src *s = calloc(1, sizeof *s);
	if (!s) {
		say(errbuf, iface, "out of memory", NULL);
		return NULL;
	}
	s->live = true;
	s->p = pcap_create(iface, ebuf);
	if (!s->p) {
		say(errbuf, iface, ebuf, NULL);
		free(s);
		return NULL;
	}
	pcap_set_snaplen(s->p, snaplen);
	pcap_set_promisc(s->p, promisc);
	/* Not immediate mode: that gives a ring of fixed slots sized for the
	 * largest packet (64 KiB on lo), a few hundred packets in the whole
	 * buffer.  Without it Linux packs packets into TPACKET_V3 blocks, and
	 * the kernel hands a block over when it is full or LIVE_BLOCK_MS old,
	 * which bounds how late a packet is seen. */
	pcap_set_timeout(s->p, SRC_LIVE_BLOCK_MS);
	pcap_set_buffer_size(s->p, buffer_bytes);
	pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO); /* falls back to micro where unsupported */
	int rc = pcap_activate(s->p);
	if (rc < 0) {
		const char *why = pcap_geterr(s->p);
		if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			say(errbuf, iface, "no such interface (ekuscope -D lists them)", NULL);
		else if (rc == PCAP_ERROR_PERM_DENIED)
			say(errbuf, iface, "permission denied: capturing needs root or CAP_NET_RAW", NULL);
		else if (rc == PCAP_ERROR_IFACE_NOT_UP)
			say(errbuf, iface, "interface is down", NULL);
		else
			say(errbuf, iface, why && *why ? why : pcap_statustostr(rc), NULL);
		pcap_close(s->p);
		free(s);
		return NULL;
	}
	/* Non-blocking reads and our own poll (src_wait): the caller flushes
	 * its outputs when nothing is ready and sees the clock and its stop
	 * flag at least every wait, whatever the traffic. */
	s->fd = pcap_get_selectable_fd(s->p);
	if (s->fd < 0 || pcap_setnonblock(s->p, 1, ebuf) != 0) {
		say(errbuf, iface, s->fd < 0 ? "cannot wait for packets on it" : ebuf, NULL);
		pcap_close(s->p);
		free(s);
		return NULL;
	}
	opened(s, iface);
	return s;
}

void src_wait(struct src *s, int ms)
{
	if (!s->live || s->fast.brk) return;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	(void)poll(&pfd, 1, ms); /* a signal (EINTR) ends the wait early: the caller looks at its flag */
}

int src_set_filter(struct src *s, const char *expr, char errbuf[CAP_ERRBUF_SIZE])
{
	struct bpf_program prog;
	if (s->png) {
		/* syntax now (as for Ethernet), each link type at its first packet */
		free(s->filter);
		s->filter = strdup(expr);
		if (!s->filter) {
			say(errbuf, "filter", "out of memory", NULL);
			return -1;
		}
		pcap_t *d = pcap_open_dead(DLT_EN10MB, CAP_MAX_SNAPLEN);
		int rc = d ? pcap_compile(d, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) : -1;
		if (rc == 0) pcap_freecode(&prog);
		else say(errbuf, "filter", d ? pcap_geterr(d) : "out of memory", NULL);
		if (d) pcap_close(d);
		return rc ? -1 : 0;
	}
	if (pcap_compile(s->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		say(errbuf, "filter", pcap_geterr(s->p), NULL);
		return -1;
	}
	if (s->live) {
		int rc = pcap_setfilter(s->p, &prog);
		if (rc != 0) say(errbuf, "filter", pcap_geterr(s->p), NULL);
		pcap_freecode(&prog);
		return rc ? -1 : 0;
	}
	if (s->have_filter) pcap_freecode(&s->prog);
	s->prog = prog;
	s->have_filter = true;
	return 0;
}

bool src_match(const struct src *s, const struct pcap_pkthdr *h, const uint8_t *data)
{
	if (s->filter) {
		for (size_t i = 0; i < s->n_progs; i++)
			if (s->progs[i].dlt == s->pkt_dlt) return pcap_offline_filter(&s->progs[i].prog, h, data) != 0;
		return false;
	}
	return !s->have_filter || pcap_offline_filter(&s->prog, h, data) != 0;
}

int src_dump_open(struct src *s, const struct cap_evidence *ev, char errbuf[CAP_ERRBUF_SIZE])
{
	if (!s->p) {
		say(errbuf, ev->path, "writing packets is for live captures", NULL);
		return -1;
	}
	s->dump = rot_open(s->p, ev, errbuf);
	return s->dump ? 0 : -1;
}

int src_dump(struct src *s, const struct pcap_pkthdr *h, const uint8_t *data, char errbuf[CAP_ERRBUF_SIZE])
{
	return s->dump ? (int)rot_write(s->dump, h, data, errbuf) : ROT_SAME;
}

uint32_t src_dump_index(const struct src *s) { return s->dump ? rot_slot(s->dump) : 0; }

void src_dump_flush(struct src *s)
{
	rot_flush(s->dump);
}

void src_break(struct src *s)
{
	s->fast.brk = true;
	s->brk = true;
	if (s->p) pcap_breakloop(s->p);
}

bool src_stats(struct src *s, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop)
{
	struct pcap_stat ps;
	if (!s->live || pcap_stats(s->p, &ps) != 0) return false;
	*recv = ps.ps_recv;
	*drop = ps.ps_drop;
	*ifdrop = ps.ps_ifdrop;
	return true;
}

bool src_is_live(const struct src *s) { return s->live; }

int src_list_interfaces(void (*fn)(void *ctx, const char *name, const char *desc), void *ctx,
			char errbuf[CAP_ERRBUF_SIZE])
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_if_t *all = NULL;
	if (pcap_findalldevs(&all, ebuf) != 0) {
		say(errbuf, "interfaces", ebuf, NULL);
		return -1;
	}
	for (pcap_if_t *d = all; d; d = d->next) fn(ctx, d->name, d->description ? d->description : "");
	pcap_freealldevs(all);
	return 0;
}

void src_close(struct src *s)
{
	if (!s) return;
	rot_close(s->dump);
	if (s->have_filter) pcap_freecode(&s->prog);
	for (size_t i = 0; i < s->n_progs; i++) pcap_freecode(&s->progs[i].prog);
	free(s->progs);
	free(s->filter);
	src_free(s);
}
