/* TLS records and handshake messages out of the two byte streams of a
 * TCP connection.
 *
 * Per direction the dissector is in one of these modes:
 *
 *   INIT       no byte seen yet.
 *   SCAN       deciding where (whether) TLS starts: the first bytes are
 *              tested, then every position of the first TLS_SCAN_LIMIT
 *              bytes (STARTTLS probe, mid-stream resynchronisation).
 *   RECORDS    parsing records at a known position.
 *   STOPPED    the position of the next record is unknown (hole, invalid
 *              header): the rest of the direction is ignored.
 *   EXHAUSTED  SCAN went past its limit without finding TLS.
 *   CLOSED     the connection ended.
 *
 * Recognition (SCAN):
 *   - The first bytes of a direction: a record header of type 22 with
 *     version 0x0300-0x0304 and length 1..2^14+2048, or an SSLv2-compatible
 *     ClientHello (RFC 5246 E.2: msb-length header, msg type 1, version
 *     0x0300-0x0304 -- or 0x0002, SSL 2.0 itself -- lengths that add up).  On a TLS port (either endpoint's
 *     port in tls_opts.ports), or once the other direction was recognised,
 *     any record type 20-24 is accepted there.
 *   - Otherwise every position of the first 16 KiB is tested for the start
 *     of a handshake record: 22, 03 0x, length, then a ClientHello (type 1)
 *     from the client / ServerHello (type 2) from the server (either while
 *     roles are unknown), a body length >= 38 that fits the record (or a
 *     record >= 512 bytes, for a hello fragmented over records), and the
 *     legacy version 03 0x.  This covers STARTTLS-style upgrades (SMTP,
 *     IMAP, POP3, FTP AUTH TLS, LDAP StartTLS, XMPP, PostgreSQL SSLRequest,
 *     MySQL, IRC) without knowing any of those protocols.  Once the
 *     connection is known to be TLS a plaintext alert record (15 03 0x 00 02
 *     level desc) also starts TLS, for a server that rejects the hello.
 *   - A direction whose start was not captured (no SYN, or a hole before
 *     its first byte) on a TLS port or in a recognised connection may also
 *     resynchronise: a plausible record header whose length leads exactly
 *     to a second plausible header (same version) starts TLS at the second
 *     one.  The handshake stream position is then only assumed: the first
 *     handshake header must have a known type and a sane length.
 *   - Only WIN-1 carry bytes are kept across chunks; candidate positions
 *     are found with memchr, so the scan costs about one pass over at most
 *     16 KiB (plus one record length while verifying a resync candidate).
 *   - OpenVPN over TCP (first packet: u16 length, hard-reset opcode) wraps
 *     TLS records in its own framing: the connection is not TLS here.
 *   - When both directions are EXHAUSTED (or sent FIN/RST while still
 *     scanning) without TLS the verdict is TLS_NOT_TLS.
 *   - A mid-stream direction (resynchronised, or first bytes without SYN)
 *     has not shown its ChangeCipherSpec: an application-data record, or
 *     an alert record longer than 2 bytes, marks it encrypted.
 *
 * Holes (never parse across missing bytes):
 *   - Inside a record whose header was seen, with a known number of
 *     missing bytes that ends inside the record: the record is reported
 *     incomplete and the rest of it is skipped; parsing resumes at the
 *     next record (DATA_MISSING in_record, resumed).  A handshake message
 *     the hole fell in is reported incomplete and skipped by its length
 *     (the next message starts where its length says); if the hole also
 *     swallowed the next message header, handshake parsing of this
 *     direction is suspended ("lost") until its next ChangeCipherSpec,
 *     while records are still followed.
 *   - Unknown amount missing (0), or a hole in a partial record header:
 *     the direction stops.
 *   - A known amount missing at a record boundary, or running past the
 *     end of the current record: the next record position is not known.
 *     The bytes after the hole are accepted as a record header only if
 *     they are a plausible one with the direction's record version;
 *     otherwise the direction stops.  The DATA_MISSING event is held back
 *     until that is decided so that `resumed` is true.  Handshake parsing
 *     is suspended ("lost") after such a hole.
 *   - A hole while scanning just continues the scan after the hole.
 *   - A record cut short by a hole: the messages it completely contains
 *     before the hole are still reported (no byte of them is missing).
 *
 * Frames: a handshake or alert record that spans chunks is kept (one copy,
 * at most 2^14+2048 bytes) and parsed when its last byte arrives, so every
 * message is reported in the frame that completes its record -- the frame
 * Wireshark shows it in.  A record within one chunk is parsed in place;
 * only a handshake message spanning records is assembled in a buffer
 * (capped at max_handshake_len; longer ones are skipped by length and
 * reported malformed).  Buffers exist only while something spans chunks.
 *
 * FIN and RST are events only: parsing goes on if data follows (a spurious
 * RST from a middlebox is followed by the real connection); what is left
 * unfinished is reported by tls_conn_end.
 *
 * Encryption: TLS <= 1.2: records of a direction after its
 * ChangeCipherSpec; TLS 1.3: every type-23 record of both directions once
 * the ServerHello selected 1.3 (the first one of each direction is the
 * TLS_EV_ENCRYPTED_HANDSHAKE; the Finished flags of the view stay false in
 * 1.3, where no Finished is visible without keys).  A ChangeCipherSpec is the 1.3
 * middlebox-compatibility one (reported, otherwise ignored) when 1.3 was
 * selected (ServerHello or HelloRetryRequest) or, before any ServerHello,
 * when the client sends it after offering 1.3.  Application data is
 * counted and skipped by length, never copied.
 *
 * Decryption (tls_opts.keys, a key log store; dissect/tls_crypt.c does the
 * cryptography): the ClientHello random picks the connection's secrets.
 * TLS 1.3: from the ServerHello (not a HelloRetryRequest) each direction
 * whose handshake traffic secret is known decrypts its type-23 records
 * (class RC_DEC: buffered whole like a handshake record, then decrypted,
 * the inner content type and padding stripped, and fed to hs_feed /
 * alert_feed as plaintext records are, so the events are the ordinary
 * ones in the frame of the record); after that direction's Finished the
 * application traffic secret applies, a KeyUpdate moves it on.  In the
 * application epoch only the records before the direction's first
 * application data (tickets) and records of at most TLS13_SMALL_RECORD
 * bytes (alerts, KeyUpdate) are decrypted; an alert under the handshake
 * keys after the Finished is tried too.  TLS <= 1.2: CLIENT_RANDOM's master
 * secret gives the keys at the ServerHello; each direction's
 * ChangeCipherSpec activates them (a renegotiation's ClientHello looks up
 * its own random); handshake and alert records are decrypted.  Every
 * protected record of a decrypting direction advances its sequence number
 * (rec_count), decrypted or not, so bulk data costs nothing but counting;
 * TLS 1.0 CBC keeps the last block of skipped records for the chained IV.
 * A record that does not authenticate gives one TLS_EV_DECRYPT_FAILED and
 * the direction goes on as without keys; a hole that loses whole records
 * ends decryption of that direction (sequence numbers unknown). */
#include "tls.h"

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
	bool dtls;           /* fed TLS records rebuilt from DTLS ones (dtls.c): DTLS versions, no decryption */
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

static void rec_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in);

/* ---- spare connections and buffers ------------------------------------------ */

/* A buffer of n bytes; n <= SPARE_BUF_SIZE comes from the spares. */
static uint8_t *buf_get(struct tls_ctx *t, size_t n)
{
	if (n > SPARE_BUF_SIZE || !SPARES_ON) return malloc(n);
	if (t->n_spare_bufs) return t->spare_bufs[--t->n_spare_bufs];
	return malloc(SPARE_BUF_SIZE);
}

/* Give back a buffer of n bytes (the size it was asked for). */
static void buf_put(struct tls_ctx *t, uint8_t *b, size_t n)
{
	if (SPARES_ON && b && n <= SPARE_BUF_SIZE && t->n_spare_bufs < SPARE_BUFS) t->spare_bufs[t->n_spare_bufs++] = b;
	else free(b);
}

/* ---- context -------------------------------------------------------------- */

struct tls_ctx *tls_ctx_new(const struct tls_opts *o, const struct tls_sink *sink, struct x509_cache *certs)
{
	struct tls_ctx *t = calloc(1, sizeof *t);
	if (!t) return NULL;
	if (sink) t->sink = *sink;
	t->cache = certs;
	if (!t->cache) {
		t->cache = x509_cache_new(0);
		t->own_cache = true;
	}
	t->max_hs = o && o->max_handshake_len ? o->max_handshake_len : TLS_DEFAULT_MAX_HS;
	t->sc.max_certs = o && o->max_chain_len ? o->max_chain_len : TLS_DEFAULT_MAX_CHAIN;
	t->sc.certs = calloc(t->sc.max_certs, sizeof *t->sc.certs);
	t->keys = o ? o->keys : NULL;
	t->follow = o ? o->follow : NULL;
	t->hold_on = o && o->hold && o->follow;
	if (o && o->n_ports) {
		t->ports = malloc(o->n_ports * sizeof *t->ports);
		if (t->ports) {
			memcpy(t->ports, o->ports, o->n_ports * sizeof *t->ports);
			t->n_ports = o->n_ports;
		}
	}
	if (!t->cache || !t->sc.certs || (o && o->n_ports && !t->ports)) {
		tls_ctx_free(t);
		return NULL;
	}
	return t;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (!t) return;
	if (t->own_cache) x509_cache_free(t->cache);
	tls_scratch_free(&t->sc);
	tls_crypto_free(t->crypto);
	tls_resume_free(t->resume);
	free(t->plain);
	free(t->ports);
	while (t->spare_conns) {
		struct tls_conn *c = t->spare_conns;
		t->spare_conns = c->next_spare;
		free(c);
	}
	for (size_t i = 0; i < t->n_spare_bufs; i++) free(t->spare_bufs[i]);
	free(t);
}

void tls_get_stats(const struct tls_ctx *t, struct tls_stats *out)
{
	*out = t->st;
}

/* ---- events ---------------------------------------------------------------- */

static enum tls_role role_of(const struct tls_conn *c, int d)
{
	return d == c->client_dir ? TLS_ROLE_CLIENT : TLS_ROLE_SERVER;
}

static void set_client(struct tls_conn *c, int d, bool known)
{
	c->client_dir = (uint8_t)d;
	c->view.client = c->ep[d];
	c->view.server = c->ep[1 - d];
	c->view.roles_known = known;
}

/* Roles from a hello (or a message only a server sends), once. */
static void learn_client(struct tls_conn *c, int d)
{
	if (!c->view.roles_known) set_client(c, d, true);
}

static void ev_init(struct tls_event *ev, struct tls_conn *c, enum tls_event_kind kind, int d, uint16_t rec_ver,
		    const struct ek_pktref *pkt)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->conn = &c->view;
	ev->consumer = &c->view.consumer;
	ev->sender = d < 0 ? TLS_ROLE_NONE : role_of(c, d);
	ev->version = c->view.version ? c->view.version : rec_ver;
	if (pkt) ev->pkt = *pkt;
}

