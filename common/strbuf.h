/* The one growable string: appended to without printf where it is hot,
 * always NUL-terminated once it holds anything.  On allocation failure
 * it keeps what it has and remembers the failure (oom), so a caller can
 * keep the partial text or drop it. */
#ifndef EK_STRBUF_H
#define EK_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

struct ek_str {
	char *s;               /* NULL until something is added */
	size_t len, cap;
	bool oom;              /* an append failed: s lacks something */
};

/* Room for n more bytes and the NUL. */
static inline bool ek_str_room(struct ek_str *b, size_t n)
{
	if (b->s && b->cap - b->len > n) return true;
	size_t nc = b->cap ? b->cap : 64;
	while (nc - b->len <= n) nc *= 2;
	char *ns = realloc(b->s, nc);
	if (!ns) {
		b->oom = true;
		return false;
	}
	if (!b->s) ns[0] = '\0';
	b->s = ns;
	b->cap = nc;
	return true;
}

/* Room for n more bytes at the end, to be written in place and taken
 * with ek_str_commit; NULL when it cannot be had (oom set). */
static inline char *ek_str_reserve(struct ek_str *b, size_t n)
{
	return ek_str_room(b, n) ? b->s + b->len : NULL;
}

/* Takes what was written at ek_str_reserve's pointer, up to end. */
static inline void ek_str_commit(struct ek_str *b, char *end)
{
	b->len = (size_t)(end - b->s);
	b->s[b->len] = '\0';
}

/* Empty again, keeping the memory. */
static inline void ek_str_clear(struct ek_str *b)
{
	b->len = 0;
	if (b->s) b->s[0] = '\0';
}

static inline void ek_str_free(struct ek_str *b)
{
	free(b->s);
	*b = (struct ek_str){ NULL, 0, 0, false };
}

static inline void ek_str_put(struct ek_str *b, const char *s, size_t n)
{
	if (!ek_str_room(b, n)) return;
	if (n) memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static inline void ek_str_puts(struct ek_str *b, const char *s)
{
	ek_str_put(b, s, strlen(s));
}

/* The digits go straight into the string (no copy through a buffer). */
static inline void ek_str_putu(struct ek_str *b, unsigned long long v)
{
	char *o = ek_str_reserve(b, EK_U64_DIGITS);
	if (o) ek_str_commit(b, ek_put_u64(o, v));
}

static inline void ek_str_printf(struct ek_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ek_str_printf(struct ek_str *b, const char *fmt, ...)
{
	va_list ap;
	if (!b->s && !ek_str_room(b, 0)) return;
	for (int tries = 0; tries < 2; tries++) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->s[b->len] = '\0';
		if (!ek_str_room(b, (size_t)n)) return;
	}
}

#endif
