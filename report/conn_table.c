#include "conn_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "findings.h"

struct conn_table {
	struct x509_cache *cache;
	bool stream;
	conn_table_emit_fn emit;
	void *ctx;
	struct conn_info **done;     /* ended TLS connections (not streamed) */
	size_t n_done, cap_done;
	struct conn_info **live;     /* running ones, to free what never ended */
	size_t n_live, cap_live;
	bool keep_steps, all_steps;
};

void conn_table_keep_steps(struct conn_table *t, bool all)
{
	t->keep_steps = true;
	t->all_steps = all;
}

static void steps_free(struct conn_info *ci)
{
	for (uint16_t i = 0; i < ci->n_steps; i++) free(ci->steps[i].info);
	free(ci->steps);
	ci->steps = NULL;
	ci->n_steps = 0;
}

/* The step's info: what the ladder writes beside the arrow. */
static char *step_info(const struct tls_event *ev)
{
	char buf[600];
	if (ev->kind == TLS_EV_ALERT) {
		detail_alert(&ev->u.alert, buf, sizeof buf);
		return strdup(buf);
	}
	if (ev->kind != TLS_EV_HANDSHAKE || ev->u.hs.malformed) return NULL;
	const struct tls_handshake *hs = &ev->u.hs;
	if (hs->type == TLS_HS_CERTIFICATE) {
		const struct x509_info *x = hs->u.cert.n_certs ? hs->u.cert.certs[0] : NULL;
		if (!x) return strdup("empty: no certificate");
		if (!x->parsed) return strdup("(unparsable certificate)");
		snprintf(buf, sizeof buf, "serial %s  EKU %s  issuer %s", x->serial_hex, x->eku, x->issuer);
		return strdup(buf);
	}
	if (hs->type == TLS_HS_CERTIFICATE_REQUEST) {
		size_t len = (size_t)snprintf(buf, sizeof buf, "CAs:");
		if (!hs->u.cr.n_ca_names) snprintf(buf + len, sizeof buf - len, " (any)");
		for (size_t i = 0; i < hs->u.cr.n_ca_names && len < sizeof buf - 1; i++) {
			int w = snprintf(buf + len, sizeof buf - len, "%s %s", i ? ";" : "", hs->u.cr.ca_names[i]);
			if (w < 0) break;
			len += (size_t)w;
		}
		return strdup(buf);
	}
	if (hs->type == TLS_HS_CLIENT_HELLO && hs->u.ch.sni) {
		snprintf(buf, sizeof buf, "SNI %s", hs->u.ch.sni);
		return strdup(buf);
	}
	if (hs->type == TLS_HS_SERVER_HELLO) {
		const char *c = tls_cipher_name(hs->u.sh.cipher);
		return c ? strdup(c) : NULL;
	}
	return NULL;
}

static void add_step(struct conn_info *ci, const struct tls_event *ev)
{
	if (ci->n_steps == CONN_MAX_STEPS) {
		ci->steps_dropped++;
		return;
	}
	if (!ci->steps && !(ci->steps = calloc(CONN_MAX_STEPS, sizeof *ci->steps))) return;
	struct conn_step *s = &ci->steps[ci->n_steps++];
	s->frame = ev->pkt.frame;
	s->ts = ev->pkt.ts;
	s->sender = ev->sender;
	s->name = detail_event_name(ev);
	s->info = step_info(ev);
	s->fatal = ev->kind == TLS_EV_ALERT && !ev->u.alert.encrypted && ev->u.alert.level == 2;
}

const char *conn_outcome_name(enum conn_outcome o)
{
	static const char *const names[] = { "completed", "failed", "unfinished", "not_visible" };
	return names[o];
}

struct conn_table *conn_table_new(struct x509_cache *cache, bool stream, conn_table_emit_fn emit, void *ctx)
{
	struct conn_table *t = calloc(1, sizeof *t);
	if (!t) return NULL;
	t->cache = cache;
	t->stream = stream;
	t->emit = emit;
	t->ctx = ctx;
	return t;
}

static void info_free(struct conn_table *t, struct conn_info *ci)
{
	for (int i = 0; i < 2; i++)
		if (ci->leaf[i]) x509_unref(t->cache, ci->leaf[i]);
	steps_free(ci);
	free(ci->sni);
	free(ci->alpn);
	free(ci);
}

static bool push(struct conn_info ***v, size_t *n, size_t *cap, struct conn_info *ci)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct conn_info **nv = realloc(*v, nc * sizeof *nv);
		if (!nv) return false;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = ci;
	return true;
}

