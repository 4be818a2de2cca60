#include "sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
	else return 0;
	if (n < len) return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
	/* C1 controls (U+0080..U+009F) act as escapes on some terminals. */
	if (cp >= 0x80 && cp <= 0x9f) return 0;
	/* bidirectional overrides and isolates reorder what follows them: a
	 * name could show as another in a terminal or a spreadsheet */
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 0;
	return len;
}

char *sanitize_text(const char *in, size_t n, char *out, size_t outn)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	if (!outn) return out;
	if (n + 4 <= outn) {
		/* printable ASCII (most text) comes out unchanged: 8 bytes at a time */
		const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
		size_t i = 0;
		for (; i + 8 <= n; i += 8) {
			uint64_t w, d;
			memcpy(&w, s + i, 8);
			d = w ^ (ones * 0x7f);
			if ((((w - ones * 0x20) & ~w) | w | ((d - ones) & ~d)) & highs) break;
		}
		while (i < n && s[i] >= 0x20 && s[i] < 0x7f) i++;
		if (i == n) {
			memcpy(out, in, n);
			out[n] = '\0';
			return out;
		}
	}
	for (size_t i = 0; i < n;) {
		size_t l = s[i] < 0x20 || s[i] == 0x7f ? 0 : utf8_len(s + i, n - i);
		size_t need = l ? l : 4;
		if (o + need + 4 > outn) {
			/* room for "..." and NUL */
			if (o + 4 <= outn) { memcpy(out + o, "...", 3); o += 3; }
			break;
		}
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			snprintf(out + o, 5, "\\x%02x", s[i]);
			o += 4;
			i++;
		}
	}
	out[o < outn ? o : outn - 1] = '\0';
	return out;
}

char *sanitize_str(const char *in, char *out, size_t outn)
{
	return sanitize_text(in ? in : "", in ? strlen(in) : 0, out, outn);
}
