/* Wires capture/ to dissect/ for one input: every TCP connection gets a
 * tls_conn; bytes, holes and flags flow in; connections that are not TLS
 * are dropped from capture at once. */
#ifndef EK_PIPELINE_H
#define EK_PIPELINE_H

#include "../capture/capture.h"
#include "../dissect/keylog.h"
#include "../dissect/tls.h"

struct pipeline_input {
	const char *path;                     /* a capture file ("-": stdin), or */
	const struct cap_live_opts *live;     /* a live interface */
	const char *filter;                   /* BPF expression or NULL */
	const struct cap_evidence *evidence;  /* -w: save packets, or NULL */
	uint64_t max_packets, max_seconds;    /* -c, --duration (0: none) */
	struct progress_term *progress;       /* a file's progress line, NULL: none */
	void (*flush)(void *ctx);             /* live: write out buffered rows (cap_set_flush) */
	void *flush_ctx;
	/* pcapng secrets met while reading go here (NULL: not wanted), and *secrets_blocks counts their blocks */
	struct tls_keylog *secrets_to;
	uint64_t *secrets_blocks;
	/* A file: dissect and report on a thread of their own (handoff.h), the
	 * input read ahead (capture.h's read_ahead, moved by the handoff) */
	bool two_threads;
};

struct pipeline;
struct progress_term;

/* Open the input (a live capture needs its privileges only for this).
 * NULL with a one-line reason in err. */
struct pipeline *pipeline_open(const struct pipeline_input *in, uint32_t file_index, const struct cap_opts *co,
			       struct tls_ctx *tls, char *err, size_t errn);
/* Read everything (a file to its end; live until stopped or a limit).
 * 0 when read (possibly truncated: see stats), -1 on a read error. */
int pipeline_run(struct pipeline *pl, struct cap_stats *stats, char *err, size_t errn);
/* Ask pipeline_run to finish soon: async-signal-safe. */
void pipeline_stop(struct pipeline *pl);
const char *pipeline_linktype(const struct pipeline *pl);
/* Connections left out because their TLS state could not be allocated. */
uint64_t pipeline_conns_oom(const struct pipeline *pl);
/* Live: the capture's counters so far (libpcap's included). */
const struct cap_stats *pipeline_live_stats(struct pipeline *pl);
void pipeline_close(struct pipeline *pl);

#endif
