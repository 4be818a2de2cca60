#include "analysis.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "connmap.h"
#include "csv_out.h"
#include "findings.h"
#include "inventory.h"
#include "pipeline.h"
#include "timeline.h"
#include "timeline_csv.h"
#include "timeline_text.h"
#include "trust.h"

#define MAX_FILES 4096

struct analysis {
	struct analysis_opts o;
	struct x509_cache *certs;
	struct tls_ctx *tls;
	struct connmap *conns;
	struct timeline *tl;
	struct trust *trust;
	struct inventory *inv;
	struct findings *findings;
	struct csv_out *csv;
	struct timeline_text text;
	char *file_names[MAX_FILES];  /* base names, by file index */
	struct analysis_totals t;
};

static void on_event(void *ctx, const struct tls_event *ev)
{
	struct analysis *a = ctx;
	const struct tls_conn_view *v = ev->conn;
	struct conn_rec *cr = connmap_get(a->conns, v->file_index, v->id);
	if (!cr) return;
	const char *file = v->file_index < MAX_FILES && a->file_names[v->file_index] ? a->file_names[v->file_index] : "";
	timeline_event(a->tl, cr, ev, file);
	if (ev->kind == TLS_EV_CONN_END) {
		if (v->is_tls) {
			a->t.tls_conns++;
			if (v->client_finished && v->server_finished)
				a->t.handshakes_complete++;
			else if (v->tls13)
				a->t.handshakes_unknown++; /* Finished is encrypted: outcome not visible without keys */
			else if (v->client_sent_hello || v->server_sent_hello)
				a->t.handshakes_failed++;
			else
				a->t.handshakes_unknown++;
		} else {
			a->t.not_tls_conns++;
		}
		cr->ended = true;
		connmap_release(a->conns, cr, findings_free_conn);
	}
}

struct analysis *analysis_new(const struct analysis_opts *o, char *err, size_t errn)
{
	struct analysis *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	a->o = *o;
	a->certs = x509_cache_new(0);
	a->conns = connmap_new();
	a->trust = trust_new(o->public_roots, o->ca_file, o->ca_path);
	if (!a->certs || !a->conns || !a->trust) {
		snprintf(err, errn, "out of memory");
		analysis_free(a);
		return NULL;
	}
	if ((o->public_roots || o->ca_file || o->ca_path) && trust_check_config(a->trust, err, errn) != 0) {
		analysis_free(a);
		return NULL;
	}
	a->inv = inventory_new(a->certs, a->trust);
	struct findings_opts fo = { o->findings_csv, o->live };
	a->findings = a->inv ? findings_new(&fo, a->certs, a->trust, a->inv, err, errn) : NULL;
	if (!a->findings) {
		if (!a->inv) snprintf(err, errn, "out of memory");
		analysis_free(a);
		return NULL;
	}
	a->tl = timeline_new(a->certs, a->conns, findings_free_conn, findings_on_event, a->findings);
	struct tls_opts to = { .ports = o->tls_ports, .n_ports = o->n_tls_ports };
	struct tls_sink sink = { a, on_event };
	a->tls = a->tl ? tls_ctx_new(&to, &sink, a->certs) : NULL;
	if (!a->tl || !a->tls) {
		snprintf(err, errn, "out of memory");
		analysis_free(a);
		return NULL;
	}
	if (o->timeline_csv) {
		a->csv = csv_out_open(o->timeline_csv, !o->live, err, errn);
		if (!a->csv) {
			analysis_free(a);
			return NULL;
		}
		struct row_writer w = timeline_csv_writer(a->csv);
		timeline_add_writer(a->tl, &w);
	}
	if (o->text_timeline) {
		a->text.fp = stdout;
		a->text.flush_each = o->live;
		struct row_writer w = timeline_text_writer(&a->text);
		timeline_add_writer(a->tl, &w);
	}
	return a;
}

