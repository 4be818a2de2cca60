#include "detail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"

static void sb_sep(struct ek_str *b)
{
	if (b->len) ek_str_put(b, " ", 1);
}

static void version_list(struct ek_str *b, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = tls_version_name(v[i]);
		if (i) ek_str_put(b, ",", 1);
		if (name)
			ek_str_puts(b, name);
		else
			ek_str_printf(b, "0x%04x", v[i]);
	}
}

static void client_hello(struct ek_str *b, const struct tls_client_hello *ch)
{
	if (ch->sslv2) ek_str_puts(b, "sslv2-format");
	if (ch->sni) { sb_sep(b); ek_str_put(b, "sni=", 4); ek_str_puts(b, ch->sni); }
	if (ch->alpn) { sb_sep(b); ek_str_put(b, "alpn=", 5); ek_str_puts(b, ch->alpn); }
	if (ch->n_versions) {
		sb_sep(b);
		ek_str_put(b, "versions=", 9);
		version_list(b, ch->versions, ch->n_versions);
	} else {
		const char *v = tls_version_name(ch->legacy_version);
		sb_sep(b);
		if (v) { ek_str_put(b, "max=", 4); ek_str_puts(b, v); }
		else ek_str_printf(b, "max=0x%04x", ch->legacy_version);
	}
	sb_sep(b);
	ek_str_put(b, "ciphers=", 8);
	ek_str_putu(b, ch->n_ciphers);
}

static void server_hello(struct ek_str *b, const struct tls_server_hello *sh)
{
	const char *c = tls_cipher_name(sh->cipher);
	if (c) ek_str_puts(b, c);
	else ek_str_printf(b, "cipher=0x%04x", sh->cipher);
	if (sh->selected_version != sh->legacy_version || sh->hello_retry) {
		const char *v = tls_version_name(sh->selected_version);
		ek_str_put(b, " version=", 9);
		ek_str_puts(b, v ? v : "?");
	}
	if (sh->resumed) {
		static const char *const by[] = { "", "session ID", "session ticket", "PSK" };
		ek_str_printf(b, " resumed (%s): ", by[sh->resumed <= TLS_RESUMED_PSK ? sh->resumed : 0]);
		if (sh->resumed_from)
			ek_str_printf(b, "certificates as in conn %llu", (unsigned long long)(sh->resumed_from - 1));
		else
			ek_str_puts(b, "no certificates in this handshake; the connection that issued the session is "
				   "not known (not in this file, or its ticket was encrypted)");
	}
}

static void cert_request(struct ek_str *b, const struct tls_cert_request *cr)
{
	if (cr->n_cert_types) {
		ek_str_put(b, "types=", 6);
		for (size_t i = 0; i < cr->n_cert_types; i++) {
			const char *t = tls_cert_type_name(cr->cert_types[i]);
			if (i) ek_str_put(b, ",", 1);
			if (t) ek_str_puts(b, t);
			else ek_str_putu(b, cr->cert_types[i]);
		}
	}
	/* The signature list is long and rarely the problem: count it. */
	if (cr->n_sigalgs) {
		sb_sep(b);
		ek_str_put(b, "sigalgs=", 8);
		ek_str_putu(b, cr->n_sigalgs);
	}
	sb_sep(b);
	if (!cr->n_ca_names) {
		ek_str_puts(b, "cas=(any)");
		return;
	}
	ek_str_put(b, "cas=", 4);
	for (size_t i = 0; i < cr->n_ca_names; i++) {
		if (i) ek_str_put(b, " | ", 3);
		ek_str_puts(b, cr->ca_names[i]);
	}
}

/* The alert text into t (at least 96 bytes); its length. */
static size_t alert_text(const struct tls_alert *a, char *t)
{
	if (a->encrypted) {
		memcpy(t, "encrypted", 10);
		return 9;
	}
	const char *lvl = a->level == 1 ? "warning" : a->level == 2 ? "fatal" : "level?";
	const char *d = tls_alert_name(a->desc);
	if (!d) d = "unknown";
	size_t ll = strlen(lvl), dl = strlen(d);
	/* "level name(" + the number (ek_put_u64 may write EK_U64_DIGITS
	 * bytes) + ")" and the NUL must fit the 96 bytes */
	if (ll + dl + 4 + EK_U64_DIGITS > 96) {
		int k = snprintf(t, 96, "%s %s(%u)", lvl, d, a->desc);
		return k < 0 ? 0 : k > 95 ? 95 : (size_t)k;
	}
	char *p = t;
	memcpy(p, lvl, ll);
	p += ll;
	*p++ = ' ';
	memcpy(p, d, dl);
	p += dl;
	*p++ = '(';
	p = ek_put_u64(p, a->desc);
	*p++ = ')';
	*p = '\0';
	return (size_t)(p - t);
}

