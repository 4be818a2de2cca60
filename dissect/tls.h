/* dissect/: TLS records and handshake messages out of two byte streams.
 *
 * The driver creates one tls_conn per TCP connection and feeds it the
 * in-order bytes, holes and TCP flags of each direction.  The dissector
 * decides whether the connection is TLS, which side is the client, and
 * emits typed events through struct tls_sink.  It knows nothing about
 * pcap or output formats: report/ decides what is written. */
#ifndef EK_TLS_H
#define EK_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/netaddr.h"
#include "keylog.h"
#include "x509.h"

/* Versions as on the wire: 0x0300 SSL3.0 ... 0x0304 TLS1.3, 0x0002 SSL2. */
const char *tls_version_name(uint16_t v);          /* "TLS1.2", NULL when unknown */
const char *tls_cipher_name(uint16_t id);          /* IANA name, NULL when unknown */
const char *tls_alert_name(uint8_t desc);          /* "unsupported_certificate", NULL when unknown */
const char *tls_handshake_name(uint8_t type);      /* "ClientHello", NULL when unknown */
const char *tls_sigalg_name(uint16_t id);          /* "rsa_pss_rsae_sha256", NULL when unknown */
const char *tls_cert_type_name(uint8_t t);         /* "rsa_sign", NULL when unknown */

/* Handshake message types (RFC 8446 / 5246). */
enum {
	TLS_HS_HELLO_REQUEST = 0, TLS_HS_CLIENT_HELLO = 1, TLS_HS_SERVER_HELLO = 2,
	TLS_HS_HELLO_VERIFY_REQUEST = 3, TLS_HS_NEW_SESSION_TICKET = 4, TLS_HS_END_OF_EARLY_DATA = 5,
	TLS_HS_HELLO_RETRY_REQUEST = 6, /* not on the wire: a ServerHello with the HRR random */
	TLS_HS_ENCRYPTED_EXTENSIONS = 8, TLS_HS_CERTIFICATE = 11, TLS_HS_SERVER_KEY_EXCHANGE = 12,
	TLS_HS_CERTIFICATE_REQUEST = 13, TLS_HS_SERVER_HELLO_DONE = 14, TLS_HS_CERTIFICATE_VERIFY = 15,
	TLS_HS_CLIENT_KEY_EXCHANGE = 16, TLS_HS_FINISHED = 20, TLS_HS_CERTIFICATE_URL = 21,
	TLS_HS_CERTIFICATE_STATUS = 22, TLS_HS_KEY_UPDATE = 24, TLS_HS_MESSAGE_HASH = 254,
};

enum tls_role { TLS_ROLE_NONE = 0, TLS_ROLE_CLIENT = 1, TLS_ROLE_SERVER = 2 };

/* What the dissector knows about a connection; valid during a callback. */
struct tls_conn_view {
	uint64_t id;
	uint32_t file_index;
	struct ek_endpoint client, server;
	bool roles_known;        /* decided by SYN or by a Hello; else the higher port is the client */
	uint16_t version;        /* negotiated (ServerHello), 0 until known */
	bool tls13;
	bool client_sent_hello, server_sent_hello;
	bool cert_requested;     /* a CertificateRequest was seen */
	bool client_finished, server_finished; /* Finished seen (or encrypted Finished after CCS);
						* in 1.3 only when decrypted with a key log */
	bool keys;               /* the key log has secrets for this connection (matched by the
				  * ClientHello random) and its records are decrypted: known from
				  * the ServerHello on */
	bool decrypt_failed;     /* a record did not decrypt (TLS_EV_DECRYPT_FAILED was emitted) */
	bool aborted_after_finished; /* TLS 1.3, decrypted: a fatal alert after both Finished, before
				      * any application data of its sender (a server rejecting the
				      * client's certificate): the handshake did not complete */
	bool is_tls;             /* recognised as TLS (TLS_EV_CONN_TLS was emitted) */
	bool udp;                /* a UDP flow (id is Wireshark's udp.stream) */
	bool dtls;               /* DTLS over UDP (dissect/dtls.c) */
	bool openvpn;            /* TLS inside OpenVPN's control channel (dissect/openvpn.c) */
	bool tls_crypt;          /* OpenVPN --tls-crypt: the control channel is encrypted, no TLS visible */
	uint64_t client_app_bytes, server_app_bytes; /* bodies of application-data records (counted, not kept);
						      * in TLS 1.3 all type-23 records after the first
						      * encrypted-handshake record of the direction */
	void *consumer;          /* the event consumer's own pointer (set through
				  * tls_event.consumer): the dissector never reads it; NULL until set */
};

