/* One record per TLS connection, built from its dissect events: what the
 * --conns CSV, the JSON connection objects and the HTML connection table
 * show.  Records are handed out sorted by (file, conn) at the end of an
 * offline run, or as each connection ends in a live one. */
#ifndef EK_CONN_TABLE_H
#define EK_CONN_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "../dissect/tls.h"
#include "connmap.h"

enum conn_outcome { OUTCOME_COMPLETED, OUTCOME_FAILED, OUTCOME_UNFINISHED, OUTCOME_NOT_VISIBLE };

/* One message of a connection's ladder (--html): kept for failed
 * connections (and every connection with --conn). */
#define CONN_MAX_STEPS 48
struct conn_step {
	uint64_t frame;
	struct ek_time ts;
	enum tls_role sender;
	const char *name;            /* static event name */
	char *info;                  /* raw text (certificate, CA names, alert), NULL none */
	bool fatal;                  /* a fatal alert */
};

struct conn_info {
	const char *file;            /* base name (lives as long as the run) */
	uint32_t file_index;
	uint64_t id;
	uint64_t first_frame, last_frame;
	struct ek_time first_ts;
	struct ek_endpoint client_ep, server_ep;
	char client[EK_ENDPOINT_STRLEN], server[EK_ENDPOINT_STRLEN];
	char *sni, *alpn;            /* first ClientHello's; raw, NULL when absent */
	char offered[80];            /* supported_versions (else the legacy version): "TLS1.3;TLS1.2" */
	const char *version;         /* negotiated, "" unknown */
	char cipher[64];             /* IANA name or 0xXXXX, "" unknown */
	bool cert_request;
	uint32_t n_ca_names;         /* of the first CertificateRequest */
	struct x509_info *leaf[2];   /* the first leaf the client [0] / server [1] presented, referenced */
	bool empty_cert[2];          /* an empty Certificate (no leaf) */
	enum conn_outcome outcome;
	char outcome_detail[240];
	unsigned codes;              /* findings on the connection (1u << finding_code) */
	/* while the connection runs */
	const char *last_msg;        /* the latest handshake-layer message, static */
	enum tls_role last_sender;
	uint64_t last_msg_frame;
	bool have_end;               /* a fatal alert, RST or FIN before the handshake completed */
	bool end_alert;
	char end_text[240];
	struct conn_step *steps;     /* with keep_steps; NULL otherwise */
	uint16_t n_steps, steps_dropped;
	size_t live_idx;             /* conn_table.c's */
};

const char *conn_outcome_name(enum conn_outcome o);

/* Where records go: called once per connection. */
typedef void (*conn_table_emit_fn)(void *ctx, const struct conn_info *ci);

struct conn_table;

/* stream: emit each record when its connection ends (live), otherwise
 * keep them and emit sorted at conn_table_finish.  keep_steps: ladder
 * steps of failed connections (all: every connection). */
struct conn_table *conn_table_new(struct x509_cache *cache, bool stream, conn_table_emit_fn emit, void *ctx);
void conn_table_keep_steps(struct conn_table *t, bool all);
/* One event of a TLS connection (after findings annotated it); cr: its
 * record in the connection map; file: the input's base name. */
void conn_table_event(struct conn_table *t, struct conn_rec *cr, const struct tls_event *ev, const char *file);
void conn_table_finish(struct conn_table *t);
void conn_table_free(struct conn_table *t);

#endif
