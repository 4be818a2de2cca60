#include "pipeline.h"

#include <stdio.h>
#include <string.h>

#include "progress.h"

struct glue {
	struct cap_reader *reader;
	struct tls_ctx *tls;
	struct progress progress;
};

static void on_open(void *ctx, struct cap_conn *c, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	struct tls_conn_params tp = {
		.id = c->id,
		.file_index = c->file_index,
		.ep = { c->ep[0], c->ep[1] },
		.initiator = c->initiator,
		.syn_seen = c->initiator == 0,
	};
	c->user = tls_conn_new(g->tls, &tp, p);
}

static void on_data(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t n, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	if (c->user && tls_conn_data(g->tls, c->user, dir, b, n, p) == TLS_NOT_TLS)
		cap_ignore(g->reader, c);
}

static void on_gap(void *ctx, struct cap_conn *c, int dir, uint64_t missing, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	if (c->user) tls_conn_gap(g->tls, c->user, dir, missing, p);
}

static void on_flag(void *ctx, struct cap_conn *c, int dir, enum cap_flag f, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	if (!c->user) return;
	if (f == CAP_FLAG_FIN)
		tls_conn_fin(g->tls, c->user, dir, p);
	else
		tls_conn_rst(g->tls, c->user, dir, p);
}

static void on_end(void *ctx, struct cap_conn *c, enum cap_end why, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	(void)why;
	if (c->user) tls_conn_end(g->tls, c->user, p);
	c->user = NULL;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct glue *g = ctx;
	struct tls_stats ts;
	tls_get_stats(g->tls, &ts);
	progress_update(&g->progress, done, total, ts.conns_tls);
}

int pipeline_run_file(const char *path, uint32_t file_index, const struct cap_opts *co, struct tls_ctx *tls,
		      struct cap_stats *stats, char *err, size_t errn)
{
	char eb[CAP_ERRBUF_SIZE] = "";
	struct glue g = { NULL, tls, { 0 } };
	struct cap_sink sink = { &g, on_open, on_data, on_gap, on_flag, on_end };
	g.reader = cap_open_file(path, file_index, co, &sink, eb);
	if (!g.reader) {
		snprintf(err, errn, "%s", eb);
		return -1;
	}
	if (progress_enabled()) {
		progress_start(&g.progress, path);
		cap_set_progress(g.reader, on_progress, &g, 0);
	}
	int rc = cap_run(g.reader, eb);
	progress_end(&g.progress);
	if (stats) *stats = *cap_get_stats(g.reader);
	if (rc != 0) snprintf(err, errn, "%s", eb);
	cap_close(g.reader);
	return rc;
}
