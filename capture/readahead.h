/* capture/ internal: read-ahead.  A producer (read(2), pread(2),
 * decompression) fills a small ring of fixed-size blocks on a thread of
 * its own while the analysis thread takes them in order, in place: the
 * system calls' copies and any decompression run on another core, the
 * memory stays blocks x size.  Without a thread (ra_open(..., false)) the
 * same calls fill one block on the caller's thread, so a reader has one
 * code path either way. */
#ifndef EK_CAPTURE_READAHEAD_H
#define EK_CAPTURE_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ra;

/* Fill buf with up to cap bytes (*len of them).  False when the stream is
 * over after these bytes (its end, an error: ctx keeps why; the ring
 * publishes ctx's state to the consumer with the last block). */
typedef bool (*ra_fill_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *len);

/* n blocks of size bytes (one without a thread).  NULL when out of
 * memory or the thread cannot start (errno). */
struct ra *ra_open(ra_fill_fn fill, void *ctx, size_t size, unsigned n, bool thread);

/* The next block: its bytes in *p, valid until the next ra_next or
 * ra_close.  0 when the stream is over (and on every later call). */
size_t ra_next(struct ra *r, const uint8_t **p);

/* Paused, the producer fills nothing more and ra_next fills each block on
 * the caller's thread, as without a thread, until resumed: for when the
 * caller's core has time to spare and the other core has not (blocks
 * already filled are handed out first; no effect without a thread).
 * The consumer's thread only. */
void ra_pause(struct ra *r, bool pause);

/* Stops the producer (a fill in progress ends first) and frees the ring. */
void ra_close(struct ra *r);

#endif
