/* Savefile reading through libpcap on our own FILE*, so we choose the
 * stdio buffer size and can tell an empty file from a bad one. */
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUF (256 * 1024) /* fewer read(2) calls than stdio's default */
#define FAST_BUF ((size_t)1 << 20)   /* holds the largest record (snapshot <= 256 KiB) twice */
#define FAST_READ ((size_t)128 << 10) /* per read(2): what was just read is still in the cache */

/* Classic pcap files are read here in large blocks and their records
 * handed out in place (libpcap copies each record out of stdio with two
 * freads: most of its cost).  Only records libpcap would hand out as they
 * are: version 2.4, a byte order and timestamp precision we convert the
 * same way, caplen within the snapshot length.  Anything else (pcapng,
 * pipes, a record over the snapshot length, the end of a truncated file,
 * a read error) goes back to libpcap at that record's offset, for its own
 * behaviour and messages. */
struct fast {
	bool on;
	bool swapped, scale_up;   /* byte order; microsecond file (nanoseconds wanted) */
	int fd;
	uint32_t snapshot;
	uint8_t *buf;
	size_t have, pos;         /* bytes in buf, next record at buf + pos */
	off_t file_off;           /* file offset of buf[0] */
	bool eof;
	volatile bool brk;        /* src_break */
	struct pcap_pkthdr h;
};

