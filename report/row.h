/* One timeline row: what the CSV and the text timeline print.  Rows are
 * built from dissect events by timeline.c; writers only format them. */
#ifndef EK_ROW_H
#define EK_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/netaddr.h"
#include "../dissect/x509.h"
#include "findings_table.h"

#define ROW_FINDINGS_LEN 160
#define ROW_MAX_FINDINGS 16

struct row {
	const char *file;          /* base name of the input */
	uint64_t frame;
	struct ek_time ts;
	uint64_t conn;
	/* "ip:port" texts, kept by the connection's record (connmap.h) for
	 * as long as the row lives */
	const char *client, *server;
	uint8_t client_len, server_len;
	uint8_t n_findings;        /* codes in findings[], in the order they were added */
	uint8_t findings_len;      /* length of their ';'-joined names */
	uint8_t findings[ROW_MAX_FINDINGS]; /* enum finding_code */
	/* static strings (writers may remember things about them by address) */
	const char *sender;        /* "client", "server" or "" */
	const char *version;       /* "TLS1.2" or "" */
	const char *event;         /* "ClientHello", "TcpOpen", ... */
	const char *detail;        /* never NULL; raw (unescaped) text of detail_len bytes */
	uint32_t detail_len;
	int cert_index;            /* -1: no certificate on this row */
	struct x509_info *cert;    /* holds a reference while the row lives */
	void *detail_store;        /* timeline.c: where detail is kept */
};

/* Append a finding code (its name, findings_table.h) to a row: no
 * duplicates; the joined names stay under ROW_FINDINGS_LEN bytes (a code
 * that would not fit is left out). */
void row_add_finding(struct row *r, const char *code);
/* The row's finding codes joined by ';' (NUL-terminated); the length. */
size_t row_findings_str(const struct row *r, char buf[ROW_FINDINGS_LEN]);

struct row_writer {
	void *ctx;
	void (*write)(void *ctx, const struct row *r);
};

#endif
