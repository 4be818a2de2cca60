/* pcapng blocks (draft-ietf-opsawg-pcapng):
 *
 *   block type | block total length | body, padded to 32 bits | block total length
 *
 * A Section Header Block (type 0x0A0D0D0A, the same in both byte orders)
 * starts every section; its byte-order magic 0x1A2B3C4D gives the byte
 * order of the section, and the section's interfaces (IDBs, numbered from
 * 0) start afresh.  Whole blocks are taken into one buffer (records are
 * handed out in place, as the classic-pcap fast path does) and parsed
 * through the cursor. */
#include "pcapng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cursor.h"
#include "decompress.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u  /* obsolete Packet Block */
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au
/* records Wireshark numbers as frames (pcapng.c in wiretap): custom
 * blocks, systemd journal entries, sysdig events */
#define BT_CB_COPY 0x00000BADu
#define BT_CB_NOCOPY 0x40000BADu
#define BT_JOURNAL 0x00000009u
#define BT_SYSDIG_EV 0x00000204u
#define BT_SYSDIG_EVF 0x00000208u
#define BT_SYSDIG_EV2 0x00000216u
#define BT_SYSDIG_EVF2 0x00000217u
#define BT_SYSDIG_EV2L 0x00000221u
#define BT_SYSDIG_EVF2L 0x00000222u
#define SECRETS_TLSK 0x544c534bu
#define OPT_TSRESOL 9
#define OPT_TSOFFSET 14
#define BUF_START ((size_t)1 << 20)
#define READ_MAX ((size_t)256 << 10)  /* per read: what was just read is still in the cache */
#define MAX_BLOCK ((size_t)64 << 20)  /* larger blocks are taken as corrupt */
#define MAX_IFACES 65536

struct iface {
	int linktype;
	uint32_t snaplen;
	uint64_t ups;      /* timestamp units per second (if_tsresol) */
	int64_t offset;    /* if_tsoffset, seconds */
};

struct png {
	struct dz *in;
	uint8_t *buf;
	size_t cap, have, pos;   /* bytes in buf, the next block at buf + pos */
	uint64_t buf_off;        /* stream offset of buf[0] */
	bool eof;
	bool in_section, le;
	bool skip;
	struct iface *ifs;
	size_t n_if, cap_if;
	png_secrets_fn secrets;
	void *secrets_ctx;
};

struct png *png_open(struct dz *in, const uint8_t *head, size_t head_len)
{
	struct png *r = calloc(1, sizeof *r);
	if (!r) return NULL;
	r->cap = BUF_START;
	r->buf = malloc(r->cap);
	if (!r->buf || head_len > r->cap) {
		free(r->buf);
		free(r);
		return NULL;
	}
	memcpy(r->buf, head, head_len);
	r->have = head_len;
	r->in = in;
	return r;
}

void png_set_secrets(struct png *r, png_secrets_fn fn, void *ctx)
{
	r->secrets = fn;
	r->secrets_ctx = ctx;
}

void png_skip_packets(struct png *r, bool skip) { r->skip = skip; }

uint64_t png_offset(const struct png *r) { return r->buf_off + r->pos; }

void png_close(struct png *r)
{
	if (!r) return;
	free(r->buf);
	free(r->ifs);
	free(r);
}

/* n bytes at buf + pos: 1, 0 when the stream ends first, -1 on a read
 * error or out of memory (errno). */
static int need(struct png *r, size_t n)
{
	if (r->have - r->pos >= n) return 1;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->have - r->pos);
		r->have -= r->pos;
		r->buf_off += r->pos;
		r->pos = 0;
	}
	if (n > r->cap) {
		size_t c = r->cap;
		while (c < n) c *= 2;
		uint8_t *b = realloc(r->buf, c);
		if (!b) {
			errno = ENOMEM;
			return -1;
		}
		r->buf = b;
		r->cap = c;
	}
	while (r->have < n && !r->eof) {
		size_t want = r->cap - r->have < READ_MAX ? r->cap - r->have : READ_MAX;
		if (want < n - r->have) want = n - r->have;
		ssize_t got = dz_read(r->in, r->buf + r->have, want);
		if (got < 0) return -1;
		if (got == 0) r->eof = true;
		r->have += (size_t)got;
	}
	return r->have >= n;
}

