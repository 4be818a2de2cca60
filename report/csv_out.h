/* CSV files through libcsv, written atomically.
 *
 * Quoting is libcsv's (csv_write); fields that need no quoting are
 * written bare so the file stays readable.  Every field is sanitised
 * (sanitize.h) and a field that a spreadsheet would evaluate as a formula
 * (first character = + - @ TAB CR) gets a leading apostrophe.
 * A file (not stdout) is written under a temporary name and renamed into
 * place by csv_out_close(commit=true), so an interrupted run never leaves
 * a CSV that looks finished. */
#ifndef EK_CSV_OUT_H
#define EK_CSV_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../common/strbuf.h"

struct csv_out;

/* path "-" is stdout.  atomic: write to a temporary name, rename on
 * commit (offline runs); otherwise rows go straight to the file so it can
 * be followed while it grows (live runs).  NULL with a one-line reason in
 * err on failure. */
struct csv_out *csv_out_open(const char *path, bool atomic, char *err, size_t errn);
void csv_out_field(struct csv_out *c, const char *s);
/* A whole row formatted in place: room for max bytes at the returned
 * pointer (NULL on failure); csv_out_row_commit(end) takes the bytes up
 * to end (the row with its separators and final newline). */
char *csv_out_row_reserve(struct csv_out *c, size_t max);
void csv_out_row_commit(struct csv_out *c, char *end);
/* What csv_out_field writes for s[0..n) (without the separator), at o
 * (room for 8 * n + 8 bytes); returns the end. */
char *csv_escape_to(char *o, const char *s, size_t n);
/* ',' and what csv_out_field writes for s, appended to b (out of memory:
 * b->oom). */
void csv_append_field(struct ek_str *b, const char *s);
void csv_out_fieldf(struct csv_out *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void csv_out_end_row(struct csv_out *c);
void csv_out_row(struct csv_out *c, const char *const *fields, size_t n);
void csv_out_flush(struct csv_out *c);
/* Something meant for c could not be written (out of memory): closing
 * reports the file as failed. */
void csv_out_fail(struct csv_out *c);
/* Writer state that lives as long as c: free_fn(p) runs on close. */
void csv_out_attach(struct csv_out *c, void *p, void (*free_fn)(void *));
/* Everything so far handed to the file; its descriptor, for bytes that
 * go there directly (the -j spools).  -1 on a write error. */
int csv_out_fd(struct csv_out *c);
/* Closes; commit=false discards a file.  Returns 0, or -1 with err set. */
int csv_out_close(struct csv_out *c, bool commit, char *err, size_t errn);

#endif
