/* --json: JSON Lines with Elastic Common Schema field names (docs/json.md):
 * one object per timeline row, per finding, per TLS connection and a
 * final summary. */
#ifndef EK_OUT_JSON_H
#define EK_OUT_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "totals.h"
#include "conn_table.h"
#include "findings.h"
#include "row.h"

struct json_writer;

/* fp stays the caller's. */
struct json_writer *json_writer_new(FILE *fp, bool flush_each);
void json_writer_free(struct json_writer *j);
void json_write_row(void *ctx, const struct row *r);          /* row_writer */
void json_write_finding(struct json_writer *j, const struct finding_rec *f);
void json_write_conn(struct json_writer *j, const struct conn_info *ci);
void json_write_summary(struct json_writer *j, const struct analysis_totals *t);
/* -1 when a line could not be written. */
int json_writer_status(const struct json_writer *j);

#endif