bool png_start(struct png *r, char *err, size_t errn)
{
	int n = need(r, 12);
	if (n <= 0) {
		snprintf(err, errn, n < 0 ? "%s" : "pcapng file too short for its section header", strerror(errno));
		return false;
	}
	struct cur h = cur_make(r->buf + r->pos, 12);
	cur_skip(&h, 8);
	uint32_t magic = cur_u32(&h);
	if (magic != 0x1A2B3C4Du && magic != 0x4D3C2B1Au) {
		snprintf(err, errn, "pcapng section header with an unknown byte-order magic");
		return false;
	}
	h = cur_make(r->buf + r->pos + 4, 4);
	uint32_t blen = cur_u32_in(&h, magic == 0x4D3C2B1Au);
	if (blen < 28 || blen % 4 || blen > MAX_BLOCK) {
		snprintf(err, errn, "pcapng section header with an impossible length");
		return false;
	}
	n = need(r, blen);
	if (n <= 0) {
		snprintf(err, errn, n < 0 ? "%s" : "pcapng file ends inside its section header", strerror(errno));
		return false;
	}
	return true;
}

static uint64_t get64(struct cur *c, bool le)
{
	uint64_t a = cur_u32_in(c, le), b = cur_u32_in(c, le);
	return le ? b << 32 | a : a << 32 | b;
}

static bool bad(char *err, size_t errn, uint64_t at, const char *what)
{
	snprintf(err, errn, "corrupt pcapng block at byte %llu: %s", (unsigned long long)at, what);
	return false;
}

static enum png_rc corrupt(char *err, size_t errn, uint64_t at, const char *what)
{
	bad(err, errn, at, what);
	return PNG_BAD;
}

/* if_tsresol: 10^-v, or 2^-v when the top bit is set. */
static bool tsresol(uint8_t v, uint64_t *ups)
{
	unsigned e = v & 0x7fu;
	if (v & 0x80u) {
		if (e > 63) return false;
		*ups = (uint64_t)1 << e;
		return true;
	}
	if (e > 19) return false;
	uint64_t u = 1;
	while (e--) u *= 10;
	*ups = u;
	return true;
}

static bool parse_idb(struct png *r, struct cur *b, uint64_t at, char *err, size_t errn)
{
	struct iface f = { 0, 0, 1000000, 0 };
	f.linktype = cur_u16_in(b, r->le);
	cur_skip(b, 2);
	f.snaplen = cur_u32_in(b, r->le);
	if (!cur_ok(b)) return bad(err, errn, at, "interface description too short");
	while (cur_left(b) >= 4) {
		uint16_t code = cur_u16_in(b, r->le), olen = cur_u16_in(b, r->le);
		if (code == 0) break;
		struct cur v = cur_sub(b, olen);
		cur_skip(b, (4 - olen % 4) % 4);
		if (!cur_ok(b)) return bad(err, errn, at, "interface option runs past the block");
		if (code == OPT_TSRESOL && olen == 1 && !tsresol(cur_u8(&v), &f.ups))
			return bad(err, errn, at, "unsupported if_tsresol");
		if (code == OPT_TSOFFSET && olen == 8) f.offset = (int64_t)get64(&v, r->le);
	}
	if (r->n_if == MAX_IFACES) return bad(err, errn, at, "too many interfaces");
	if (r->n_if == r->cap_if) {
		size_t c = r->cap_if ? r->cap_if * 2 : 8;
		struct iface *n = realloc(r->ifs, c * sizeof *n);
		if (!n) return bad(err, errn, at, "out of memory");
		r->ifs = n;
		r->cap_if = c;
	}
	r->ifs[r->n_if++] = f;
	return true;
}

static void set_time(struct png_pkt *p, const struct iface *f, uint64_t ts)
{
	uint64_t s = ts / f->ups, rem = ts % f->ups;
	p->sec = (int64_t)s + f->offset;
	if (f->ups == 1000000) p->nsec = (uint32_t)(rem * 1000);
	else if (f->ups == 1000000000) p->nsec = (uint32_t)rem;
	else p->nsec = (uint32_t)((unsigned __int128)rem * 1000000000u / f->ups);
}

/* A packet block's fields (EPB, PB, SPB) into p; false when corrupt. */
static bool parse_packet(struct png *r, uint32_t type, struct cur *b, uint64_t at, struct png_pkt *p, char *err,
			 size_t errn)
{
	uint32_t ifid, caplen, len;
	uint64_t ts = 0;
	if (type == BT_SPB) {
		ifid = 0;
		len = cur_u32_in(b, r->le);
		caplen = (uint32_t)(cur_left(b) < len ? cur_left(b) : len);
	} else {
		ifid = type == BT_PB ? cur_u16_in(b, r->le) : cur_u32_in(b, r->le);
		if (type == BT_PB) cur_skip(b, 2); /* drops count */
		uint64_t hi = cur_u32_in(b, r->le), lo = cur_u32_in(b, r->le);
		ts = hi << 32 | lo;
		caplen = cur_u32_in(b, r->le);
		len = cur_u32_in(b, r->le);
	}
	if (ifid >= r->n_if) return bad(err, errn, at, "packet on an interface no Interface Description Block describes");
	const struct iface *f = &r->ifs[ifid];
	if (type == BT_SPB && f->snaplen && caplen > f->snaplen) caplen = f->snaplen;
	p->data = cur_bytes(b, caplen);
	if (!cur_ok(b)) return bad(err, errn, at, "packet data runs past the block");
	p->caplen = caplen;
	p->len = len < caplen ? caplen : len;
	p->linktype = f->linktype;
	p->snaplen = f->snaplen;
	if (type == BT_SPB) {
		p->sec = 0;
		p->nsec = 0;
	} else {
		set_time(p, f, ts);
	}
	return true;
}