static void emit(struct tls_ctx *t, const struct tls_event *ev)
{
	if (t->sink.event) t->sink.event(t->sink.ctx, ev);
}

static void emit_simple(struct tls_ctx *t, struct tls_conn *c, enum tls_event_kind kind, int d)
{
	struct tls_event ev;
	ev_init(&ev, c, kind, d, d < 0 ? 0 : c->d[d].last_ver, c->pkt);
	emit(t, &ev);
}

static void emit_incomplete(struct tls_ctx *t, struct tls_conn *c, int d, const char *what,
			    const struct ek_pktref *pkt)
{
	struct tls_event ev;
	ev_init(&ev, c, TLS_EV_RECORD_INCOMPLETE, d, c->d[d].last_ver, pkt);
	ev.u.incomplete = what;
	t->st.incomplete++;
	emit(t, &ev);
}

static void mark_tls(struct tls_ctx *t, struct tls_conn *c)
{
	if (c->view.is_tls) return;
	c->view.is_tls = true;
	c->verdict = TLS_IS_TLS;
	t->st.conns_tls++;
	emit_simple(t, c, TLS_EV_CONN_TLS, -1);
}

/* ---- per-direction state helpers -------------------------------------------- */

static void hs_reset(struct tls_ctx *t, struct tls_dir *ds)
{
	buf_put(t, ds->hs_buf, ds->hs_len);
	ds->hs_buf = NULL;
	ds->hs_have = 0;
	ds->hs_len = ds->hs_got = 0;
	ds->hs_sslv2 = ds->hs_damaged = ds->hs_toolarge = false;
}

static void rbuf_free(struct tls_ctx *t, struct tls_dir *ds)
{
	buf_put(t, ds->rbuf, ds->rbuf_spare ? 0 : SIZE_MAX);
	ds->rbuf = NULL;
	ds->rbuf_have = 0;
}

static void stop_dir(struct tls_ctx *t, struct tls_dir *ds, enum dmode why)
{
	hs_reset(t, ds);
	rbuf_free(t, ds);
	if (ds->mode == DM_RECORDS && why == DM_STOPPED) t->st.dirs_stopped++;
	ds->mode = (uint8_t)why;
	ds->rec_have = 0;
	ds->rec_left = 0;
	ds->rclass = RC_NONE;
	ds->win_n = 0;
	ds->verify_next = false;
}

static const char *hs_name(const struct tls_dir *ds)
{
	if (ds->hs_sslv2) return "ClientHello";
	if (ds->hs_have >= 1) { /* the type byte is known */
		const char *n = tls_handshake_name(ds->hs_hdr[0]);
		return n ? n : "Handshake";
	}
	return "Handshake";
}

/* What a hole or the end of the stream leaves unfinished in this
 * direction (NULL: nothing, or already reported). */
static const char *pending_name(const struct tls_dir *ds)
{
	if (ds->mode != DM_RECORDS) return NULL;
	if (ds->rec_have > 0 && ds->rec_have < ds->rec_need) return ds->rec_need == 2 ? "ClientHello" : "record";
	if (ds->rec_have > 0) {
		if (ds->rec_damaged) return NULL;
		switch (ds->rclass) {
		case RC_HS:
			if (ds->hs_lost || ds->hs_damaged) return NULL;
			return hs_name(ds);
		case RC_ALERT:
		case RC_ENC_ALERT: return "Alert";
		case RC_CCS: return "ChangeCipherSpec";
		case RC_ENC_HS: return "EncryptedHandshake";
		case RC_APP: return "ApplicationData";
		case RC_DEC:
			return ds->rec_type == REC_ALERT ? "Alert" :
			       ds->rec_type == REC_APPDATA && !ds->enc_hs_seen ? "EncryptedHandshake" :
			       ds->rec_type == REC_HANDSHAKE ? "EncryptedHandshake" : "record";
		default:
			return ds->rec_type == REC_HANDSHAKE ? "EncryptedHandshake" :
			       ds->rec_type == REC_HEARTBEAT ? "Heartbeat" : "record";
		}
	}
	if (ds->hs_have > 0 && !ds->hs_damaged && !ds->hs_lost) return hs_name(ds);
	return NULL;
}

/* Emit the held-back DATA_MISSING (and RECORD_INCOMPLETE) of a hole
 * followed by an unverified record position. */
static void flush_gap(struct tls_ctx *t, struct tls_conn *c, int d, bool resumed)
{
	struct tls_dir *ds = &c->d[d];
	if (!ds->gap_pending) return;
	ds->gap_pending = false;
	ds->verify_next = false;
	struct ek_pktref pkt = ds->gap_pkt;
	struct tls_event ev;
	ev_init(&ev, c, TLS_EV_DATA_MISSING, d, ds->last_ver, &pkt);
	ev.u.missing.bytes = ds->gap_bytes;
	ev.u.missing.in_record = ds->gap_in_record;
	ev.u.missing.resumed = resumed;
	emit(t, &ev);
	if (ds->gap_incomplete) emit_incomplete(t, c, d, ds->gap_incomplete, &pkt);
	if (!resumed) stop_dir(t, ds, DM_STOPPED);
}

/* ---- decryption with key log secrets ------------------------------------------- */

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

static void hs_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b);
static void alert_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b, bool dec13);
static enum rclass classify(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t len);

static void dec_free(struct tls_dec *x)
{
	if (!x) return;
	OPENSSL_cleanse(x, sizeof *x);
	free(x);
}

static bool dec_on(const struct tls_conn *c, int d)
{
	return c->dec && c->dec->d[d].on;
}

static void emit_decrypt_failed(struct tls_ctx *t, struct tls_conn *c, int d, const char *why, bool handshake)
{
	struct tls_event ev;
	ev_init(&ev, c, TLS_EV_DECRYPT_FAILED, d, c->d[d].last_ver, c->pkt);
	ev.u.decrypt.reason = why;
	ev.u.decrypt.handshake = handshake;
	c->view.decrypt_failed = true;
	t->st.decrypt_failed++;
	emit(t, &ev);
}

static bool dec_ready(struct tls_ctx *t)
{
	if (!t->crypto) t->crypto = tls_crypto_new();
	if (!t->plain) t->plain = malloc(TLS_MAX_RECORD);
	return t->crypto && t->plain;
}

/* Every secret the version needs: TLS 1.3 handshake and application
 * traffic secrets of both sides, or the TLS <= 1.2 master secret. */
static bool entry_complete(const struct tls_keylog_entry *e)
{
	unsigned all13 = 1u << TLS_SECRET_CHTS | 1u << TLS_SECRET_SHTS | 1u << TLS_SECRET_CATS0 | 1u << TLS_SECRET_SATS0;
	return (e->have & 1u << TLS_SECRET_MASTER) || (e->have & all13) == all13;
}

/* The connection decrypts with entry e (of random). */
static void dec_use(struct tls_ctx *t, struct tls_conn *c, const struct tls_keylog_entry *e, const uint8_t *random,
		    bool early_data)
{
	if (!c->dec) {
		c->dec = calloc(1, sizeof *c->dec);
		if (!c->dec) return;
		t->st.conns_keyed++;
	}
	c->dec->e = *e;
	c->dec->have_entry = true;
	c->dec->from_resume = false; /* the key log's line, not a resumed session's secret */
	c->dec->early_data = early_data;
	memcpy(c->dec->client_random, random, 32);
}

/* A ClientHello: the key log's secrets for its random, if any.  Live
 * with a followed key log, a first ClientHello without all of them holds
 * the connection until they arrive. */
static void dec_client_hello(struct tls_ctx *t, struct tls_conn *c, const struct tls_client_hello *ch)
{
	if (!t->keys || !ch->random) return;
	const struct tls_keylog_entry *e = tls_keylog_find(t->keys, ch->random);
	if ((!e || !entry_complete(e)) && t->follow && tls_keylog_refresh(t->follow))
		e = tls_keylog_find(t->keys, ch->random);
	if ((!e || !entry_complete(e)) && t->hold_on && !c->dec && !c->was_held) {
		c->hold = tls_hold_new(ch->random, ch->early_data);
		if (c->hold) {
			c->was_held = true;
			c->next_held = t->held;
			t->held = c;
			t->st.held++;
			return;
		}
	}
	if (!e) {
		if (c->dec) c->dec->have_entry = false; /* a renegotiation we have no secret for */
		return;
	}
	dec_use(t, c, e, ch->random, ch->early_data);
}

static bool have_secret(const struct tls_dec *x, int kind)
{
	return (x->e.have & 1u << kind) != 0;
}

/* A ServerHello from direction d: derive the keys.  Returns why the
 * connection cannot be decrypted (reported after the ServerHello), NULL
 * when it can or when there is no secret for it. */
static const char *dec_server_hello(struct tls_ctx *t, struct tls_conn *c, int d, const struct tls_server_hello *sh)
{
	struct tls_dec *x = c->dec;
	if (!x || !x->have_entry || sh->hello_retry) return NULL;
	uint16_t v = sh->selected_version;
	if (tls_version_is_13(v)) {
		if (!have_secret(x, TLS_SECRET_CHTS) && !have_secret(x, TLS_SECRET_SHTS)) return NULL;
		c->view.keys = true;
		if (!tls_suite_get(sh->cipher, v, &x->suite)) return "cipher suite not supported for decryption";
		if (!dec_ready(t)) return "out of memory";
		for (int k = 0; k < 2; k++) {
			int dir = k ? d : 1 - d;
			int kind = dir == d ? TLS_SECRET_SHTS : TLS_SECRET_CHTS;
			struct tls_dec_dir *dd = &x->d[dir];
			if (!have_secret(x, kind) || dd->failed) continue;
			if (tls_crypto_tls13_key(t->crypto, &x->suite, x->e.secret[kind], x->e.len[kind], &dd->cur) != 0)
				return "the key log's secret does not fit the cipher suite (hash length)";
			dd->on = true;
			dd->app = false;
		}
		return NULL;
	}
	if (!have_secret(x, TLS_SECRET_MASTER) || c->null_mac) return NULL; /* NULL cipher: plaintext anyway */
	c->view.keys = true;
	if (v < 0x0301 || v > 0x0303) return "SSL 3.0 records are not decrypted";
	if (!tls_suite_get(sh->cipher, v, &x->suite)) return "cipher suite not supported for decryption";
	if (!dec_ready(t) || !sh->random) return "out of memory";
	int cd = 1 - d;
	if (tls_crypto_tls12_keys(t->crypto, &x->suite, v, sh->encrypt_then_mac, x->e.secret[TLS_SECRET_MASTER],
				  x->e.len[TLS_SECRET_MASTER], x->client_random, sh->random, &x->d[cd].pending,
				  &x->d[d].pending) != 0)
		return "key derivation failed";
	return NULL;
}

/* ---- resumption (tls_resume.h) ---------------------------------------------- */