/* The handshake completed: both Finished seen and not rejected right after
 * (aborted_after_finished).  The one definition the summary and the
 * findings share. */
static inline bool tls_handshake_complete(const struct tls_conn_view *v)
{
	return v->client_finished && v->server_finished && !v->aborted_after_finished;
}

enum tls_event_kind {
	TLS_EV_CONN_TLS,      /* the connection was recognised as TLS (first event of a TLS connection) */
	TLS_EV_TCP_OPEN,      /* SYN seen: pkt is the first packet of the connection */
	TLS_EV_TCP_FIN,
	TLS_EV_TCP_RESET,
	TLS_EV_DATA_MISSING,  /* a hole in dir `sender` */
	TLS_EV_HANDSHAKE,     /* one handshake message (u.hs) */
	TLS_EV_CCS,
	TLS_EV_ALERT,         /* u.alert */
	TLS_EV_ENCRYPTED_HANDSHAKE, /* first encrypted handshake record of a direction */
	TLS_EV_RECORD_INCOMPLETE,   /* a record or message a hole or the end of the stream cut short */
	TLS_EV_CONN_END,      /* last event of every connection, TLS or not (view.is_tls says which) */
	TLS_EV_DECRYPT_FAILED, /* u.decrypt: a key was given but a record of dir `sender` did not decrypt
				* (or the suite is not supported); that direction is not decrypted any more */
	TLS_EV_RETRANSMISSION, /* u.retrans: DTLS: a handshake message of dir `sender` sent again (reported
				* once as TLS_EV_HANDSHAKE; this is only the timeline's note of the copy) */
};

struct tls_client_hello {
	uint16_t legacy_version;
	const uint16_t *versions; size_t n_versions;   /* supported_versions */
	const char *sni;                               /* NULL when absent; raw bytes, escape before printing */
	const char *alpn;                              /* "h2,http/1.1" or NULL */
	const uint16_t *sigalgs; size_t n_sigalgs;
	size_t n_ciphers;
	bool sslv2;                                    /* SSLv2-compatible ClientHello */
	bool early_data;                               /* offers 0-RTT data (early_data extension) */
	const uint8_t *random;                         /* 32 bytes */
	const uint8_t *session_id; uint8_t session_id_len;
	const uint8_t *ticket; size_t ticket_len;      /* session_ticket extension (non-empty: a resumption offer) */
	const uint8_t *psk_identity; size_t psk_identity_len; /* pre_shared_key: the first identity (a TLS 1.3 ticket) */
};

struct tls_server_hello {
	uint16_t legacy_version;
	uint16_t selected_version;                     /* from supported_versions, else legacy */
	uint16_t cipher;
	bool hello_retry;                              /* HelloRetryRequest */
	bool encrypt_then_mac;                         /* RFC 7366 extension */
	const uint8_t *random;                         /* 32 bytes */
	const uint8_t *session_id; uint8_t session_id_len;
	bool psk;                                      /* pre_shared_key: TLS 1.3 resumption (or an external PSK) */
	/* Resumption, as the dissector works it out (dissect/tls_resume.c): */
	uint8_t resumed;                               /* enum tls_resumed */
	uint64_t resumed_from;                         /* id + 1 of the connection in the same file that
							* issued the session or ticket; 0 when not in the capture */
};

enum tls_resumed { TLS_RESUMED_NO = 0, TLS_RESUMED_SESSION_ID, TLS_RESUMED_TICKET, TLS_RESUMED_PSK };

struct tls_certificate {
	struct x509_info *const *certs;                /* certs[0] is the leaf */
	size_t n_certs;
	size_t n_total;                                /* certificates in the message; > n_certs when the chain cap dropped some */
	bool truncated;                                /* list ended early (declared longer than the data) */
	bool tls13;                                    /* 1.3 layout */
};

