/* dissect/: what a UDP flow carries, and its TLS.
 *
 * The driver creates one udp_flow per UDP flow and hands it every
 * datagram.  The first datagrams decide what the flow is:
 *   - DTLS: a DTLS record header (known type and version, length within
 *     the datagram) at the start of a datagram: any record type on UDP
 *     443, 4433, 5246/5247 (CAPWAP control/data, after the 4-byte CAPWAP
 *     DTLS preamble 01 00 00 00) and 5684 (CoAP), a handshake record on
 *     any other port.  Datagrams whose first byte says STUN, TURN
 *     channel, ZRTP or RTP/RTCP (RFC 7983: 0-3, 16-19, 64-79, 128-191)
 *     are passed over, before and after, so WebRTC's DTLS is read;
 *   - OpenVPN (dissect/openvpn.h): UDP 1194, or a hard-reset opcode with
 *     a session id at the start of the flow;
 *   - QUIC: a long header (first byte 11xxxxxx) with a QUIC version
 *     (1, 2, drafts ff0000xx, Google Q0xx): counted, not analysed (its
 *     TLS 1.3 is encrypted);
 *   - anything else whose first datagram starts like a TLS record
 *     (16 03 0x): counted as TLS-looking UDP, not analysed.
 * A flow is given up after 16 datagrams that decide nothing.
 * DTLS and OpenVPN flows feed a tls_conn (events as for TCP) whose id
 * has EK_CONN_UDP set (common/connid.h). */
#ifndef EK_DISSECT_UDP_H
#define EK_DISSECT_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

struct udp_flow;

/* p->id: the flow's udp.stream number (EK_CONN_UDP is added here). */
struct udp_flow *udp_flow_new(struct tls_ctx *t, const struct tls_conn_params *p);
/* One datagram of direction dir: caplen bytes captured of len.  Returns
 * TLS_NOT_TLS once the flow is known to carry nothing to read. */
enum tls_verdict udp_flow_datagram(struct tls_ctx *t, struct udp_flow *f, int dir, const uint8_t *b, size_t caplen,
				   size_t len, const struct ek_pktref *pkt);
/* End of the flow (reports what is pending, frees f). */
void udp_flow_end(struct tls_ctx *t, struct udp_flow *f, const struct ek_pktref *pkt);

#endif
