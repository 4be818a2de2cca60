#include "run.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../capture/pcapng_secrets.h"
#include "../dissect/keylog.h"
#include "../dissect/x509_shared.h"
#include "../report/connmap.h"
#include "../report/csv_out.h"
#include "../report/findings.h"
#include "../report/inventory.h"
#include "../report/out_certs_csv.h"
#include "../report/out_timeline_csv.h"
#include "../report/out_timeline_text.h"
#include "../report/sanitize.h"
#include "../report/timeline.h"
#include "../report/trust.h"
#include "live_status.h"
#include "outputs.h"
#include "pipeline.h"

#include "run_int.h"

static struct analysis_totals capture_totals(const struct cap_stats *st);
static void totals_add(struct analysis_totals *t, const struct analysis_totals *s);

/* Live with -w: the evidence file holding a packet (its ek_pktref). */
static const char *evidence_name(const struct analysis *a, uint32_t file_index)
{
	return file_index < a->n_ev && a->ev_names[file_index] ? a->ev_names[file_index] : "";
}

static const char *evidence_label(void *ctx, uint32_t file_index)
{
	return evidence_name(ctx, file_index);
}

/* A new evidence file is about to be opened (capture/rotate.c): it must
 * not be an input or an output, and rows of its packets name it. */
static int on_evidence(void *ctx, uint32_t index, const char *path, char *err, size_t errn)
{
	struct analysis *a = ctx;
	if (a->o.write_guard && outputs_guard_check(a->o.write_guard, path, err, errn) != 0) return -1;
	char *name = strdup(path);
	if (!name) {
		snprintf(err, errn, "out of memory");
		return -1;
	}
	if (index >= a->n_ev) {
		uint32_t n = index + 1 > a->n_ev * 2 ? index + 1 : a->n_ev * 2;
		char **v = realloc(a->ev_names, n * sizeof *v);
		if (!v) {
			free(name);
			snprintf(err, errn, "out of memory");
			return -1;
		}
		memset(v + a->n_ev, 0, (n - a->n_ev) * sizeof *v);
		a->ev_names = v;
		a->n_ev = n;
	}
	/* a ring slot reused keeps its name; rows already written keep theirs */
	free(a->ev_names[index]);
	a->ev_names[index] = name;
	a->ev_current = name;
	a->ev_files++;
	return 0;
}

