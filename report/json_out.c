#include "json_out.h"

#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

static bool room(struct jw *w, size_t n)
{
	if (w->failed) return false;
	if (!ek_str_room(&w->b, n)) w->failed = true;
	return !w->failed;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (room(w, n)) ek_str_put(&w->b, s, n);
}

void jw_free(struct jw *w)
{
	ek_str_free(&w->b);
	memset(w, 0, sizeof *w);
}

void jw_string_value(struct jw *w, const char *s, size_t n)
{
	/* the ekuscope-safe text first (at most 4 bytes per input byte) */
	char small[1024];
	size_t cap = 4 * n + 8;
	char *clean = cap <= sizeof small ? small : malloc(cap);
	if (!clean) {
		w->failed = true;
		return;
	}
	sanitize_text(s, n, clean, cap);
	size_t cl = strlen(clean);
	if (!room(w, 6 * cl + 2)) {
		if (clean != small) free(clean);
		return;
	}
	char *o = w->b.s + w->b.len;
	*o++ = '"';
	const unsigned char *p = (const unsigned char *)clean;
	for (size_t i = 0; i < cl; i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			/* sanitize_text leaves none; kept for completeness */
			static const char hex[] = "0123456789abcdef";
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else if (c == 0xe2 && i + 2 < cl && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			/* U+2028, U+2029: line breaks to JavaScript */
			memcpy(o, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			o += 6;
			i += 2;
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	ek_str_commit(&w->b, o);
	if (clean != small) free(clean);
}

/* The separator and key of a new member or element. */
static void member(struct jw *w, const char *key)
{
	if (w->depth > 0 && w->need_comma[w->depth - 1]) put(w, ",", 1);
	if (w->depth > 0) w->need_comma[w->depth - 1] = true;
	if (key) {
		jw_string_value(w, key, strlen(key));
		put(w, ":", 1);
	}
}

static void open_(struct jw *w, const char *key, char c)
{
	member(w, key);
	put(w, &c, 1);
	if (w->depth < JW_MAX_DEPTH) {
		w->need_comma[w->depth] = false;
		w->closer[w->depth] = c == '{' ? '}' : ']';
	} else {
		w->failed = true;
	}
	w->depth++;
}

void jw_begin(struct jw *w)
{
	ek_str_clear(&w->b);
	w->b.oom = false;
	w->depth = 0;
	w->failed = false;
	open_(w, NULL, '{');
}

void jw_strn(struct jw *w, const char *key, const char *s, size_t n)
{
	member(w, key);
	jw_string_value(w, s, n);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_strn(w, key, s ? s : "", s ? strlen(s) : 0);
}

void jw_u64(struct jw *w, const char *key, unsigned long long v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%llu", v);
	member(w, key);
	put(w, t, (size_t)n);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	member(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w, const char *key)
{
	member(w, key);
	put(w, "null", 4);
}

void jw_obj(struct jw *w, const char *key) { open_(w, key, '{'); }
void jw_arr(struct jw *w, const char *key) { open_(w, key, '['); }

void jw_close(struct jw *w)
{
	if (w->depth <= 0) {
		w->failed = true;
		return;
	}
	w->depth--;
	if (w->depth < JW_MAX_DEPTH) put(w, &w->closer[w->depth], 1);
}

void jw_list(struct jw *w, const char *key, const char *s, char sep)
{
	if (!s || !*s) return;
	jw_arr(w, key);
	for (const char *p = s;;) {
		const char *e = strchr(p, sep);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		jw_strn(w, NULL, p, n);
		if (!e) break;
		p = e + 1;
	}
	jw_close(w);
}

int jw_end_line(struct jw *w, FILE *fp)
{
	while (w->depth > 0) jw_close(w);
	put(w, "\n", 1);
	if (w->failed) return -1;
	return fwrite(w->b.s, 1, w->b.len, fp) == w->b.len ? 0 : -1;
}
