/* The status line of a live capture on stderr (a terminal):
 *
 *   lo: 123456 packets, 0 dropped, 321 TLS conns, 4 findings, writing evidence.pcap
 *
 * redrawn at most twice a second, cleared when the capture ends. */
#ifndef EK_LIVE_STATUS_H
#define EK_LIVE_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct live_status {
	FILE *fp;
	double last;      /* monotonic seconds of the last redraw */
	bool shown;
};

struct live_counts {
	const char *iface;
	uint64_t packets, drops, tls_conns, findings;
	const char *evidence;  /* the -w file being written, or NULL */
};

void live_status_draw(struct live_status *s, const struct live_counts *c);
void live_status_clear(struct live_status *s);

#endif
