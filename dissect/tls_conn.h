/* dissect/ internal: the TLS dissector's connection, direction and context
 * state, shared by its parts: tls.c (context, events, the connection API),
 * tls_scan.c (where TLS starts), tls_records.c (records and gaps),
 * tls_hs.c (handshake reassembly), tls_decrypt.c (key log decryption and
 * resumption).  tls.c's opening comment describes the whole. */
#ifndef EK_TLS_CONN_H
#define EK_TLS_CONN_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/connid.h"
#include "../common/cursor.h"
#include "keylog.h"
#include "openvpn.h"
#include "tls_crypt.h"
#include "tls_hold.h"
#include "tls_int.h"
#include "tls_resume.h"

#define TLS_SCAN_LIMIT 16384u
#define TLS_DEFAULT_MAX_HS TLS_DEFAULT_MAX_HANDSHAKE
#define WIN 11 /* bytes needed to test one scan position */
/* Spare buffers hold a whole record (2^14 + 2048) or a typical message.
 * Not under AddressSanitizer: exact sizes and fresh allocations let it
 * check every read. */
#define SPARE_BUF_SIZE (TLS_MAX_RECORD + 256)
#if defined(__SANITIZE_ADDRESS__)
#define SPARES_ON 0
#else
#define SPARES_ON 1
#endif
#define SPARE_BUFS 64
#define SPARE_CONNS 1024

enum dmode { DM_INIT, DM_SCAN, DM_RECORDS, DM_STOPPED, DM_EXHAUSTED, DM_CLOSED };

/* How the body of the current record is handled. */
enum rclass { RC_NONE, RC_HS, RC_ALERT, RC_ENC_ALERT, RC_CCS, RC_ENC_HS, RC_APP, RC_SKIP,
	      RC_DEC /* a protected record to decrypt (key log) */ };

enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23, REC_HEARTBEAT = 24 };

struct tls_dir {
	uint8_t mode;          /* enum dmode */
	uint8_t rclass;        /* enum rclass of the current record */
	uint8_t rec_have;      /* header bytes collected */
	uint8_t rec_need;      /* header size: 5, or 2 for the SSLv2 hello */
	uint8_t rec_hdr[5];
	uint8_t rec_type;
	uint16_t rec_ver;      /* version of the current record */
	uint16_t last_ver;     /* version of the last valid record */
	uint32_t rec_left;     /* body bytes of the current record still to come */
	uint32_t rec_parse;    /* of those, bytes to parse (a NULL-cipher MAC is not) */
	uint8_t *rbuf;         /* body of a handshake/alert record that spans chunks */
	uint32_t rbuf_have;
	struct ek_pktref rbuf_pkt; /* the chunk that delivered the last buffered byte */

	uint8_t hs_hdr[4];
	uint8_t hs_have;       /* handshake header bytes collected */
	uint8_t al_have, al_level; /* alert bytes collected */
	uint32_t hs_len, hs_got;
	uint8_t *hs_buf;       /* only while a message spans chunks */

	uint8_t win[WIN];      /* SCAN carry: bytes at the current position */
	uint8_t win_n;
	uint32_t scan_bytes;   /* positions given up (and bytes skipped) while scanning */
	uint32_t rs_skip;      /* resync candidate: bytes to skip before the second header */
	uint16_t rs_ver;

	bool first_pending : 1; /* the next scan position is the direction's first byte */
	bool pos_unknown : 1;   /* the start of this direction was not captured */
	bool rs_active : 1;
	bool rec_damaged : 1;   /* a hole cut this record: skip the rest, no event */
	bool hs_sslv2 : 1;      /* the message being assembled is an SSLv2 hello */
	bool hs_damaged : 1;    /* a hole cut this message: skip the rest, no event */
	bool hs_toolarge : 1;   /* longer than max_handshake_len: skip, then report malformed */
	bool rbuf_spare : 1;    /* rbuf came from buf_get with at most SPARE_BUF_SIZE bytes */
	bool hs_lost : 1;       /* handshake stream position unknown: ignore handshake records */
	bool hs_assumed : 1;    /* position assumed (mid-stream): validate the next header */
	bool midstream : 1;     /* records found without seeing the start of the direction */
	bool verify_next : 1;   /* after a hole: the next header must be plausible */
	bool enc : 1;           /* TLS <= 1.2: after this direction's ChangeCipherSpec */
	bool enc13 : 1;         /* TLS 1.3: after the ServerHello */
	bool enc_hs_seen : 1;
	bool gap_pending : 1;   /* DATA_MISSING held back until verify_next is decided */
	bool gap_in_record : 1;
	bool fin : 1;           /* FIN or RST seen from this side */
	bool rec_count : 1;     /* the current record uses a decryption sequence number */