/* A ClientHello: what it offers to resume; without a key log line for its
 * random, the master secret of the TLS 1.2 session it offers, if known
 * (dropped at the ServerHello unless the server resumes it). */
static void resume_client_hello(struct tls_ctx *t, struct tls_conn *c, const struct tls_client_hello *ch)
{
	c->offer.sid = tls_resume_digest(ch->session_id, ch->session_id_len);
	c->offer.ticket = tls_resume_digest(ch->ticket, ch->ticket_len);
	c->offer.psk = tls_resume_digest(ch->psk_identity, ch->psk_identity_len);
	if (!t->keys || !ch->random || (c->dec && c->dec->have_entry)) return;
	struct tls_resume_hit h;
	if (!tls_resume_find(t->resume, RESUME_TICKET, c->offer.ticket, c->view.file_index, &h) &&
	    !tls_resume_find(t->resume, RESUME_SID, c->offer.sid, c->view.file_index, &h))
		return;
	if (!h.master_len) return;
	if (!c->dec) {
		if (!(c->dec = calloc(1, sizeof *c->dec))) return;
		t->st.conns_keyed++;
	}
	struct tls_dec *x = c->dec;
	memset(&x->e, 0, sizeof x->e);
	memcpy(x->e.random, ch->random, 32);
	memcpy(x->e.secret[TLS_SECRET_MASTER], h.master, h.master_len);
	x->e.len[TLS_SECRET_MASTER] = h.master_len;
	x->e.have = 1u << TLS_SECRET_MASTER;
	x->have_entry = true;
	x->from_resume = true;
	memcpy(x->client_random, ch->random, 32);
	OPENSSL_cleanse(&h, sizeof h);
}

/* A ServerHello: is the session resumed, from which connection (sh->resumed,
 * sh->resumed_from); a new TLS 1.2 session ID is remembered. */
static void resume_server_hello(struct tls_ctx *t, struct tls_conn *c, struct tls_server_hello *sh)
{
	uint32_t file = c->view.file_index;
	struct tls_resume_hit h = { 0 };
	bool found = false;
	bool v12 = sh->selected_version >= 0x0300 && sh->selected_version <= 0x0303;
	uint64_t sid = v12 ? tls_resume_digest(sh->session_id, sh->session_id_len) : 0;
	c->cipher = sh->cipher;
	if (tls_version_is_13(sh->selected_version)) {
		if (sh->psk) {
			sh->resumed = TLS_RESUMED_PSK;
			found = tls_resume_find(t->resume, RESUME_PSK, c->offer.psk, file, &h);
		}
	} else if (sid && sid == c->offer.sid) {
		/* the server echoes the session ID it resumes (RFC 5246 7.4.1.3; with a ticket, RFC 5077 3.4) */
		found = tls_resume_find(t->resume, RESUME_TICKET, c->offer.ticket, file, &h);
		sh->resumed = found || c->offer.ticket ? TLS_RESUMED_TICKET : TLS_RESUMED_SESSION_ID;
		if (!found) found = tls_resume_find(t->resume, RESUME_SID, c->offer.sid, file, &h);
		if (found && h.cipher != sh->cipher) found = false;
	}
	c->origin = sh->resumed ? (found ? h.origin : 0) : c->view.id + 1;
	sh->resumed_from = sh->resumed && found ? h.origin : 0;
	OPENSSL_cleanse(&h, sizeof h);
	if (c->dec && c->dec->from_resume && !(sh->resumed && found)) {
		/* a full handshake after all: the offered session's secret is not this one's */
		OPENSSL_cleanse(&c->dec->e, sizeof c->dec->e);
		c->dec->have_entry = c->dec->from_resume = false;
	}
	if (sid) {
		const struct tls_dec *x = c->dec;
		bool m = x && x->have_entry && have_secret(x, TLS_SECRET_MASTER);
		tls_resume_note(&t->resume, RESUME_SID, sid, file, c->origin, sh->cipher,
				m ? x->e.secret[TLS_SECRET_MASTER] : NULL, m ? x->e.len[TLS_SECRET_MASTER] : 0);
	}
}

/* A NewSessionTicket from the server: remember the ticket (TLS 1.2, with
 * the master secret when known; TLS 1.3: the PSK identity of a later
 * resumption). */
static void resume_ticket(struct tls_ctx *t, struct tls_conn *c, int d, const uint8_t *p, size_t n)
{
	const uint8_t *tk;
	size_t len;
	if (role_of(c, d) != TLS_ROLE_SERVER || tls_msg_new_session_ticket(p, n, c->v13, &tk, &len) != 0) return;
	const struct tls_dec *x = c->dec;
	bool m = !c->v13 && x && x->have_entry && have_secret(x, TLS_SECRET_MASTER);
	tls_resume_note(&t->resume, c->v13 ? RESUME_PSK : RESUME_TICKET, tls_resume_digest(tk, len), c->view.file_index,
			c->origin, c->cipher, m ? x->e.secret[TLS_SECRET_MASTER] : NULL,
			m ? x->e.len[TLS_SECRET_MASTER] : 0);
}

/* TLS <= 1.2: the direction's ChangeCipherSpec activates its pending keys. */
static void dec_ccs(struct tls_ctx *t, struct tls_conn *c, int d)
{
	if (!c->dec) return;
	struct tls_dec_dir *dd = &c->dec->d[d];
	if (dd->on && dd->cur.set && !dd->pending.set) {
		/* decrypting so far, but the renegotiated handshake has no secret */
		dd->on = false;
		emit_decrypt_failed(t, c, d, "the key log has no secret for the renegotiated handshake", false);
	}
	dd->on = dd->pending.set && !dd->failed;
	if (dd->on) {
		dd->cur = dd->pending;
		dd->cur.seq = 0;
		dd->tail_n = 0;
	}
	OPENSSL_cleanse(&dd->pending, sizeof dd->pending);
}

/* Is the record with this header one to decrypt? */
static bool dec_candidate(const struct tls_conn *c, int d, uint8_t type, uint16_t len)
{
	const struct tls_dir *ds = &c->d[d];
	const struct tls_dec_dir *dd = &c->dec->d[d];
	if (ds->enc13) {
		if (type != REC_APPDATA) return false;
		if (!dd->app) return true;
		if (!dd->cur.set) return len <= TLS13_SMALL_RECORD && dd->hs.set; /* only the handshake-key fallback */
		return !dd->bulk_seen || dd->pha || len <= TLS13_SMALL_RECORD;
	}
	return ds->enc && (type == REC_HANDSHAKE || type == REC_ALERT);
}

/* Does the record carry a sequence number of the direction's keys? */
static bool dec_counted(const struct tls_conn *c, int d, uint8_t type)
{
	const struct tls_dir *ds = &c->d[d];
	if (ds->enc13) return type == REC_APPDATA;
	return ds->enc;
}

static bool cbc_chained(const struct tls_rkey *k)
{
	return k->set && k->s.bulk == TB_CBC && k->version < 0x0302;
}

/* Bytes of a counted record that is skipped, not decrypted: TLS 1.0 CBC
 * keeps its last block as the next record's IV. */
static void dec_skip_bytes(struct tls_conn *c, int d, const struct cur *in, size_t k)
{
	struct tls_dec_dir *dd = &c->dec->d[d];
	if (!cbc_chained(&dd->cur) || !k) return;
	size_t bs = dd->cur.s.iv_len, take = k < bs ? k : bs;
	struct cur p = *in;
	cur_skip(&p, k - take);
	uint8_t nb[16];
	size_t keep = dd->tail_n + take > bs ? bs - take : dd->tail_n;
	struct cur old = cur_make(dd->tail, dd->tail_n);
	cur_skip(&old, dd->tail_n - keep);
	cur_copy(&old, nb, keep);
	cur_copy(&p, nb + keep, take);
	memcpy(dd->tail, nb, keep + take);
	dd->tail_n = (uint8_t)(keep + take);
}

/* The end of a record of a decrypting direction: sequence numbers and
 * key changes (they apply from the next record on). */
static void dec_record_end(struct tls_ctx *t, struct tls_conn *c, int d, bool counted, bool damaged)
{
	struct tls_dec_dir *dd = &c->dec->d[d];
	if (counted) {
		dd->cur.seq++;
		if (cbc_chained(&dd->cur) && !dd->decrypted) {
			/* the skipped record's last block chains into the next IV */
			if (damaged || dd->tail_n != dd->cur.s.iv_len) dd->on = false;
			else memcpy(dd->cur.iv, dd->tail, dd->tail_n);
		}
	}
	dd->tail_n = 0;
	dd->decrypted = false;
	if (dd->to_app) {
		/* TLS 1.3: after the Finished, the application traffic secret */
		dd->to_app = false;
		dd->app = true;
		dd->hs = dd->cur;
		OPENSSL_cleanse(&dd->cur, sizeof dd->cur);
		int kind = role_of(c, d) == TLS_ROLE_CLIENT ? TLS_SECRET_CATS0 : TLS_SECRET_SATS0;
		struct tls_dec *x = c->dec;
		if (have_secret(x, kind) &&
		    tls_crypto_tls13_key(t->crypto, &x->suite, x->e.secret[kind], x->e.len[kind], &dd->cur) == 0) {
			memcpy(dd->secret, x->e.secret[kind], x->e.len[kind]);
			dd->secret_len = x->e.len[kind];
		}
	}
	if (dd->to_update) {
		/* KeyUpdate: the next generation of the application secret */
		dd->to_update = false;
		struct tls_rkey nk;
		if (dd->secret_len &&
		    tls_crypto_tls13_update(t->crypto, &c->dec->suite, dd->secret, dd->secret_len) == 0 &&
		    tls_crypto_tls13_key(t->crypto, &c->dec->suite, dd->secret, dd->secret_len, &nk) == 0)
			dd->cur = nk;
		else
			dd->on = false;
		OPENSSL_cleanse(&nk, sizeof nk);
	}
}

