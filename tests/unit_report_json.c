/* report/json_out.c: complete string escaping and well-formed nesting. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/json_out.h"

/* The JSON line of {"k": s[0..n)} without its newline, in a static buffer. */
static const char *one(const char *s, size_t n)
{
	static char out[4096];
	struct jw w = { 0 };
	jw_begin(&w);
	jw_strn(&w, "k", s, n);
	FILE *fp = fmemopen(out, sizeof out, "w");
	if (!fp || jw_end_line(&w, fp) != 0) return "(failed)";
	fclose(fp);
	jw_free(&w);
	char *nl = strchr(out, '\n');
	if (nl) *nl = '\0';
	return out;
}

#define ONE(lit) one(lit, sizeof lit - 1)

int main(void)
{
	CHECK_STR(ONE("plain"), "{\"k\":\"plain\"}");
	CHECK_STR(ONE("a\"b\\c"), "{\"k\":\"a\\\"b\\\\c\"}");
	/* control characters, DEL: the \xNN text every writer uses */
	CHECK_STR(ONE("a\nb\tc\x01"), "{\"k\":\"a\\\\x0ab\\\\x09c\\\\x01\"}");
	CHECK_STR(ONE("\x7f"), "{\"k\":\"\\\\x7f\"}");
	CHECK_STR(one("a\0b", 3), "{\"k\":\"a\\\\x00b\"}");
	/* valid UTF-8 passes */
	CHECK_STR(ONE("caf\xc3\xa9 \xf0\x9f\x98\x80"), "{\"k\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
	/* invalid UTF-8: lone continuation, overlong, surrogate, truncated, 0xff, above U+10FFFF */
	CHECK_STR(ONE("\x80"), "{\"k\":\"\\\\x80\"}");
	CHECK_STR(ONE("\xc0\x80"), "{\"k\":\"\\\\xc0\\\\x80\"}");
	CHECK_STR(ONE("\xed\xa0\x80"), "{\"k\":\"\\\\xed\\\\xa0\\\\x80\"}");
	CHECK_STR(ONE("\xe2\x82"), "{\"k\":\"\\\\xe2\\\\x82\"}");
	CHECK_STR(ONE("\xff"), "{\"k\":\"\\\\xff\"}");
	CHECK_STR(ONE("\xf4\x90\x80\x80"), "{\"k\":\"\\\\xf4\\\\x90\\\\x80\\\\x80\"}");
	/* C1 control U+0085, and U+2028 / U+2029 */
	CHECK_STR(ONE("\xc2\x85"), "{\"k\":\"\\\\xc2\\\\x85\"}");
	CHECK_STR(ONE("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "{\"k\":\"a\\u2028b\\u2029\"}");
	/* markup is data */
	CHECK_STR(ONE("<script>\"x\"</script>"), "{\"k\":\"<script>\\\"x\\\"</script>\"}");
	/* a long value (heap path) keeps every byte */
	char big[3000];
	memset(big, 'x', sizeof big);
	big[1500] = '\x01';
	const char *r = one(big, sizeof big);
	CHECK_EQ_U(strlen(r), sizeof big - 1 + 5 + 8); /* \x01 becomes \\x01 */

	/* nesting, arrays, lists, numbers, booleans */
	char out[512];
	struct jw w = { 0 };
	jw_begin(&w);
	jw_obj(&w, "tls");
	jw_str(&w, "version", "1.3");
	jw_obj(&w, "server");
	jw_obj(&w, "x509");
	jw_str(&w, "serial_number", "01");
	jw_close(&w);
	jw_close(&w);
	jw_close(&w);
	jw_list(&w, "eku", "serverAuth;clientAuth", ';');
	jw_list(&w, "none", "", ';');
	jw_arr(&w, "empty");
	jw_close(&w);
	jw_u64(&w, "n", 18446744073709551615ull);
	jw_bool(&w, "t", true);
	jw_null(&w, "z");
	FILE *fp = fmemopen(out, sizeof out, "w");
	CHECK(fp && jw_end_line(&w, fp) == 0);
	if (fp) fclose(fp);
	CHECK_STR(out, "{\"tls\":{\"version\":\"1.3\",\"server\":{\"x509\":{\"serial_number\":\"01\"}}},"
		       "\"eku\":[\"serverAuth\",\"clientAuth\"],\"empty\":[],\"n\":18446744073709551615,"
		       "\"t\":true,\"z\":null}\n");
	/* unclosed objects are closed by jw_end_line */
	jw_begin(&w);
	jw_obj(&w, "a");
	jw_arr(&w, "b");
	fp = fmemopen(out, sizeof out, "w");
	CHECK(fp && jw_end_line(&w, fp) == 0);
	if (fp) fclose(fp);
	CHECK_STR(out, "{\"a\":{\"b\":[]}}\n");
	jw_free(&w);
	return check_summary();
}