	uint64_t gap_bytes;
	const char *gap_incomplete;
	struct ek_pktref gap_pkt;
};

struct tls_conn {
	struct tls_conn_view view;
	struct tls_conn *next_spare; /* tls_ctx.spare_conns */
	struct ek_endpoint ep[2];
	uint8_t client_dir;
	bool syn_seen, tls_port, ch_offered13, v13, counted_not_tls;
	bool dtls;           /* fed TLS records rebuilt from DTLS ones (dtls.c): DTLS versions; dtls.c decrypts
			      * epoch > 0 (tls_conn_dtls_open) and hands back plaintext */
	bool ovpn_busy;      /* inside ovpn_stream: its TLS bytes take the ordinary path */
	struct ovpn_conn *ovpn; /* OpenVPN over TCP: the stream is OpenVPN packets (openvpn.c) */
	uint8_t null_mac;    /* NULL-encryption suite: MAC length after the CCS */
	enum tls_verdict verdict;
	const struct ek_pktref *pkt; /* packet of the call being processed */
	struct tls_dec *dec;         /* secrets and record keys: only when the key log matched */
	bool was_held;               /* held once: a renegotiation is not held again */
	struct tls_hold *hold;       /* waiting for the key log (tls_opts.hold) */
	struct tls_conn *next_held;  /* tls_ctx.held */
	struct ek_pktref held_pkt;   /* c->pkt after a replay: the last replayed packet */
	struct tls_resume_offer offer; /* the ClientHello's resumption offer (tls_resume.h) */
	uint64_t origin;             /* id + 1 of the full handshake this session comes from, 0 unknown */
	uint16_t cipher;             /* the ServerHello's */
	struct tls_dir d[2];
};

/* Events carry c->pkt.  A parse on behalf of another packet than the
 * call's (rbuf_flush: a record cut short is reported in the frame of the
 * chunk that brought its last byte) sets it with conn_pkt_as and puts the
 * call's back with the value returned. */
static inline const struct ek_pktref *conn_pkt_as(struct tls_conn *c, const struct ek_pktref *p)
{
	const struct ek_pktref *call = c->pkt;
	c->pkt = p;
	return call;
}

struct tls_ctx {
	struct tls_sink sink;
	struct x509_cache *cache;
	bool own_cache;
	uint16_t *ports;
	size_t n_ports;
	size_t max_hs;
	struct tls_stats st;
	struct tls_scratch sc;
	const struct tls_keylog *keys;
	struct tls_keylog *follow;  /* tls_opts.follow */
	bool hold_on;               /* tls_opts.hold */
	struct tls_conn *held;      /* connections waiting for secrets */
	size_t held_bytes;
	struct tls_resume *resume;  /* sessions and tickets issued so far: created at the first */
	struct tls_crypto *crypto;  /* created at the first connection with keys */
	uint8_t *plain;             /* decrypted record (TLS_MAX_RECORD bytes), same */
	/* Spares: every handshake allocates a connection and a few buffers
	 * for records and messages that span segments, and frees them a
	 * moment later; reusing them saves malloc's cache misses. */
	struct tls_conn *spare_conns;
	size_t n_spare_conns;
	uint8_t *spare_bufs[SPARE_BUFS];
	size_t n_spare_bufs;
};


/* ---- spare connections and buffers ------------------------------------------ */

/* TLS 1.3 records of the application epoch decrypted once application data
 * was seen in the direction: an alert (2 + 1 + 16 bytes and some
 * padding), a KeyUpdate.  Bulk data is never decrypted. */
#define TLS13_SMALL_RECORD 64u