int analysis_file(struct analysis *a, const char *path, char *err, size_t errn)
{
	uint32_t idx = a->t.files;
	if (idx >= MAX_FILES) {
		snprintf(err, errn, "%s: too many input files (at most %d)", path, MAX_FILES);
		return -1;
	}
	char *copy = strdup(path);
	a->file_names[idx] = strdup(copy ? basename(copy) : path);
	free(copy);
	a->text.show_file = idx > 0 || a->text.show_file;
	a->t.files++;

	struct cap_stats st;
	memset(&st, 0, sizeof st);
	int rc = pipeline_run_file(path, idx, &a->o.cap, a->tls, &st, err, errn);
	if (rc != 0) a->t.files_failed++;
	a->t.packets += st.packets;
	a->t.bytes += st.bytes;
	a->t.tcp_conns += st.conns;
	a->t.gaps += st.gaps;
	a->t.gap_bytes += st.gap_bytes;
	a->t.snaplen_cut += st.snaplen_cut;
	a->t.ip_fragments += st.ip_fragments;
	a->t.malformed += st.malformed;
	a->t.evicted += st.conns_evicted;
	if (st.truncated) {
		a->t.files_truncated++;
		fprintf(stderr, "ekuscope: warning: %s\n", st.truncated_msg);
	}
	return rc;
}

int analysis_finish(struct analysis *a, char *err, size_t errn)
{
	timeline_drain(a->tl);
	a->t.rows = timeline_rows_written(a->tl);
	fflush(stdout);
	int rc = 0;
	if (a->csv) {
		rc = csv_out_close(a->csv, true, err, errn);
		a->csv = NULL;
	}
	if (rc == 0) rc = findings_close(a->findings, err, errn);
	if (rc == 0 && a->o.certs_csv)
		rc = inventory_write_csv(a->inv, a->o.certs_csv, a->file_names, a->t.files, err, errn);
	return rc;
}

int analysis_max_severity(const struct analysis *a)
{
	return findings_max_severity(a->findings);
}

static void summary(const struct analysis *a, FILE *fp)
{
	const struct analysis_totals *t = &a->t;
	fprintf(fp, "\nSummary: %u file%s, %llu packets, %llu TCP connection%s, %llu TLS connection%s\n", t->files,
		t->files == 1 ? "" : "s", (unsigned long long)t->packets, (unsigned long long)t->tcp_conns,
		t->tcp_conns == 1 ? "" : "s", (unsigned long long)t->tls_conns, t->tls_conns == 1 ? "" : "s");
	fprintf(fp, "         handshakes: %llu completed, %llu failed or incomplete", (unsigned long long)t->handshakes_complete,
		(unsigned long long)t->handshakes_failed);
	if (t->handshakes_unknown)
		fprintf(fp, ",\n         %llu outcome not visible (TLS 1.3 without keys, or no hello seen)",
			(unsigned long long)t->handshakes_unknown);
	fputc('\n', fp);
	if (t->gaps || t->snaplen_cut)
		fprintf(fp, "         missing data: %llu holes (%llu bytes), %llu packets cut by snaplen\n",
			(unsigned long long)t->gaps, (unsigned long long)t->gap_bytes,
			(unsigned long long)t->snaplen_cut);
	if (t->ip_fragments)
		fprintf(fp, "         %llu IP fragments skipped (not reassembled)\n", (unsigned long long)t->ip_fragments);
	if (t->malformed)
		fprintf(fp, "         %llu malformed packets skipped\n", (unsigned long long)t->malformed);
	if (t->evicted)
		fprintf(fp, "         %llu connections evicted (connection table full)\n", (unsigned long long)t->evicted);
	if (t->files_truncated)
		fprintf(fp, "         %u file%s truncated: read up to the cut\n", t->files_truncated,
			t->files_truncated == 1 ? "" : "s");
}

void analysis_report(const struct analysis *a, FILE *fp, bool quiet)
{
	if (!quiet) summary(a, fp);
	if (!quiet || findings_max_severity(a->findings) >= 0) findings_print(a->findings, fp);
	if (!quiet) {
		findings_print_ladders(a->findings, fp);
		inventory_print(a->inv, fp);
	}
	fflush(fp);
}

const struct analysis_totals *analysis_totals(const struct analysis *a)
{
	return &a->t;
}

void analysis_free(struct analysis *a)
{
	if (!a) return;
	if (a->csv) {
		char e[256];
		csv_out_close(a->csv, false, e, sizeof e);
	}
	timeline_free(a->tl);
	if (a->tls) tls_ctx_free(a->tls);
	connmap_free(a->conns, findings_free_conn);
	findings_free(a->findings);
	inventory_free(a->inv);
	trust_free(a->trust);
	if (a->certs) x509_cache_free(a->certs);
	for (uint32_t i = 0; i < a->t.files && i < MAX_FILES; i++) free(a->file_names[i]);
	free(a);
}
