/* A growable byte buffer for building test inputs (records, captures). */
#ifndef EK_TEST_BYTEBUF_H
#define EK_TEST_BYTEBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static inline void put(struct buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->n + n) cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p) abort();
		b->cap = cap;
	}
	if (n) memcpy(b->p + b->n, d, n);
	b->n += n;
}

/* Big-endian integers, as TLS writes them. */
static inline void put_u8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;
	put(b, &x, 1);
}
static inline void put_u16(struct buf *b, unsigned v)
{
	put_u8(b, v >> 8);
	put_u8(b, v);
}
static inline void put_u24(struct buf *b, unsigned v)
{
	put_u8(b, v >> 16);
	put_u16(b, v & 0xffff);
}

#endif
