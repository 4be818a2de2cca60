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
	files();
	return check_summary();
}
