/* Findings: rules over dissect events that say what is wrong and what to
 * do.  Each finding annotates the timeline row it concerns, streams to the
 * --findings CSV, and is aggregated for the text report. */
#ifndef EK_FINDINGS_H
#define EK_FINDINGS_H

#include <stdbool.h>
#include <stdio.h>

#include "../dissect/tls.h"
#include "connmap.h"
#include "findings_table.h"
#include "inventory.h"
#include "row.h"
#include "trust.h"

/* One finding as raised (report/outputs.c: --json). */
struct finding_rec {
	enum finding_code code;
	const char *file;
	const struct tls_event *ev;   /* the event it was raised on (frame, time, connection) */
	const char *role;             /* "client", "server" or "" */
	const struct x509_info *cert; /* NULL when none */
	const char *message;
	const char *label;            /* the input's label when there are several (the text report's prefix), else NULL */
};

struct findings_opts {
	const char *csv_path;     /* --findings, NULL none */
	bool live;                /* stream (no atomic file; findings_flush writes) */
	bool in_place;            /* write csv_path directly, not by rename (a -j spool) */
	/* the inputs' `file` labels: with more than one, the report's
	 * findings name the file they were seen in */
	char *const *labels;
	size_t n_labels;
	/* every finding as it is raised, NULL none */
	void (*on_finding)(void *ctx, const struct finding_rec *r);
	void *on_finding_ctx;
	/* live with -w: the evidence file of a packet's file_index, for a
	 * finding with no row of its own (NULL: the connection's file) */
	const char *(*evidence)(void *ctx, uint32_t file_index);
	void *evidence_ctx;
};

struct findings;

struct findings *findings_new(const struct findings_opts *o, struct x509_cache *cache, struct trust *trust,
			      struct inventory *inv, char *err, size_t errn);
void findings_free(struct findings *f);

/* timeline_annotate_fn: apply the rules to one event and its rows. */
void findings_on_event(void *ctx, struct conn_rec *cr, const struct tls_event *ev, struct row *rows, size_t n);
/* The findings raised on a connection so far (1u << finding_code). */
unsigned findings_conn_codes(const struct findings_conn *fc);
/* connmap's free_fc. */
void findings_free_conn(struct findings_conn *fc);

/* Remove the findings CSV's temporary: the file keeps what it had. */
void findings_discard(struct findings *f);
/* Commit the CSV.  -1 with err on write failure. */
/* Live: write the rows buffered so far to the findings CSV. */
void findings_flush(struct findings *f);
int findings_close(struct findings *f, char *err, size_t errn);

/* Highest severity seen, -1 when there is no finding. */
int findings_max_severity(const struct findings *f);
/* Findings of severity s so far (the live status line). */
uint64_t findings_count(const struct findings *f, enum severity s);

/* -j (parallel.c).  The findings CSV (NULL without --findings). */
struct csv_out *findings_csv(struct findings *f);
/* Add src's aggregates and counts (a later file, analysed alone) to dst
 * as if dst had seen them: unknown ones appended in src's order (first
 * occurrence), known ones only counted.  Ladder certificates move to
 * dst's cache.  src keeps no aggregate. */
void findings_merge(struct findings *dst, struct findings *src);
/* Free the recycled per-connection states (a worker's file is done). */
void findings_trim(struct findings *f);

/* Text report sections (80 columns). */
void findings_print(const struct findings *f, FILE *fp);
void findings_print_ladders(const struct findings *f, FILE *fp);

#endif
