/* Handshake messages: reassembled across records, dispatched to the
 * message parsers (tls_msg.c) and reported as events. */
#include "tls.h"
#include "tls_conn.h"

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

void set_finished(struct tls_conn *c, int d)
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
		if (ok && t->keys) dec_client_hello(t, c, &hs->u.ch);
		if (ok && !sslv2) resume_client_hello(t, c, &hs->u.ch);
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
void hs_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *b)
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