struct src {
	pcap_t *p;
	bool live;
	bool have_filter;         /* files: a compiled program tested per record */
	struct bpf_program prog;
	pcap_dumper_t *dump;
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

static uint32_t rd32(const uint8_t *p, bool swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* The link type and the name messages use, once libpcap has opened it. */
static void opened(struct src *s, const char *name)
{
	s->dlt = pcap_datalink(s->p);
	const char *n = pcap_datalink_val_to_name(s->dlt);
	if (n) snprintf(s->dltname, sizeof s->dltname, "%s", n);
	else snprintf(s->dltname, sizeof s->dltname, "DLT_%d", s->dlt);
	snprintf(s->name, sizeof s->name, "%s", name);
}

/* After libpcap has read the file header: can the records be read here? */
static void fast_setup(struct src *s, FILE *fp)
{
	struct fast *f = &s->fast;
	if (!s->size) return; /* regular files only: a fallback seeks */
	uint8_t hdr[24];
	off_t at = ftello(fp);
	if (at != 24 || pread(fileno(fp), hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) return;
	uint32_t magic;
	memcpy(&magic, hdr, 4);
	bool nsec;
	if (magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u) nsec = false;
	else if (magic == 0xa1b23c4du || magic == 0x4d3cb2a1u) nsec = true;
	else return;
	f->swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	uint16_t major, minor;
	memcpy(&major, hdr + 4, 2);
	memcpy(&minor, hdr + 6, 2);
	if (f->swapped) {
		major = __builtin_bswap16(major);
		minor = __builtin_bswap16(minor);
	}
	/* 2.4 only: older minors may have caplen and len swapped */
	if (major != 2 || minor != 4 || f->swapped != (pcap_is_swapped(s->p) == 1)) return;
	/* byte-swapped pseudo-headers are fixed up by libpcap for some link types */
	if (f->swapped && s->dlt != DLT_EN10MB) return;
	if (pcap_get_tstamp_precision(s->p) != PCAP_TSTAMP_PRECISION_NANO) return;
	/* at most libpcap's MAXIMUM_SNAPLEN: no link type's maximum is lower */
	int snap = pcap_snapshot(s->p);
	if (snap <= 0 || snap > CAP_MAX_SNAPLEN) return;
	f->buf = malloc(FAST_BUF);
	if (!f->buf) return;
	f->scale_up = !nsec;
	f->snapshot = (uint32_t)snap;
	f->fd = fileno(fp);
	f->file_off = at;
	f->on = true;
}

/* Hand the rest of the file to libpcap, from the next record on. */
static void fast_off(struct src *s)
{
	struct fast *f = &s->fast;
	f->on = false;
	fseeko(pcap_file(s->p), f->file_off + (off_t)f->pos, SEEK_SET);
	free(f->buf);
	f->buf = NULL;
}

/* The next record in place: 1, 0 at the end of the file, -1 when libpcap
 * must take over. */
static int fast_next(struct src *s)
{
	struct fast *f = &s->fast;
	for (;;) {
		size_t left = f->have - f->pos;
		if (left >= 16) {
			const uint8_t *r = f->buf + f->pos;
			uint32_t caplen = rd32(r + 8, f->swapped);
			if (caplen > f->snapshot) return -1;
			uint32_t sec = rd32(r, f->swapped), usec = rd32(r + 4, f->swapped);
			/* times past 2038 (or negative): libpcap versions differ on the sign */
			if ((sec | usec) & 0x80000000u) return -1;
			if (left >= 16 + (size_t)caplen) {
				f->h.ts.tv_sec = (time_t)sec;
				f->h.ts.tv_usec = (suseconds_t)usec;
				if (f->scale_up) f->h.ts.tv_usec = f->h.ts.tv_usec * 1000;
				f->h.caplen = caplen;
				f->h.len = rd32(r + 12, f->swapped);
				f->pos += 16 + (size_t)caplen;
				return 1;
			}
		}
		if (f->eof) return left ? -1 : 0;
		/* keep the partial record, read more after it */
		memmove(f->buf, f->buf + f->pos, left);
		f->file_off += (off_t)f->pos;
		f->pos = 0;
		f->have = left;
		size_t want = FAST_BUF - left < FAST_READ ? FAST_BUF - left : FAST_READ;
		ssize_t n = pread(f->fd, f->buf + left, want, f->file_off + (off_t)left);
		if (n < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		if (n == 0) f->eof = true;
		f->have += (size_t)n;
	}
}

struct src *src_open(const char *path, char errbuf[CAP_ERRBUF_SIZE])
{
	FILE *fp;
	if (strcmp(path, "-") == 0) {
		int fd = dup(STDIN_FILENO); /* pcap_close closes it, not our stdin */
		fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
		if (!fp && fd >= 0) close(fd);
	} else {
		fp = fopen(path, "rb");
	}
	if (!fp) {
		say(errbuf, path, strerror(errno), NULL);
		return NULL;
	}
	struct src *s = calloc(1, sizeof *s);
	if (!s) {
		fclose(fp);
		say(errbuf, path, "out of memory", NULL);
		return NULL;
	}
	struct stat sb;
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode)) s->size = (uint64_t)sb.st_size;
	s->buf = malloc(READ_BUF);
	if (s->buf) setvbuf(fp, s->buf, _IOFBF, READ_BUF);

	errno = 0;
	int ch = getc(fp);
	if (ch == EOF) {
		say(errbuf, path, ferror(fp) ? strerror(errno ? errno : EIO) : "empty file", NULL);
		goto fail;
	}
	ungetc(ch, fp);

	char ebuf[PCAP_ERRBUF_SIZE] = "";
	s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!s->p) {
		if (strstr(ebuf, "unknown file format"))
			say(errbuf, path, "not a pcap or pcapng file (bad magic)",
			    ch == 0x1f ? "; gzip-compressed? decompress it first" : NULL);
		else
			say(errbuf, path, ebuf[0] ? ebuf : "cannot read", NULL);
		goto fail;
	}
	opened(s, path);
	fast_setup(s, fp);
	return s;
fail:
	fclose(fp);
	free(s->buf);
	free(s);
	return NULL;
}

enum src_rc src_next(struct src *s, const struct pcap_pkthdr **h, const uint8_t **data,
		     char errbuf[CAP_ERRBUF_SIZE])
{
	if (s->fast.on) {
		if (s->fast.brk) {
			s->fast.brk = false;
			return SRC_EOF;
		}
		int rc = fast_next(s);
		if (rc == 1) {
			*h = &s->fast.h;
			*data = s->fast.buf + s->fast.pos - s->fast.h.caplen;
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
		if (rc == PCAP_ERROR_BREAK) return SRC_EOF;
		const char *msg = pcap_geterr(s->p);
		if (strstr(msg, "truncated")) {
			say(errbuf, s->name, msg, NULL);
			return SRC_TRUNCATED;
		}
		say(errbuf, s->name, msg,
		    strstr(msg, "different from") ?
			    " (libpcap reads a pcapng file only when all its interfaces share one link type and snapshot length)" :
			    NULL);
		return SRC_ERROR;
	}
}

void src_position(struct src *s, uint64_t *done, uint64_t *total)
{
	/* the FILE libpcap reads: ftello counts what stdio has handed out */
	off_t pos = !s->size ? -1 : s->fast.on ? s->fast.file_off + (off_t)s->fast.pos : ftello(pcap_file(s->p));
	*done = pos >= 0 ? (uint64_t)pos : 0;
	*total = pos >= 0 ? s->size : 0;
}

int src_dlt(const struct src *s) { return s->dlt; }
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
	return !s->have_filter || pcap_offline_filter(&s->prog, h, data) != 0;
}

int src_dump_open(struct src *s, const char *path, char errbuf[CAP_ERRBUF_SIZE])
{
	s->dump = pcap_dump_open(s->p, path);
	if (!s->dump) {
		say(errbuf, path, pcap_geterr(s->p), NULL);
		return -1;
	}
	return 0;
}

void src_dump(struct src *s, const struct pcap_pkthdr *h, const uint8_t *data)
{
	if (!s->dump) return;
	pcap_dump((u_char *)s->dump, h, data);
}

void src_dump_flush(struct src *s)
{
	if (s->dump) pcap_dump_flush(s->dump);
}

void src_break(struct src *s)
{
	s->fast.brk = true;
	pcap_breakloop(s->p);
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
	if (s->dump) pcap_dump_close(s->dump);
	if (s->have_filter) pcap_freecode(&s->prog);
	pcap_close(s->p); /* closes the FILE */
	free(s->fast.buf);
	free(s->buf);
	free(s);
}
