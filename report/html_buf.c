#include "html_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

void hb_printf(struct ek_str *b, const char *fmt, ...)
{
	char t[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	if (n < 0) return;
	ek_str_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

void hb_esc(struct ek_str *b, const char *s, size_t max)
{
	if (!s) return;
	size_t n = strlen(s);
	size_t cap = max ? max + 4 : 4 * n + 8;
	char small[2048];
	char *clean = cap <= sizeof small ? small : malloc(cap);
	if (!clean) {
		b->oom = true;
		return;
	}
	sanitize_text(s, n, clean, cap);
	size_t cl = strlen(clean);
	char *o = ek_str_reserve(b, 6 * cl); /* "&quot;" is the longest */
	if (o) {
		for (const char *p = clean; *p; p++) {
			const char *ent;
			switch (*p) {
			case '&': ent = "&amp;"; break;
			case '<': ent = "&lt;"; break;
			case '>': ent = "&gt;"; break;
			case '"': ent = "&quot;"; break;
			case '\'': ent = "&#39;"; break;
			default: *o++ = *p; continue;
			}
			size_t el = strlen(ent);
			memcpy(o, ent, el);
			o += el;
		}
		ek_str_commit(b, o);
	}
	if (clean != small) free(clean);
}
