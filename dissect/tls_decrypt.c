/* TLS record decryption with key log secrets and session resumption
 * (tls.c's opening comment: Decryption). */
#include "tls.h"
#include "tls_conn.h"

void dec_free(struct tls_dec *x)
{
	if (!x) return;
	OPENSSL_cleanse(x, sizeof *x);
	free(x);
}

bool dec_on(const struct tls_conn *c, int d)
{
	return c->dec && c->dec->d[d].on;
}

void emit_decrypt_failed(struct tls_ctx *t, struct tls_conn *c, int d, const char *why, bool handshake)
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

/* A ClientHello: the key log's secrets for its random, if any.  Live
 * with a followed key log, a first ClientHello without all of them holds
 * the connection until they arrive. */
void dec_client_hello(struct tls_ctx *t, struct tls_conn *c, const struct tls_client_hello *ch)
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
const char *dec_server_hello(struct tls_ctx *t, struct tls_conn *c, int d, const struct tls_server_hello *sh)
{
	struct tls_dec *x = c->dec;
	if (!x || !x->have_entry || sh->hello_retry) return NULL;
	uint16_t v = sh->selected_version;
	if (tls_version_is_13(v)) {
		if (!have_secret(x, TLS_SECRET_CHTS) && !have_secret(x, TLS_SECRET_SHTS)) return NULL;
		c->view.keys = true;
		if (c->dtls) return "DTLS 1.3 records are not decrypted";
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
	if (c->dtls) v = v == 0xfefd ? 0x0303 : v == 0xfeff ? 0x0302 : 0; /* DTLS 1.2 is TLS 1.2's, 1.0 TLS 1.1's */
	if (!v) return "this DTLS version is not decrypted";
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

/* A ClientHello: what it offers to resume; without a key log line for its
 * random, the master secret of the TLS 1.2 session it offers, if known
 * (dropped at the ServerHello unless the server resumes it). */
void resume_client_hello(struct tls_ctx *t, struct tls_conn *c, const struct tls_client_hello *ch)
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
void resume_server_hello(struct tls_ctx *t, struct tls_conn *c, struct tls_server_hello *sh)
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
void resume_ticket(struct tls_ctx *t, struct tls_conn *c, int d, const uint8_t *p, size_t n)
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
void dec_ccs(struct tls_ctx *t, struct tls_conn *c, int d)
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
bool dec_candidate(const struct tls_conn *c, int d, uint8_t type, uint16_t len)
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
bool dec_counted(const struct tls_conn *c, int d, uint8_t type)
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
void dec_skip_bytes(struct tls_conn *c, int d, const struct cur *in, size_t k)
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
void dec_record_end(struct tls_ctx *t, struct tls_conn *c, int d, bool counted, bool damaged)
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

static const char no_auth[] =
	"record does not authenticate with the key log's secret (wrong key, or records were not captured)";

/* DTLS 1.0/1.2 (dtls.c): one protected handshake or alert record of an
 * epoch > 0.  Its sequence number is the record's own epoch and 48-bit
 * number (RFC 6347 4.1.2.1), not a count of records: retransmitted and
 * lost datagrams do not shift it. */
int tls_conn_dtls_open(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t ver, uint64_t seq,
		       const uint8_t *body, size_t n, const struct ek_pktref *pkt, const uint8_t **out, size_t *out_len)
{
	if (!dec_on(c, d) || (type != REC_HANDSHAKE && type != REC_ALERT) || c->d[d].enc13) return 0;
	struct tls_dec_dir *dd = &c->dec->d[d];
	size_t len = 0;
	c->pkt = pkt;
	c->d[d].last_ver = ver;
	dd->cur.seq = seq;
	if (n > TLS_MAX_RECORD || tls_crypto_open(t->crypto, &dd->cur, type, ver, body, n, t->plain, &len) != 0) {
		dd->on = false;
		dd->failed = true;
		emit_decrypt_failed(t, c, d, no_auth, false);
		return -1;
	}
	dd->ok_any = true;
	c->d[d].enc_hs_seen = true; /* a record failing later is not the first encrypted one */
	t->st.records_decrypted++;
	*out = t->plain;
	*out_len = len;
	return 1;
}

/* A complete protected record body (ds->rclass RC_DEC). */
void dec_record(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *body)
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
		emit_decrypt_failed(t, c, d, ct && pt ? no_auth : "out of memory", hs_epoch);
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