/* A complete protected record body (ds->rclass RC_DEC). */
static void dec_record(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *body)
{
	struct tls_dir *ds = &c->d[d];
	struct tls_dec_dir *dd = &c->dec->d[d];
	size_t n = cur_left(body);
	const uint8_t *ct = cur_bytes(body, n);
	uint8_t *pt = t->plain;
	size_t len = 0;
	bool hs_epoch = ds->enc13 && !dd->app;
	int rc = ct && pt && n <= TLS_MAX_RECORD ?
			 tls_crypto_open(t->crypto, &dd->cur, ds->rec_type, ds->rec_ver, ct, n, pt, &len) :
			 -1;
	if (rc != 0 && ct && pt && n <= TLS_MAX_RECORD && dd->app && dd->hs.set &&
	    tls_crypto_open(t->crypto, &dd->hs, ds->rec_type, ds->rec_ver, ct, n, pt, &len) == 0) {
		/* sent under the handshake keys after the Finished (an alert) */
		rc = 0;
		dd->hs.seq++;
		ds->rec_count = false;
	}
	if (rc != 0) {
		ds->rec_count = false;
		if (hs_epoch && !dd->ok_any && c->dec->early_data && role_of(c, d) == TLS_ROLE_CLIENT) {
			/* 0-RTT data or EndOfEarlyData (early traffic secret): skipped,
			 * the handshake keys start after it */
			t->st.app_records++;
			return;
		}
		dd->on = false;
		ds->rclass = (uint8_t)classify(t, c, d, ds->rec_type, (uint16_t)n); /* as without keys */
		if (dd->app && !dd->cur.set) return; /* no application secret in the key log: nothing failed */
		dd->failed = true;
		emit_decrypt_failed(t, c, d,
				    ct && pt ? "record does not authenticate with the key log's secret (wrong key, "
					       "or records were not captured)" :
					       "out of memory",
				    hs_epoch);
		return;
	}
	dd->ok_any = true;
	dd->decrypted = true;
	ds->enc_hs_seen = true; /* a record failing later is not the first encrypted one */
	t->st.records_decrypted++;
	uint8_t type = ds->rec_type;
	struct cur p = cur_make(pt, len);
	if (ds->enc13) {
		/* TLSInnerPlaintext: content, content type, zero padding */
		size_t k = len;
		while (k && cur_peek_u8(&p, k - 1) == 0) k--;
		if (!k) return; /* only padding: no content (a protocol error of the peer) */
		type = cur_peek_u8(&p, k - 1);
		p = cur_make(pt, k - 1);
	}
	switch (type) {
	case REC_HANDSHAKE: hs_feed(t, c, d, &p); break;
	case REC_ALERT:
		alert_feed(t, c, d, &p, ds->enc13);
		break;
	case REC_APPDATA:
		dd->bulk_seen = true;
		t->st.app_records++;
		if (role_of(c, d) == TLS_ROLE_CLIENT) c->view.client_app_bytes += cur_left(&p);
		else c->view.server_app_bytes += cur_left(&p);
		break;
	default: break;
	}
}

/* ---- handshake messages ------------------------------------------------------ */

static int cert_layout(const struct tls_conn *c)
{
	if (c->view.tls13) return TLS_LAYOUT_13;
	return c->view.version ? TLS_LAYOUT_12 : TLS_LAYOUT_UNKNOWN;
}

static int cr_layout(const struct tls_conn *c)
{
	if (c->view.tls13) return TLS_LAYOUT_13;
	uint16_t v = c->view.version;
	if (!v) return TLS_LAYOUT_UNKNOWN;
	if (v == 0xfeff || v == 0x0100) return TLS_LAYOUT_11; /* DTLS 1.0 is TLS 1.1's */
	return v >= 0x0303 ? TLS_LAYOUT_12 : TLS_LAYOUT_11;
}

/* NULL-encryption suites (TLS_RSA_WITH_NULL_SHA ...): records after the
 * ChangeCipherSpec are plaintext followed by a MAC, as Wireshark shows them.
 * Returns the MAC length, 0 for any other suite. */
static uint8_t null_cipher_mac(uint16_t cipher)
{
	const char *n = tls_cipher_name(cipher);
	if (!n || !strstr(n, "_WITH_NULL_")) return 0;
	size_t l = strlen(n);
	struct {
		const char *suffix;
		uint8_t mac;
	} m[] = { { "_SHA384", 48 }, { "_SHA256", 32 }, { "_SHA", 20 }, { "_MD5", 16 } };
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		size_t k = strlen(m[i].suffix);
		if (l > k && strcmp(n + l - k, m[i].suffix) == 0) return m[i].mac;
	}
	return 0;
}

static void set_finished(struct tls_conn *c, int d)
{
	if (role_of(c, d) == TLS_ROLE_CLIENT) c->view.client_finished = true;
	else c->view.server_finished = true;
}

/* One complete handshake message (body p/n, NULL when malformed-too-large). */
static void hs_dispatch(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, const uint8_t *p, size_t n,
			bool sslv2, bool toolarge)
{
	struct tls_dir *ds = &c->d[d];
	struct tls_event ev;
	bool ok = !toolarge;
	const char *dec_fail = NULL;

	if (type == TLS_HS_CLIENT_HELLO) learn_client(c, d);
	else if (type == TLS_HS_SERVER_HELLO || type == TLS_HS_CERTIFICATE_REQUEST ||
		 type == TLS_HS_SERVER_HELLO_DONE || type == TLS_HS_HELLO_VERIFY_REQUEST)
		learn_client(c, 1 - d);

	ev_init(&ev, c, TLS_EV_HANDSHAKE, d, ds->rec_ver, c->pkt);
	struct tls_handshake *hs = &ev.u.hs;
	hs->type = type;
	hs->length = (uint32_t)n;
	hs->too_large = toolarge;

	switch (type) {
	case TLS_HS_CLIENT_HELLO: {
		bool offers13 = false;
		if (c->view.client_finished && c->view.server_finished && !c->view.tls13) {
			/* a renegotiation (seen decrypted, or under a NULL cipher): the
			 * new handshake has to complete as well */
			c->view.client_finished = c->view.server_finished = false;
		}
		if (ok) {
			if (sslv2) {
				ev.version = c->view.version ? c->view.version : 0x0002;
				ok = tls_msg_sslv2_client_hello(&t->sc, p, n, &hs->u.ch) == 0;
			} else {
				ok = tls_msg_client_hello(&t->sc, p, n, &hs->u.ch, &offers13) == 0;
			}
		}
		if (role_of(c, d) == TLS_ROLE_CLIENT) c->view.client_sent_hello = true;
		if (ok && offers13) c->ch_offered13 = true;
		if (ok && t->keys && !c->dtls) dec_client_hello(t, c, &hs->u.ch); /* DTLS: not decrypted */
		if (ok && !sslv2 && !c->dtls) resume_client_hello(t, c, &hs->u.ch);
		break;
	}
	case TLS_HS_SERVER_HELLO:
		if (ok) ok = tls_msg_server_hello(p, n, &hs->u.sh) == 0;
		c->view.server_sent_hello = true;
		if (ok) {
			uint16_t v = hs->u.sh.selected_version;
			bool is13 = tls_version_is_13(v);
			if (hs->u.sh.hello_retry) hs->type = TLS_HS_HELLO_RETRY_REQUEST;
			c->view.version = v;
			c->view.tls13 = is13;
			c->null_mac = is13 || hs->u.sh.hello_retry ? 0 : null_cipher_mac(hs->u.sh.cipher);
			c->v13 = is13;
			ev.version = v;
			if (is13 && !hs->u.sh.hello_retry) {
				/* Everything after the ServerHello is encrypted, both ways. */
				c->d[0].enc13 = c->d[1].enc13 = true;
			}
			if (!hs->u.sh.hello_retry) resume_server_hello(t, c, &hs->u.sh);
			if (c->dec) dec_fail = dec_server_hello(t, c, d, &hs->u.sh);
		}
		break;
	case TLS_HS_CERTIFICATE:
		if (ok) {
			ok = tls_msg_certificate(&t->sc, t->cache, p, n, cert_layout(c), &hs->u.cert) == 0;
			if (ok) t->st.certificates += hs->u.cert.n_certs;
		}
		break;
	case TLS_HS_CERTIFICATE_REQUEST:
		c->view.cert_requested = true;
		/* TLS 1.3 post-handshake: the answer (Certificate, CertificateVerify, Finished) is decrypted */
		if (dec_on(c, d) && ds->enc13 && c->dec->d[d].app) c->dec->d[1 - d].pha = true;
		if (ok) ok = tls_msg_cert_request(&t->sc, p, n, cr_layout(c), &hs->u.cr) == 0;
		break;
	case TLS_HS_FINISHED:
		set_finished(c, d);
		/* TLS 1.3: the application traffic keys start with the next record */
		if (dec_on(c, d) && ds->enc13 && !c->dec->d[d].app) c->dec->d[d].to_app = true;
		if (c->dec && c->dec->d[d].app) c->dec->d[d].pha = false; /* the post-handshake answer is complete */
		break;
	case TLS_HS_NEW_SESSION_TICKET:
		if (ok) resume_ticket(t, c, d, p, n);
		break;
	case TLS_HS_KEY_UPDATE:
		if (dec_on(c, d) && ds->enc13 && c->dec->d[d].app) c->dec->d[d].to_update = true;
		break;
	default:
		break;
	}
	if (!ok) {
		if (type == TLS_HS_CERTIFICATE) tls_msg_certificate_release(t->cache, &hs->u.cert);
		memset(&hs->u, 0, sizeof hs->u);
		hs->malformed = true;
		t->st.handshake_malformed++;
	}
	t->st.handshake_msgs++;
	emit(t, &ev);
	if (ok && type == TLS_HS_CERTIFICATE) tls_msg_certificate_release(t->cache, &hs->u.cert);
	if (dec_fail) {
		/* a key was given for this connection but cannot be used */
		c->dec->d[0].on = c->dec->d[1].on = false; /* records are handled as without keys */
		emit_decrypt_failed(t, c, d, dec_fail, c->view.tls13);
	}
}

/* The message whose header is in ds->hs_hdr is complete. */
static void hs_complete(struct tls_ctx *t, struct tls_conn *c, int d, const uint8_t *p, size_t n)
{
	struct tls_dir *ds = &c->d[d];
	uint8_t type = ds->hs_hdr[0];
	bool sslv2 = ds->hs_sslv2, toolarge = ds->hs_toolarge;
	uint8_t *buf = ds->hs_buf;
	ds->hs_buf = NULL; /* freed after the event: p may point into it */
	hs_reset(t, ds);
	hs_dispatch(t, c, d, type, p, n, sslv2, toolarge);
	buf_put(t, buf, n); /* n: the message length it was allocated with */
}