static void live_remove(struct conn_table *t, struct conn_info *ci)
{
	struct conn_info *last = t->live[--t->n_live];
	t->live[ci->live_idx] = last;
	last->live_idx = ci->live_idx;
}

static const char *role_word(enum tls_role r)
{
	return r == TLS_ROLE_CLIENT ? "client" : r == TLS_ROLE_SERVER ? "server" : "?";
}

static void on_client_hello(struct conn_info *ci, const struct tls_client_hello *ch)
{
	if (ch->sni && !ci->sni) ci->sni = strdup(ch->sni);
	if (ch->alpn && !ci->alpn) ci->alpn = strdup(ch->alpn);
	if (ci->offered[0]) return;
	size_t len = 0;
	const uint16_t legacy = ch->legacy_version;
	size_t n = ch->n_versions ? ch->n_versions : 1;
	for (size_t i = 0; i < n; i++) {
		const char *name = tls_version_name(ch->n_versions ? ch->versions[i] : legacy);
		if (!name) continue; /* GREASE and unknown values */
		int w = snprintf(ci->offered + len, sizeof ci->offered - len, "%s%s", len ? ";" : "", name);
		if (w < 0 || (size_t)w >= sizeof ci->offered - len) break;
		len += (size_t)w;
	}
}

static void on_handshake(struct conn_table *t, struct conn_info *ci, const struct tls_event *ev)
{
	const struct tls_handshake *hs = &ev->u.hs;
	if (hs->malformed) return;
	int side = ev->sender == TLS_ROLE_CLIENT ? 0 : 1;
	switch (hs->type) {
	case TLS_HS_CLIENT_HELLO: on_client_hello(ci, &hs->u.ch); break;
	case TLS_HS_SERVER_HELLO:
		if (!ci->cipher[0]) {
			const char *c = tls_cipher_name(hs->u.sh.cipher);
			if (c) snprintf(ci->cipher, sizeof ci->cipher, "%s", c);
			else snprintf(ci->cipher, sizeof ci->cipher, "0x%04x", hs->u.sh.cipher);
		}
		break;
	case TLS_HS_CERTIFICATE_REQUEST:
		if (!ci->cert_request) ci->n_ca_names = (uint32_t)hs->u.cr.n_ca_names;
		ci->cert_request = true;
		break;
	case TLS_HS_CERTIFICATE:
		if (ev->sender == TLS_ROLE_NONE || ci->leaf[side]) break;
		if (hs->u.cert.n_certs && hs->u.cert.certs[0]) {
			ci->leaf[side] = hs->u.cert.certs[0];
			x509_ref(ci->leaf[side]);
		} else {
			ci->empty_cert[side] = true;
		}
		(void)t;
		break;
	default: break;
	}
}

/* A fatal alert, RST or FIN before the handshake completed: the first one
 * is what ended it. */
static void note_end(struct conn_info *ci, const struct tls_event *ev)
{
	if (ci->have_end || (ev->conn->client_finished && ev->conn->server_finished &&
			     ev->kind != TLS_EV_ALERT))
		return;
	char what[110];
	if (ev->kind == TLS_EV_ALERT) {
		if (ev->u.alert.encrypted || ev->u.alert.level != 2) return;
		char a[96];
		detail_alert(&ev->u.alert, a, sizeof a);
		snprintf(what, sizeof what, "sent %s", a);
		ci->end_alert = true;
	} else {
		snprintf(what, sizeof what, "%s", ev->kind == TLS_EV_TCP_RESET ? "reset the connection" : "closed the connection (FIN)");
	}
	char after[96] = "";
	if (ci->last_msg)
		snprintf(after, sizeof after, " after the %s's %s (frame %llu)", role_word(ci->last_sender), ci->last_msg,
			 (unsigned long long)ci->last_msg_frame);
	snprintf(ci->end_text, sizeof ci->end_text, "%s %s at frame %llu%s", role_word(ev->sender), what,
		 (unsigned long long)ev->pkt.frame, after);
	ci->have_end = true;
}

