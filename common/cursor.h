/* Bounds-checked reads of untrusted bytes (tcpdump's GET_* / ND_TCHECK
 * discipline as one small cursor type).  Every parser of packet or TLS
 * bytes reads through these helpers and never indexes the input itself.
 *
 * A read past the end returns 0 / NULL and sets the sticky `err` flag, so
 * a parser can read a whole structure and test cur_ok() once at the end. */
#ifndef EK_CURSOR_H
#define EK_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *base;
	size_t len;
	size_t off;
	bool err;
};

static inline struct cur cur_make(const uint8_t *p, size_t len)
{
	/* An empty cursor still points somewhere, so base + 0 is never NULL + 0. */
	struct cur c = { p ? p : (const uint8_t *)"", p ? len : 0, 0, false };
	return c;
}

static inline bool cur_ok(const struct cur *c) { return !c->err; }
static inline size_t cur_left(const struct cur *c) { return c->err ? 0 : c->len - c->off; }
static inline size_t cur_pos(const struct cur *c) { return c->off; }

/* True (and nothing consumed) when n more bytes are available. */
static inline bool cur_has(const struct cur *c, size_t n) { return !c->err && c->len - c->off >= n; }

static inline bool cur_fail(struct cur *c) { c->err = true; return false; }

static inline uint8_t cur_u8(struct cur *c)
{
	if (!cur_has(c, 1)) { cur_fail(c); return 0; }
	return c->base[c->off++];
}

static inline uint16_t cur_u16(struct cur *c)
{
	if (!cur_has(c, 2)) { cur_fail(c); return 0; }
	uint16_t v = (uint16_t)((unsigned)c->base[c->off] << 8 | c->base[c->off + 1]);
	c->off += 2;
	return v;
}

static inline uint32_t cur_u24(struct cur *c)
{
	if (!cur_has(c, 3)) { cur_fail(c); return 0; }
	uint32_t v = (uint32_t)c->base[c->off] << 16 | (uint32_t)c->base[c->off + 1] << 8 |
		     c->base[c->off + 2];
	c->off += 3;
	return v;
}

/* The 4 bytes at the cursor as one load, in the host's order (callers
 * have checked the bounds); cur_u32 and cur_u32le put them in order. */
static inline uint32_t cur_load32_host(const struct cur *c)
{
	uint32_t v;
	memcpy(&v, c->base + c->off, 4);
	return v;
}

static inline uint32_t cur_u32(struct cur *c)
{
	if (!cur_has(c, 4)) { cur_fail(c); return 0; }
	uint32_t v = cur_load32_host(c);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	c->off += 4;
	return v;
}

/* Little-endian 32/16 for the few little-endian headers (BSD NULL link, capture files). */
static inline uint32_t cur_u32le(struct cur *c)
{
	if (!cur_has(c, 4)) { cur_fail(c); return 0; }
	uint32_t v = cur_load32_host(c);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	c->off += 4;
	return v;
}

static inline uint16_t cur_u16le(struct cur *c)
{
	if (!cur_has(c, 2)) { cur_fail(c); return 0; }
	uint16_t v = (uint16_t)((unsigned)c->base[c->off + 1] << 8 | c->base[c->off]);
	c->off += 2;
	return v;
}

/* In the byte order a file declares (pcap, pcapng): little-endian or not. */
static inline uint16_t cur_u16_in(struct cur *c, bool le) { return le ? cur_u16le(c) : cur_u16(c); }
static inline uint32_t cur_u32_in(struct cur *c, bool le) { return le ? cur_u32le(c) : cur_u32(c); }

/* Peek without consuming; 0 and no error flag when short (callers test cur_has). */
static inline uint8_t cur_peek_u8(const struct cur *c, size_t at)
{
	return cur_has(c, at + 1) ? c->base[c->off + at] : 0;
}

static inline bool cur_skip(struct cur *c, size_t n)
{
	if (!cur_has(c, n)) return cur_fail(c);
	c->off += n;
	return true;
}

/* Pointer to the next n bytes (for memcpy or a library call that takes
 * pointer + length), consumed; NULL when short. */
static inline const uint8_t *cur_bytes(struct cur *c, size_t n)
{
	if (!cur_has(c, n)) { cur_fail(c); return NULL; }
	const uint8_t *p = c->base + c->off;
	c->off += n;
	return p;
}

/* Remaining bytes as a pointer, without consuming (NULL when none). */
static inline const uint8_t *cur_rest(const struct cur *c)
{
	return cur_left(c) ? c->base + c->off : NULL;
}

/* Sub-cursor over the next n bytes, consumed from the parent.  A short
 * parent gives an empty, failed sub-cursor. */
static inline struct cur cur_sub(struct cur *c, size_t n)
{
	const uint8_t *p = cur_bytes(c, n);
	struct cur s = cur_make(p, p ? n : 0);
	if (!p) s.err = true;
	return s;
}

static inline bool cur_copy(struct cur *c, void *dst, size_t n)
{
	const uint8_t *p = cur_bytes(c, n);
	if (!p) return false;
	if (n) memcpy(dst, p, n);
	return true;
}

#endif
