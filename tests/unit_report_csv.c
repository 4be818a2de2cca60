/* report/csv_out.c: CSV fields as csv_out.h documents them (libcsv's
 * quoting, sanitised text, the spreadsheet-formula apostrophe), the same
 * through the fast path for plain ASCII and the general one, and files
 * written atomically. */
#include <csv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "report/csv_out.h"
#include "report/sanitize.h"

/* What csv_out writes for s[0..n), NUL-terminated, in a static buffer. */
static const char *esc(const char *s, size_t n)
{
	static char out[1024];
	char *end = csv_escape_to(out, s, n);
	*end = '\0';
	return out;
}
#define ESC(lit) esc(lit, sizeof lit - 1)

/* libcsv's own quoting of s (the reference for fields that need quotes). */
static const char *libcsv(const char *s)
{
	static char out[1024];
	size_t n = csv_write(out, sizeof out - 1, s, strlen(s));
	out[n] = '\0';
	return out;
}

static void fields(void)
{
	CHECK_STR(ESC(""), "");
	CHECK_STR(ESC("plain"), "plain");
	CHECK_STR(ESC("10.0.0.1:5061"), "10.0.0.1:5061");
	/* separators and quotes: quoted as libcsv quotes them, quotes doubled */
	CHECK_STR(ESC("a,b"), "\"a,b\"");
	CHECK_STR(ESC("a,b"), libcsv("a,b"));
	CHECK_STR(ESC("say \"hi\""), "\"say \"\"hi\"\"\"");
	CHECK_STR(ESC("say \"hi\""), libcsv("say \"hi\""));
	CHECK_STR(ESC("CN=x, O=\"Acme, Inc\""), libcsv("CN=x, O=\"Acme, Inc\""));
	/* spaces at either end would be trimmed by some readers: quoted */
	CHECK_STR(ESC(" lead"), "\" lead\"");
	CHECK_STR(ESC("trail "), "\"trail \"");
	CHECK_STR(ESC("in side"), "in side");
	/* a spreadsheet would evaluate these: a leading apostrophe */
	CHECK_STR(ESC("=1+1"), "'=1+1");
	CHECK_STR(ESC("+1"), "'+1");
	CHECK_STR(ESC("-x"), "'-x");
	CHECK_STR(ESC("@SUM(A1)"), "'@SUM(A1)");
	CHECK_STR(ESC("=a,b"), "\"'=a,b\"");
	CHECK_STR(ESC("a=b"), "a=b");
	/* controls become \xNN text (one line per row, no terminal escapes) */
	CHECK_STR(ESC("line\nbreak"), "line\\x0abreak");
	CHECK_STR(ESC("cr\r"), "cr\\x0d");
	CHECK_STR(ESC("\x1b[31mred"), "\\x1b[31mred");
	CHECK_STR(esc("a\0b", 3), "a\\x00b");
	/* a tab first: sanitised, so no formula either */
	CHECK_STR(ESC("\tx"), "\\x09x");
	/* UTF-8 (the general path) as the same rules: kept, quoted when needed */
	CHECK_STR(ESC("caf\xc3\xa9"), "caf\xc3\xa9");
	CHECK_STR(ESC("caf\xc3\xa9, bar"), "\"caf\xc3\xa9, bar\"");
	CHECK_STR(ESC("=caf\xc3\xa9"), "'=caf\xc3\xa9");
	CHECK_STR(ESC("\xff"), "\\xff");
	/* csv_append_field: the same after a ',', appended to a string */
	struct ek_str b = { 0 };
	csv_append_field(&b, "a,\"b\"");
	csv_append_field(&b, "=1");
	CHECK(b.s && !b.oom && b.len == strlen(b.s));
	CHECK_STR(b.s, ",\"a,\"\"b\"\"\",'=1");
	ek_str_free(&b);
}

/* The rule csv_out.h documents, written out plainly: sanitised, the
 * formula apostrophe, libcsv's quoting when the field needs it.  The
 * fast path (whole words and 16-byte blocks) must agree with it for
 * every length and every position of a byte that matters. */
