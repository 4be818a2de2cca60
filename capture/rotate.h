/* capture/ internal: the -w evidence file, rotated like tcpdump's -C, -W
 * and -G. */
#ifndef EK_CAPTURE_ROTATE_H
#define EK_CAPTURE_ROTATE_H

#include <pcap/pcap.h>
#include <stdint.h>

#include "capture.h"

struct rot;

enum rot_rc {
	ROT_SAME,   /* the packet went to the file being written */
	ROT_NEW,    /* a new file was started for it (rot_slot says which) */
	ROT_DONE,   /* -G with -W: the last file is complete, the capture ends */
	ROT_ERROR,  /* errbuf says why */
};

/* Dumps are made from p (its link type, snapshot length and timestamp
 * precision).  The first file is opened at once.  NULL with errbuf. */
struct rot *rot_open(pcap_t *p, const struct cap_evidence *ev, char errbuf[CAP_ERRBUF_SIZE]);
/* Write one packet, first starting a new file when it is due. */
enum rot_rc rot_write(struct rot *r, const struct pcap_pkthdr *h, const uint8_t *data,
		      char errbuf[CAP_ERRBUF_SIZE]);
/* The index of the file being written: the ring slot with -W (without
 * -G), else how many files were started before it. */
uint32_t rot_slot(const struct rot *r);
void rot_flush(struct rot *r);
void rot_close(struct rot *r);

#endif
