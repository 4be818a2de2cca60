/* Wires capture/ to dissect/ for one input: every TCP connection gets a
 * tls_conn; bytes, holes and flags flow in; connections that are not TLS
 * are dropped from capture at once. */
#ifndef EK_PIPELINE_H
#define EK_PIPELINE_H

#include "../capture/capture.h"
#include "../dissect/tls.h"

/* Read one capture file through tls.  Returns 0 when the file was read
 * (possibly truncated: see stats), -1 when it could not be opened or read
 * (err says why in one line). */
int pipeline_run_file(const char *path, uint32_t file_index, const struct cap_opts *co, struct tls_ctx *tls,
		      struct cap_stats *stats, char *err, size_t errn);

#endif
