/* One timeline row: what the CSV and the text timeline print.  Rows are
 * built from dissect events by timeline.c; writers only format them. */
#ifndef EK_ROW_H
#define EK_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/netaddr.h"
#include "../dissect/x509.h"

#define ROW_FINDINGS_LEN 160

struct row {
	const char *file;          /* base name of the input */
	uint64_t frame;
	struct ek_time ts;
	uint64_t conn;
	char client[EK_ENDPOINT_STRLEN], server[EK_ENDPOINT_STRLEN];
	const char *sender;        /* "client", "server" or "" */
	const char *version;       /* "TLS1.2" or "" */
	const char *event;         /* "ClientHello", "TcpOpen", ... */
	char *detail;              /* heap, never NULL; raw (unescaped) text */
	int cert_index;            /* -1: no certificate on this row */
	struct x509_info *cert;    /* holds a reference while the row lives */
	char findings[ROW_FINDINGS_LEN]; /* codes joined by ';' */
};

/* Append a finding code to a row (no duplicates). */
void row_add_finding(struct row *r, const char *code);

struct row_writer {
	void *ctx;
	void (*write)(void *ctx, const struct row *r);
};

#endif
