#include "detail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable string; on allocation failure it keeps what it has. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (!b->s) { /* room for most details: one vsnprintf instead of a sizing pass and a second one */
		b->s = malloc(128);
		if (b->s) {
			b->s[0] = '\0';
			b->cap = 128;
		}
	}
	for (int tries = 0; tries < 2; tries++) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = (b->cap + (size_t)n + 64) * 2;
		char *ns = realloc(b->s, nc);
		if (!ns) return;
		b->s = ns;
		b->cap = nc;
	}
}

static void sb_sep(struct sbuf *b)
{
	if (b->len) sb_printf(b, " ");
}

static void version_list(struct sbuf *b, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = tls_version_name(v[i]);
		if (name)
			sb_printf(b, "%s%s", i ? "," : "", name);
		else
			sb_printf(b, "%s0x%04x", i ? "," : "", v[i]);
	}
}

static void client_hello(struct sbuf *b, const struct tls_client_hello *ch)
{
	if (ch->sslv2) sb_printf(b, "sslv2-format");
	if (ch->sni) { sb_sep(b); sb_printf(b, "sni=%s", ch->sni); }
	if (ch->alpn) { sb_sep(b); sb_printf(b, "alpn=%s", ch->alpn); }
	if (ch->n_versions) {
		sb_sep(b);
		sb_printf(b, "versions=");
		version_list(b, ch->versions, ch->n_versions);
	} else {
		const char *v = tls_version_name(ch->legacy_version);
		sb_sep(b);
		if (v) sb_printf(b, "max=%s", v);
		else sb_printf(b, "max=0x%04x", ch->legacy_version);
	}
	sb_sep(b);
	sb_printf(b, "ciphers=%zu", ch->n_ciphers);
}

static void server_hello(struct sbuf *b, const struct tls_server_hello *sh)
{
	const char *c = tls_cipher_name(sh->cipher);
	if (c) sb_printf(b, "%s", c);
	else sb_printf(b, "cipher=0x%04x", sh->cipher);
	if (sh->selected_version != sh->legacy_version || sh->hello_retry) {
		const char *v = tls_version_name(sh->selected_version);
		sb_printf(b, " version=%s", v ? v : "?");
	}
}

static void cert_request(struct sbuf *b, const struct tls_cert_request *cr)
{
	if (cr->n_cert_types) {
		sb_printf(b, "types=");
		for (size_t i = 0; i < cr->n_cert_types; i++) {
			const char *t = tls_cert_type_name(cr->cert_types[i]);
			if (t) sb_printf(b, "%s%s", i ? "," : "", t);
			else sb_printf(b, "%s%u", i ? "," : "", cr->cert_types[i]);
		}
	}
	/* The signature list is long and rarely the problem: count it. */
	if (cr->n_sigalgs) {
		sb_sep(b);
		sb_printf(b, "sigalgs=%zu", cr->n_sigalgs);
	}
	sb_sep(b);
	if (!cr->n_ca_names) {
		sb_printf(b, "cas=(any)");
		return;
	}
	sb_printf(b, "cas=");
	for (size_t i = 0; i < cr->n_ca_names; i++)
		sb_printf(b, "%s%s", i ? " | " : "", cr->ca_names[i]);
}

void detail_alert(const struct tls_alert *a, char *buf, size_t n)
{
	if (a->encrypted) {
		snprintf(buf, n, "encrypted");
		return;
	}
	const char *lvl = a->level == 1 ? "warning" : a->level == 2 ? "fatal" : "level?";
	const char *d = tls_alert_name(a->desc);
	snprintf(buf, n, "%s %s(%u)", lvl, d ? d : "unknown", a->desc);
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
	case TLS_EV_HANDSHAKE: {
		const char *n = tls_handshake_name(ev->u.hs.type);
		return n ? n : "UnknownHandshake";
	}
	case TLS_EV_CONN_TLS:
	case TLS_EV_CONN_END: break;
	}
	return "";
}

char *detail_for_event(const struct tls_event *ev)
{
	struct sbuf b = { NULL, 0, 0 };
	switch (ev->kind) {
	case TLS_EV_HANDSHAKE: {
		const struct tls_handshake *hs = &ev->u.hs;
		if (hs->too_large) {
			sb_printf(&b, "%u bytes: over the %u KiB handshake message cap, not parsed", hs->length,
				  TLS_DEFAULT_MAX_HANDSHAKE / 1024u);
			break;
		}
		if (hs->malformed) {
			sb_printf(&b, "malformed (%u bytes)", hs->length);
			break;
		}
		switch (hs->type) {
		case TLS_HS_CLIENT_HELLO: client_hello(&b, &hs->u.ch); break;
		case TLS_HS_SERVER_HELLO:
		case TLS_HS_HELLO_RETRY_REQUEST: server_hello(&b, &hs->u.sh); break;
		case TLS_HS_CERTIFICATE:
			if (hs->u.cert.n_total == 0)
				sb_printf(&b, "empty: no certificate");
			else
				sb_printf(&b, "%zu certificate%s", hs->u.cert.n_total, hs->u.cert.n_total == 1 ? "" : "s");
			if (hs->u.cert.n_total > hs->u.cert.n_certs)
				sb_printf(&b, " (first %zu kept: chain cap)", hs->u.cert.n_certs);
			if (hs->u.cert.truncated) sb_printf(&b, " (list truncated)");
			break;
		case TLS_HS_CERTIFICATE_REQUEST: cert_request(&b, &hs->u.cr); break;
		default: break;
		}
		break;
	}
	case TLS_EV_ALERT: {
		char a[96];
		detail_alert(&ev->u.alert, a, sizeof a);
		sb_printf(&b, "%s", a);
		break;
	}
	case TLS_EV_DATA_MISSING:
		if (ev->u.missing.bytes)
			sb_printf(&b, "%llu bytes not captured", (unsigned long long)ev->u.missing.bytes);
		else
			sb_printf(&b, "bytes not captured");
		if (ev->u.missing.in_record)
			sb_printf(&b, ev->u.missing.resumed ? "; inside a record, parsing resumes at the next record"
							    : "; inside a record, rest of this direction not parsed");
		break;
	case TLS_EV_RECORD_INCOMPLETE:
		sb_printf(&b, "%s incomplete: bytes missing", ev->u.incomplete ? ev->u.incomplete : "record");
		break;
	case TLS_EV_DECRYPT_FAILED:
		sb_printf(&b, "%s; this direction is not decrypted further",
			  ev->u.decrypt.reason ? ev->u.decrypt.reason : "not decrypted");
		break;
	default:
		break;
	}
	if (!b.s) return strdup("");
	return b.s;
}
