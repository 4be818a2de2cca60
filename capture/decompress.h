/* capture/ internal: the bytes of a capture file or pipe, decompressed on
 * the fly when they are gzip, zstd or lz4 (recognised by their magic
 * bytes, never by the name).  Decompression runs in a thread of its own,
 * a few fixed-size chunks ahead of the reader (as `zcat FILE | ...` would
 * on another core): no temporary file, memory flat. */
#ifndef EK_CAPTURE_DECOMPRESS_H
#define EK_CAPTURE_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum dz_kind { DZ_PLAIN, DZ_GZIP, DZ_ZSTD, DZ_LZ4 };

struct dz;

/* Takes fd (closed by dz_close) and reads its first bytes to tell the
 * kind.  ahead: a plain stream is read on a thread too (readahead.h), not
 * on the caller's.  NULL with errno set when out of memory or the thread
 * cannot start. */
struct dz *dz_open(int fd, bool ahead);
enum dz_kind dz_kind(const struct dz *z);
const char *dz_kind_name(enum dz_kind k); /* "gzip", ...; "" for plain */

/* Up to n decompressed bytes; 0 at the end (then see dz_end_reason), -1
 * on a read error (errno). */
ssize_t dz_read(struct dz *z, void *buf, size_t n);

/* After dz_read returned 0 (NULL before): NULL when the stream ended cleanly, else why
 * it ended early ("gzip stream truncated", "zstd data corrupt: ..."): what
 * came before was delivered. */
const char *dz_end_reason(const struct dz *z);

/* Bytes taken from fd so far (compressed bytes, for progress; plain: the
 * bytes dz_read handed out). */
uint64_t dz_consumed(const struct dz *z);

/* A plain regular file's reads on the caller's thread (pause) or back on
 * the thread (ra_pause); decompression keeps its thread. */
void dz_pause(struct dz *z, bool pause);

/* Stops the thread (also when the stream was not read to its end). */
void dz_close(struct dz *z);

#endif