static void decide(struct conn_info *ci, const struct tls_conn_view *v, unsigned codes)
{
	ci->codes = codes;
	const char *ver = v->version ? tls_version_name(v->version) : NULL;
	ci->version = ver ? ver : "";
	if (v->client_finished && v->server_finished && !v->aborted_after_finished) {
		ci->outcome = OUTCOME_COMPLETED;
	} else if (ci->end_alert) {
		ci->outcome = OUTCOME_FAILED;
		snprintf(ci->outcome_detail, sizeof ci->outcome_detail, "%s", ci->end_text);
	} else if (v->tls13 && (!v->keys || v->decrypt_failed)) {
		ci->outcome = OUTCOME_NOT_VISIBLE;
		snprintf(ci->outcome_detail, sizeof ci->outcome_detail, "TLS 1.3 handshake encrypted%s",
			 v->keys ? ": it did not decrypt" : ": no key log secret");
	} else if ((codes & 1u << F_HANDSHAKE_FAILED) && ci->have_end) {
		ci->outcome = OUTCOME_FAILED;
		snprintf(ci->outcome_detail, sizeof ci->outcome_detail, "%s", ci->end_text);
	} else if (codes & 1u << F_HANDSHAKE_FAILED) {
		ci->outcome = OUTCOME_FAILED;
		snprintf(ci->outcome_detail, sizeof ci->outcome_detail, "see handshake_failed");
	} else {
		ci->outcome = OUTCOME_UNFINISHED;
		if (ci->last_msg)
			snprintf(ci->outcome_detail, sizeof ci->outcome_detail, "last seen: the %s's %s (frame %llu)",
				 role_word(ci->last_sender), ci->last_msg, (unsigned long long)ci->last_msg_frame);
	}
}

void conn_table_event(struct conn_table *t, struct conn_rec *cr, const struct tls_event *ev, const char *file)
{
	struct conn_info *ci = cr->ci;
	const struct tls_conn_view *v = ev->conn;
	if (!ci) {
		if (ev->kind == TLS_EV_CONN_END) return;
		if (!(ci = calloc(1, sizeof *ci))) return;
		ci->live_idx = t->n_live;
		if (!push(&t->live, &t->n_live, &t->cap_live, ci)) {
			free(ci);
			return;
		}
		ci->file = file;
		ci->file_index = v->file_index;
		ci->id = v->id;
		ci->first_frame = ev->pkt.frame;
		ci->first_ts = ev->pkt.ts;
		ci->version = "";
		cr->ci = ci;
	}
	if (t->keep_steps && ev->kind != TLS_EV_CONN_TLS && ev->kind != TLS_EV_CONN_END) add_step(ci, ev);
	switch (ev->kind) {
	case TLS_EV_CONN_TLS: return;
	case TLS_EV_CONN_END: break;
	case TLS_EV_HANDSHAKE:
	case TLS_EV_CCS:
	case TLS_EV_ENCRYPTED_HANDSHAKE:
		if (ev->kind == TLS_EV_HANDSHAKE) on_handshake(t, ci, ev);
		ci->last_msg = detail_event_name(ev);
		ci->last_sender = ev->sender;
		ci->last_msg_frame = ev->pkt.frame;
		break;
	case TLS_EV_ALERT:
	case TLS_EV_TCP_RESET:
	case TLS_EV_TCP_FIN:
		note_end(ci, ev);
		break;
	default: break;
	}
	if (ev->kind != TLS_EV_CONN_END) {
		if (ev->pkt.frame > ci->last_frame) ci->last_frame = ev->pkt.frame;
		return;
	}
	/* the end: the endpoints as the dissector finally decided them */
	cr->ci = NULL;
	live_remove(t, ci);
	if (!v->is_tls) {
		info_free(t, ci);
		return;
	}
	ci->client_ep = v->client;
	ci->server_ep = v->server;
	ek_endpoint_str(&v->client, true, ci->client, sizeof ci->client);
	ek_endpoint_str(&v->server, true, ci->server, sizeof ci->server);
	decide(ci, v, findings_conn_codes(cr->fc));
	if (ci->outcome != OUTCOME_FAILED && !t->all_steps) steps_free(ci);
	if (t->stream) {
		t->emit(t->ctx, ci);
		info_free(t, ci);
	} else if (!push(&t->done, &t->n_done, &t->cap_done, ci)) {
		info_free(t, ci);
	}
}

static int by_file_conn(const void *a, const void *b)
{
	const struct conn_info *x = *(const struct conn_info *const *)a, *y = *(const struct conn_info *const *)b;
	if (x->file_index != y->file_index) return x->file_index < y->file_index ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void conn_table_finish(struct conn_table *t)
{
	if (t->n_done) qsort(t->done, t->n_done, sizeof *t->done, by_file_conn);
	for (size_t i = 0; i < t->n_done; i++) {
		t->emit(t->ctx, t->done[i]);
		info_free(t, t->done[i]);
	}
	t->n_done = 0;
}

void conn_table_free(struct conn_table *t)
{
	if (!t) return;
	for (size_t i = 0; i < t->n_done; i++) info_free(t, t->done[i]);
	for (size_t i = 0; i < t->n_live; i++) info_free(t, t->live[i]);
	free(t->done);
	free(t->live);
	free(t);
}
