#include "csv_out.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitize.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Rows are formatted straight into one output buffer that goes to stdio
 * in large fwrites (when it is full, on csv_out_flush and on close): the
 * FILE sees the same bytes in the same order, in fewer calls.  64 KiB
 * stays in the L2 cache between flushes (256 KiB did not: more misses). */
#define OUT_BUF ((size_t)64 << 10)

struct csv_out {
	FILE *fp;
	char *path, *tmp;   /* tmp NULL for stdout */
	bool row_started;
	bool failed;
	struct ek_str buf;            /* rows not yet handed to fp */
	void *user;                   /* csv_out_attach */
	void (*user_free)(void *);
};

static void out_flush(struct csv_out *c)
{
	if (c->buf.len && fwrite(c->buf.s, 1, c->buf.len, c->fp) != c->buf.len) c->failed = true;
	ek_str_clear(&c->buf);
}

/* Room for n more bytes at the end of c->buf (taken with ek_str_commit);
 * NULL (and the output marked failed) when a buffer that large cannot be
 * had. */
__attribute__((noinline)) static char *out_make_room(struct csv_out *c, size_t n)
{
	out_flush(c);
	char *o = ek_str_reserve(&c->buf, n);
	if (!o) c->failed = true;
	return o;
}

static inline char *out_reserve(struct csv_out *c, size_t n)
{
	if (c->buf.cap - c->buf.len > n) return c->buf.s + c->buf.len;
	return out_make_room(c, n);
}

