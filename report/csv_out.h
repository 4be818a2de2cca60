/* CSV files through libcsv, written atomically.
 *
 * Quoting is libcsv's (csv_fwrite); fields that need no quoting are
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

struct csv_out;

/* path "-" is stdout.  atomic: write to a temporary name, rename on
 * commit (offline runs); otherwise rows go straight to the file so it can
 * be followed while it grows (live runs).  NULL with a one-line reason in
 * err on failure. */
struct csv_out *csv_out_open(const char *path, bool atomic, char *err, size_t errn);
void csv_out_field(struct csv_out *c, const char *s);
void csv_out_fieldf(struct csv_out *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n empty fields: the same as n times csv_out_field(c, ""). */
void csv_out_empty(struct csv_out *c, size_t n);
void csv_out_end_row(struct csv_out *c);
void csv_out_row(struct csv_out *c, const char *const *fields, size_t n);
void csv_out_flush(struct csv_out *c);
/* Closes; commit=false discards a file.  Returns 0, or -1 with err set. */
int csv_out_close(struct csv_out *c, bool commit, char *err, size_t errn);

#endif
