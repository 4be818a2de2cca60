/* dissect/ internals: handshake message body parsers shared by tls.c.
 *
 * The parsers read one complete handshake message body through a cursor
 * and fill the public event structures.  Lists and strings they return
 * live in a struct tls_scratch owned by the tls_ctx (reused for every
 * message: valid until the next message is parsed); pointers into the
 * message body itself (random, cert_types) are valid as long as the body. */
#ifndef EK_TLS_INT_H
#define EK_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"
#include "x509.h"

/* Record size limits (the length field of a record header). */
#define TLS_MAX_PLAINTEXT 16384u                      /* 2^14: RFC 8446 5.1, RFC 5246 6.2.1 */
#define TLS_MAX_RECORD (TLS_MAX_PLAINTEXT + 2048u)    /* TLSCiphertext up to TLS 1.2: RFC 5246 6.2.3 */
#define TLS13_MAX_CIPHERTEXT (TLS_MAX_PLAINTEXT + 256u) /* TLS 1.3: RFC 8446 5.2 */

#define TLS_SCRATCH_VERSIONS 32
#define TLS_SCRATCH_SIGALGS 128
#define TLS_SCRATCH_SNI 256
#define TLS_SCRATCH_ALPN 512

struct tls_scratch {
	uint16_t versions[TLS_SCRATCH_VERSIONS];
	uint16_t sigalgs[TLS_SCRATCH_SIGALGS];
	char sni[TLS_SCRATCH_SNI];
	char alpn[TLS_SCRATCH_ALPN];
	uint8_t random[32];
	/* Certificate message: entries each hold a reference until released. */
	struct x509_info **certs;
	size_t max_certs;
	/* CertificateRequest CA names: one arena of NUL-terminated strings. */
	char *names;
	size_t names_len, names_cap;
	size_t *name_off;
	const char **name_ptr;
	size_t n_names, name_slots;
	/* Printed names by DER: a server sends the same CA list in every
	 * CertificateRequest, and OpenSSL's decode + print is costly. */
	struct tls_dn_memo {
		uint64_t hash;
		uint8_t *der;
		size_t der_len;
		char *txt;
		size_t txt_len;
	} dn_memo[64];
};

/* Layout hints for messages whose layout depends on the version. */
enum { TLS_LAYOUT_UNKNOWN = 0, TLS_LAYOUT_11 = 11 /* TLS <= 1.1 */, TLS_LAYOUT_12 = 12, TLS_LAYOUT_13 = 13 };

/* All return 0 when the body parsed, -1 when it is malformed. */
int tls_msg_client_hello(struct tls_scratch *s, const uint8_t *p, size_t n, struct tls_client_hello *ch,
			 bool *offers13);
/* p/n: the SSLv2 record body (msg_type onwards). */
int tls_msg_sslv2_client_hello(struct tls_scratch *s, const uint8_t *p, size_t n, struct tls_client_hello *ch);
int tls_msg_server_hello(const uint8_t *p, size_t n, struct tls_server_hello *sh);
/* The ticket of a NewSessionTicket (TLS 1.2 RFC 5077 / TLS 1.3 layout). */
int tls_msg_new_session_ticket(const uint8_t *p, size_t n, bool tls13, const uint8_t **ticket, size_t *len);
int tls_msg_certificate(struct tls_scratch *s, struct x509_cache *xc, const uint8_t *p, size_t n, int layout,
			struct tls_certificate *out);
void tls_msg_certificate_release(struct x509_cache *xc, struct tls_certificate *cert);
int tls_msg_cert_request(struct tls_scratch *s, const uint8_t *p, size_t n, int layout, struct tls_cert_request *out);
void tls_scratch_free(struct tls_scratch *s);

bool tls_version_is_13(uint16_t v);
bool tls_version_is_dtls(uint16_t v);

/* For dissect/dtls.c and dissect/openvpn.c, which feed a tls_conn the TLS
 * records they rebuild from DTLS records or OpenVPN control packets.
 * tls_conn_as_dtls: both directions parse records from their first byte
 * (the caller found the protocol), DTLS record versions are valid (not
 * for OpenVPN, which carries TLS itself), and a DTLS connection is TLS
 * from now on (an OpenVPN one after tls_conn_openvpn_found). */
void tls_conn_as_dtls(struct tls_ctx *t, struct tls_conn *c, bool openvpn);
/* DATA_MISSING for direction d (and RECORD_INCOMPLETE for `incomplete`
 * when not NULL) without touching the record stream, which the caller
 * keeps whole: a message the caller could not complete is left out. */
void tls_conn_missing(struct tls_ctx *t, struct tls_conn *c, int d, uint64_t bytes, const char *incomplete,
		      const struct ek_pktref *pkt);
/* DTLS 1.0/1.2: decrypt one handshake or alert record of epoch > 0 of
 * direction d with the key log's keys; seq = epoch << 48 | sequence
 * number.  1: out, out_len hold the plaintext (valid until the next
 * record); 0: not decrypted here (no keys, another record type: feed it
 * as it is); -1: it did not authenticate (DECRYPT_FAILED reported; the
 * direction is not decrypted again: feed it as it is). */
int tls_conn_dtls_open(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t ver, uint64_t seq,
		       const uint8_t *body, size_t n, const struct ek_pktref *pkt, const uint8_t **out, size_t *out_len);
/* Plaintext of a decrypted record (whole handshake messages with TLS's
 * 4-byte headers, or alerts) of direction d, after its ChangeCipherSpec. */
void tls_conn_dtls_plain(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t ver, const uint8_t *b,
			 size_t n, const struct ek_pktref *pkt);
/* A handshake message of type `type` that direction d sent again
 * (reported at of_frame, 0 unknown): TLS_EV_RETRANSMISSION. */
void tls_conn_retransmission(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint64_t of_frame,
			     const struct ek_pktref *pkt);
/* Direction d is encrypted from now on although its ChangeCipherSpec was
 * not seen (lost datagram): what follows is not parsed as plaintext. */
void tls_conn_dir_encrypted(struct tls_ctx *t, struct tls_conn *c, int d);
/* OpenVPN: the first hard reset's layout fits (the connection is TLS from
 * now on), or fits nothing (not OpenVPN, and not TLS). */
void tls_conn_openvpn_found(struct tls_ctx *t, struct tls_conn *c, bool yes);
/* OpenVPN --tls-crypt: the control channel is encrypted (view.tls_crypt). */
void tls_conn_openvpn_crypt(struct tls_ctx *t, struct tls_conn *c, const struct ek_pktref *pkt);
/* The sender of direction d is the client (its first ClientHello). */
void tls_learn_client(struct tls_conn *c, int d);
/* The counters, for the UDP dissectors' own. */
struct tls_stats *tls_ctx_stats(struct tls_ctx *t);

#endif