struct csv_out *csv_out_open(const char *path, bool atomic, char *err, size_t errn)
{
	struct csv_out *c = calloc(1, sizeof *c);
	if (!c || !ek_str_reserve(&c->buf, OUT_BUF - 1)) {
		if (c) ek_str_free(&c->buf);
		free(c);
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	if (strcmp(path, "-") == 0) {
		c->fp = stdout;
		return c;
	}
	size_t n = strlen(path) + 32;
	c->path = strdup(path);
	c->tmp = malloc(n);
	if (!c->path || !c->tmp) {
		free(c->path); free(c->tmp); ek_str_free(&c->buf); free(c);
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	/* Write-then-rename only replaces regular files: renaming onto
	 * /dev/null, a FIFO or /dev/stdout would replace the device itself. */
	struct stat sb;
	if (atomic && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) atomic = false;
	if (atomic)
		snprintf(c->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	else {
		free(c->tmp);
		c->tmp = NULL;
	}
	c->fp = fopen(atomic ? c->tmp : path, "w");
	if (!c->fp) {
		snprintf(err, errn, "%s: cannot write: %s", path, strerror(errno));
		free(c->path); free(c->tmp); ek_str_free(&c->buf); free(c);
		return NULL;
	}
	setvbuf(c->fp, NULL, _IOFBF, 1 << 16);
	return c;
}

static bool needs_quotes(const char *s, size_t n)
{
	if (!n) return false;
	if (s[0] == ' ' || s[n - 1] == ' ') return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n') return true;
	return false;
}

/* Escaped form of any field, at o (room for 8 * len + 8 bytes): sanitized
 * (sanitize.h), formula apostrophe (first character = + - @ TAB CR),
 * libcsv's quoting when needed.  Returns the end. */
static char *escape_general(char *o, const char *s, size_t len)
{
	char buf[4096];
	char *clean = buf;
	/* Escaping can grow a field 4x; big fields (CA name lists) get a heap buffer. */
	size_t cap = len * 4 + 8;
	if (cap > sizeof buf) {
		clean = malloc(cap);
		if (!clean) return o;
	} else {
		cap = sizeof buf;
	}
	sanitize_text(s, len, clean + 1, cap - 1);
	char *f = clean + 1;
	if (f[0] && strchr("=+-@\t\r", f[0])) {
		clean[0] = '\'';
		f = clean;
	}
	size_t fl = strlen(f);
	if (needs_quotes(f, fl)) o += csv_write(o, 2 * fl + 2, f, fl);
	else {
		memcpy(o, f, fl);
		o += fl;
	}
	if (clean != buf) free(clean);
	return o;
}

/* Bytes that keep a field off the fast path (8 at a time): controls,
 * DEL, non-ASCII.  A ',' or '"' is printable but means quoting.  The
 * word tests may flag a byte next to a real hit, never a clean word. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t has_zero(uint64_t w) { return (w - ONES) & ~w & HIGHS; }
static inline uint64_t has_less(uint64_t w, unsigned n) { return (w - ONES * n) & ~w & HIGHS; }

/* 0 printable, 1 ',', 4 '"', 2 anything else (controls, DEL, non-ASCII). */
static const unsigned char byte_class[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* One 8-byte word of a field, added to the scan's masks: bad for
 * controls, DEL and non-ASCII, spc for ',', spq for '"'. */
struct scan_masks {
	uint64_t bad, spc, spq;
};
static inline void scan_word(struct scan_masks *m, const char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	m->bad |= has_less(w, 0x20) | (w & HIGHS) | has_zero(w ^ (ONES * 0x7f));
	m->spc |= has_zero(w ^ (ONES * ','));
	m->spq |= has_zero(w ^ (ONES * '"'));
}

/* The word scan (8 bytes at a time, the last word ending the field):
 * true when s[0..n) is all printable ASCII; then *special has 1 for a
 * ',' in it, 4 for a '"' (byte_class's bits). */
static inline bool scan_plain_words(const char *s, size_t n, unsigned *special)
{
	if (n < 8) {
		unsigned k = 0;
		for (size_t i = 0; i < n; i++) k |= byte_class[(unsigned char)s[i]];
		*special = k;
		return !(k & 2);
	}
	struct scan_masks m = { 0, 0, 0 };
	if (n <= 16) {
		/* two words, overlapping when n < 16 */
		scan_word(&m, s);
		scan_word(&m, s + n - 8);
	} else {
		for (size_t i = 0; i < n - 8; i += 8) scan_word(&m, s + i);
		scan_word(&m, s + n - 8);
	}
	*special = (m.spc ? 1u : 0u) | (m.spq ? 4u : 0u);
	return !m.bad;
}

#ifdef __SSE2__
/* The same 16 bytes at a time, for fields of 16 bytes or more (names,
 * hashes): about a third of the word scan's instructions per byte.  A
 * signed compare with ' ' catches the controls and the non-ASCII bytes
 * at once. */
static inline bool scan_plain_sse2(const char *s, size_t n, unsigned *special)
{
	const __m128i space = _mm_set1_epi8(' '), del = _mm_set1_epi8(0x7f), comma = _mm_set1_epi8(','),
		      quote = _mm_set1_epi8('"');
	__m128i bad = _mm_setzero_si128(), spc = bad, spq = bad;
	for (size_t i = 0;; i += 16) {
		if (i + 16 > n) i = n - 16;
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)));
		spc = _mm_or_si128(spc, _mm_cmpeq_epi8(v, comma));
		spq = _mm_or_si128(spq, _mm_cmpeq_epi8(v, quote));
		if (i + 16 >= n) break;
	}
	*special = (_mm_movemask_epi8(spc) ? 1u : 0u) | (_mm_movemask_epi8(spq) ? 4u : 0u);
	return !_mm_movemask_epi8(bad);
}
#endif

/* True when s[0..n) is all printable ASCII (the fast path); *special
 * then says whether it holds a ',' (1) or a '"' (4). */
static inline bool scan_plain(const char *s, size_t n, unsigned *special)
{
#ifdef __SSE2__
	if (n >= 16) return scan_plain_sse2(s, n, special);
#endif
	return scan_plain_words(s, n, special);
}

/* The escaped field s[0..n) at o (room for 8 * n + 8 bytes); the end. */
char *csv_escape_to(char *o, const char *s, size_t n)
{
	unsigned special;
	if (!scan_plain(s, n, &special)) return escape_general(o, s, n);
	if (!n) return o;
	/* what escape_general does, for printable ASCII */
	bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
	bool quote = special || (!formula && s[0] == ' ') || s[n - 1] == ' ';
	if (quote) *o++ = '"';
	if (formula) *o++ = '\'';
	if (!(special & 4)) {
		memcpy(o, s, n);
		o += n;
	} else {
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '"') *o++ = '"'; /* doubled */
			*o++ = s[i];
		}
	}
	if (quote) *o++ = '"';
	return o;
}

