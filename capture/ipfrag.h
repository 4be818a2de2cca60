/* capture/ internal: IPv4 and IPv6 fragment reassembly.
 *
 * Fragments go in as decoded (struct dec_frag); a datagram comes out when
 * its last missing byte arrives, in the call for that fragment (so its
 * frame is the packet that completed it, as in Wireshark).  Where
 * fragments overlap, the bytes that came first are kept and the overlap is
 * counted.  Bounded: at most max_bytes buffered (oldest datagrams dropped
 * first) and IPFRAG_TIMEOUT seconds of capture time per datagram (Linux's
 * ipfrag_time).  A fragment cut by the snapshot length spoils its
 * datagram (dropped when it times out or the input ends). */
#ifndef EK_CAPTURE_IPFRAG_H
#define EK_CAPTURE_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define IPFRAG_TIMEOUT 30
#define IPFRAG_MAX_DATAGRAMS 4096

struct ipfrag_stats {
	uint64_t datagrams;  /* reassembled */
	uint64_t overlaps;   /* fragments that overlapped bytes already held (first copy kept) */
	uint64_t dropped;    /* datagrams never completed: timeout, budget, cut, inconsistent, end of input */
};

struct ipfrag;

struct ipfrag *ipfrag_new(size_t max_bytes);
/* Add fragment f, read at capture second now.  Returns the datagram it
 * completed (len bytes, the IP payload) or NULL; valid until the next
 * call. */
const uint8_t *ipfrag_add(struct ipfrag *t, const struct dec_frag *f, int64_t now, size_t *len);
/* Datagrams still incomplete count as dropped (end of input). */
void ipfrag_flush(struct ipfrag *t);
const struct ipfrag_stats *ipfrag_stats(const struct ipfrag *t);
void ipfrag_free(struct ipfrag *t);

#endif
