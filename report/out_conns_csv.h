/* --conns: one CSV row per TLS connection (conn_table.h's records). */
#ifndef EK_OUT_CONNS_CSV_H
#define EK_OUT_CONNS_CSV_H

#include "conn_table.h"
#include "csv_out.h"

/* Writes the header. */
void conns_csv_header(struct csv_out *o);
/* conn_table_emit_fn: ctx is the csv_out. */
void conns_csv_row(void *ctx, const struct conn_info *ci);
/* The connection's finding codes ';'-joined into buf (at least 400 bytes). */
void conn_codes_str(unsigned codes, char *buf, size_t n);

#endif
