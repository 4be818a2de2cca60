/* A JSON object built into a buffer, one line at a time (JSON Lines).
 *
 * Strings are escaped completely: '"' and '\' as \" and \\, and the text
 * is made safe as everywhere else in ekuscope (sanitize.h): control
 * characters, DEL, C1 controls and bytes that are not valid UTF-8 become
 * the four characters \xNN (so a JSON value equals the CSV cell, which
 * carries the same text); U+2028 and U+2029 are written \u2028, \u2029.
 * The output is always valid UTF-8 JSON. */
#ifndef EK_JSON_OUT_H
#define EK_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/strbuf.h"

#define JW_MAX_DEPTH 16

struct jw {
	struct ek_str b;             /* the line so far */
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	char closer[JW_MAX_DEPTH];   /* '}' or ']' */
	bool failed;                 /* out of memory or nesting too deep: the line is dropped */
};

void jw_free(struct jw *w);
/* Start a line's top-level object. */
void jw_begin(struct jw *w);
/* Members of the current object (key NULL inside an array). */
void jw_str(struct jw *w, const char *key, const char *s);
void jw_strn(struct jw *w, const char *key, const char *s, size_t n);
void jw_u64(struct jw *w, const char *key, unsigned long long v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
void jw_obj(struct jw *w, const char *key);   /* then members, jw_close */
void jw_arr(struct jw *w, const char *key);   /* then values (key NULL), jw_close */
void jw_close(struct jw *w);
/* Split s at sep into an array of strings (no member when s is empty). */
void jw_list(struct jw *w, const char *key, const char *s, char sep);
/* Close the top-level object, write it and a newline to fp; the buffer is
 * reset.  -1 when the line could not be built or written. */
int jw_end_line(struct jw *w, FILE *fp);
/* The escaped JSON string (with its quotes) of s[0..n) appended to w. */
void jw_string_value(struct jw *w, const char *s, size_t n);

#endif
