#include "pipeline.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"
#include "progress.h"
#include "../dissect/udp.h"

struct glue {
	struct cap_reader *reader;
	struct tls_ctx *tls;
	struct progress progress;
	struct tls_keylog *secrets_to;
	uint64_t *secrets_blocks;
	uint64_t tls_before;          /* TLS connections of the files before (one tls_ctx for the run) */
	uint64_t conns_oom;           /* connections not analysed: no memory for their TLS state */
	_Atomic uint64_t tls_now;     /* two threads: the TLS count for the progress line */
};

/* A Decryption Secrets Block: its keys apply from here on. */
static void on_secrets(void *ctx, const uint8_t *text, size_t len)
{
	struct glue *g = ctx;
	tls_keylog_add_text(g->secrets_to, (const char *)text, len);
	if (g->secrets_blocks) (*g->secrets_blocks)++;
}

static enum cap_verdict on_open(void *ctx, struct cap_conn *c, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	struct tls_conn_params tp = {
		.id = c->id,
		.file_index = c->file_index,
		.ep = { c->ep[0], c->ep[1] },
		.initiator = c->initiator,
		.syn_seen = c->initiator == 0,
	};
	c->user = c->udp ? (void *)udp_flow_new(g->tls, &tp) : (void *)tls_conn_new(g->tls, &tp, p);
	if (!c->user) g->conns_oom++;
	return CAP_KEEP;
}

/* UDP flows: datagrams, beside the TCP byte-stream path. */
static enum cap_verdict on_datagram(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t caplen,
				    size_t len, const struct ek_pktref *p)
{
	struct glue *g = ctx;
	if (c->user && udp_flow_datagram(g->tls, c->user, dir, b, caplen, len, p) == TLS_NOT_TLS) return CAP_IGNORE;
	return CAP_KEEP;
}

static enum cap_verdict on_data(void *ctx, struct cap_conn *c, int dir, const uint8_t *b, size_t n,
				const struct ek_pktref *p)
{
	struct glue *g = ctx;
	if (c->user && tls_conn_data(g->tls, c->user, dir, b, n, p) == TLS_NOT_TLS) return CAP_IGNORE;
	return CAP_KEEP;
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
	if (c->user && c->udp) udp_flow_end(g->tls, c->user, p);
	else if (c->user) tls_conn_end(g->tls, c->user, p);
	c->user = NULL;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct glue *g = ctx;
	struct tls_stats ts;
	tls_get_stats(g->tls, &ts);
	progress_update(&g->progress, done, total, ts.conns_tls - g->tls_before);
}

/* Two threads: the progress line (capture's thread) reads the count the
 * sink's thread publishes after each batch. */
static void publish_count(void *ctx)
{
	struct glue *g = ctx;
	struct tls_stats ts;
	tls_get_stats(g->tls, &ts);
	atomic_store_explicit(&g->tls_now, ts.conns_tls, memory_order_relaxed);
}

static void on_progress_two(void *ctx, uint64_t done, uint64_t total)
{
	struct glue *g = ctx;
	uint64_t n = atomic_load_explicit(&g->tls_now, memory_order_relaxed);
	progress_update(&g->progress, done, total, n > g->tls_before ? n - g->tls_before : 0);
}

struct pipeline {
	struct glue g;
	struct handoff *ho;           /* two threads, NULL: one */
	bool progress;
};

struct pipeline *pipeline_open(const struct pipeline_input *in, uint32_t file_index, const struct cap_opts *co,
			       struct tls_ctx *tls, char *err, size_t errn)
{
	char eb[CAP_ERRBUF_SIZE] = "";
	struct pipeline *pl = calloc(1, sizeof *pl);
	if (!pl) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	pl->g.tls = tls;
	struct cap_sink sink = { &pl->g, on_open, on_data, on_gap, on_flag, on_end, on_datagram };
	bool progress = !in->live && in->progress;
	if (in->two_threads && !in->live && !in->evidence &&
	    (pl->ho = handoff_new(&sink, in->secrets_to ? on_secrets : NULL, &pl->g, progress ? publish_count : NULL,
				  &pl->g)))
		sink = *handoff_sink(pl->ho);
	/* a file on two threads is read ahead too (the handoff moves the reads) */
	struct cap_opts fo = *co;
	fo.read_ahead = in->two_threads;
	pl->g.reader = in->live ? cap_open_live(in->live, file_index, co, &sink, eb)
				: cap_open_file(in->path, file_index, &fo, &sink, eb);
	if (!pl->g.reader ||
	    (in->filter && *in->filter && cap_set_filter(pl->g.reader, in->filter, eb) != 0) ||
	    (in->evidence && cap_write_to(pl->g.reader, in->evidence, eb) != 0)) {
		snprintf(err, errn, "%s", eb);
		pipeline_close(pl);
		return NULL;
	}
	cap_set_limits(pl->g.reader, in->max_packets, in->max_seconds);
	if (in->secrets_to) {
		pl->g.secrets_to = in->secrets_to;
		pl->g.secrets_blocks = in->secrets_blocks;
		if (pl->ho) cap_set_secrets(pl->g.reader, handoff_secrets, pl->ho);
		else cap_set_secrets(pl->g.reader, on_secrets, &pl->g);
	}
	if (in->live) cap_set_flush(pl->g.reader, in->flush, in->flush_ctx);
	if (progress) {
		pl->progress = true;
		struct tls_stats ts;
		tls_get_stats(tls, &ts);
		pl->g.tls_before = ts.conns_tls;
		atomic_init(&pl->g.tls_now, ts.conns_tls);
		progress_start(&pl->g.progress, in->progress, in->path);
		cap_set_progress(pl->g.reader, pl->ho ? on_progress_two : on_progress, &pl->g, 0);
	}
	return pl;
}

int pipeline_run(struct pipeline *pl, struct cap_stats *stats, char *err, size_t errn)
{
	char eb[CAP_ERRBUF_SIZE] = "";
	int rc = pl->ho ? handoff_cap_run(pl->ho, pl->g.reader, eb) : cap_run(pl->g.reader, eb);
	if (pl->progress) progress_end(&pl->g.progress);
	if (stats) {
		*stats = *cap_get_stats(pl->g.reader);
		if (pl->ho) {
			uint64_t gaps, bytes;
			handoff_dropped(pl->ho, &gaps, &bytes);
			stats->gaps -= gaps;
			stats->gap_bytes -= bytes;
		}
	}
	if (rc != 0) snprintf(err, errn, "%s", eb);
	return rc;
}

void pipeline_stop(struct pipeline *pl)
{
	if (pl && pl->g.reader) cap_stop(pl->g.reader);
}

uint64_t pipeline_conns_oom(const struct pipeline *pl)
{
	return pl->g.conns_oom + (pl->ho ? handoff_conns_oom(pl->ho) : 0);
}

const struct cap_stats *pipeline_live_stats(struct pipeline *pl)
{
	return cap_live_stats(pl->g.reader);
}

const char *pipeline_linktype(const struct pipeline *pl)
{
	return cap_linktype(pl->g.reader);
}

void pipeline_close(struct pipeline *pl)
{
	if (!pl) return;
	cap_close(pl->g.reader);
	handoff_free(pl->ho);
	free(pl);
}