static const char *reference(const char *s, size_t n)
{
	static char out[2048];
	char clean[1024];
	sanitize_text(s, n, clean + 1, sizeof clean - 1);
	char *f = clean + 1;
	if (f[0] && strchr("=+-@\t\r", f[0])) *--f = '\'';
	size_t fl = strlen(f);
	bool quote = fl && (f[0] == ' ' || f[fl - 1] == ' ' || strpbrk(f, ",\"\r\n"));
	size_t k = quote ? csv_write(out, sizeof out - 1, f, fl) : fl;
	if (!quote) memcpy(out, f, fl);
	out[k] = '\0';
	return out;
}

static void fast_path_agrees(void)
{
	static const char hits[] = { ',', '"', ' ', '=', '-', '\n', '\r', '\t', 0x7f, (char)0x80, (char)0xc3, (char)0xff, '\0' };
	char s[80];
	int bad = 0;
	/* one byte that matters at each position of fields of 0..79 bytes */
	for (size_t n = 0; n < sizeof s; n++) {
		for (size_t p = 0; p <= n; p++) {
			for (size_t h = 0; h < sizeof hits; h++) {
				memset(s, 'a', n);
				if (p < n) s[p] = hits[h];
				if (strcmp(esc(s, n), reference(s, n)) != 0 && bad++ < 5)
					fprintf(stderr, "length %zu, byte 0x%02x at %zu: \"%s\" != \"%s\"\n", n,
						(unsigned char)hits[h], p, esc(s, n), reference(s, n));
			}
		}
	}
	/* random mixes, a fixed seed */
	unsigned x = 12345;
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = (x >> 16) % sizeof s;
		for (size_t k = 0; k < n; k++) {
			x = x * 1103515245u + 12345u;
			unsigned r = (x >> 16) % 64;
			s[k] = r < sizeof hits ? hits[r] : (char)('!' + (x >> 8) % 94);
		}
		if (strcmp(esc(s, n), reference(s, n)) != 0 && bad++ < 5)
			fprintf(stderr, "random field %d differs: \"%s\" != \"%s\"\n", i, esc(s, n), reference(s, n));
	}
	CHECK(bad == 0);
}

static const char *slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "rb");
	if (!fp) return "(none)";
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static void files(void)
{
	char path[64], err[256];
	snprintf(path, sizeof path, "/tmp/ek-unit-csv.%ld.csv", (long)getpid());
	struct csv_out *c = csv_out_open(path, true, err, sizeof err);
	CHECK(c != NULL);
	if (!c) return;
	csv_out_field(c, "frame");
	csv_out_field(c, "detail");
	csv_out_end_row(c);
	csv_out_fieldf(c, "%d", 7);
	csv_out_field(c, "O=\"Acme, Inc\"");
	csv_out_field(c, "");
	csv_out_field(c, NULL);
	csv_out_end_row(c);
	const char *row[] = { "-1", "a\nb" };
	csv_out_row(c, row, 2);
	/* atomic: nothing at the path until committed */
	CHECK(access(path, F_OK) != 0);
	CHECK(csv_out_close(c, true, err, sizeof err) == 0);
	CHECK_STR(slurp(path), "frame,detail\n7,\"O=\"\"Acme, Inc\"\"\",,\n'-1,a\\x0ab\n");

	/* discarded: the file keeps what it had */
	c = csv_out_open(path, true, err, sizeof err);
	CHECK(c != NULL);
	if (c) {
		csv_out_field(c, "new");
		csv_out_end_row(c);
		CHECK(csv_out_close(c, false, err, sizeof err) == 0);
	}
	CHECK_STR(slurp(path), "frame,detail\n7,\"O=\"\"Acme, Inc\"\"\",,\n'-1,a\\x0ab\n");
	unlink(path);

	/* a directory that does not exist: a reason, no crash */
	c = csv_out_open("/nonexistent-ek-dir/x.csv", true, err, sizeof err);
	CHECK(c == NULL && err[0]);
}

int main(void)
{
	fields();
	fast_path_agrees();
	files();
	return check_summary();
}
