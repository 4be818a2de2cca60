/* The outputs beyond the timeline, findings and certificate CSVs: --conns,
 * --json, --export-certs, --html (one writer file each, report/out_*.c and
 * report/export_certs.c).  analysis.c hands them its events, rows,
 * findings and totals through this one interface. */
#ifndef EK_WRITERS_H
#define EK_WRITERS_H

#include <stdbool.h>
#include <stddef.h>

#include "../dissect/tls.h"
#include "connmap.h"
#include "row.h"

struct writers_opts {
	const char *conns_csv;        /* --conns FILE */
	const char *json;             /* --json FILE ("-": stdout) */
	const char *export_certs;     /* --export-certs DIR */
	const char *html;             /* --html FILE */
	bool all_ladders;             /* --html: a ladder for every connection (with --conn) */
};

static inline bool writers_wanted(const struct writers_opts *o)
{
	return o->conns_csv || o->json || o->export_certs || o->html;
}

struct writers;
struct analysis_totals;
struct finding_rec;
struct inventory;

/* live: stream (records as connections end, flushed), no atomic files.
 * NULL with a one-line reason in err. */
struct writers *writers_new(const struct writers_opts *o, bool live, struct x509_cache *cache, char *err,
			    size_t errn);
/* Every dissect event, after the timeline and findings saw it (before
 * the connection record is released). */
void writers_event(struct writers *out, struct conn_rec *cr, const struct tls_event *ev, const char *file);
/* The timeline rows: false when no output wants them; and the findings
 * (findings_opts.on_finding). */
bool writers_row_writer(struct writers *out, struct row_writer *w);
void writers_on_finding(void *ctx, const struct finding_rec *r);
/* Write what is kept and commit the files; the totals go into the
 * summaries, the inventory into the HTML report.  -1 with err when an
 * output could not be written. */
int writers_finish(struct writers *out, const struct analysis_totals *t, const struct inventory *inv, char *err,
		   size_t errn);
void writers_free(struct writers *out);

#endif