/* Handshake-record body bytes (plaintext), as they arrive. */
static void hs_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b)
{
	struct tls_dir *ds = &c->d[d];
	while (cur_left(b) && ds->mode == DM_RECORDS) {
		if (ds->hs_lost) {
			cur_skip(b, cur_left(b));
			return;
		}
		if (ds->hs_have < 4) {
			if (ds->hs_have == 0 && cur_has(b, 4)) {
				cur_copy(b, ds->hs_hdr, 4);
				ds->hs_have = 4;
			} else {
				ds->hs_hdr[ds->hs_have++] = cur_u8(b);
				if (ds->hs_have < 4) continue;
			}
			struct cur h = cur_make(ds->hs_hdr, 4);
			uint8_t type = cur_u8(&h);
			ds->hs_len = cur_u24(&h);
			ds->hs_got = 0;
			if (ds->hs_assumed) {
				/* Mid-stream: is this really a message start? */
				ds->hs_assumed = false;
				if (!tls_handshake_name(type) || type == TLS_HS_HELLO_RETRY_REQUEST ||
				    ds->hs_len > t->max_hs) {
					hs_reset(t, ds);
					ds->hs_lost = true;
					continue;
				}
			}
			if (ds->hs_len > t->max_hs) ds->hs_toolarge = true;
			if (ds->hs_len == 0) hs_complete(t, c, d, NULL, 0);
			continue;
		}
		size_t rem = ds->hs_len - ds->hs_got;
		size_t k = cur_left(b) < rem ? cur_left(b) : rem;
		if (ds->hs_toolarge || ds->hs_damaged) {
			cur_skip(b, k);
			ds->hs_got += (uint32_t)k;
			if (ds->hs_got == ds->hs_len) {
				if (ds->hs_toolarge && !ds->hs_damaged) hs_complete(t, c, d, NULL, ds->hs_len);
				else hs_reset(t, ds);
			}
			continue;
		}
		if (ds->hs_got == 0 && k == rem) {
			/* Whole message in this chunk and record: parse in place. */
			const uint8_t *p = cur_bytes(b, k);
			hs_complete(t, c, d, p, k);
			continue;
		}
		if (!ds->hs_buf) {
			ds->hs_buf = buf_get(t, ds->hs_len);
			if (!ds->hs_buf) {
				ds->hs_toolarge = true; /* reported malformed */
				continue;
			}
		}
		const uint8_t *src = cur_bytes(b, k);
		if (src) memcpy(ds->hs_buf + ds->hs_got, src, k);
		ds->hs_got += (uint32_t)k;
		if (ds->hs_got == ds->hs_len) hs_complete(t, c, d, ds->hs_buf, ds->hs_len);
	}
}

/* ---- records ------------------------------------------------------------------- */

static bool ccs_is_compat(const struct tls_conn *c, int d)
{
	if (c->v13) return true;
	return d == c->client_dir && !c->view.server_sent_hello && c->ch_offered13;
}

static void rec_end(struct tls_ctx *t, struct tls_conn *c, int d)
{
	struct tls_dir *ds = &c->d[d];
	enum rclass rc = (enum rclass)ds->rclass;
	bool damaged = ds->rec_damaged;
	bool counted = ds->rec_count;
	ds->rec_have = 0;
	ds->rec_left = 0;
	ds->rclass = RC_NONE;
	ds->rec_damaged = false;
	ds->rec_count = false;
	if (c->dec) dec_record_end(t, c, d, counted, damaged);
	if (damaged) return;
	struct tls_event ev;
	switch (rc) {
	case RC_CCS:
		ev_init(&ev, c, TLS_EV_CCS, d, ds->rec_ver, c->pkt);
		emit(t, &ev);
		if (!ccs_is_compat(c, d) && !ds->enc13) {
			const char *inc = ds->hs_have && !ds->hs_damaged && !ds->hs_lost ? hs_name(ds) : NULL;
			if (inc) emit_incomplete(t, c, d, inc, c->pkt);
			hs_reset(t, ds);
			ds->hs_lost = false;
			ds->hs_assumed = false;
			ds->al_have = 0;
			ds->enc = true;
			dec_ccs(t, c, d);
		}
		break;
	case RC_ENC_ALERT:
		ev_init(&ev, c, TLS_EV_ALERT, d, ds->rec_ver, c->pkt);
		ev.u.alert.encrypted = true;
		t->st.alerts++;
		emit(t, &ev);
		break;
	case RC_ENC_HS:
		if (!ds->enc13) set_finished(c, d);
		ev_init(&ev, c, TLS_EV_ENCRYPTED_HANDSHAKE, d, ds->rec_ver, c->pkt);
		emit(t, &ev);
		break;
	default:
		break;
	}
}

/* How a record is handled without (usable) keys; counts application data. */
static enum rclass classify(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t len)
{
	struct tls_dir *ds = &c->d[d];
	enum rclass rc;
	switch (type) {
	case REC_CCS: rc = RC_CCS; break;
	case REC_ALERT:
		/* The ChangeCipherSpec may have been missed (mid-stream start, or
		 * a hole): a plaintext alert is 2 bytes (a few alerts in one
		 * record at most), an encrypted one carries IV/MAC/tag and is
		 * longer. */
		if (!ds->enc && !ds->enc13 && len > 8) ds->enc = ds->enc_hs_seen = true;
		rc = ds->enc && !ds->enc13 ? RC_ENC_ALERT : RC_ALERT;
		break;
	case REC_HANDSHAKE:
		if (!ds->enc || ds->enc13) {
			rc = RC_HS;
		} else if (!ds->enc_hs_seen) {
			ds->enc_hs_seen = true;
			rc = RC_ENC_HS;
		} else {
			rc = RC_SKIP;
		}
		break;
	case REC_APPDATA:
		/* Mid-stream application data: this direction is encrypted. */
		if (ds->midstream && !ds->enc && !ds->enc13) ds->enc = ds->enc_hs_seen = true;
		if (ds->enc13 && !ds->enc_hs_seen) {
			ds->enc_hs_seen = true;
			rc = RC_ENC_HS;
		} else {
			rc = RC_APP;
			t->st.app_records++;
			if (role_of(c, d) == TLS_ROLE_CLIENT) c->view.client_app_bytes += len;
			else c->view.server_app_bytes += len;
		}
		break;
	default: rc = RC_SKIP; break;
	}
	return rc;
}

static void rec_header(struct tls_ctx *t, struct tls_conn *c, int d)
{
	struct tls_dir *ds = &c->d[d];
	struct cur h = cur_make(ds->rec_hdr, ds->rec_need);
	t->st.records++;
	ds->rec_damaged = false;
	if (ds->rec_need == 2) {
		/* SSLv2-compatible ClientHello: 2-byte header, msb set. */
		ds->rec_left = cur_u16(&h) & 0x7fffu;
		ds->rec_parse = ds->rec_left;
		ds->rec_type = 0;
		ds->rec_ver = 0x0002;
		ds->rec_need = 5;
		ds->rclass = RC_HS;
		hs_reset(t, ds);
		ds->hs_hdr[0] = TLS_HS_CLIENT_HELLO;
		ds->hs_have = 4;
		ds->hs_sslv2 = true;
		ds->hs_len = ds->rec_left;
		ds->hs_toolarge = ds->hs_len > t->max_hs;
		ds->rec_have = 5;
		if (ds->rec_left == 0) {
			hs_reset(t, ds);
			rec_end(t, c, d);
		}
		return;
	}
	uint8_t type = cur_u8(&h);
	uint16_t ver = cur_u16(&h);
	uint16_t len = cur_u16(&h);
	bool valid = type >= REC_CCS && type <= REC_HEARTBEAT &&
		     (((ver >> 8) == 3 && (ver & 0xff) <= 4) || (c->dtls && tls_version_is_dtls(ver))) &&
		     len <= TLS_MAX_RECORD;
	if (ds->verify_next) {
		/* Same version as before the hole (a ClientHello record is often
		 * 0x0301 and the records after it 0x0303). */
		if (ds->last_ver && ver != ds->last_ver && !(ds->last_ver == 0x0301 && ver == 0x0303)) valid = false;
		flush_gap(t, c, d, valid);
		if (!valid) return; /* flush_gap stopped the direction */
	}
	if (!valid) {
		t->st.bad_records++;
		stop_dir(t, ds, DM_STOPPED);
		return;
	}
	ds->rec_type = type;
	ds->rec_ver = ver;
	ds->last_ver = ver;
	ds->rec_left = len;
	ds->rec_parse = len;
	if (ds->enc && !ds->enc13 && c->null_mac && len >= c->null_mac &&
	    (type == REC_HANDSHAKE || type == REC_ALERT)) {
		/* NULL encryption: plaintext, then the MAC. */
		ds->rec_parse = len - c->null_mac;
		ds->rclass = type == REC_HANDSHAKE ? RC_HS : RC_ALERT;
		if (type == REC_HANDSHAKE) ds->enc_hs_seen = true;
		if (len == 0) rec_end(t, c, d);
		return;
	}
	if (c->dec && c->dec->d[d].on) {
		ds->rec_count = dec_counted(c, d, type);
		if (dec_candidate(c, d, type, len)) {
			ds->rclass = RC_DEC;
			if (len == 0) rec_end(t, c, d);
			return;
		}
	}
	ds->rclass = (uint8_t)classify(t, c, d, type, len);
	if (len == 0) rec_end(t, c, d);
}

/* dec13: b was decrypted from a TLS 1.3 record. */
static void alert_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b, bool dec13)
{
	struct tls_dir *ds = &c->d[d];
	while (cur_left(b)) {
		if (ds->al_have == 0) {
			ds->al_level = cur_u8(b);
			ds->al_have = 1;
			continue;
		}
		uint8_t desc = cur_u8(b);
		ds->al_have = 0;
		struct tls_event ev;
		ev_init(&ev, c, TLS_EV_ALERT, d, ds->rec_ver, c->pkt);
		ev.u.alert.level = ds->al_level;
		ev.u.alert.desc = desc;
		if (dec13 && ds->al_level == 2 && c->view.client_finished && c->view.server_finished &&
		    !(role_of(c, d) == TLS_ROLE_CLIENT ? c->view.client_app_bytes : c->view.server_app_bytes)) {
			/* TLS 1.3: the server checks the client's certificate after
			 * its own Finished; a fatal alert before any application
			 * data means the handshake did not complete. */
			c->view.aborted_after_finished = true;
		}
		t->st.alerts++;
		emit(t, &ev);
	}
}

static void body_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *body)
{
	struct tls_dir *ds = &c->d[d];
	size_t n = cur_left(body) < ds->rec_parse ? cur_left(body) : ds->rec_parse;
	struct cur p = cur_sub(body, n);
	ds->rec_parse -= (uint32_t)n;
	if (ds->rclass == RC_DEC) dec_record(t, c, d, &p);
	else if (ds->rclass == RC_HS) hs_feed(t, c, d, &p);
	else alert_feed(t, c, d, &p, false);
	cur_skip(body, cur_left(body)); /* a NULL-cipher MAC */
}

/* Parse the buffered record body.  early: the record is cut short (hole,
 * end of stream): its complete messages are reported, in the frame of the
 * chunk that brought their last byte. */
static void rbuf_flush(struct tls_ctx *t, struct tls_conn *c, int d, bool early)
{
	struct tls_dir *ds = &c->d[d];
	if (!ds->rbuf_have) {
		rbuf_free(t, ds);
		return;
	}
	uint8_t *buf = ds->rbuf;
	size_t n = ds->rbuf_have;
	bool spare = ds->rbuf_spare;
	ds->rbuf = NULL;
	ds->rbuf_have = 0;
	const struct ek_pktref *saved = c->pkt;
	struct ek_pktref bp = ds->rbuf_pkt;
	if (early) c->pkt = &bp;
	struct cur body = cur_make(buf, n);
	/* a protected record is decrypted whole or not at all */
	if (!ds->rec_damaged && ds->mode == DM_RECORDS && !(early && ds->rclass == RC_DEC)) body_feed(t, c, d, &body);
	c->pkt = saved;
	buf_put(t, buf, spare ? 0 : SIZE_MAX);
}

