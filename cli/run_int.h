/* The state of one run (run.c), shared with the files that print parts of
 * it (run_summary.c).  Private to cli/. */
#ifndef EK_RUN_INT_H
#define EK_RUN_INT_H

#include <signal.h>

#include "../capture/capture.h"
#include "../report/out_timeline_text.h"
#include "live_status.h"
#include "run.h"

#define MAX_FILES ANALYSIS_MAX_FILES

struct analysis {
	struct analysis_opts o;
	struct x509_cache *certs;
	struct tls_keylog *keys;      /* --keylog files + the inputs' Decryption Secrets Blocks */
	struct tls_ctx *tls;
	struct connmap *conns;
	struct timeline *tl;
	struct trust *trust;
	struct inventory *inv;
	struct findings *findings;
	struct csv_out *csv;
	struct csv_out *certs_out;     /* --certs of a live run: opened before root is dropped */
	struct writers *out;          /* --conns, --json, --export-certs */
	struct pipeline *volatile live; /* the open live capture (analysis_stop) */
	struct timeline_text text;
	char *file_names[MAX_FILES];  /* `file` labels (labels.h), by file index */
	char **ev_names;              /* live with -w: the evidence files' names, by file index */
	uint32_t n_ev;
	struct cap_evidence ev;
	const char *ev_current;       /* the one being written */
	uint64_t ev_files;            /* opened so far */
	bool unread[MAX_FILES];       /* could not be opened */
	struct analysis_totals t;
	FILE *warn;                   /* warnings: stderr, or a -j worker's buffer */
	bool shared_keys, shared_trust; /* a -j worker's: its thread's */
	uint64_t merged_rows, merged_records; /* -j: of the files merged from workers */
	volatile sig_atomic_t want_summary; /* live: SIGUSR1 (analysis_request_summary) */
	bool status_on;               /* live: status line on stderr */
	struct live_status status;
	const char *iface;
};

/* The summary lines of the report (run_summary.c). */
void run_summary(const struct analysis *a, FILE *fp);

#endif
