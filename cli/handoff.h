/* One capture file on two threads: capture/ (decode, connection table,
 * reassembly) on the caller's thread, the sink it feeds (dissect/ and
 * report/) on a thread of its own.  The capture's calls are copied, bytes
 * included, into a small ring of blocks and replayed in the same order on
 * the sink's thread, so the sink sees exactly the calls of a serial run.
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

/* inner: the sink whose calls run on the second thread.  secrets (may be
 * NULL): the pcapng secrets callback, also replayed there, in order.
 * after_batch (may be NULL): called on the second thread after each block
 * of calls (e.g. to publish a count for the progress line).  NULL when out
 * of memory. */
struct handoff *handoff_new(const struct cap_sink *inner, cap_secrets_fn secrets, void *secrets_ctx,
			    void (*after_batch)(void *ctx), void *after_ctx);
/* The sink to give the capture, and its secrets callback (ctx: h). */
const struct cap_sink *handoff_sink(struct handoff *h);
void handoff_secrets(void *h, const uint8_t *text, size_t len);
/* Start the second thread; -1 when it cannot be started (calls are then
 * made on the caller's thread, as after handoff_finish). */
int handoff_start(struct handoff *h);
/* The capture is done: replay what is left and join the thread. */
void handoff_finish(struct handoff *h);
/* Holes the capture counted in connections the sink had already ignored
 * (a serial run never reports those); valid after handoff_finish. */
void handoff_dropped(const struct handoff *h, uint64_t *gaps, uint64_t *gap_bytes);
/* Connections not handed over: no memory for their record. */
uint64_t handoff_conns_oom(const struct handoff *h);
void handoff_free(struct handoff *h);

#endif