struct tls_dec_dir {
	struct tls_rkey cur;      /* keys of the next record */
	struct tls_rkey hs;       /* TLS 1.3: the handshake keys after the switch (a late alert may use them) */
	struct tls_rkey pending;  /* TLS <= 1.2: keys the next ChangeCipherSpec activates */
	uint8_t secret[TLS_KEYLOG_MAX_SECRET]; /* TLS 1.3 application traffic secret (KeyUpdate) */
	uint8_t secret_len;
	uint8_t tail[16];         /* TLS 1.0 CBC: last bytes of the record being skipped (next IV) */
	uint8_t tail_n;
	bool on : 1;              /* records of this direction are decrypted */
	bool app : 1;             /* TLS 1.3 application epoch */
	bool to_app : 1;          /* TLS 1.3: Finished decrypted: application keys from the next record */
	bool to_update : 1;       /* KeyUpdate decrypted: next generation from the next record */
	bool bulk_seen : 1;       /* application data seen: only small records from now on */
	bool pha : 1;             /* TLS 1.3 post-handshake client authentication (RFC 8446 4.6.2): the
				   * peer sent a CertificateRequest; every record until this side's
				   * Finished is decrypted (its Certificate is larger than 64 bytes) */
	bool ok_any : 1;          /* a record of this direction decrypted */
	bool failed : 1;          /* a record did not decrypt: never again in this direction */
	bool decrypted : 1;       /* the current record was decrypted */
};

struct tls_dec {
	struct tls_keylog_entry e; /* secrets of the latest ClientHello's random */
	bool have_entry;
	bool early_data;           /* the ClientHello offered 0-RTT data */
	bool from_resume;          /* the master secret is a resumed session's (tls_resume.h), not the key log's */
	uint8_t client_random[32];
	struct tls_suite suite;
	struct tls_dec_dir d[2];
};

enum pat { PAT_NO, PAT_MORE, PAT_FIRST, PAT_SSLV2, PAT_HS, PAT_ALERT, PAT_RESYNC, PAT_VERIFIED, PAT_OPAQUE };

/* tls.c */
enum tls_role role_of(const struct tls_conn *c, int d);
void learn_client(struct tls_conn *c, int d);
void ev_init(struct tls_event *ev, struct tls_conn *c, enum tls_event_kind kind, int d, uint16_t rec_ver,
		    const struct ek_pktref *pkt);
void emit(struct tls_ctx *t, const struct tls_event *ev);
void emit_incomplete(struct tls_ctx *t, struct tls_conn *c, int d, const char *what,
			    const struct ek_pktref *pkt);
void mark_tls(struct tls_ctx *t, struct tls_conn *c);
bool entry_complete(const struct tls_keylog_entry *e);
void dec_use(struct tls_ctx *t, struct tls_conn *c, const struct tls_keylog_entry *e, const uint8_t *random,
		    bool early_data);

/* tls_decrypt.c */
void dec_free(struct tls_dec *x);
bool dec_on(const struct tls_conn *c, int d);
void emit_decrypt_failed(struct tls_ctx *t, struct tls_conn *c, int d, const char *why, bool handshake);
void dec_client_hello(struct tls_ctx *t, struct tls_conn *c, const struct tls_client_hello *ch);
const char *dec_server_hello(struct tls_ctx *t, struct tls_conn *c, int d, const struct tls_server_hello *sh);
void resume_client_hello(struct tls_ctx *t, struct tls_conn *c, const struct tls_client_hello *ch);
void resume_server_hello(struct tls_ctx *t, struct tls_conn *c, struct tls_server_hello *sh);
void resume_ticket(struct tls_ctx *t, struct tls_conn *c, int d, const uint8_t *p, size_t n);
void dec_ccs(struct tls_ctx *t, struct tls_conn *c, int d);
bool dec_candidate(const struct tls_conn *c, int d, uint8_t type, uint16_t len);
bool dec_counted(const struct tls_conn *c, int d, uint8_t type);
void dec_skip_bytes(struct tls_conn *c, int d, const struct cur *in, size_t k);
void dec_record_end(struct tls_ctx *t, struct tls_conn *c, int d, bool counted, bool damaged);
void dec_record(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *body);

/* tls_hs.c */
void set_finished(struct tls_conn *c, int d);
void hs_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b);

/* tls_records.c */
uint8_t *buf_get(struct tls_ctx *t, size_t n);
void buf_put(struct tls_ctx *t, uint8_t *b, size_t n);
void hs_reset(struct tls_ctx *t, struct tls_dir *ds);
void rbuf_free(struct tls_ctx *t, struct tls_dir *ds);
void stop_dir(struct tls_ctx *t, struct tls_dir *ds, enum dmode why);
const char *pending_name(const struct tls_dir *ds);
void flush_gap(struct tls_ctx *t, struct tls_conn *c, int d, bool resumed);
void rec_end(struct tls_ctx *t, struct tls_conn *c, int d);
enum rclass classify(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t len);
void alert_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b, bool dec13);
void rbuf_flush(struct tls_ctx *t, struct tls_conn *c, int d, bool early);
void rec_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in);

/* tls_scan.c */
void scan_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in);

#endif
