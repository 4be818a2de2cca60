/* A progress line on stderr while a capture file is read:
 *
 *   big.pcap: 1234 / 4096 MB (30%)  850 MB/s  ETA 0:03  12345 TLS conns
 *
 * redrawn at most twice a second, cleared when the file is done; the TLS
 * count is the file's.  Only when main hands out a progress_term (stderr
 * is a terminal, -q or not) and only for files of at least
 * PROGRESS_MIN_BYTES whose size is known.  With -j the line shows one file
 * at a time: the first that needs it, until it is done. */
#ifndef EK_PROGRESS_H
#define EK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_MIN_BYTES (16u << 20)

/* The terminal's one progress line, shared by the files read at once. */
struct progress_term {
	FILE *fp;
	_Atomic(struct progress *) owner; /* the file whose line is shown */
};
#define PROGRESS_TERM_INIT(fp) { (fp), NULL }

struct progress {
	struct progress_term *term;
	FILE *fp;
	char name[64];         /* the file's base name, sanitized (sanitize.h) */
	double t0, last;       /* monotonic seconds: start, last redraw */
	bool shown;
};

void progress_start(struct progress *p, struct progress_term *term, const char *name);
/* done/total in bytes; tls_conns: connections of this file recognised as
 * TLS so far.  Thread-safe (-j). */
void progress_update(struct progress *p, uint64_t done, uint64_t total, uint64_t tls_conns);
/* Clears the line if one was drawn. */
void progress_end(struct progress *p);

#endif