static void rec_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in)
{
	struct tls_dir *ds = &c->d[d];
	while (ds->mode == DM_RECORDS && cur_left(in)) {
		if (ds->rec_have < ds->rec_need) {
			if (ds->rec_have == 0 && cur_has(in, ds->rec_need)) {
				cur_copy(in, ds->rec_hdr, ds->rec_need);
				ds->rec_have = ds->rec_need;
			} else {
				ds->rec_hdr[ds->rec_have++] = cur_u8(in);
			}
			if (ds->rec_have == ds->rec_need) rec_header(t, c, d);
			continue;
		}
		size_t k = cur_left(in) < ds->rec_left ? cur_left(in) : ds->rec_left;
		bool parse = !ds->rec_damaged && (ds->rclass == RC_HS || ds->rclass == RC_ALERT || ds->rclass == RC_DEC);
		if (!parse) {
			if (ds->rec_count) dec_skip_bytes(c, d, in, k);
			cur_skip(in, k); /* counted, never copied */
			ds->rec_left -= (uint32_t)k;
		} else if (ds->rbuf_have == 0 && k == ds->rec_left) {
			/* The (rest of the) record is in this chunk: parse in place. */
			struct cur body = cur_sub(in, k);
			ds->rec_left = 0;
			body_feed(t, c, d, &body);
		} else {
			/* Messages are reported when their record is complete (the
			 * frame Wireshark shows them in): keep the body until then. */
			if (!ds->rbuf) {
				size_t want = ds->rbuf_have + ds->rec_left;
				ds->rbuf = buf_get(t, want);
				ds->rbuf_spare = want <= SPARE_BUF_SIZE;
				if (!ds->rbuf) {
					stop_dir(t, ds, DM_STOPPED);
					break;
				}
			}
			const uint8_t *src = cur_bytes(in, k);
			if (src) memcpy(ds->rbuf + ds->rbuf_have, src, k);
			ds->rbuf_have += (uint32_t)k;
			ds->rec_left -= (uint32_t)k;
			if (c->pkt) ds->rbuf_pkt = *c->pkt;
			if (ds->rec_left == 0) rbuf_flush(t, c, d, false);
		}
		if (ds->rec_left == 0 && ds->mode == DM_RECORDS) rec_end(t, c, d);
	}
	if (ds->mode != DM_RECORDS) cur_skip(in, cur_left(in));
}

/* ---- scanning ------------------------------------------------------------------- */

enum pat { PAT_NO, PAT_MORE, PAT_FIRST, PAT_SSLV2, PAT_HS, PAT_ALERT, PAT_RESYNC, PAT_VERIFIED, PAT_OPAQUE };

/* Each pattern test reads w, a cursor on a copy of the stream at the
 * tested position (its own copy of the cursor: nothing is consumed), and
 * returns 1 match, 0 no match, -1 needs more bytes.  need(w, n) is the
 * "more bytes" test before n more bytes are read. */
static inline bool need(const struct cur *w, size_t n) { return !cur_has(w, n); }

/* A record header: type in [lo, hi], 03 0x (x <= 4, or == ver's when ver
 * is set), length 1..TLS_MAX_RECORD (*len).  w is left after it. */
static int pat_hdr(struct cur *w, uint8_t lo, uint8_t hi, uint16_t ver, unsigned *len)
{
	if (need(w, 1)) return -1;
	uint8_t type = cur_u8(w);
	if (type < lo || type > hi) return 0;
	if (need(w, 1)) return -1;
	if (cur_u8(w) != 3) return 0;
	if (need(w, 1)) return -1;
	uint8_t minor = cur_u8(w);
	if (minor > 4 || (ver && minor != (ver & 0xff))) return 0;
	if (need(w, 2)) return -1;
	*len = cur_u16(w);
	return *len >= 1 && *len <= TLS_MAX_RECORD;
}

static int pat_record(struct cur w, uint8_t lo, uint8_t hi, uint16_t ver)
{
	unsigned len;
	return pat_hdr(&w, lo, hi, ver, &len);
}

/* A handshake record starting with a hello of a type in `mask` (bit per type). */
static int pat_hs_start(struct cur w, unsigned mask)
{
	unsigned rl;
	int r = pat_hdr(&w, REC_HANDSHAKE, REC_HANDSHAKE, 0, &rl);
	if (r <= 0) return r;
	if (rl < 42) return 0;
	if (need(&w, 1)) return -1;
	uint8_t type = cur_u8(&w);
	if (type > 7 || !(mask & (1u << type))) return 0;
	if (need(&w, 3)) return -1;
	uint32_t hl = cur_u24(&w);
	if (hl < 38 || hl > 0x20000) return 0;
	if (hl + 4 > rl && rl < 512) return 0;
	if (need(&w, 2)) return -1;
	uint8_t major = cur_u8(&w), minor = cur_u8(&w); /* the hello's version */
	return major == 3 && minor <= 4;
}

/* A plaintext alert record: 15 03 0x 00 02 level desc. */
static int pat_alert(struct cur w)
{
	unsigned len;
	int r = pat_hdr(&w, REC_ALERT, REC_ALERT, 0, &len);
	if (r <= 0) return r;
	if (len != 2) return 0;
	if (need(&w, 2)) return -1;
	uint8_t level = cur_u8(&w), desc = cur_u8(&w);
	return (level == 1 || level == 2) && tls_alert_name(desc) != NULL;
}

/* SSLv2-compatible ClientHello (RFC 5246 E.2). */
static int pat_sslv2(struct cur w)
{
	if (need(&w, 1)) return -1;
	uint8_t len_hi = cur_u8(&w);
	if (!(len_hi & 0x80)) return 0;
	if (need(&w, 2)) return -1;
	unsigned len = ((unsigned)len_hi & 0x7f) << 8 | cur_u8(&w);
	if (cur_u8(&w) != 1) return 0; /* msg_type CLIENT-HELLO */
	if (need(&w, 2)) return -1;
	uint16_t ver = cur_u16(&w);
	if (!((ver >= 0x0300 && ver <= 0x0304) || ver == 0x0002)) return 0; /* or SSL 2.0 itself */
	if (need(&w, 6)) return -1;
	unsigned csl = cur_u16(&w), sidl = cur_u16(&w), chl = cur_u16(&w);
	if (csl == 0 || csl % 3 || (sidl != 0 && sidl != 16) || chl < 16 || chl > 32) return 0;
	return 9 + csl + sidl + chl == len;
}

/* OpenVPN over TCP: the first packet is a u16 length and a hard-reset
 * opcode (P_CONTROL_HARD_RESET_CLIENT_V2/V3, _SERVER_V2, key id 0).  Its
 * TLS records are cut into P_CONTROL packets with OpenVPN headers in
 * between, so they cannot be parsed as a record stream; without this the
 * hello scan would lock onto a fragment and report garbage. */
static int pat_openvpn(struct cur w)
{
	if (need(&w, 3)) return -1;
	unsigned len = cur_u16(&w);
	uint8_t op = cur_u8(&w);
	return len >= 10 && len <= 1600 && (op == 0x38 || op == 0x40 || op == 0x50);
}

static bool resync_ok(const struct tls_conn *c, const struct tls_dir *ds)
{
	return ds->pos_unknown && (c->tls_port || c->view.is_tls);
}

static enum pat test_pos(const struct tls_conn *c, int d, const uint8_t *bytes, size_t a)
{
	struct cur w = cur_make(bytes, a);
	const struct tls_dir *ds = &c->d[d];
	bool more = false;
	int r;
	if (ds->rs_active) {
		r = pat_record(w, REC_CCS, REC_HEARTBEAT, ds->rs_ver);
		return r > 0 ? PAT_VERIFIED : r < 0 ? PAT_MORE : PAT_NO;
	}
	if (ds->first_pending) {
		if (!c->view.is_tls) {
			r = pat_openvpn(w);
			if (r > 0) return PAT_OPAQUE;
			more |= r < 0;
		}
		r = pat_sslv2(w);
		if (r > 0) return PAT_SSLV2;
		more |= r < 0;
		bool any = c->tls_port || c->view.is_tls;
		r = pat_record(w, any ? REC_CCS : REC_HANDSHAKE, any ? REC_HEARTBEAT : REC_HANDSHAKE, 0);
		if (r > 0) return PAT_FIRST;
		more |= r < 0;
	}
	unsigned mask = (1u << TLS_HS_CLIENT_HELLO) | (1u << TLS_HS_SERVER_HELLO);
	if (c->view.roles_known)
		mask = d == c->client_dir ? 1u << TLS_HS_CLIENT_HELLO : 1u << TLS_HS_SERVER_HELLO;
	r = pat_hs_start(w, mask);
	if (r > 0) return PAT_HS;
	more |= r < 0;
	if (c->view.is_tls) {
		r = pat_alert(w);
		if (r > 0) return more ? PAT_MORE : PAT_ALERT;
		more |= r < 0;
	}
	if (resync_ok(c, ds)) {
		r = pat_record(w, REC_CCS, REC_HEARTBEAT, 0);
		if (r > 0 && !more) return PAT_RESYNC;
		more |= r < 0;
	}
	return more ? PAT_MORE : PAT_NO;
}

/* First bytes that can start a pattern at all. */
static bool candidate_byte(const struct tls_conn *c, const struct tls_dir *ds, uint8_t b)
{
	if (b == REC_HANDSHAKE) return true;
	if (b == REC_ALERT && c->view.is_tls) return true;
	return b >= REC_CCS && b <= REC_HEARTBEAT && resync_ok(c, ds);
}

/* Start parsing records at the current scan position: the carry first,
 * then whatever is left of `in` (the caller's loop feeds it). */
static void scan_commit(struct tls_ctx *t, struct tls_conn *c, int d, enum pat p)
{
	struct tls_dir *ds = &c->d[d];
	uint8_t carry[WIN];
	size_t n = ds->win_n;
	memcpy(carry, ds->win, n);
	ds->win_n = 0;
	ds->mode = DM_RECORDS;
	ds->rec_have = 0;
	ds->rec_need = p == PAT_SSLV2 ? 2 : 5;
	ds->rs_active = false;
	/* Where the first bytes were not the start of the stream, a
	 * handshake record need not start with a message header. */
	ds->hs_assumed = p == PAT_VERIFIED || p == PAT_RESYNC || (p == PAT_FIRST && ds->pos_unknown);
	ds->midstream = ds->hs_assumed;
	mark_tls(t, c);
	struct cur cc = cur_make(carry, n);
	rec_feed(t, c, d, &cc);
}