void csv_out_field(struct csv_out *c, const char *s)
{
	if (!s) s = "";
	size_t n = strlen(s);
	char *o = out_reserve(c, 8 * n + 9);
	if (!o) return;
	if (c->row_started) *o++ = ',';
	c->row_started = true;
	ek_str_commit(&c->buf, csv_escape_to(o, s, n));
}

void csv_append_field(struct ek_str *b, const char *s)
{
	size_t n = strlen(s);
	char *o = ek_str_reserve(b, 8 * n + 9);
	if (!o) return;
	*o++ = ',';
	ek_str_commit(b, csv_escape_to(o, s, n));
}

char *csv_out_row_reserve(struct csv_out *c, size_t max)
{
	return out_reserve(c, max);
}

void csv_out_row_commit(struct csv_out *c, char *end)
{
	ek_str_commit(&c->buf, end);
	c->row_started = false;
}

void csv_out_fieldf(struct csv_out *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	csv_out_field(c, buf);
}

void csv_out_end_row(struct csv_out *c)
{
	/* RFC 4180 line ends are CRLF; spreadsheets and csv readers accept LF,
	 * which keeps the file friendly to grep and diff. */
	char *o = out_reserve(c, 1);
	if (o) {
		*o = '\n';
		ek_str_commit(&c->buf, o + 1);
	}
	c->row_started = false;
}

void csv_out_row(struct csv_out *c, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		csv_out_field(c, fields[i]);
	csv_out_end_row(c);
}

void csv_out_fail(struct csv_out *c) { c->failed = true; }

void csv_out_attach(struct csv_out *c, void *p, void (*free_fn)(void *))
{
	c->user = p;
	c->user_free = free_fn;
}

void csv_out_flush(struct csv_out *c)
{
	out_flush(c);
	fflush(c->fp);
}

int csv_out_close(struct csv_out *c, bool commit, char *err, size_t errn)
{
	int rc = 0;
	if (!c) return 0;
	out_flush(c);
	if (fflush(c->fp) != 0 || ferror(c->fp) || c->failed) {
		snprintf(err, errn, "%s: write failed: %s", c->path ? c->path : "stdout", strerror(errno));
		rc = -1;
	}
	if (c->fp != stdout && !c->tmp && fclose(c->fp) != 0 && rc == 0) {
		snprintf(err, errn, "%s: write failed: %s", c->path, strerror(errno));
		rc = -1;
	}
	if (c->tmp) {
		if (fclose(c->fp) != 0 && rc == 0) {
			snprintf(err, errn, "%s: write failed: %s", c->path, strerror(errno));
			rc = -1;
		}
		if (commit && rc == 0) {
			if (rename(c->tmp, c->path) != 0) {
				snprintf(err, errn, "%s: cannot rename into place: %s", c->path, strerror(errno));
				rc = -1;
			}
		}
		if (!commit || rc != 0) unlink(c->tmp);
	}
	if (c->user_free) c->user_free(c->user);
	free(c->path);
	free(c->tmp);
	ek_str_free(&c->buf);
	free(c);
	return rc;
}

int csv_out_fd(struct csv_out *c)
{
	out_flush(c);
	if (fflush(c->fp) != 0 || c->failed) return -1;
	return fileno(c->fp);
}
