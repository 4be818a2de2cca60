/* report/ internal: the findings' state, shared by their parts: rules.c
 * (the rules, one function each, fed the dissector's events),
 * findings_store.c (aggregation, the -j merge, per-connection states),
 * ladder.c (failed-handshake ladders), out_findings_csv.c (the findings
 * CSV) and out_text_report.c (the findings of the text report). */
#ifndef EK_FINDINGS_INT_H
#define EK_FINDINGS_INT_H

#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/connid.h"
#include "../common/hash.h"
#include "csv_out.h"
#include "detail.h"
#include "ipcerts.h"
#include "sanitize.h"

#define LADDER_MAX 24
#define MSG_LEN 512
#define STEP_EVENT_LEN 24
#define STEP_INFO_LEN 112

/* One step of a connection's handshake ladder: 32 bytes (a connection
 * keeps LADDER_MAX of them, and is cold when an event comes).  The info
 * column is made when a ladder is printed: from the certificate (serial,
 * EKU) or from a copy of the row's detail. */
struct ladder_step {
	uint64_t frame;
	int64_t sec;               /* the packet's time: sec, nsec */
	union {
		struct x509_info *cert; /* is_cert: referenced */
		char *info;        /* the detail (alerts, missing data, empty chains): interned, or a
				    * heap copy when its bit is set in refs; or NULL */
	} u;
	uint32_t nsec;
	uint8_t kind, hs_type;     /* the event: its name is detail_event_name's, as the row's */
	uint8_t sender;            /* enum tls_role */
	bool is_cert;
};

/* A ladder kept by an aggregate (a copy of a connection's). */
struct ladder {
	char *title;
	struct ladder_step *steps;
	size_t n, dropped;
	uint32_t refs;             /* bit i: steps[i] holds a certificate reference or an info copy */
};

/* Per-connection state (connmap's fc).  Recycled through struct
 * findings' pool: a capture has thousands of them alive at a time, and
 * each event finds its own cold: what every event touches is in the
 * first cache line (allocated aligned to one). */
struct findings_conn {
	_Alignas(64) struct findings *f; /* the pool, the cache (ladder certificate references) */
	uint32_t refs;             /* the ladder's: bit i, steps[i] holds a reference or an info copy */
	unsigned codes;            /* findings raised on this connection */
	size_t dropped;            /* ladder steps past LADDER_MAX */
	const char *last_name;
	uint64_t last_frame;
	struct ek_time last_ts;
	uint8_t n_steps;
	uint8_t last_sender;       /* enum tls_role */
	bool title_set;
	bool failed_done, missing_done, encrypted_done;
	bool client_encrypted;     /* the client sent an encrypted handshake record (TLS 1.3) */
	uint8_t inc_sender;        /* enum tls_role: the last incomplete message's (inc_name) */
	const char *inc_name;      /* a message the stream of inc_sender ended inside, until that
				    * sender completes another (dissector's static names) */
	const char *file;          /* of the connection's rows (for findings without a row) */
	bool server_encrypted;     /* the same for the server (with keys: its handshake did not decrypt) */
	/* less often */
	const char *sni;           /* interned (findings.strs) or, when sni_owned, a heap copy */
	bool sni_owned;
	bool cert_requested;
	bool client_cert_seen;
	uint64_t cr_frame;
	char **ca_names;
	size_t n_ca;
	uint64_t client_cert_frame;
	struct ek_time client_cert_ts;
	struct findings_conn *next_free;
	/* the ladder's title, formatted when a ladder is copied: "%s conn %s  client %s  server %s" */
	const char *title_file;
	uint64_t title_conn;
	struct ek_endpoint title_client, title_server;
	/* zeroed for a new connection up to here */
	struct ladder_step steps[LADDER_MAX];
};

#define FC_POOL_MAX 16384

/* An endpoint as aggregation keys compare it: what ek_endpoint_str prints. */
struct agg_ep {
	uint8_t v6;
	uint8_t a[16];             /* IPv4: first 4 bytes, rest 0 */
	uint16_t port;             /* 0 for a bare address */
};

/* One aggregated finding for the text report.  Key: code, client address,
 * server endpoint, certificate (SHA-256), extra text (what the old
 * "code|client ip|server|sha256|extra" string key said).  96 bytes with
 * an empty message: thousands of them live to the end of the run. */