void detail_alert(const struct tls_alert *a, char *buf, size_t n)
{
	if (!n) return;
	char t[96];
	size_t len = alert_text(a, t);
	if (len >= sizeof t) len = sizeof t - 1;
	if (len >= n) len = n - 1;
	memcpy(buf, t, len);
	buf[len] = '\0';
}

const char *detail_event_name(const struct tls_event *ev)
{
	switch (ev->kind) {
	case TLS_EV_TCP_OPEN: return "TcpOpen";
	case TLS_EV_TCP_FIN: return "TcpFin";
	case TLS_EV_TCP_RESET: return "TcpReset";
	case TLS_EV_DATA_MISSING: return "data_missing";
	case TLS_EV_CCS: return "ChangeCipherSpec";
	case TLS_EV_ALERT: return "Alert";
	case TLS_EV_ENCRYPTED_HANDSHAKE: return "EncryptedHandshake";
	case TLS_EV_RECORD_INCOMPLETE: return "record_incomplete";
	case TLS_EV_DECRYPT_FAILED: return "decrypt_failed";
	case TLS_EV_HANDSHAKE:
	case TLS_EV_RETRANSMISSION: {
		const char *n = tls_handshake_name(ev->kind == TLS_EV_HANDSHAKE ? ev->u.hs.type : ev->u.retrans.type);
		return n ? n : "UnknownHandshake";
	}
	case TLS_EV_CONN_TLS:
	case TLS_EV_CONN_END: break;
	}
	return "";
}

size_t detail_text(const struct tls_event *ev, char **buf, size_t *cap)
{
	struct ek_str b = { *buf, 0, *buf ? *cap : 0, false };
	if (b.s) b.s[0] = '\0';
	switch (ev->kind) {
	case TLS_EV_HANDSHAKE: {
		const struct tls_handshake *hs = &ev->u.hs;
		if (hs->too_large) {
			ek_str_printf(&b, "%u bytes: over the %u KiB handshake message cap, not parsed", hs->length,
				  TLS_DEFAULT_MAX_HANDSHAKE / 1024u);
			break;
		}
		if (hs->malformed) {
			ek_str_printf(&b, "malformed (%u bytes)", hs->length);
			break;
		}
		switch (hs->type) {
		case TLS_HS_CLIENT_HELLO: client_hello(&b, &hs->u.ch); break;
		case TLS_HS_SERVER_HELLO:
		case TLS_HS_HELLO_RETRY_REQUEST: server_hello(&b, &hs->u.sh); break;
		case TLS_HS_CERTIFICATE:
			if (hs->u.cert.n_total == 0) {
				ek_str_puts(&b, "empty: no certificate");
			} else {
				ek_str_putu(&b, hs->u.cert.n_total);
				ek_str_puts(&b, hs->u.cert.n_total == 1 ? " certificate" : " certificates");
			}
			if (hs->u.cert.n_total > hs->u.cert.n_certs)
				ek_str_printf(&b, " (first %zu kept: chain cap)", hs->u.cert.n_certs);
			if (hs->u.cert.truncated) ek_str_puts(&b, " (list truncated)");
			break;
		case TLS_HS_CERTIFICATE_REQUEST: cert_request(&b, &hs->u.cr); break;
		default: break;
		}
		break;
	}
	case TLS_EV_ALERT: {
		char a[96];
		ek_str_put(&b, a, alert_text(&ev->u.alert, a));
		break;
	}
	case TLS_EV_DATA_MISSING:
		if (ev->u.missing.bytes)
			ek_str_printf(&b, "%llu bytes not captured", (unsigned long long)ev->u.missing.bytes);
		else
			ek_str_printf(&b, "bytes not captured");
		if (ev->u.missing.in_record)
			ek_str_printf(&b, ev->u.missing.resumed ? "; inside a record, parsing resumes at the next record"
							    : "; inside a record, rest of this direction not parsed");
		break;
	case TLS_EV_RECORD_INCOMPLETE:
		ek_str_printf(&b, "%s incomplete: bytes missing", ev->u.incomplete ? ev->u.incomplete : "record");
		break;
	case TLS_EV_DECRYPT_FAILED:
		ek_str_printf(&b, "%s; this direction is not decrypted further",
			  ev->u.decrypt.reason ? ev->u.decrypt.reason : "not decrypted");
		break;
	case TLS_EV_RETRANSMISSION:
		if (ev->u.retrans.of_frame)
			ek_str_printf(&b, "retransmission of frame %llu", (unsigned long long)ev->u.retrans.of_frame);
		else
			ek_str_puts(&b, "retransmission");
		break;
	default:
		break;
	}
	*buf = b.s;
	*cap = b.cap;
	return b.s ? b.len : 0;
}
