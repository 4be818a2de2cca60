/* One capture file on two threads: capture/ (reading, decoding, the
 * connection table, reassembly) on a thread of its own, the sink it feeds
 * (dissect/ and report/) on the caller's thread, whose heap is the one on
 * huge pages (heap.h).  The capture's calls are copied, bytes included,
 * into a small ring of blocks and replayed in the same order, so the sink
 * sees exactly the calls of a serial run.
 *
 * The one answer that flows back is CAP_IGNORE (not TLS).  Serially the
 * capture drops the connection at once; here the answer reaches the
 * capture a little later.  The sink's side makes that invisible: after
 * CAP_IGNORE the connection ends there and then (conn_end, as the capture
 * would call it), and what the capture still sends about it is dropped,
 * its holes subtracted from the capture's counts (handoff_dropped).
 * Under a full connection table or the out-of-order budget the capture
 * keeps such a connection a little longer than a serial run would. */
#ifndef EK_CLI_HANDOFF_H
#define EK_CLI_HANDOFF_H

#include <stdint.h>

#include "../capture/capture.h"

struct handoff;

/* inner: the sink whose calls are replayed.  secrets (may be NULL): the
 * pcapng secrets callback, replayed in order too.  after_batch (may be
 * NULL): called after each block of calls is replayed (e.g. to publish a
 * count for the progress line).  NULL when out of memory. */
struct handoff *handoff_new(const struct cap_sink *inner, cap_secrets_fn secrets, void *secrets_ctx,
			    void (*after_batch)(void *ctx), void *after_ctx);
/* The sink to give the capture, and its secrets callback (ctx: h). */
const struct cap_sink *handoff_sink(struct handoff *h);
void handoff_secrets(void *h, const uint8_t *text, size_t len);
/* Run produce(ctx), which drives the capture (cap_run), on a thread of its
 * own while this thread replays its calls; its value once all are
 * replayed.  When no thread can be started, and outside handoff_run, the
 * calls are made at once on the thread that makes them. */
int handoff_run(struct handoff *h, int (*produce)(void *ctx), void *ctx);
/* handoff_run of cap_run(r, errbuf): the capture of a file on its thread.
 * A reader opened with read_ahead reads on the capture's thread while its
 * calls are queued, and on its read-ahead thread while they are made at
 * once (cap_read_ahead). */
int handoff_cap_run(struct handoff *h, struct cap_reader *r, char errbuf[CAP_ERRBUF_SIZE]);
/* Holes the capture counted in connections the sink had already ignored
 * (a serial run never reports those). */
void handoff_dropped(const struct handoff *h, uint64_t *gaps, uint64_t *gap_bytes);
/* Calls queued for the other thread, made at once because the sink was
 * the cheaper side, and the times it was found so (EPOCH_BLOCKS). */
void handoff_counts(const struct handoff *h, uint64_t *queued, uint64_t *direct, uint64_t *switches);
/* Connections not handed over: no memory for their record. */
uint64_t handoff_conns_oom(const struct handoff *h);
void handoff_free(struct handoff *h);

#endif