static void on_event(void *ctx, const struct tls_event *ev)
{
	struct analysis *a = ctx;
	const struct tls_conn_view *v = ev->conn;
	struct conn_rec *cr = v->consumer;
	const char *file = v->file_index < MAX_FILES && a->file_names[v->file_index] ? a->file_names[v->file_index] : "";
	if (!cr) {
		if (a->o.conn_filter && !conn_filter_match(a->o.conn_filter, file, v->id)) return;
		if (!(cr = connmap_get(a->conns, v->file_index, v->id))) return;
		*ev->consumer = cr;
	}
	if (a->ev_names) file = evidence_name(a, ev->pkt.file_index); /* live -w: the evidence file of the packet */
	timeline_event(a->tl, cr, ev, file);
	if (a->out) writers_event(a->out, cr, ev, file);
	if (ev->kind == TLS_EV_CONN_END) {
		if (v->is_tls) {
			a->t.tls_conns++;
			if (v->keys) a->t.conns_keyed++;
			if (v->decrypt_failed) a->t.conns_decrypt_failed++;
			if (tls_handshake_complete(v))
				a->t.handshakes_complete++;
			else if (v->tls13 && (!v->keys || v->decrypt_failed))
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

/* Live: called by the capture loop after each batch of packets and on a
 * timer (cap_set_flush), so rows reach their files in large writes yet
 * within a fraction of a second of their packets. */
static void flush_outputs(void *ctx)
{
	struct analysis *a = ctx;
	tls_tick(a->tls); /* held connections whose secrets arrived */
	if (a->csv) csv_out_flush(a->csv);
	findings_flush(a->findings);
	if (a->text.fp) fflush(a->text.fp);
	struct pipeline *pl = a->live;
	if (!pl || (!a->want_summary && !a->status_on)) return;
	const struct cap_stats *st = pipeline_live_stats(pl);
	if (a->want_summary) {
		/* the summary so far: this run's totals plus the capture's counters */
		a->want_summary = 0;
		live_status_clear(&a->status);
		struct analysis *now = malloc(sizeof *now);
		if (now) {
			*now = *a;
			struct analysis_totals s = capture_totals(st);
			totals_add(&now->t, &s);
			struct tls_stats ts;
			tls_get_stats(a->tls, &ts);
			now->t.records_decrypted = ts.records_decrypted;
			now->t.rows = timeline_rows_written(a->tl);
			fputs("ekuscope: summary so far (SIGUSR1):", stderr);
			run_summary(now, stderr);
			fflush(stderr);
			free(now);
		}
	}
	if (a->status_on) {
		struct tls_stats ts;
		tls_get_stats(a->tls, &ts);
		uint64_t nf = 0;
		for (int sev = SEV_INFO; sev <= SEV_ERROR; sev++) nf += findings_count(a->findings, (enum severity)sev);
		struct live_counts c = { a->iface, st->packets, st->ps_drop, ts.conns_tls, nf, a->ev_current };
		live_status_draw(&a->status, &c);
	}
}

/* --keylog files into a->keys. */
static int load_keylogs(struct analysis *a, char *err, size_t errn)
{
	for (size_t i = 0; i < a->o.n_keylog_files; i++) {
		const char *path = a->o.keylog_files[i];
		struct tls_keylog_stats before, after;
		tls_keylog_get_stats(a->keys, &before);
		char e[400];
		if (tls_keylog_add_file(a->keys, path, e, sizeof e) != 0) {
			snprintf(err, errn, "--keylog %s", e);
			return -1;
		}
		tls_keylog_get_stats(a->keys, &after);
		/* a client may still be writing it: read on as it grows */
		if (tls_keylog_follow(a->keys, path) != 0) {
			snprintf(err, errn, "out of memory");
			return -1;
		}
		if (after.secrets == before.secrets)
			fprintf(stderr, "ekuscope: warning: --keylog %s: no TLS secrets in it (%llu malformed lines)\n", path,
				(unsigned long long)(after.malformed - before.malformed));
	}
	return 0;
}

/* sp: a -j worker's analysis (parallel.c): keys and trust are its
 * thread's, outputs go to spools, no certificate CSV, nothing on stderr. */
static struct analysis *create(const struct analysis_opts *o, const struct analysis_spools *sp, char *err,
			       size_t errn)
{
	struct analysis *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	a->o = *o;
	a->warn = stderr;
	if (sp) {
		a->o.live = false;
		a->o.timeline_csv = sp->timeline_csv;
		a->o.findings_csv = sp->findings_csv;
		a->o.certs_csv = NULL;
		a->warn = sp->warn;
		a->shared_keys = a->shared_trust = true;
	}
	a->certs = x509_cache_new(o->cert_cache_bytes);
	a->keys = sp ? sp->keys : tls_keylog_new(0);
	a->conns = connmap_new();
	a->trust = sp ? sp->trust : trust_new(o->public_roots, o->ca_file, o->ca_path);
	if (!a->certs || !a->keys || !a->conns || !a->trust) {
		snprintf(err, errn, "out of memory");
		analysis_free(a);
		return NULL;
	}
	if (!sp && (o->public_roots || o->ca_file || o->ca_path) && trust_check_config(a->trust, err, errn) != 0) {
		analysis_free(a);
		return NULL;
	}
	a->inv = inventory_new(a->certs, a->trust);
	if (sp && a->inv) inventory_log_notes(a->inv);
	if (!sp && writers_wanted(&o->out) && !(a->out = writers_new(&o->out, a->o.live, a->certs, err, errn))) {
		analysis_free(a);
		return NULL;
	}
	struct findings_opts fo = { a->o.findings_csv, a->o.live, sp != NULL, a->o.labels, a->o.n_inputs, NULL, NULL,
				    a->o.write_to ? evidence_label : NULL, a };
	if (a->out) {
		fo.on_finding = writers_on_finding;
		fo.on_finding_ctx = a->out;
	}
	a->findings = a->inv ? findings_new(&fo, a->certs, a->trust, a->inv, err, errn) : NULL;
	if (!a->findings) {
		if (!a->inv) snprintf(err, errn, "out of memory");
		analysis_free(a);
		return NULL;
	}
	a->tl = timeline_new(a->certs, a->conns, findings_free_conn, findings_on_event, a->findings);
	if (!sp && load_keylogs(a, err, errn) != 0) {
		analysis_free(a);
		return NULL;
	}
	struct tls_opts to = { .ports = o->tls_ports, .n_ports = o->n_tls_ports, .keys = a->keys,
			       .follow = !sp && o->n_keylog_files ? a->keys : NULL, .hold = a->o.live };
	struct tls_sink sink = { a, on_event };
	a->tls = a->tl ? tls_ctx_new(&to, &sink, a->certs) : NULL;
	if (!a->tl || !a->tls) {
		snprintf(err, errn, "out of memory");
		analysis_free(a);
		return NULL;
	}
	if (a->o.timeline_csv) {
		a->csv = csv_out_open(a->o.timeline_csv, !a->o.live && !sp, err, errn);
		if (!a->csv) {
			analysis_free(a);
			return NULL;
		}
		struct row_writer w;
		if (!timeline_csv_writer(a->csv, &w)) {
			snprintf(err, errn, "out of memory");
			analysis_free(a);
			return NULL;
		}
		timeline_add_writer(a->tl, &w);
	}
	/* a live run drops root before its end, when the inventory is
	 * written: its file is opened now, like -o's */
	if (a->o.live && a->o.certs_csv && !(a->certs_out = csv_out_open(a->o.certs_csv, false, err, errn))) {
		analysis_free(a);
		return NULL;
	}
	struct row_writer ow;
	if (a->out && writers_row_writer(a->out, &ow)) timeline_add_writer(a->tl, &ow);
	if (o->text_timeline) {
		a->text.fp = sp ? sp->text : stdout;
		struct row_writer w = timeline_text_writer(&a->text);
		timeline_add_writer(a->tl, &w);
	}
	return a;
}

struct analysis *analysis_new(const struct analysis_opts *o, char *err, size_t errn)
{
	return create(o, NULL, err, errn);
}

static int run_input(struct analysis *a, struct pipeline *pl, char *err, size_t errn);

/* File idx's name; a->t.files counts it. */
static int file_begin(struct analysis *a, const char *path, uint32_t idx, char *err, size_t errn)
{
	if (idx >= MAX_FILES) {
		snprintf(err, errn, "%s: too many input files (at most %d)", path, MAX_FILES);
		return -1;
	}
	if (idx < a->o.n_inputs && a->o.labels) {
		a->file_names[idx] = strdup(a->o.labels[idx]);
	} else {
		char *copy = strdup(path);
		a->file_names[idx] = strdup(copy ? basename(copy) : path);
		free(copy);
	}
	a->text.show_file = idx > 0 || a->text.show_file;
	a->t.files = idx + 1;
	return 0;
}

static int file_run(struct analysis *a, const char *path, uint32_t idx, bool stream_secrets, char *err,
		    size_t errn);

int analysis_file(struct analysis *a, const char *path, char *err, size_t errn)
{
	uint32_t idx = a->t.files;
	if (file_begin(a, path, idx, err, errn) != 0) return -1;
	/* pcapng secrets blocks as the reader meets them: from there on and for
	 * the files after it (the same by path, on stdin, compressed) */
	return file_run(a, path, idx, true, err, errn);
}

static int file_run(struct analysis *a, const char *path, uint32_t idx, bool stream_secrets, char *err,
		    size_t errn)
{
	struct pipeline_input in = { .path = path, .filter = a->o.bpf, .max_packets = a->o.max_packets,
				     .max_seconds = a->o.max_seconds, .progress = a->o.progress,
				     .secrets_to = stream_secrets ? a->keys : NULL, .secrets_blocks = &a->t.dsb_blocks,
				     .two_threads = a->o.two_threads };
	struct pipeline *pl = pipeline_open(&in, idx, &a->o.cap, a->tls, err, errn);
	if (!pl) {
		a->t.files_failed++;
		a->t.files_unread++;
		if (idx < MAX_FILES) a->unread[idx] = true;
		return -1;
	}
	int rc = run_input(a, pl, err, errn);
	pipeline_close(pl);
	return rc;
}

/* A capture's counts as the run's totals count them. */
static struct analysis_totals capture_totals(const struct cap_stats *st)
{
	struct analysis_totals s;
	memset(&s, 0, sizeof s);
	s.packets = st->packets;
	s.bytes = st->bytes;
	s.tcp_conns = st->conns;
	s.gaps = st->gaps;
	s.gap_bytes = st->gap_bytes;
	s.snaplen_cut = st->snaplen_cut;
	s.ip_fragments = st->ip_fragments;
	s.ip_datagrams = st->ip_datagrams;
	s.ip_frag_overlaps = st->ip_frag_overlaps;
	s.ip_frag_dropped = st->ip_frag_dropped;
	s.malformed = st->malformed;
	s.evicted = st->conns_evicted;
	s.oom_packets = st->oom;
	s.files_truncated = st->truncated;
	s.have_pcap_stats = st->have_pcap_stats;
	s.ps_recv = st->ps_recv;
	s.ps_drop = st->ps_drop;
	s.ps_ifdrop = st->ps_ifdrop;
	return s;
}

/* The one place totals are summed: an input's into the run's, a -j
 * worker's file into the run's.  files, rows and records_decrypted are
 * counted by the run itself (file_begin, analysis_finish). */
static void totals_add(struct analysis_totals *t, const struct analysis_totals *s)
{
	t->files_failed += s->files_failed;
	t->files_unread += s->files_unread;
	t->packets += s->packets;
	t->bytes += s->bytes;
	t->tcp_conns += s->tcp_conns;
	t->tls_conns += s->tls_conns;
	t->not_tls_conns += s->not_tls_conns;
	udp_totals_add(&t->udp, &s->udp);
	t->handshakes_complete += s->handshakes_complete;
	t->handshakes_failed += s->handshakes_failed;
	t->handshakes_unknown += s->handshakes_unknown;
	t->rows_dropped += s->rows_dropped;
	t->gaps += s->gaps;
	t->gap_bytes += s->gap_bytes;
	t->snaplen_cut += s->snaplen_cut;
	t->ip_fragments += s->ip_fragments;
	t->ip_datagrams += s->ip_datagrams;
	t->ip_frag_overlaps += s->ip_frag_overlaps;
	t->ip_frag_dropped += s->ip_frag_dropped;
	t->malformed += s->malformed;
	t->evicted += s->evicted;
	t->oom_packets += s->oom_packets;
	t->oom_conns += s->oom_conns;
	t->files_truncated += s->files_truncated;
	t->dsb_blocks += s->dsb_blocks;
	t->conns_keyed += s->conns_keyed;
	t->conns_decrypt_failed += s->conns_decrypt_failed;
	if (s->have_pcap_stats) {
		t->have_pcap_stats = true;
		t->ps_recv += s->ps_recv;
		t->ps_drop += s->ps_drop;
		t->ps_ifdrop += s->ps_ifdrop;
	}
}

static int run_input(struct analysis *a, struct pipeline *pl, char *err, size_t errn)
{
	struct cap_stats st;
	memset(&st, 0, sizeof st);
	int rc = pipeline_run(pl, &st, err, errn);
	struct analysis_totals s = capture_totals(&st);
	s.files_failed = rc != 0;
	s.oom_conns = pipeline_conns_oom(pl);
	if (st.truncated) fprintf(a->warn, "ekuscope: warning: %s\n", st.truncated_msg);
	totals_add(&a->t, &s);
	return rc;
}

const char *analysis_evidence_file(const struct analysis *a) { return a->ev_current; }

int analysis_live_open(struct analysis *a, const struct cap_live_opts *lo, char *err, size_t errn)
{
	uint32_t idx = a->t.files;
	if (idx >= MAX_FILES) {
		snprintf(err, errn, "too many inputs");
		return -1;
	}
	a->ev = (struct cap_evidence){ a->o.write_to, a->o.write_max_bytes, a->o.write_ring, a->o.write_seconds,
				       on_evidence, a };
	struct pipeline_input in = { .live = lo, .filter = a->o.bpf, .evidence = a->o.write_to ? &a->ev : NULL,
				     .max_packets = a->o.max_packets, .max_seconds = a->o.max_seconds,
				     .flush = flush_outputs, .flush_ctx = a };
	struct pipeline *pl = pipeline_open(&in, idx, &a->o.cap, a->tls, err, errn);
	if (!pl) return -1;
	a->file_names[idx] = strdup(lo->iface);
	a->t.files++;
	a->live = pl;
	a->text.show_file = a->o.write_max_bytes || a->o.write_seconds; /* rows name their evidence file */
	a->iface = lo->iface;
	a->status.fp = stderr;
	a->status_on = a->o.progress != NULL; /* stderr is a terminal, and not taken by the timeline */
	fprintf(stderr, "ekuscope: listening on %s, link-type %s, snapshot length %d bytes\n", lo->iface,
		pipeline_linktype(pl), lo->snaplen > 0 ? lo->snaplen : CAP_DEFAULT_SNAPLEN);
	return 0;
}

int analysis_live_run(struct analysis *a, char *err, size_t errn)
{
	if (!a->live) {
		snprintf(err, errn, "no live capture open");
		return -1;
	}
	int rc = run_input(a, a->live, err, errn);
	live_status_clear(&a->status);
	struct pipeline *pl = a->live;
	a->live = NULL;
	pipeline_close(pl);
	return rc;
}

void analysis_request_summary(struct analysis *a)
{
	if (a) a->want_summary = 1;
}

void analysis_stop(struct analysis *a)
{
	if (a) pipeline_stop(a->live);
}

bool analysis_analysed(const struct analysis *a)
{
	return a->o.live || a->t.files > a->t.files_unread;
}

/* Nothing was read: the output files keep what an earlier run wrote
 * (their temporaries are removed, the certificate CSV is not made); err
 * names those that exist. */
static int keep_outputs(struct analysis *a, char *err, size_t errn)
{
	char e[256], kept[600] = "";
	size_t k = 0;
	const char *opt[] = { "-o", "--findings", "--certs" };
	const char *path[] = { a->o.timeline_csv, a->o.findings_csv, a->o.certs_csv };
	for (int i = 0; i < 3; i++) {
		struct stat sb;
		/* only files an earlier run left: nothing else was kept */
		if (!path[i] || strcmp(path[i], "-") == 0 || stat(path[i], &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
		char buf[300];
		int w = snprintf(kept + k, sizeof kept - k, "%s%s %s", k ? ", " : "", opt[i], sanitize_str(path[i], buf, sizeof buf));
		if (w > 0) k = k + (size_t)w < sizeof kept ? k + (size_t)w : sizeof kept - 1;
	}
	if (a->csv) csv_out_close(a->csv, false, e, sizeof e);
	a->csv = NULL;
	findings_discard(a->findings);
	if (!k) return 0;
	snprintf(err, errn, "no input could be read: nothing written, %s kept as it was", kept);
	return -1;
}

/* A finishing step's result: its reason goes to err when it is the
 * first failure. */
static void note_failure(int *rc, int step, const char *step_err, char *err, size_t errn)
{
	if (step == 0 || *rc != 0) return;
	*rc = step;
	snprintf(err, errn, "%s", step_err);
}

int analysis_finish(struct analysis *a, char *err, size_t errn)
{
	tls_release_held(a->tls); /* connections still waiting for their secrets */
	struct tls_stats ts;
	tls_get_stats(a->tls, &ts);
	a->t.records_decrypted = ts.records_decrypted + a->merged_records;
	udp_totals_add_tls(&a->t.udp, &ts);
	timeline_drain(a->tl);
	a->t.rows = timeline_rows_written(a->tl) + a->merged_rows;
	a->t.rows_dropped += timeline_rows_dropped_by_cap(a->tl);
	fflush(stdout);
	if (!analysis_analysed(a)) return keep_outputs(a, err, errn);
	/* Every output is written even when one fails (a full disk for the
	 * timeline must not cost the findings and the inventory); the first
	 * failure is the one reported. */
	int rc = 0;
	char e[512];
	if (a->csv) {
		note_failure(&rc, csv_out_close(a->csv, true, e, sizeof e), e, err, errn);
		a->csv = NULL;
	}
	note_failure(&rc, findings_close(a->findings, e, sizeof e), e, err, errn);
	if (a->o.certs_csv) {
		char *const *names = a->ev_names ? a->ev_names : a->file_names;
		uint32_t n = a->ev_names ? a->n_ev : a->t.files;
		int r = a->certs_out ? certs_csv_write_to(a->certs_out, a->inv, names, n, e, sizeof e)
				     : certs_csv_write(a->inv, a->o.certs_csv, names, n, e, sizeof e);
		a->certs_out = NULL;
		note_failure(&rc, r, e, err, errn);
	}
	if (a->out) note_failure(&rc, writers_finish(a->out, &a->t, a->inv, e, sizeof e), e, err, errn);
	return rc;
}

int analysis_max_severity(const struct analysis *a)
{
	return findings_max_severity(a->findings);
}

const struct analysis_totals *analysis_totals(const struct analysis *a)
{
	return &a->t;
}

void analysis_free(struct analysis *a)
{
	if (!a) return;
	if (a->live) pipeline_close(a->live);
	char e[256];
	if (a->csv) csv_out_close(a->csv, false, e, sizeof e);
	if (a->certs_out) csv_out_close(a->certs_out, false, e, sizeof e);
	timeline_free(a->tl);
	writers_free(a->out);
	if (a->tls) tls_ctx_free(a->tls);
	connmap_free(a->conns, findings_free_conn);
	findings_free(a->findings);
	inventory_free(a->inv);
	if (!a->shared_trust) trust_free(a->trust);
	if (a->certs) x509_cache_free(a->certs);
	if (!a->shared_keys) tls_keylog_free(a->keys);
	for (uint32_t i = 0; i < a->t.files && i < MAX_FILES; i++) free(a->file_names[i]);
	for (uint32_t i = 0; i < a->n_ev; i++) free(a->ev_names[i]);
	free(a->ev_names);
	free(a);
}

/* ---- -j: one file in a worker thread, merged in file order (parallel.c) ---- */

struct analysis *analysis_new_worker(const struct analysis_opts *o, const struct analysis_spools *sp, char *err,
				     size_t errn)
{
	return create(o, sp, err, errn);
}

int analysis_worker_file(struct analysis *w, const char *path, uint32_t idx, bool stream_secrets, char *err,
			 size_t errn)
{
	if (file_begin(w, path, idx, err, errn) != 0) return -1;
	return file_run(w, path, idx, stream_secrets, err, errn);
}

int analysis_worker_end(struct analysis *w, char *err, size_t errn)
{
	struct tls_stats ts;
	tls_get_stats(w->tls, &ts);
	w->t.records_decrypted = ts.records_decrypted;
	udp_totals_add_tls(&w->t.udp, &ts);
	timeline_drain(w->tl);
	w->t.rows = timeline_rows_written(w->tl);
	w->t.rows_dropped = timeline_rows_dropped_by_cap(w->tl);
	int rc = 0;
	if (w->csv) {
		rc = csv_out_close(w->csv, true, err, errn);
		w->csv = NULL;
	}
	if (rc == 0) rc = findings_close(w->findings, err, errn);
	if (rc == 0 && w->text.fp && (fflush(w->text.fp) != 0 || ferror(w->text.fp))) {
		snprintf(err, errn, "text timeline spool: write failed");
		rc = -1;
	}
	/* only what the merge reads stays until then */
	timeline_free(w->tl);
	w->tl = NULL;
	tls_ctx_free(w->tls);
	w->tls = NULL;
	connmap_free(w->conns, findings_free_conn);
	w->conns = NULL;
	findings_trim(w->findings);
	return rc;
}

bool analysis_merge_conflict(const struct analysis *a, const struct analysis *w)
{
	return inventory_merge_conflict(a->inv, w->inv);
}

void analysis_merge(struct analysis *a, struct analysis *w, const char *path, const char *dsb, size_t dsb_len)
{
	char e[300];
	if (file_begin(a, path, a->t.files, e, sizeof e) != 0) return;
	/* the file's secrets, for the files after it that a analyses itself;
	 * the blocks were counted as the worker met them */
	if (dsb_len) tls_keylog_add_text(a->keys, dsb, dsb_len);
	if (w->t.files_unread && a->t.files - 1 < MAX_FILES) a->unread[a->t.files - 1] = true;
	totals_add(&a->t, &w->t);
	a->merged_rows += w->t.rows;
	a->merged_records += w->t.records_decrypted;
	findings_merge(a->findings, w->findings);
	inventory_merge(a->inv, w->inv);
}

/* Copy a spool to its output: in the kernel (sendfile) where it can, the
 * rest through the writer (which then reports a failure).  A CSV spool's
 * header line is dropped: the output has its own. */
void analysis_append_spool(struct analysis *a, enum analysis_spool kind, int fd)
{
	struct csv_out *c = kind == SPOOL_TIMELINE_CSV ? a->csv : kind == SPOOL_FINDINGS_CSV ? findings_csv(a->findings) : NULL;
	FILE *fp = kind == SPOOL_TEXT ? a->text.fp : NULL;
	struct stat sb;
	if ((!c && !fp) || fstat(fd, &sb) != 0) return;
	off_t off = 0, end = sb.st_size;
	if (c) {
		char h[4096];
		ssize_t got = pread(fd, h, sizeof h, 0);
		char *nl = got > 0 ? memchr(h, '\n', (size_t)got) : NULL;
		if (!nl) return;
		off = nl - h + 1;
	}
	int out = c ? csv_out_fd(c) : fflush(fp) == 0 ? fileno(fp) : -1;
	while (out >= 0 && off < end) {
		ssize_t n = sendfile(out, fd, &off, (size_t)(end - off));
		if (n <= 0 && !(n < 0 && errno == EINTR)) break;
	}
	enum { CHUNK = 32 << 10 };
	char *buf = off < end && fp ? malloc(CHUNK) : NULL;
	while (off < end && (c || buf)) {
		char *p = c ? csv_out_row_reserve(c, CHUNK) : buf;
		if (!p) break;
		ssize_t got = pread(fd, p, CHUNK, off);
		if (got <= 0) {
			if (c) csv_out_row_commit(c, p);
			break;
		}
		off += got;
		if (c) csv_out_row_commit(c, p + got);
		else fwrite(p, 1, (size_t)got, fp);
	}
	free(buf);
}

void analysis_share_certs(struct analysis *a, struct x509_shared *s)
{
	x509_cache_share(a->certs, s);
}
