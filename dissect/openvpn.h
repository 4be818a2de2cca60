/* dissect/ internal: OpenVPN's control channel, which carries a TLS
 * handshake in its own packets (over UDP, or over TCP with a 2-byte
 * length before each packet).
 *
 * Packets: opcode (high 5 bits) and key_id (low 3); P_CONTROL_HARD_RESET_
 * CLIENT/SERVER_V1/V2/V3, P_CONTROL_V1 (TLS bytes), P_ACK_V1; P_DATA_V1/V2
 * (the tunnel) are skipped.  A control packet is: opcode, session id (8),
 * [--tls-auth: HMAC, replay packet id (+ time)], ack count, acked ids
 * (4 each) and the peer's session id when the count is not 0, message
 * packet id (4, not in P_ACK_V1), payload.
 *
 * Layout: the first hard reset (message packet id 0, an ack count of at
 * most 8) is tried with no HMAC and with HMACs of 16, 20, 32, 48, 64
 * bytes followed by a replay id of 8 or 4 bytes; the one whose fields fit
 * is kept for the connection.  None fits after a replay id and time
 * (and opcode V3 is tls-crypt-v2 by definition): --tls-crypt, whose
 * control channel is encrypted; the connection says so and nothing more
 * is guessed.
 *
 * TLS: the P_CONTROL_V1 payloads of key_id 0 are put in message packet
 * id order (retransmissions dropped, up to 64 packets held out of order)
 * and fed to the tls_conn as its byte stream, so the handshake gets the
 * ordinary TLS events.  A packet id never received (the capture ended
 * first) is a hole in that stream.  Renegotiations (key_id > 0) are not
 * followed. */
#ifndef EK_DISSECT_OPENVPN_H
#define EK_DISSECT_OPENVPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

struct ovpn_conn;

/* A UDP datagram that starts an OpenVPN flow: a client hard reset
 * (V1/V2/V3, key_id 0), or on port 1194 any hard reset. */
bool ovpn_udp_start(const uint8_t *b, size_t n, bool port1194);
/* The first bytes of a TCP stream: u16 length, then a client hard reset. */
bool ovpn_tcp_start(const uint8_t *b, size_t n);

struct ovpn_conn *ovpn_new(bool tcp);
/* One packet (UDP datagram) of direction d. */
void ovpn_packet(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, int d, const uint8_t *b, size_t n,
		 const struct ek_pktref *pkt);
/* TCP: in-order stream bytes of direction d (packets framed by a u16 length). */
void ovpn_stream(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, int d, const uint8_t *b, size_t n,
		 const struct ek_pktref *pkt);
/* TCP: bytes of direction d were not captured; the framing is lost. */
void ovpn_stream_gap(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, int d, const struct ek_pktref *pkt);
/* End: packets held for a missing packet id are reported as a hole; x is freed. */
void ovpn_end(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, const struct ek_pktref *pkt);

#endif
