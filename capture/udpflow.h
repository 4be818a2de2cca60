/* capture/ internal: UDP flows.  A flow is the datagrams of one 5-tuple
 * (both directions), kept in a table of its own so that flows are
 * numbered apart from TCP connections, in order of first packet
 * (Wireshark's udp.stream).  A flow idle for the idle timeout ends; its
 * tombstone keeps the id for as long again, so a datagram of the tuple
 * within that time opens it again with the same id (Wireshark keeps one
 * stream per tuple for the whole capture). */
#ifndef EK_CAPTURE_UDPFLOW_H
#define EK_CAPTURE_UDPFLOW_H

#include "decode.h"
#include "reader.h"

void udp_packet(struct cap_reader *r, const struct dec_tcp *u, const struct ek_pktref *p);
/* Idle flows end (and old tombstones go), as expire() does for TCP. */
void udp_expire(struct cap_reader *r);

#endif
