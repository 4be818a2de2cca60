/* dissect/ internal: DTLS 1.0/1.2/1.3 records (RFC 6347, RFC 9147) out of
 * the datagrams of a UDP flow, turned into the TLS record stream a
 * tls_conn parses, so DTLS gets the events TLS gets.
 *
 * Per direction: records (several per datagram) with epoch and sequence
 * number; handshake fragments reassembled by message_seq and
 * fragment_offset and handed over whole, in message_seq order, as a TLS
 * handshake record (a ClientHello without its cookie, which is where the
 * DTLS layout differs); retransmitted fragments, records and
 * ChangeCipherSpecs are dropped.  Records of epoch > 0 are encrypted:
 * with the key log's keys (DTLS 1.0/1.2) their handshake and alert
 * records are decrypted with their own epoch and sequence number (the
 * AEAD nonce and additional data, the CBC MAC), handshake fragments join
 * the same reassembly and are handed over as plaintext; without keys they
 * are handed over as encrypted records.  DTLS 1.3 unified headers are
 * encrypted records (not decrypted).  A message never completed (a flight
 * lost and not retransmitted) is DATA_MISSING with the message named,
 * when the direction moves on (its ChangeCipherSpec or epoch 1) or at the
 * end of the flow. */
#ifndef EK_DISSECT_DTLS_H
#define EK_DISSECT_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

struct dtls_conn;

/* A DTLS record header (13 bytes) of a known type and version whose
 * length fits the n bytes at b; handshake_only: type 22 only. */
bool dtls_record_at(const uint8_t *b, size_t n, bool handshake_only);

/* The DTLS state of flow tc (which the caller keeps and ends). */
struct dtls_conn *dtls_new(void);
/* One datagram payload of direction d (after any CAPWAP preamble);
 * cut: the snapshot length removed its end. */
void dtls_datagram(struct tls_ctx *t, struct tls_conn *tc, struct dtls_conn *x, int d, const uint8_t *b, size_t n,
		   bool cut, const struct ek_pktref *pkt);
/* End of the flow: what is still pending is reported, x is freed. */
void dtls_end(struct tls_ctx *t, struct tls_conn *tc, struct dtls_conn *x, const struct ek_pktref *pkt);

#endif
