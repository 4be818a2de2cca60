/* One run of ekuscope: the inputs, the dissector, the timeline and its
 * writers, and the counts the summary prints. */
#ifndef EK_RUN_H
#define EK_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../capture/capture.h"
#include "../dissect/tls.h"
#include "../report/conn_filter.h"
#include "../report/totals.h"
#include "../report/writers.h"

#define ANALYSIS_MAX_FILES 4096    /* input files of one run */

struct io_guard;

struct analysis_opts {
	const char *timeline_csv;     /* -o: NULL none, "-" stdout */
	bool text_timeline;           /* readable timeline on stdout */
	bool live;                    /* stream rows (no atomic files, written per batch of packets) */
	bool quiet;                   /* -q */
	const char *findings_csv;     /* --findings */
	const char *certs_csv;        /* --certs */
	const char *public_roots, *ca_file, *ca_path;
	const uint16_t *tls_ports; size_t n_tls_ports;
	const char *const *keylog_files; size_t n_keylog_files; /* --keylog (NSS key log format) */
	struct cap_opts cap;
	bool two_threads;             /* each file: dissect and report on a thread of their own (handoff.h) */
	size_t cert_cache_bytes;      /* DER kept to recognise certificates (0: default) */
	const char *bpf;              /* filter expression, NULL none */
	const char *write_to;         /* -w: save the packets read (live) */
	uint64_t write_max_bytes;     /* -C (bytes) */
	uint32_t write_ring, write_seconds; /* -W, -G */
	const struct io_guard *write_guard; /* files a rotated -w name must not be (outputs.h) */
	struct progress_term *progress; /* progress lines for big files, NULL: none */
	uint64_t max_packets, max_seconds; /* -c, --duration */
	/* the capture files of the run and their `file` labels (labels.h) */
	const char *const *inputs;
	char *const *labels;
	size_t n_inputs;
	struct writers_opts out;      /* --conns, --json, --export-certs (not with -j workers) */
	const struct conn_filter *conn_filter; /* --conn: only these connections, NULL all */
};

struct analysis;

struct analysis *analysis_new(const struct analysis_opts *o, char *err, size_t errn);
/* Analyse one file; -1 (err set) when it could not be opened/read. */
int analysis_file(struct analysis *a, const char *path, char *err, size_t errn);
/* Live capture in two steps, so privileges can be dropped in between:
 * open the interface (and -w file), then run until stopped, a limit, or
 * an error.  Prints "listening on ..." to stderr once open. */
int analysis_live_open(struct analysis *a, const struct cap_live_opts *lo, char *err, size_t errn);
/* Live with -w: the evidence file being written (NULL without -w). */
const char *analysis_evidence_file(const struct analysis *a);
int analysis_live_run(struct analysis *a, char *err, size_t errn);
/* Ask the running capture to finish: async-signal-safe. */
void analysis_stop(struct analysis *a);
/* Print the summary so far on stderr within 0.1 s, the capture going on
 * (SIGUSR1): async-signal-safe. */
void analysis_request_summary(struct analysis *a);

/* Finish: drain the timeline, close outputs (commit files).  -1 with err
 * set when an output could not be written.  When no input could be read
 * (a file run), the output files are left as they were and a note says so. */
int analysis_finish(struct analysis *a, char *err, size_t errn);
/* Something was analysed: a live capture, or at least one file opened. */
bool analysis_analysed(const struct analysis *a);
/* The stdout report: summary, findings by severity, failed-handshake
 * ladders, endpoints.  quiet: findings only. */
void analysis_report(const struct analysis *a, FILE *fp, bool quiet);
/* Highest finding severity (enum severity), -1 when none. */
int analysis_max_severity(const struct analysis *a);
const struct analysis_totals *analysis_totals(const struct analysis *a);
void analysis_free(struct analysis *a);

/* -j (parallel.c): a file analysed alone in a worker thread, merged into
 * the run's analysis in file order. */
struct tls_keylog;
struct trust;
struct analysis_spools {
	const char *timeline_csv, *findings_csv; /* paths written in place (when the run writes them) */
	FILE *text;                   /* the text timeline (when the run prints it) */
	FILE *warn;                   /* warnings */
	struct tls_keylog *keys;      /* the thread's: --keylog files + secrets blocks of files 0..idx */
	struct trust *trust;          /* the thread's */
};
enum analysis_spool { SPOOL_TIMELINE_CSV, SPOOL_FINDINGS_CSV, SPOOL_TEXT };
struct analysis *analysis_new_worker(const struct analysis_opts *o, const struct analysis_spools *sp, char *err,
				     size_t errn);
/* File idx of the run; -1 (err set) as analysis_file.  stream_secrets:
 * its pcapng secrets were not read ahead (compressed): take them as the
 * reader meets them. */
int analysis_worker_file(struct analysis *w, const char *path, uint32_t idx, bool stream_secrets, char *err,
			 size_t errn);
/* Spools complete and closed, connection state freed; -1 when a spool
 * could not be written. */
int analysis_worker_end(struct analysis *w, char *err, size_t errn);
/* True when w's file would have come out differently after a's files
 * (inventory_merge_conflict): then a analyses it again itself. */
bool analysis_merge_conflict(const struct analysis *a, const struct analysis *w);
/* Count w's file as a's next (path; dsb: the key log text of its
 * Decryption Secrets Blocks) and add its totals, findings and inventory.
 * Its outputs come from the spools (analysis_append_spool), in the order
 * timeline CSV, findings CSV, text. */
void analysis_merge(struct analysis *a, struct analysis *w, const char *path, const char *dsb, size_t dsb_len);
void analysis_append_spool(struct analysis *a, enum analysis_spool kind, int fd);
/* a's certificate cache asks the run's shared store on a miss (NULL: no
 * more): each distinct certificate is parsed by one thread only. */
struct x509_shared;
void analysis_share_certs(struct analysis *a, struct x509_shared *s);

#endif