static void scan_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in)
{
	struct tls_dir *ds = &c->d[d];
	while (ds->mode == DM_SCAN && (cur_left(in) || ds->win_n)) {
		if (ds->rs_active && ds->rs_skip) {
			/* Skipping the body of a resync candidate record. */
			size_t k = ds->win_n < ds->rs_skip ? ds->win_n : ds->rs_skip;
			memmove(ds->win, ds->win + k, ds->win_n - k);
			ds->win_n = (uint8_t)(ds->win_n - k);
			size_t k2 = ds->rs_skip - k;
			if (k2 > cur_left(in)) k2 = cur_left(in);
			cur_skip(in, k2);
			ds->rs_skip -= (uint32_t)(k + k2);
			ds->scan_bytes += (uint32_t)(k + k2);
			if (ds->rs_skip) return;
			continue;
		}
		if (!ds->rs_active && ds->scan_bytes >= TLS_SCAN_LIMIT) {
			stop_dir(t, ds, DM_EXHAUSTED);
			return;
		}
		if (ds->win_n == 0 && !ds->first_pending && !ds->rs_active) {
			/* Fast path: jump to the next byte that can start a pattern. */
			size_t lim = cur_left(in);
			size_t budget = TLS_SCAN_LIMIT - ds->scan_bytes;
			if (lim > budget) lim = budget;
			size_t skip = lim;
			const uint8_t *r = cur_rest(in);
			if (r && lim) {
				if (resync_ok(c, ds)) {
					struct cur s = cur_make(r, lim);
					skip = 0;
					while (cur_left(&s) && !candidate_byte(c, ds, cur_u8(&s))) skip++;
				} else {
					const uint8_t *h = memchr(r, REC_HANDSHAKE, lim);
					if (h) skip = (size_t)(h - r);
					if (c->view.is_tls) {
						const uint8_t *al = memchr(r, REC_ALERT, skip);
						if (al) skip = (size_t)(al - r);
					}
				}
			}
			cur_skip(in, skip);
			ds->scan_bytes += (uint32_t)skip;
			if (!cur_left(in) || ds->scan_bytes >= TLS_SCAN_LIMIT) continue;
		}
		/* Test this position: carry plus a peek at the chunk. */
		uint8_t w[WIN];
		size_t a = ds->win_n;
		memcpy(w, ds->win, a);
		struct cur peek = *in;
		while (a < WIN && cur_left(&peek)) w[a++] = cur_u8(&peek);
		enum pat p = test_pos(c, d, w, a);
		if (p == PAT_MORE) {
			/* Keep the bytes from this position on (fewer than WIN). */
			while (ds->win_n < a) ds->win[ds->win_n++] = cur_u8(in);
			return;
		}
		if (p == PAT_NO) {
			if (ds->rs_active) {
				ds->rs_active = false; /* second header missing: scan on from here */
				continue;
			}
			if (ds->win_n) {
				memmove(ds->win, ds->win + 1, ds->win_n - 1u);
				ds->win_n--;
			} else {
				cur_skip(in, 1);
			}
			ds->scan_bytes++;
			ds->first_pending = false;
			continue;
		}
		ds->first_pending = false;
		if (p == PAT_OPAQUE) {
			/* OpenVPN over TCP wraps TLS in its own packets: openvpn.c
			 * takes the stream apart and feeds the TLS back here. */
			uint8_t carry[WIN];
			size_t n = ds->win_n;
			memcpy(carry, ds->win, n);
			ds->win_n = 0;
			if (!(c->ovpn = ovpn_new(true))) {
				stop_dir(t, &c->d[0], DM_EXHAUSTED);
				stop_dir(t, &c->d[1], DM_EXHAUSTED);
				return;
			}
			t->st.openvpn_conns++;
			tls_conn_as_dtls(t, c, true);
			c->ovpn_busy = true;
			ovpn_stream(t, c, c->ovpn, d, carry, n, c->pkt);
			ovpn_stream(t, c, c->ovpn, d, cur_rest(in), cur_left(in), c->pkt);
			c->ovpn_busy = false;
			cur_skip(in, cur_left(in));
			return;
		}
		if (p == PAT_RESYNC) {
			/* Candidate header: its length must lead to another one. */
			ds->rs_active = true;
			ds->rs_ver = (uint16_t)(w[1] << 8 | w[2]);
			ds->rs_skip = 5u + ((unsigned)w[3] << 8 | w[4]);
			continue;
		}
		scan_commit(t, c, d, p);
		return;
	}
}

/* ---- DTLS (dtls.c), OpenVPN (openvpn.c) --------------------------------------------- */

static void check_not_tls(struct tls_ctx *t, struct tls_conn *c);

void tls_conn_as_dtls(struct tls_ctx *t, struct tls_conn *c, bool openvpn)
{
	c->dtls = !openvpn;
	c->view.dtls = !openvpn;
	c->view.openvpn = openvpn;
	for (int d = 0; d < 2; d++) {
		struct tls_dir *ds = &c->d[d];
		if (ds->mode != DM_INIT && ds->mode != DM_SCAN) continue;
		ds->mode = DM_RECORDS;
		ds->rec_need = 5;
		ds->win_n = 0;
		ds->first_pending = false;
		ds->midstream = true; /* application data is encrypted even without a CCS seen */
	}
	if (!openvpn) mark_tls(t, c); /* OpenVPN: once its first packet's layout fits */
}

void tls_conn_openvpn_found(struct tls_ctx *t, struct tls_conn *c, bool yes)
{
	if (yes) {
		mark_tls(t, c);
		return;
	}
	stop_dir(t, &c->d[0], DM_EXHAUSTED);
	stop_dir(t, &c->d[1], DM_EXHAUSTED);
	check_not_tls(t, c);
}

void tls_conn_missing(struct tls_ctx *t, struct tls_conn *c, int d, uint64_t bytes, const char *incomplete,
		      const struct ek_pktref *pkt)
{
	struct tls_event ev;
	c->pkt = pkt;
	t->st.gaps++;
	ev_init(&ev, c, TLS_EV_DATA_MISSING, d, c->d[d].last_ver, pkt);
	ev.u.missing.bytes = bytes;
	ev.u.missing.resumed = true;
	emit(t, &ev);
	if (incomplete) emit_incomplete(t, c, d, incomplete, pkt);
}

void tls_conn_dir_encrypted(struct tls_ctx *t, struct tls_conn *c, int d)
{
	struct tls_dir *ds = &c->d[d];
	if (ds->enc || ds->enc13 || ds->mode != DM_RECORDS) return;
	hs_reset(t, ds);
	ds->hs_lost = false;
	ds->enc = true;
}

void tls_conn_openvpn_crypt(struct tls_ctx *t, struct tls_conn *c, const struct ek_pktref *pkt)
{
	(void)pkt;
	if (c->view.tls_crypt) return;
	c->view.tls_crypt = true;
	t->st.openvpn_tls_crypt++;
}

void tls_learn_client(struct tls_conn *c, int d)
{
	learn_client(c, d);
}

struct tls_stats *tls_ctx_stats(struct tls_ctx *t)
{
	return &t->st;
}

/* ---- connection API ----------------------------------------------------------------- */

static bool port_is_tls(const struct tls_ctx *t, uint16_t port)
{
	for (size_t i = 0; i < t->n_ports; i++)
		if (t->ports[i] == port) return true;
	return false;
}

struct tls_conn *tls_conn_new(struct tls_ctx *t, const struct tls_conn_params *p, const struct ek_pktref *pkt)
{
	struct tls_conn *c = t->spare_conns;
	if (c) {
		t->spare_conns = c->next_spare;
		t->n_spare_conns--;
		memset(c, 0, sizeof *c);
	} else if (!(c = calloc(1, sizeof *c))) {
		return NULL;
	}
	c->view.id = p->id;
	c->view.udp = (p->id & EK_CONN_UDP) != 0;
	c->view.file_index = p->file_index;
	c->ep[0] = p->ep[0];
	c->ep[1] = p->ep[1];
	c->syn_seen = p->syn_seen;
	bool tls0 = port_is_tls(t, p->ep[0].port), tls1 = port_is_tls(t, p->ep[1].port);
	c->tls_port = tls0 || tls1;
	c->verdict = TLS_UNDECIDED;
	for (int d = 0; d < 2; d++) {
		c->d[d].rec_need = 5;
		c->d[d].pos_unknown = !p->syn_seen;
	}
	if (p->initiator == 0 || p->initiator == 1) {
		set_client(c, p->initiator, true);
	} else if (tls0 != tls1) {
		set_client(c, tls0 ? 1 : 0, false); /* the side on a TLS port serves */
	} else {
		set_client(c, p->ep[1].port > p->ep[0].port ? 1 : 0, false); /* higher port: client */
	}
	c->pkt = pkt;
	if (p->syn_seen) {
		struct tls_event ev;
		ev_init(&ev, c, TLS_EV_TCP_OPEN, c->client_dir, 0, pkt);
		emit(t, &ev);
	}
	return c;
}

/* No TLS can start in this direction any more. */
static bool dir_done(const struct tls_dir *ds)
{
	return ds->mode == DM_EXHAUSTED || ds->mode == DM_CLOSED || (ds->fin && ds->mode != DM_RECORDS);
}

static void check_not_tls(struct tls_ctx *t, struct tls_conn *c)
{
	if (c->view.is_tls || c->verdict == TLS_NOT_TLS) return;
	if (dir_done(&c->d[0]) && dir_done(&c->d[1])) {
		c->verdict = TLS_NOT_TLS;
		c->counted_not_tls = true;
		t->st.conns_not_tls++;
	}
}

/* ---- holding a connection for its secrets (tls_opts.hold) ---------- */

static void unlink_held(struct tls_ctx *t, struct tls_conn *c)
{
	for (struct tls_conn **pp = &t->held; *pp; pp = &(*pp)->next_held)
		if (*pp == c) {
			*pp = c->next_held;
			break;
		}
	c->next_held = NULL;
}

static void conn_end_now(struct tls_ctx *t, struct tls_conn *c, const struct ek_pktref *pkt);

/* Replay what was held, in order, with its packets: with the secrets if
 * the key log has them now, else as without keys.  A connection that
 * ended meanwhile ends now (c is freed then). */
static void hold_release(struct tls_ctx *t, struct tls_conn *c)
{
	struct tls_hold *h = c->hold;
	unlink_held(t, c);
	c->hold = NULL;
	const struct tls_keylog_entry *e = tls_keylog_find(t->keys, h->random);
	bool resumed = c->dec && c->dec->have_entry; /* a resumed session's secret (tls_resume.h) */
	if ((e && entry_complete(e)) || resumed) t->st.held_keyed++;
	else t->st.held_timeout++;
	if (e) dec_use(t, c, e, h->random, h->early_data);
	struct hold_item *it;
	bool ended = false;
	struct ek_pktref end_pkt;
	while ((it = tls_hold_take(h, &t->held_bytes))) {
		switch (it->kind) {
		case HOLD_DATA: tls_conn_data(t, c, it->dir, it->bytes, it->n, &it->pkt); break;
		case HOLD_GAP: tls_conn_gap(t, c, it->dir, it->missing, &it->pkt); break;
		case HOLD_FIN: tls_conn_fin(t, c, it->dir, &it->pkt); break;
		case HOLD_RST: tls_conn_rst(t, c, it->dir, &it->pkt); break;
		default:
			ended = true;
			end_pkt = it->pkt;
			break;
		}
		c->held_pkt = it->pkt; /* events and c->pkt must not point into freed items */
		c->pkt = &c->held_pkt;
		free(it);
	}
	tls_hold_free(h, &t->held_bytes);
	if (ended) conn_end_now(t, c, &end_pkt);
}

