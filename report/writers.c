#include "writers.h"

#include <stdlib.h>

#include "conn_table.h"
#include "csv_out.h"
#include "export_certs.h"
#include "findings.h"
#include "out_conns_csv.h"
#include "out_file.h"
#include "out_html.h"
#include "out_json.h"

struct writers {
	struct writers_opts o;
	bool live;
	struct conn_table *conns;
	struct csv_out *conns_csv;
	struct out_file json_file;
	struct json_writer *json;
	struct cert_export *certs;
	struct html_report *html;
	struct out_file html_file;
};

/* conn_table_emit_fn: each connection record to every output that wants it. */
static void emit_conn(void *ctx, const struct conn_info *ci)
{
	struct writers *out = ctx;
	if (out->conns_csv) {
		conns_csv_row(out->conns_csv, ci);
		if (out->live) csv_out_flush(out->conns_csv);
	}
	if (out->json) json_write_conn(out->json, ci);
	if (out->html) html_report_conn(out->html, ci);
}

struct writers *writers_new(const struct writers_opts *o, bool live, struct x509_cache *cache, char *err,
			    size_t errn)
{
	struct writers *out = calloc(1, sizeof *out);
	if (!out) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	out->o = *o;
	out->live = live;
	if (o->conns_csv) {
		if (!(out->conns_csv = csv_out_open(o->conns_csv, !live, err, errn))) {
			writers_free(out);
			return NULL;
		}
		conns_csv_header(out->conns_csv);
	}
	if (o->json) {
		if (out_file_open(&out->json_file, o->json, !live, err, errn) != 0) {
			writers_free(out);
			return NULL;
		}
		if (!(out->json = json_writer_new(out->json_file.fp, live))) {
			snprintf(err, errn, "out of memory");
			writers_free(out);
			return NULL;
		}
	}
	if (o->export_certs && !(out->certs = cert_export_open(o->export_certs, cache, err, errn))) {
		writers_free(out);
		return NULL;
	}
	if (o->html) {
		/* opened now (a live run drops privileges before the end), written at the end */
		if (out_file_open(&out->html_file, o->html, !live, err, errn) != 0) {
			writers_free(out);
			return NULL;
		}
		if (!(out->html = html_report_new())) {
			snprintf(err, errn, "out of memory");
			writers_free(out);
			return NULL;
		}
	}
	if (o->conns_csv || o->json || o->html) {
		if (!(out->conns = conn_table_new(cache, live, emit_conn, out))) {
			snprintf(err, errn, "out of memory");
			writers_free(out);
			return NULL;
		}
		if (o->html) conn_table_keep_steps(out->conns, o->all_ladders);
	}
	return out;
}

void writers_event(struct writers *out, struct conn_rec *cr, const struct tls_event *ev, const char *file)
{
	if (out->conns) conn_table_event(out->conns, cr, ev, file);
	if (out->certs) cert_export_event(out->certs, ev, file);
}

bool writers_row_writer(struct writers *out, struct row_writer *w)
{
	if (!out->json) return false;
	*w = (struct row_writer){ out->json, json_write_row };
	return true;
}

void writers_on_finding(void *ctx, const struct finding_rec *r)
{
	struct writers *out = ctx;
	if (out->json) json_write_finding(out->json, r);
	if (out->html) html_report_finding(out->html, r);
}

int writers_finish(struct writers *out, const struct analysis_totals *t, const struct inventory *inv, char *err,
		   size_t errn)
{
	if (out->conns) conn_table_finish(out->conns);
	int rc = 0;
	if (out->conns_csv) {
		rc = csv_out_close(out->conns_csv, true, err, errn);
		out->conns_csv = NULL;
	}
	if (out->json) {
		json_write_summary(out->json, t);
		bool bad = json_writer_status(out->json) != 0;
		int jrc = out_file_close(&out->json_file, !bad, err, errn);
		if (bad && rc == 0) snprintf(err, errn, "%s: write failed", out->o.json);
		if (rc == 0 && (bad || jrc)) rc = -1;
		json_writer_free(out->json);
		out->json = NULL;
	}
	if (out->html) {
		char e[300];
		bool bad = html_report_write(out->html, out->html_file.fp, t, inv) != 0;
		int hrc = out_file_close(&out->html_file, !bad, e, sizeof e);
		if (bad) snprintf(e, sizeof e, "%s: write failed", out->o.html);
		if ((bad || hrc != 0) && rc == 0) {
			snprintf(err, errn, "%s", e);
			rc = -1;
		}
	}
	if (out->certs) {
		char e[300];
		if (cert_export_close(out->certs, e, sizeof e) != 0 && rc == 0) {
			snprintf(err, errn, "%s", e);
			rc = -1;
		}
	}
	return rc;
}

void writers_free(struct writers *out)
{
	if (!out) return;
	conn_table_free(out->conns);
	json_writer_free(out->json);
	cert_export_free(out->certs);
	html_report_free(out->html);
	char je[256];
	out_file_close(&out->html_file, false, je, sizeof je);
	out_file_close(&out->json_file, false, je, sizeof je);
	if (out->conns_csv) {
		char e[256];
		csv_out_close(out->conns_csv, false, e, sizeof e);
	}
	free(out);
}
