/* TLS records at a known position: headers, classes, bodies buffered
 * whole (spare buffers) or fed as they come, alerts; a direction's
 * stop, holes and the messages they cut. */
#include "tls.h"
#include "tls_conn.h"

/* A buffer of n bytes; n <= SPARE_BUF_SIZE comes from the spares. */
uint8_t *buf_get(struct tls_ctx *t, size_t n)
{
	if (n > SPARE_BUF_SIZE || !SPARES_ON) return malloc(n);
	if (t->n_spare_bufs) return t->spare_bufs[--t->n_spare_bufs];
	return malloc(SPARE_BUF_SIZE);
}

/* Give back a buffer of n bytes (the size it was asked for). */
void buf_put(struct tls_ctx *t, uint8_t *b, size_t n)
{
	if (SPARES_ON && b && n <= SPARE_BUF_SIZE && t->n_spare_bufs < SPARE_BUFS) t->spare_bufs[t->n_spare_bufs++] = b;
	else free(b);
}

void hs_reset(struct tls_ctx *t, struct tls_dir *ds)
{
	buf_put(t, ds->hs_buf, ds->hs_len);
	ds->hs_buf = NULL;
	ds->hs_have = 0;
	ds->hs_len = ds->hs_got = 0;
	ds->hs_sslv2 = ds->hs_damaged = ds->hs_toolarge = false;
}

void rbuf_free(struct tls_ctx *t, struct tls_dir *ds)
{
	buf_put(t, ds->rbuf, ds->rbuf_spare ? 0 : SIZE_MAX);
	ds->rbuf = NULL;
	ds->rbuf_have = 0;
}

void stop_dir(struct tls_ctx *t, struct tls_dir *ds, enum dmode why)
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
const char *pending_name(const struct tls_dir *ds)
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
void flush_gap(struct tls_ctx *t, struct tls_conn *c, int d, bool resumed)
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

static bool ccs_is_compat(const struct tls_conn *c, int d)
{
	if (c->v13) return true;
	return d == c->client_dir && !c->view.server_sent_hello && c->ch_offered13;
}

void rec_end(struct tls_ctx *t, struct tls_conn *c, int d)
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

/* How a record is handled without (usable) keys; counts application data.
 * Inline for rec_header, once per record; classify() for tls_decrypt.c. */
static inline enum rclass classify_rec(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t len)
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

enum rclass classify(struct tls_ctx *t, struct tls_conn *c, int d, uint8_t type, uint16_t len)
{
	return classify_rec(t, c, d, type, len);
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
	ds->rclass = (uint8_t)classify_rec(t, c, d, type, len);
	if (len == 0) rec_end(t, c, d);
}

/* dec13: b was decrypted from a TLS 1.3 record. */
void alert_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b, bool dec13)
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
void rbuf_flush(struct tls_ctx *t, struct tls_conn *c, int d, bool early)
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
	/* cut short: its events are the last chunk's, not this call's packet's */
	struct ek_pktref last_chunk = ds->rbuf_pkt;
	const struct ek_pktref *call = conn_pkt_as(c, early ? &last_chunk : c->pkt);
	struct cur body = cur_make(buf, n);
	/* a protected record is decrypted whole or not at all */
	if (!ds->rec_damaged && ds->mode == DM_RECORDS && !(early && ds->rclass == RC_DEC)) body_feed(t, c, d, &body);
	conn_pkt_as(c, call);
	buf_put(t, buf, spare ? 0 : SIZE_MAX);
}

/* rec_end for the records that give no event at their end and have no
 * decryption state to advance (nearly all): only the state is reset. */
static inline void rec_done(struct tls_ctx *t, struct tls_conn *c, int d)
{
	struct tls_dir *ds = &c->d[d];
	if (c->dec || ds->rec_damaged || ds->rclass == RC_CCS || ds->rclass == RC_ENC_ALERT ||
	    ds->rclass == RC_ENC_HS) {
		rec_end(t, c, d);
		return;
	}
	ds->rec_have = 0;
	ds->rec_left = 0;
	ds->rclass = RC_NONE;
	ds->rec_count = false;
}

void rec_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in)
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
		if (ds->rec_left == 0 && ds->mode == DM_RECORDS) rec_done(t, c, d);
	}
	if (ds->mode != DM_RECORDS) cur_skip(in, cur_left(in));
}