struct tls_cert_request {
	const uint8_t *cert_types; size_t n_cert_types;
	const uint16_t *sigalgs; size_t n_sigalgs;
	const char *const *ca_names; size_t n_ca_names; /* RFC 2253; raw content, escape before printing */
};

struct tls_handshake {
	uint8_t type;          /* TLS_HS_*; TLS_HS_HELLO_RETRY_REQUEST for an HRR */
	uint32_t length;       /* body length */
	bool malformed;        /* body did not parse; only type and length are meaningful */
	bool too_large;        /* longer than tls_opts.max_handshake_len: skipped, not parsed (malformed too) */
	union {
		struct tls_client_hello ch;
		struct tls_server_hello sh;
		struct tls_certificate cert;
		struct tls_cert_request cr;
	} u;
};

struct tls_alert {
	uint8_t level;         /* 1 warning, 2 fatal; 0 when encrypted */
	uint8_t desc;
	bool encrypted;        /* sent after ChangeCipherSpec: level/desc unknown */
};

struct tls_retransmission {
	uint8_t type;          /* TLS_HS_* of the message sent again */
	uint64_t of_frame;     /* frame of its TLS_EV_HANDSHAKE, 0 when no longer known */
};

struct tls_decrypt_failed {
	const char *reason;    /* static text: why */
	bool handshake;        /* handshake messages stay hidden (TLS 1.3 handshake epoch) */
};

struct tls_missing {
	uint64_t bytes;        /* 0 = unknown */
	bool in_record;        /* the hole fell inside a record */
	bool resumed;          /* parsing resumes at the next record boundary */
};

struct tls_event {
	enum tls_event_kind kind;
	const struct tls_conn_view *conn;
	/* conn->consumer, writable: the consumer attaches its per-connection
	 * state here so it need not look it up again for every event */
	void **consumer;
	enum tls_role sender;  /* NONE for events that have no sender */
	uint16_t version;      /* negotiated once known, else the carrying record's version */
	/* The packet of the chunk that completed the record carrying the
	 * event's last byte: a handshake message is reported when its record
	 * is complete (the frame Wireshark shows it in), not when the message
	 * itself ends inside a longer record.  Messages complete before a hole
	 * or the end of the stream in a record cut short carry the packet that
	 * brought their last byte; DATA_MISSING (and the RECORD_INCOMPLETE it
	 * causes) carries the first packet after the hole; events emitted by
	 * tls_conn_end carry its packet. */
	struct ek_pktref pkt;
	union {
		struct tls_handshake hs;
		struct tls_alert alert;
		struct tls_missing missing;
		const char *incomplete; /* TLS_EV_RECORD_INCOMPLETE: which message, e.g. "Certificate" */
		struct tls_decrypt_failed decrypt;
		struct tls_retransmission retrans;
	} u;
};

struct tls_sink {
	void *ctx;
	void (*event)(void *ctx, const struct tls_event *ev);
};

/* Defaults of the limits below (documented in the README). */
#define TLS_DEFAULT_MAX_HANDSHAKE (256u * 1024u)
#define TLS_DEFAULT_MAX_CHAIN 64u

struct tls_opts {
	const uint16_t *ports; size_t n_ports;    /* TLS by port; others by content */
	size_t max_handshake_len;                 /* larger messages are reported, not buffered (0: 256 KiB) */
	size_t max_chain_len;                     /* certificates kept per message (0: 64) */
	/* Secrets by ClientHello random (NULL or empty: nothing is decrypted).
	 * Read, never changed, by the dissector; the caller may add to it
	 * between files. */
	const struct tls_keylog *keys;
	/* The same store when its files are followed (tls_keylog_follow):
	 * a ClientHello random without secrets makes the dissector read what
	 * was appended (at most every TLS_KEYLOG_REFRESH_MS).  NULL: never. */
	struct tls_keylog *follow;
	/* Live: the connection's later calls are held until the secrets
	 * arrive (see tls_tick), within TLS_HOLD_MAX_CONN / _TOTAL bytes and
	 * TLS_HOLD_TIMEOUT_MS (dissect/tls_hold.h). */
	bool hold;
};

