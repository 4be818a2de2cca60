/* capture/ internal: packet records out of a savefile via libpcap. */
#ifndef EK_CAPTURE_SOURCE_H
#define EK_CAPTURE_SOURCE_H

#include <stdint.h>

#include "capture.h"

struct pcap_pkthdr;
struct src;

enum src_rc {
	SRC_PACKET,     /* *h and *data are valid until the next call */
	SRC_EOF,
	SRC_TRUNCATED,  /* the file ends inside a record: errbuf says where */
	SRC_ERROR,      /* errbuf says why */
};

/* Open a pcap or pcapng file ("-": standard input) with nanosecond
 * timestamps.  NULL with "PATH: reason" in errbuf on failure. */
struct src *src_open(const char *path, char errbuf[CAP_ERRBUF_SIZE]);

enum src_rc src_next(struct src *s, const struct pcap_pkthdr **h, const uint8_t **data,
		     char errbuf[CAP_ERRBUF_SIZE]);

/* pcap_datalink() of the file and its name. */
int src_dlt(const struct src *s);
const char *src_dlt_name(const struct src *s);

/* How far the file has been read (bytes) and its size; 0 and 0 when
 * that is not known (standard input, a pipe). */
void src_position(struct src *s, uint64_t *done, uint64_t *total);

void src_close(struct src *s);

#endif
