/* One run of ekuscope: the inputs, the dissector, the timeline and its
 * writers, and the counts the summary prints. */
#ifndef EK_ANALYSIS_H
#define EK_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../capture/capture.h"
#include "../dissect/tls.h"

struct analysis_opts {
	const char *timeline_csv;     /* -o: NULL none, "-" stdout */
	bool text_timeline;           /* readable timeline on stdout */
	bool live;                    /* stream rows (no atomic files, flush each row) */
	bool quiet;                   /* -q */
	const char *findings_csv;     /* --findings */
	const char *certs_csv;        /* --certs */
	const char *public_roots, *ca_file, *ca_path;
	const uint16_t *tls_ports; size_t n_tls_ports;
	struct cap_opts cap;
};

struct analysis_totals {
	uint32_t files, files_failed;
	uint64_t packets, bytes, tcp_conns, tls_conns, not_tls_conns;
	uint64_t handshakes_complete, handshakes_failed, handshakes_unknown;
	uint64_t rows;
	uint64_t gaps, gap_bytes, snaplen_cut, ip_fragments, malformed, evicted;
	uint32_t files_truncated;
};

struct analysis;

struct analysis *analysis_new(const struct analysis_opts *o, char *err, size_t errn);
/* Analyse one file; -1 (err set) when it could not be opened/read. */
int analysis_file(struct analysis *a, const char *path, char *err, size_t errn);
/* Finish: drain the timeline, close outputs (commit files).  -1 with err
 * set when an output could not be written. */
int analysis_finish(struct analysis *a, char *err, size_t errn);
/* The stdout report: summary, findings by severity, failed-handshake
 * ladders, endpoints.  quiet: findings only. */
void analysis_report(const struct analysis *a, FILE *fp, bool quiet);
/* Highest finding severity (enum severity), -1 when none. */
int analysis_max_severity(const struct analysis *a);
const struct analysis_totals *analysis_totals(const struct analysis *a);
void analysis_free(struct analysis *a);

#endif
