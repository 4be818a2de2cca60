#include "csv_out.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"

struct csv_out {
	FILE *fp;
	char *path, *tmp;   /* tmp NULL for stdout */
	bool row_started;
	bool failed;
};

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

void csv_out_field(struct csv_out *c, const char *s)
{
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
	putc('\n', c->fp);
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
	fflush(c->fp);
}

int csv_out_close(struct csv_out *c, bool commit, char *err, size_t errn)
{
	int rc = 0;
	if (!c) return 0;
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
