#include "csv_out.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitize.h"

#define ROW_BUF 8192

struct csv_out {
	FILE *fp;
	char *path, *tmp;   /* tmp NULL for stdout */
	bool row_started;
	bool failed;
	/* Plain fields of the current row, handed to stdio in one fwrite at
	 * the end of the row (or before anything is written to fp directly),
	 * so the FILE sees the same bytes in the same order, row by row. */
	size_t rlen;
	char row[ROW_BUF];
};

static void row_flush(struct csv_out *c)
{
	if (c->rlen && fwrite(c->row, 1, c->rlen, c->fp) != c->rlen) c->failed = true;
	c->rlen = 0;
}

static void row_put(struct csv_out *c, const char *s, size_t n)
{
	if (c->rlen + n > sizeof c->row) {
		row_flush(c);
		if (n > sizeof c->row) {
			if (fwrite(s, 1, n, c->fp) != n) c->failed = true;
			return;
		}
	}
	memcpy(c->row + c->rlen, s, n);
	c->rlen += n;
}

struct csv_out *csv_out_open(const char *path, bool atomic, char *err, size_t errn)
{
	struct csv_out *c = calloc(1, sizeof *c);
	if (!c) {
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
		free(c->path); free(c->tmp); free(c);
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
		free(c->path); free(c->tmp); free(c);
		return NULL;
	}
	setvbuf(c->fp, NULL, _IOFBF, 1 << 16);
	return c;
}

static bool needs_quotes(const char *s)
{
	if (!*s) return false;
	if (s[0] == ' ' || s[strlen(s) - 1] == ' ') return true;
	return strpbrk(s, ",\"\r\n") != NULL;
}

/* Fields of printable ASCII (most of a timeline row) take a fast path:
 * sanitize_text copies them unchanged, so they are written straight into
 * the row buffer, with the formula apostrophe and libcsv's quoting (a
 * field in double quotes, quotes doubled) applied by hand.  byte_class:
 * 0 printable, 2 ',' or '"' (printable, needs quotes), 1 anything else
 * (NUL, controls, DEL, non-ASCII: the general path). */
static const unsigned char byte_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Length of s when it is all printable ASCII, else (size_t)-1; *special:
 * it contains ',' or '"'.  (Fields are short: a table-driven byte loop
 * beats strlen plus word-at-a-time tests here.) */
static size_t ascii_field(const char *s, bool *special)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	bool sp = false;
	for (;;) {
		unsigned char k = byte_class[p[i]];
		if (k == 0) {
			i++;
		} else if (k == 2) {
			sp = true;
			i++;
		} else {
			break;
		}
	}
	if (p[i]) return (size_t)-1;
	*special = sp;
	return i;
}

/* Any field: sanitized (sanitize.h), formula apostrophe, libcsv quoting.
 * Kept out of line: its 4 KiB buffer would weigh on every fast-path call. */
__attribute__((noinline)) static void field_general(struct csv_out *c, const char *s)
{
	row_flush(c);
	char buf[4096];
	char *clean = buf;
	size_t len = s ? strlen(s) : 0;
	/* Escaping can grow a field 4x; big fields (CA name lists) get a heap buffer. */
	if (len * 4 + 8 > sizeof buf) {
		clean = malloc(len * 4 + 8);
		if (!clean) { c->failed = true; return; }
	}
	size_t cap = clean == buf ? sizeof buf : len * 4 + 8;
	sanitize_text(s ? s : "", len, clean + 1, cap - 1);
	char *f = clean + 1;
	if (strchr("=+-@\t\r", f[0]) && f[0]) {
		clean[0] = '\'';
		f = clean;
	}
	if (c->row_started) putc(',', c->fp);
	c->row_started = true;
	if (needs_quotes(f)) {
		if (csv_fwrite(c->fp, f, strlen(f)) != 0) c->failed = true;
	} else {
		fputs(f, c->fp);
	}
	if (clean != buf) free(clean);
}

void csv_out_field(struct csv_out *c, const char *s)
{
	bool special;
	if (!s) s = "";
	size_t plen = ascii_field(s, &special);
	/* worst case: comma, quotes, apostrophe, every byte a doubled quote */
	if (plen != (size_t)-1 && 2 * plen + 4 > sizeof c->row - c->rlen) row_flush(c);
	if (plen != (size_t)-1 && 2 * plen + 4 <= sizeof c->row - c->rlen) {
		/* what field_general does, for printable ASCII */
		bool formula = plen && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
		bool quote = plen && (special || (!formula && s[0] == ' ') || s[plen - 1] == ' ');
		char *o = c->row + c->rlen;
		if (c->row_started) *o++ = ',';
		c->row_started = true;
		if (quote) *o++ = '"';
		if (formula) *o++ = '\'';
		if (!special) {
			memcpy(o, s, plen);
			o += plen;
		} else {
			for (size_t i = 0; i < plen; i++) {
				if (s[i] == '"') *o++ = '"'; /* doubled */
				*o++ = s[i];
			}
		}
		if (quote) *o++ = '"';
		c->rlen = (size_t)(o - c->row);
		return;
	}
	field_general(c, s);
}

void csv_out_empty(struct csv_out *c, size_t n)
{
	for (; n; n--) {
		if (c->row_started) {
			if (c->rlen == sizeof c->row) row_flush(c);
			c->row[c->rlen++] = ',';
		}
		c->row_started = true;
	}
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
	row_put(c, "\n", 1);
	row_flush(c);
	c->row_started = false;
}

void csv_out_row(struct csv_out *c, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		csv_out_field(c, fields[i]);
	csv_out_end_row(c);
}

void csv_out_flush(struct csv_out *c)
{
	row_flush(c);
	fflush(c->fp);
}

int csv_out_close(struct csv_out *c, bool commit, char *err, size_t errn)
{
	int rc = 0;
	if (!c) return 0;
	row_flush(c);
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
	free(c->path);
	free(c->tmp);
	free(c);
	return rc;
}