static bool parse_dsb(struct png *r, struct cur *b, uint64_t at, char *err, size_t errn)
{
	uint32_t stype = cur_u32_in(b, r->le), slen = cur_u32_in(b, r->le);
	const uint8_t *text = cur_bytes(b, slen);
	if (!text) return bad(err, errn, at, "secrets run past the Decryption Secrets Block");
	if (stype == SECRETS_TLSK && slen && r->secrets) r->secrets(r->secrets_ctx, text, slen);
	return true;
}

enum png_rc png_next(struct png *r, struct png_pkt *p, char *err, size_t errn)
{
	for (;;) {
		uint64_t at = r->buf_off + r->pos;
		int n = need(r, 12);
		if (n < 0) goto ioerr;
		if (n == 0) {
			if (r->have == r->pos) return PNG_EOF;
			snprintf(err, errn, "pcapng file ends inside the block at byte %llu (truncated)",
				 (unsigned long long)at);
			return PNG_BAD;
		}
		struct cur h = cur_make(r->buf + r->pos, 12);
		uint32_t type = cur_u32(&h);
		if (type == BT_SHB) {
			cur_skip(&h, 4);
			uint32_t magic = cur_u32(&h);
			if (magic == 0x1A2B3C4Du) r->le = false;
			else if (magic == 0x4D3C2B1Au) r->le = true;
			else return corrupt(err, errn, at, "section header with an unknown byte-order magic");
			r->in_section = true;
			r->n_if = 0; /* a new section describes its interfaces afresh */
		} else if (!r->in_section) {
			return corrupt(err, errn, at, "not a pcapng section header");
		} else if (r->le) {
			type = __builtin_bswap32(type);
		}
		h = cur_make(r->buf + r->pos + 4, 4);
		uint32_t blen = cur_u32_in(&h, r->le);
		if (blen < 12 || blen % 4 || blen > MAX_BLOCK || (type == BT_SHB && blen < 28))
			return corrupt(err, errn, at, "impossible block length");
		n = need(r, blen);
		if (n < 0) goto ioerr;
		if (n == 0) {
			snprintf(err, errn, "pcapng file ends inside the block at byte %llu (truncated)",
				 (unsigned long long)at);
			return PNG_BAD;
		}
		struct cur blk = cur_make(r->buf + r->pos, blen);
		cur_skip(&blk, 8);
		struct cur b = cur_sub(&blk, blen - 12);
		if (cur_u32_in(&blk, r->le) != blen) return corrupt(err, errn, at, "trailing block length differs");
		r->pos += blen;
		switch (type) {
		case BT_SHB: {
			cur_skip(&b, 4);
			uint16_t major = cur_u16_in(&b, r->le);
			if (major != 1) return corrupt(err, errn, at, "unsupported pcapng major version");
			break;
		}
		case BT_IDB:
			if (!parse_idb(r, &b, at, err, errn)) return PNG_BAD;
			break;
		case BT_EPB:
		case BT_SPB:
		case BT_PB:
			if (!parse_packet(r, type, &b, at, p, err, errn)) return PNG_BAD;
			if (!r->skip) return PNG_PACKET;
			break;
		case BT_DSB:
			if (!parse_dsb(r, &b, at, err, errn)) return PNG_BAD;
			break;
		case BT_CB_COPY: case BT_CB_NOCOPY: case BT_JOURNAL:
		case BT_SYSDIG_EV: case BT_SYSDIG_EVF: case BT_SYSDIG_EV2: case BT_SYSDIG_EVF2:
		case BT_SYSDIG_EV2L: case BT_SYSDIG_EVF2L:
			/* not packets, but Wireshark gives them frame numbers */
			if (!r->skip) return PNG_RECORD;
			break;
		default: /* NRB, ISB and unknown blocks */
			break;
		}
	}
ioerr:
	snprintf(err, errn, "%s", strerror(errno));
	return PNG_IOERR;
}
