#include "html_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

void hb_free(struct hbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static bool room(struct hbuf *b, size_t n)
{
	if (b->failed) return false;
	if (b->cap - b->len > n) return true;
	size_t nc = b->cap ? b->cap : 4096;
	while (nc - b->len <= n) nc *= 2;
	char *np = realloc(b->p, nc);
	if (!np) {
		b->failed = true;
		return false;
	}
	b->p = np;
	b->cap = nc;
	return true;
}

void hb_put(struct hbuf *b, const char *s, size_t n)
{
	if (!room(b, n)) return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void hb_puts(struct hbuf *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

void hb_printf(struct hbuf *b, const char *fmt, ...)
{
	char t[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	if (n < 0) return;
	hb_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

void hb_esc(struct hbuf *b, const char *s, size_t max)
{
	if (!s) return;
	size_t n = strlen(s);
	size_t cap = max ? max + 4 : 4 * n + 8;
	char small[2048];
	char *clean = cap <= sizeof small ? small : malloc(cap);
	if (!clean) {
		b->failed = true;
		return;
	}
	sanitize_text(s, n, clean, cap);
	for (const char *p = clean; *p; p++) {
		switch (*p) {
		case '&': hb_put(b, "&amp;", 5); break;
		case '<': hb_put(b, "&lt;", 4); break;
		case '>': hb_put(b, "&gt;", 4); break;
		case '"': hb_put(b, "&quot;", 6); break;
		case '\'': hb_put(b, "&#39;", 5); break;
		default: hb_put(b, p, 1); break;
		}
	}
	if (clean != small) free(clean);
}