/* A call about a held connection: queued.  False when it could not be
 * (a bound): then the connection is released and the call made now. */
static bool hold_call(struct tls_ctx *t, struct tls_conn *c, enum hold_kind k, int dir, const uint8_t *b, size_t n,
		      uint64_t missing, const struct ek_pktref *pkt)
{
	if (tls_hold_push(c->hold, &t->held_bytes, k, dir, b, n, missing, pkt) == 0) return true;
	t->st.held_bounds++;
	tls_keylog_refresh(t->follow);
	hold_release(t, c);
	return false;
}

void tls_tick(struct tls_ctx *t)
{
	if (!t || !t->held) return;
	tls_keylog_refresh(t->follow);
	int64_t now = tls_hold_now_ms();
	struct tls_conn *c = t->held, *next;
	for (; c; c = next) {
		next = c->next_held;
		const struct tls_keylog_entry *e = tls_keylog_find(t->keys, c->hold->random);
		bool resumed = c->dec && c->dec->have_entry; /* no key log line needed */
		if ((e && entry_complete(e)) || resumed || tls_hold_expired(c->hold, now)) hold_release(t, c);
	}
}

void tls_release_held(struct tls_ctx *t)
{
	if (!t) return;
	tls_keylog_refresh(t->follow);
	while (t->held) hold_release(t, t->held);
}

enum tls_verdict tls_conn_data(struct tls_ctx *t, struct tls_conn *c, int dir, const uint8_t *b, size_t n,
			       const struct ek_pktref *pkt)
{
	if (!c || dir < 0 || dir > 1) return TLS_UNDECIDED;
	if (c->verdict == TLS_NOT_TLS) return TLS_NOT_TLS;
	/* OpenVPN: held (and replayed) as OpenVPN packets, not as the TLS inside them */
	if (c->hold && !c->ovpn_busy && hold_call(t, c, HOLD_DATA, dir, b, n, 0, pkt)) return c->verdict;
	if (c->ovpn && !c->ovpn_busy) {
		c->ovpn_busy = true;
		ovpn_stream(t, c, c->ovpn, dir, b, n, pkt);
		c->ovpn_busy = false;
		check_not_tls(t, c);
		return c->verdict;
	}
	struct tls_dir *ds = &c->d[dir];
	c->pkt = pkt;
	struct cur in = cur_make(b, n);
	while (cur_left(&in)) {
		switch (ds->mode) {
		case DM_INIT:
			ds->mode = DM_SCAN;
			ds->first_pending = true;
			break;
		case DM_SCAN: scan_feed(t, c, dir, &in); break;
		case DM_RECORDS: rec_feed(t, c, dir, &in); break;
		default: cur_skip(&in, cur_left(&in)); break;
		}
	}
	check_not_tls(t, c);
	return c->verdict;
}

void tls_conn_gap(struct tls_ctx *t, struct tls_conn *c, int dir, uint64_t missing, const struct ek_pktref *pkt)
{
	if (!c || dir < 0 || dir > 1 || c->verdict == TLS_NOT_TLS) return;
	if (c->hold && !c->ovpn_busy && hold_call(t, c, HOLD_GAP, dir, NULL, 0, missing, pkt)) return;
	if (c->ovpn && !c->ovpn_busy) {
		c->ovpn_busy = true;
		ovpn_stream_gap(t, c, c->ovpn, dir, pkt);
		c->ovpn_busy = false;
		return;
	}
	struct tls_dir *ds = &c->d[dir];
	c->pkt = pkt;
	t->st.gaps++;
	flush_gap(t, c, dir, false); /* a second hole before the first was resolved */

	struct tls_event ev;
	ev_init(&ev, c, TLS_EV_DATA_MISSING, dir, ds->last_ver, pkt);
	ev.u.missing.bytes = missing;
	const char *inc = NULL;

	switch (ds->mode) {
	case DM_INIT:
	case DM_SCAN:
		/* On a TLS port, a direction whose first bytes were never captured
		 * (snaplen cut, drops) is still shown: the engineer must see that
		 * the handshake is missing rather than nothing at all. */
		if (ds->mode == DM_INIT && c->tls_port) mark_tls(t, c);
		/* The scan goes on after the hole; this direction's start (or the
		 * carry) is gone, so resynchronisation becomes possible. */
		ds->mode = DM_SCAN;
		ds->first_pending = false;
		ds->pos_unknown = true;
		ds->win_n = 0;
		ds->rs_active = false;
		ds->rs_skip = 0;
		ds->scan_bytes += missing > TLS_SCAN_LIMIT ? TLS_SCAN_LIMIT : (uint32_t)missing;
		if (ds->scan_bytes >= TLS_SCAN_LIMIT) stop_dir(t, ds, DM_EXHAUSTED);
		break;
	case DM_RECORDS:
		rbuf_flush(t, c, dir, true);
		if (ds->mode != DM_RECORDS) break;
		if (ds->rec_have == 0 || (ds->rec_have == ds->rec_need && missing > ds->rec_left)) {
			/* The hole reaches a record boundary we will not see. */
			bool in_record = ds->rec_have != 0;
			inc = pending_name(ds);
			ds->rec_have = 0;
			ds->rec_left = 0;
			ds->rclass = RC_NONE;
			ds->rec_damaged = false;
			ds->rec_need = 5;
			hs_reset(t, ds);
			ds->al_have = 0;
			ds->hs_lost = true;
			if (c->dec) c->dec->d[dir].on = false; /* records were not seen: sequence numbers lost */
			ds->rec_count = false;
			if (missing == 0) {
				ev.u.missing.in_record = in_record;
				stop_dir(t, ds, DM_STOPPED);
				break;
			}
			/* Known amount: accept the next bytes only as a plausible header. */
			ds->gap_pending = true;
			ds->verify_next = true;
			ds->gap_bytes = missing;
			ds->gap_in_record = in_record;
			ds->gap_incomplete = inc;
			if (pkt) ds->gap_pkt = *pkt;
			else memset(&ds->gap_pkt, 0, sizeof ds->gap_pkt);
			return;
		}
		ev.u.missing.in_record = true;
		inc = pending_name(ds);
		if (ds->rec_have < ds->rec_need || missing == 0) {
			/* Partial header, or unknown amount: the next record is lost. */
			stop_dir(t, ds, DM_STOPPED);
			break;
		}
		/* missing <= rec_left: the record ends after the hole. */
		ev.u.missing.resumed = true;
		ds->rec_left -= (uint32_t)missing;
		ds->rec_parse = missing < ds->rec_parse ? ds->rec_parse - (uint32_t)missing : 0;
		if (ds->rclass == RC_HS && !ds->rec_damaged && !ds->hs_lost) {
			if (ds->hs_have == 4) {
				uint64_t rem = ds->hs_len - ds->hs_got;
				if (missing < rem) {
					/* Skip the rest of this message by its length. */
					ds->hs_got += (uint32_t)missing;
					buf_put(t, ds->hs_buf, ds->hs_len);
					ds->hs_buf = NULL;
					ds->hs_damaged = true;
				} else if (missing == rem) {
					hs_reset(t, ds); /* the next message starts after the hole */
				} else {
					hs_reset(t, ds);
					ds->hs_lost = true;
				}
			} else {
				hs_reset(t, ds);
				ds->hs_lost = true;
			}
		} else {
			ds->rec_damaged = true;
			ds->al_have = 0;
		}
		if (ds->rec_left == 0) {
			ds->rec_damaged = true;
			rec_end(t, c, dir);
		}
		break;
	default:
		break;
	}
	emit(t, &ev);
	if (inc) emit_incomplete(t, c, dir, inc, pkt);
	check_not_tls(t, c);
}

/* End of one direction's stream: report what it left unfinished. */
static void close_dir(struct tls_ctx *t, struct tls_conn *c, int d)
{
	struct tls_dir *ds = &c->d[d];
	flush_gap(t, c, d, false);
	if (ds->mode == DM_RECORDS) rbuf_flush(t, c, d, true);
	const char *inc = pending_name(ds);
	if (inc) emit_incomplete(t, c, d, inc, c->pkt);
	stop_dir(t, ds, DM_CLOSED);
}

/* FIN and RST are reported but do not end the parsing of the direction:
 * a spurious RST (middlebox, stale segment) can be followed by the real
 * data, and the capture layer decides what data belongs to the
 * connection.  What is left unfinished is reported at tls_conn_end. */
void tls_conn_fin(struct tls_ctx *t, struct tls_conn *c, int dir, const struct ek_pktref *pkt)
{
	if (!c || dir < 0 || dir > 1 || c->verdict == TLS_NOT_TLS) return;
	if (c->hold && hold_call(t, c, HOLD_FIN, dir, NULL, 0, 0, pkt)) return;
	c->pkt = pkt;
	c->d[dir].fin = true;
	emit_simple(t, c, TLS_EV_TCP_FIN, dir);
	check_not_tls(t, c);
}

void tls_conn_rst(struct tls_ctx *t, struct tls_conn *c, int dir, const struct ek_pktref *pkt)
{
	if (!c || dir < 0 || dir > 1 || c->verdict == TLS_NOT_TLS) return;
	if (c->hold && hold_call(t, c, HOLD_RST, dir, NULL, 0, 0, pkt)) return;
	c->pkt = pkt;
	c->d[dir].fin = true;
	emit_simple(t, c, TLS_EV_TCP_RESET, dir);
	check_not_tls(t, c);
}

void tls_conn_end(struct tls_ctx *t, struct tls_conn *c, const struct ek_pktref *pkt)
{
	if (!c) return;
	/* held: the end waits with the rest (hold_release ends it) */
	if (c->hold && hold_call(t, c, HOLD_END, -1, NULL, 0, 0, pkt)) return;
	conn_end_now(t, c, pkt);
}

static void conn_end_now(struct tls_ctx *t, struct tls_conn *c, const struct ek_pktref *pkt)
{
	c->pkt = pkt;
	if (c->ovpn) {
		c->ovpn_busy = true;
		ovpn_end(t, c, c->ovpn, pkt);
		c->ovpn = NULL;
	}
	if (c->verdict != TLS_NOT_TLS)
		for (int d = 0; d < 2; d++) close_dir(t, c, d);
	if (!c->view.is_tls && !c->counted_not_tls) t->st.conns_not_tls++;
	emit_simple(t, c, TLS_EV_CONN_END, -1);
	for (int d = 0; d < 2; d++) {
		hs_reset(t, &c->d[d]);
		rbuf_free(t, &c->d[d]);
	}
	dec_free(c->dec);
	if (SPARES_ON && t->n_spare_conns < SPARE_CONNS) {
		c->next_spare = t->spare_conns;
		t->spare_conns = c;
		t->n_spare_conns++;
	} else {
		free(c);
	}
}