struct tls_ctx;
struct tls_conn;

struct tls_ctx *tls_ctx_new(const struct tls_opts *o, const struct tls_sink *sink, struct x509_cache *certs);
void tls_ctx_free(struct tls_ctx *t);

struct tls_conn_params {
	uint64_t id;               /* EK_CONN_UDP set for a UDP flow (common/connid.h) */
	uint32_t file_index;
	struct ek_endpoint ep[2];  /* ep[d] sends direction d */
	int initiator;             /* 0 when ep[0] is known to be the client (SYN), -1 unknown */
	bool syn_seen;
};

enum tls_verdict { TLS_UNDECIDED, TLS_IS_TLS, TLS_NOT_TLS };

struct tls_conn *tls_conn_new(struct tls_ctx *t, const struct tls_conn_params *p, const struct ek_pktref *pkt);
/* In-order bytes of direction dir.  Returns TLS_NOT_TLS once the
 * connection is known not to carry TLS: the driver should stop feeding it. */
enum tls_verdict tls_conn_data(struct tls_ctx *t, struct tls_conn *c, int dir, const uint8_t *b, size_t n,
			       const struct ek_pktref *pkt);
void tls_conn_gap(struct tls_ctx *t, struct tls_conn *c, int dir, uint64_t missing, const struct ek_pktref *pkt);
void tls_conn_fin(struct tls_ctx *t, struct tls_conn *c, int dir, const struct ek_pktref *pkt);
void tls_conn_rst(struct tls_ctx *t, struct tls_conn *c, int dir, const struct ek_pktref *pkt);
/* Ends the connection: reports what is left incomplete, emits
 * TLS_EV_CONN_END (always; view.is_tls false for a connection that was
 * never recognised as TLS) and frees c.  A connection held for its secrets
 * (tls_opts.hold) ends when it is released (tls_tick, tls_release_held). */
void tls_conn_end(struct tls_ctx *t, struct tls_conn *c, const struct ek_pktref *pkt);

/* Live, at least every few hundred milliseconds: re-read followed key
 * logs for the held connections and replay those whose secrets arrived or
 * whose wait is over (their events come now, with their own packets). */
void tls_tick(struct tls_ctx *t);
/* The end of the run: every held connection is replayed now, with what
 * the key log holds by then.  Held connections that ended are ended. */
void tls_release_held(struct tls_ctx *t);

struct tls_stats {
	uint64_t conns_tls, conns_not_tls, records, handshake_msgs, certificates, alerts;
	uint64_t app_records;          /* application-data records counted */
	uint64_t handshake_malformed;  /* messages reported with malformed=true (incl. too large) */
	uint64_t incomplete;           /* TLS_EV_RECORD_INCOMPLETE events */
	uint64_t gaps;                 /* holes reported by the driver */
	uint64_t bad_records;          /* invalid record headers (the direction stopped) */
	uint64_t dirs_stopped;         /* directions whose parsing stopped (lost position) */
	uint64_t conns_keyed;          /* connections with secrets from the key log */
	uint64_t records_decrypted;    /* records decrypted and authenticated */
	uint64_t decrypt_failed;       /* TLS_EV_DECRYPT_FAILED events */
	/* UDP (dissect/udp.c) */
	uint64_t udp_flows;            /* UDP flows looked at */
	uint64_t dtls_flows;           /* read as DTLS */
	uint64_t openvpn_conns;        /* OpenVPN control channels (UDP and TCP) */
	uint64_t openvpn_tls_crypt;    /* of those, --tls-crypt: encrypted, not read */
	uint64_t quic_flows, quic_packets;       /* QUIC: seen, not analysed */
	uint64_t udp_tls_like_flows, udp_tls_like_packets; /* other UDP with TLS-looking content */
	uint64_t retransmissions;     /* DTLS fragments/records, OpenVPN control packets dropped as retransmissions */
	uint64_t held, held_keyed;     /* connections held for a secret; of them, released with it */
	uint64_t held_timeout, held_bounds; /* released without it: the wait ended; a memory bound */
};
void tls_get_stats(const struct tls_ctx *t, struct tls_stats *out);

#endif