struct agg {
	uint64_t count;
	struct ladder *ladder;     /* handshake_failed: the first occurrence's ladder */
	uint8_t code;              /* enum finding_code */
	bool has_cert;
	bool has_extra;            /* the key's extra text follows message (agg_extra) */
	bool openvpn;              /* raised on an OpenVPN connection: the remedy names its options */
	bool ladder_left;          /* handshake_failed past the LADDERS_SHOWN kept ladders: counted only */
	struct agg_ep cip, server;
	uint8_t sha256[32];
	char message[];            /* then extra: one arena allocation.  "" when the text report
				    * cannot show it (agg_example) */
};

/* The text report shows the ladders of the first LADDERS_SHOWN
 * handshake_failed aggregates (the others are counted), and the message
 * of a code's aggregates only when it has at most REPORT_MAX_GROUPS of
 * them or as the first at a server: only those are kept.  Both hold after
 * a -j merge (a later file's aggregates come after). */
#define LADDERS_SHOWN 10

/* Aggregates are bump-allocated from blocks owned by struct findings and
 * freed with it: thousands of them, each with its texts, would otherwise
 * be two or three mallocs (and frees) apiece. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	uint64_t data[];
};

#define ARENA_BLOCK ((size_t)64 << 10)

struct findings {
	struct findings_opts o;
	struct x509_cache *cache;
	struct trust *trust;
	struct inventory *inv;
	struct ipcerts *ipc;       /* the last leaf each address presented (client_cert_empty names it) */
	struct csv_out *csv;
	struct agg **aggs;         /* in order of first occurrence */
	struct arena_block *arena; /* where they are: current block first */
	size_t n_aggs, cap_aggs;
	/* open addressing on agg.hash: the hash's high half, then the index in
	 * aggs + 1 (0: empty): a probe reads an aggregate only when they match */
	uint64_t *slots;
	size_t nslots;
	/* what the text report can show (LADDERS_SHOWN): aggregates by code,
	 * ladders kept, (code, server) pairs with an example */
	uint32_t aggs_by_code[F_COUNT];
	size_t ladders;
	struct example_slot {
		uint32_t code;         /* + 1; 0: empty */
		struct agg_ep server;
	} *examples;
	size_t n_examples, cap_examples;
	uint64_t by_sev[3];
	int max_sev;
	struct findings_conn *fc_pool; /* free per-connection states */
	size_t n_pool;
	/* X509_check_host answers for (certificate, SNI): the same pairs recur */
	struct host_memo {
		uint8_t sha256[32];
		const char *sni;       /* interned (strs), or a heap copy when sni_owned */
		bool sni_owned;
		int result;
	} host_memo[64];
	/* Texts kept by connections (SNI, ladder infos) repeat from one
	 * connection to the next: kept once here, until the end of the run,
	 * instead of a malloc and a free per connection.  Bounded; past the
	 * bounds connections keep their own copies. */
	struct {
		char **slots;          /* open addressing, STRS_SLOTS */
		size_t n, bytes;
	} strs;
};

#define STRS_SLOTS 8192        /* at most half of them used */
#define STRS_MAX_BYTES ((size_t)1 << 20)

/* Everything a rule needs to say where a finding is. */
struct where {
	const struct tls_event *ev;
	struct row *row;            /* the row it concerns (may be NULL) */
	const char *role;           /* "client" / "server" / "" */
	const struct x509_info *cert;
};

/* The text report lists a code's aggregates one a line; above
 * REPORT_MAX_GROUPS of them it groups them by server endpoint (one line
 * per endpoint with its first finding as the example) and lists the
 * REPORT_MAX_GROUPS largest groups (the CSVs keep every row). */
#define REPORT_MAX_GROUPS 20

struct agg_group {
	size_t first;     /* index in f->aggs of the first aggregate */
	size_t n;         /* aggregates */
	uint64_t count;   /* occurrences */
};

struct by_server {
	struct agg_ep server;
	size_t i;
};

/* rules.c */
double ms_between(struct ek_time a, struct ek_time b);

/* out_findings_csv.c: the CSV with its header line; one finding's row */
struct csv_out *findings_csv_open(const char *path, bool atomic, char *err, size_t errn);
void findings_csv_row(struct csv_out *csv, const struct finding_def *d, const char *file, const struct tls_event *ev,
		      const char *role, const struct x509_info *cert, const char *msg);

/* findings_store.c */
uint64_t str_hash(const char *p, size_t n);
const char *str_intern(struct findings *f, const char *p, size_t n);
void raise_finding(struct findings *f, struct findings_conn *fc, enum finding_code code, const struct where *w,
			  const char *aggkey_extra, const char *fmt, ...);
struct findings_conn *conn_state(struct findings *f, struct conn_rec *cr);

/* ladder.c */
void ladder_add(struct findings_conn *fc, const struct tls_event *ev, const struct row *rows, size_t n);
const char *alert_meaning(uint8_t desc);

#endif
