/* Failed-handshake ladders: the steps kept per connection, and the
 * ladders the text report prints. */
#include "findings.h"
#include "findings_int.h"

/* Append src to dst (size bytes, *len used), truncating as snprintf
 * would: ladder_add runs for every event, and snprintf("%s") is costly. */
static void put_trunc(char *dst, size_t size, size_t *len, const char *src)
{
	size_t k = strlen(src);
	if (*len + k >= size) k = size - 1 - *len;
	memcpy(dst + *len, src, k);
	*len += k;
	dst[*len] = '\0';
}

void ladder_add(struct findings_conn *fc, const struct tls_event *ev, const struct row *rows, size_t n)
{
	if (!n) return;
	if (fc->n_steps == LADDER_MAX) {
		fc->dropped++;
		return;
	}
	unsigned i = fc->n_steps++;
	struct ladder_step *s = &fc->steps[i];
	s->frame = ev->pkt.frame;
	s->sec = ev->pkt.ts.sec;
	s->nsec = ev->pkt.ts.nsec;
	s->kind = (uint8_t)ev->kind;
	s->hs_type = ev->kind == TLS_EV_HANDSHAKE ? ev->u.hs.type :
		     ev->kind == TLS_EV_RETRANSMISSION ? ev->u.retrans.type : 0;
	s->sender = (uint8_t)ev->sender;
	s->is_cert = rows[0].cert != NULL;
	s->u.info = NULL;
	if (rows[0].cert) {
		s->u.cert = rows[0].cert;
		x509_ref(s->u.cert);
		fc->refs |= 1u << i;
	} else if (ev->kind == TLS_EV_ALERT || ev->kind == TLS_EV_DATA_MISSING || ev->kind == TLS_EV_RETRANSMISSION ||
		   (ev->kind == TLS_EV_HANDSHAKE && ev->u.hs.type == TLS_HS_CERTIFICATE)) {
		const char *d = rows[0].detail ? rows[0].detail : "(null)"; /* as printf */
		size_t dn = strnlen(d, STEP_INFO_LEN - 1);
		const char *in = str_intern(fc->f, d, dn);
		if (in) {
			s->u.info = (char *)(uintptr_t)in; /* not in refs: the table keeps it */
		} else {
			s->u.info = strndup(d, dn);
			if (s->u.info) fc->refs |= 1u << i;
		}
	}
}

/* A step's message and info columns, as the ladder prints them. */
static void step_text(const struct ladder_step *s, char event[STEP_EVENT_LEN], char info[STEP_INFO_LEN])
{
	size_t el = 0, il = 0;
	event[0] = info[0] = '\0';
	/* the row's event name, from the event's kind and handshake type */
	struct tls_event ev = { .kind = (enum tls_event_kind)s->kind };
	if (ev.kind == TLS_EV_RETRANSMISSION) ev.u.retrans.type = s->hs_type;
	else ev.u.hs.type = s->hs_type;
	put_trunc(event, STEP_EVENT_LEN, &el, detail_event_name(&ev));
	if (s->is_cert) {
		put_trunc(info, STEP_INFO_LEN, &il, s->u.cert->serial_hex);
		put_trunc(info, STEP_INFO_LEN, &il, "  ");
		put_trunc(info, STEP_INFO_LEN, &il, s->u.cert->parsed ? s->u.cert->eku : "(unparsable)");
	} else if (s->u.info) {
		put_trunc(info, STEP_INFO_LEN, &il, s->u.info);
	}
}

/* Plain-language meaning of the alerts that end certificate problems. */
const char *alert_meaning(uint8_t desc)
{
	switch (desc) {
	case 40: return "no acceptable parameters (cipher, version, or a required certificate)";
	case 42: return "the peer rejected the certificate";
	case 43: return "the peer rejected the certificate's type or purpose (EKU)";
	case 44: return "the certificate was revoked";
	case 45: return "the certificate has expired";
	case 46: return "the peer could not validate the certificate";
	case 48: return "the peer does not trust the issuing CA";
	case 49: return "access denied";
	case 70: return "no common protocol version";
	case 112: return "the server does not know the requested name (SNI)";
	case 116: return "the server requires a client certificate";
	default: return NULL;
	}
}

void findings_print_ladders(const struct findings *f, FILE *fp)
{
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < f->n_aggs; i++) {
		const struct agg *a = f->aggs[i];
		if (a->code == F_HANDSHAKE_FAILED && (a->ladder || a->ladder_left)) total++;
	}
	if (!total) return;
	fprintf(fp, "\nFAILED HANDSHAKES (%zu distinct)\n", total);
	for (size_t i = 0; i < f->n_aggs && shown < LADDERS_SHOWN; i++) {
		const struct agg *a = f->aggs[i];
		if (a->code != F_HANDSHAKE_FAILED || !a->ladder) continue;
		shown++;
		char buf[512];
		fprintf(fp, "\n  %s", sanitize_str(a->ladder->title, buf, sizeof buf));
		if (a->count > 1) fprintf(fp, "  (and %llu more like it)", (unsigned long long)a->count - 1);
		fprintf(fp, "\n    %-7s %-9s %-3s %-19s %s\n", "frame", "+ms", "dir", "message", "certificate / detail");
		const struct ladder *l = a->ladder;
		for (size_t k = 0; k < l->n; k++) {
			const struct ladder_step *s = &l->steps[k];
			const char *dir = s->sender == TLS_ROLE_CLIENT ? "C>S" : s->sender == TLS_ROLE_SERVER ? "S>C" : "";
			struct ek_time t0 = { l->steps[0].sec, l->steps[0].nsec }, ts = { s->sec, s->nsec };
			char event[STEP_EVENT_LEN], info[STEP_INFO_LEN];
			step_text(s, event, info);
			fprintf(fp, "    %-7llu %-9.1f %-3s %-19s %s\n", (unsigned long long)s->frame,
				ms_between(t0, ts), dir, event, sanitize_str(info, buf, sizeof buf));
		}
		if (l->dropped) fprintf(fp, "    ... %zu more steps\n", l->dropped);
	}
	if (total > shown) fprintf(fp, "\n  (%zu more failed handshakes: see --findings)\n", total - shown);
}
