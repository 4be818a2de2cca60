/* The short human text of a timeline row's `detail` column. */
#ifndef EK_DETAIL_H
#define EK_DETAIL_H

#include "../dissect/tls.h"

/* Timeline event name of ev ("ClientHello", "Alert", ...). */
const char *detail_event_name(const struct tls_event *ev);
/* False for the events that have no detail text (most of a capture's:
 * TCP flags, ChangeCipherSpec, key exchanges): detail_write answers those
 * without a call. */
static inline bool detail_has(const struct tls_event *ev)
{
	switch (ev->kind) {
	case TLS_EV_HANDSHAKE: {
		const struct tls_handshake *hs = &ev->u.hs;
		return hs->too_large || hs->malformed || hs->type == TLS_HS_CLIENT_HELLO ||
		       hs->type == TLS_HS_SERVER_HELLO || hs->type == TLS_HS_HELLO_RETRY_REQUEST ||
		       hs->type == TLS_HS_CERTIFICATE || hs->type == TLS_HS_CERTIFICATE_REQUEST;
	}
	case TLS_EV_ALERT:
	case TLS_EV_DATA_MISSING:
	case TLS_EV_RECORD_INCOMPLETE:
	case TLS_EV_DECRYPT_FAILED:
	case TLS_EV_RETRANSMISSION: return true;
	default: return false;
	}
}
/* detail_write's text, for an event detail_has is true of. */
size_t detail_text(const struct tls_event *ev, char **buf, size_t *cap);
/* Its detail text (raw: writers sanitise) into *buf (a heap buffer of
 * *cap bytes, or NULL: grown with realloc, kept for the next call); its
 * length.  *buf may stay NULL when the text is empty. */
static inline size_t detail_write(const struct tls_event *ev, char **buf, size_t *cap)
{
	return detail_has(ev) ? detail_text(ev, buf, cap) : 0;
}
/* "fatal unsupported_certificate(43)" into buf. */
void detail_alert(const struct tls_alert *a, char *buf, size_t n);

#endif
