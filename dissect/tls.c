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
 * ends decryption of that direction (sequence numbers unknown).  DTLS 1.0
 * and 1.2 (dtls.c): the same keys (DTLS 1.2 as TLS 1.2, 1.0 as TLS 1.1),
 * but dtls.c decrypts the handshake and alert records of epoch > 0 itself
 * (tls_conn_dtls_open, with the record's epoch and sequence number), puts
 * the handshake fragments together and hands the plaintext back
 * (tls_conn_dtls_plain).  DTLS 1.3 is not decrypted. */
#include "tls.h"
#include "tls_conn.h"

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
enum tls_role role_of(const struct tls_conn *c, int d)
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
void learn_client(struct tls_conn *c, int d)
{
	if (!c->view.roles_known) set_client(c, d, true);
}

void ev_init(struct tls_event *ev, struct tls_conn *c, enum tls_event_kind kind, int d, uint16_t rec_ver,
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

void emit(struct tls_ctx *t, const struct tls_event *ev)
{
	if (t->sink.event) t->sink.event(t->sink.ctx, ev);
}

static void emit_simple(struct tls_ctx *t, struct tls_conn *c, enum tls_event_kind kind, int d)
{
	struct tls_event ev;
	ev_init(&ev, c, kind, d, d < 0 ? 0 : c->d[d].last_ver, c->pkt);
	emit(t, &ev);
}

void emit_incomplete(struct tls_ctx *t, struct tls_conn *c, int d, const char *what,
			    const struct ek_pktref *pkt)
{
	struct tls_event ev;
	ev_init(&ev, c, TLS_EV_RECORD_INCOMPLETE, d, c->d[d].last_ver, pkt);
	ev.u.incomplete = what;
	t->st.incomplete++;
	emit(t, &ev);
}

void mark_tls(struct tls_ctx *t, struct tls_conn *c)
{
	if (c->view.is_tls) return;
	c->view.is_tls = true;
	c->verdict = TLS_IS_TLS;
	t->st.conns_tls++;
	emit_simple(t, c, TLS_EV_CONN_TLS, -1);
}

/* ---- per-direction state helpers -------------------------------------------- */
/* ---- decryption with key log secrets ------------------------------------------- */
/* Every secret the version needs: TLS 1.3 handshake and application
 * traffic secrets of both sides, or the TLS <= 1.2 master secret. */
bool entry_complete(const struct tls_keylog_entry *e)
{
	unsigned all13 = 1u << TLS_SECRET_CHTS | 1u << TLS_SECRET_SHTS | 1u << TLS_SECRET_CATS0 | 1u << TLS_SECRET_SATS0;
	return (e->have & 1u << TLS_SECRET_MASTER) || (e->have & all13) == all13;
}

/* The connection decrypts with entry e (of random). */
void dec_use(struct tls_ctx *t, struct tls_conn *c, const struct tls_keylog_entry *e, const uint8_t *random,
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

/* ---- resumption (tls_resume.h) ---------------------------------------------- */
/* ---- handshake messages ------------------------------------------------------ */
/* ---- records ------------------------------------------------------------------- */
/* ---- scanning ------------------------------------------------------------------- */
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

void tls_conn_dtls_plain(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t ver, const uint8_t *b,
			 size_t n, const struct ek_pktref *pkt)
{
	struct tls_dir *ds = &c->d[d];
	if (ds->mode != DM_RECORDS) return;
	struct cur p = cur_make(b, n);
	c->pkt = pkt;
	ds->rec_ver = ds->last_ver = ver;
	if (type == REC_HANDSHAKE) hs_feed(t, c, d, &p);
	else if (type == REC_ALERT) alert_feed(t, c, d, &p, false);
}

void tls_conn_retransmission(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint64_t of_frame,
			     const struct ek_pktref *pkt)
{
	struct tls_event ev;
	c->pkt = pkt;
	ev_init(&ev, c, TLS_EV_RETRANSMISSION, d, c->d[d].last_ver, pkt);
	ev.u.retrans.type = type;
	ev.u.retrans.of_frame = of_frame;
	emit(t, &ev);
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
