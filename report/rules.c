
#include "findings.h"
#include "findings_int.h"

/* Findings that can explain a failed handshake, most telling first. */
static const struct {
	enum finding_code code;
	const char *why;
} causes[] = {
	{ F_CLIENT_CERT_NO_CLIENTAUTH, "client certificate without clientAuth EKU" },
	{ F_SERVER_CERT_NO_SERVERAUTH, "server certificate without serverAuth EKU" },
	{ F_EKU_ANY_ONLY, "leaf relies on anyExtendedKeyUsage, which NSS and OpenSSL's purpose check reject" },
	{ F_CERT_EXPIRED, "expired certificate" },
	{ F_CERT_NOT_YET_VALID, "certificate not yet valid" },
	{ F_CHAIN_UNTRUSTED, "chain does not verify" },
	{ F_ISSUER_NOT_REQUESTED, "client certificate from a CA the server did not list" },
	{ F_CLIENT_CERT_EMPTY, "no client certificate sent" },
	{ F_SNI_MISMATCH, "server certificate does not match the SNI" },
	{ F_DATA_MISSING, "capture incomplete" },
};

static const char *role_name(enum tls_role r)
{
	return r == TLS_ROLE_CLIENT ? "client" : r == TLS_ROLE_SERVER ? "server" : "";
}

static void sender_endpoint(const struct tls_event *ev, enum tls_role r, bool with_port, char *buf, size_t n)
{
	ek_endpoint_str(r == TLS_ROLE_CLIENT ? &ev->conn->client : &ev->conn->server, with_port, buf, n);
}

double ms_between(struct ek_time a, struct ek_time b)
{
	return (double)(b.sec - a.sec) * 1e3 + ((double)b.nsec - (double)a.nsec) / 1e6;
}

/* Index in causes[] of the finding on this connection that best explains
 * a failure, -1 when none. */
static int likely_cause(const struct findings_conn *fc)
{
	for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
		if (fc->codes & (1u << causes[i].code)) return (int)i;
	return -1;
}

/* X509_check_host(leaf, sni), remembered per (certificate, SNI).  An
 * interned SNI (interned: until the end of the run) is kept as it is,
 * another one copied. */
static int check_host(struct findings *f, const struct x509_info *leaf, const char *sni, bool interned)
{
	uint64_t h = str_hash(sni, strlen(sni));
	h ^= leaf->sha256[0] | (uint64_t)leaf->sha256[1] << 8;
	struct host_memo *m = &f->host_memo[(h ^ h >> 32) % (sizeof f->host_memo / sizeof f->host_memo[0])];
	if (m->sni && memcmp(m->sha256, leaf->sha256, sizeof m->sha256) == 0 && (m->sni == sni || strcmp(m->sni, sni) == 0))
		return m->result;
	int r = x509_check_host(f->cache, leaf, sni);
	const char *keep = interned ? sni : strdup(sni);
	if (keep) {
		if (m->sni_owned) free((char *)(uintptr_t)m->sni);
		m->sni = keep;
		m->sni_owned = !interned;
		memcpy(m->sha256, leaf->sha256, sizeof m->sha256);
		m->result = r;
	}
	return r;
}

/* client_cert_empty: what the client's address presented elsewhere (as a
 * server, or as a client on another connection), as "; ..." in buf. */
static void empty_cert_elsewhere(struct findings *f, const struct tls_event *ev, const struct ek_addr *addr,
				 const char *me, char *buf, size_t n)
{
	const struct ipcert *pc = ipcerts_get(f->ipc, addr);
	/* another connection of the same file (on this one it is the peer's: both on one host) */
	if (!pc || pc->file_index != ev->pkt.file_index || pc->conn == ev->conn->id) return;
	char ser[160], eku[200], id[EK_CONN_ID_STRLEN], pser[IPCERT_SERIAL_LEN], peku[IPCERT_EKU_LEN];
	ek_conn_id_str(pc->conn, id, sizeof id);
	ipcert_serial(pc, pser);
	ipcert_eku(pc, peku);
	unsigned flags = pc->leaf->eku_flags;
	bool no_clientauth = (flags & EKU_PRESENT) && !(flags & EKU_CLIENT);
	snprintf(buf, n, "; %s presented certificate %s (EKU %s) as TLS %s on conn %s (frame %llu)%s", me,
		 sanitize_str(pser, ser, sizeof ser), sanitize_str(peku, eku, sizeof eku),
		 pc->client ? "client" : "server", id, (unsigned long long)pc->frame,
		 no_clientauth ? ": it has no clientAuth, and clients that withhold such a certificate (NSS-based "
				 "ones among them) send an empty Certificate"
			       : "");
}

/* One Certificate message as its rules see it.  The texts that name it
 * (sender, peer, the leaf's serial) are made once, when a rule first
 * raises a finding. */
struct cert_msg {
	struct findings *f;
	struct findings_conn *fc;
	const struct tls_event *ev;
	const struct tls_certificate *c;
	struct row *rows;
	size_t n;
	bool client;               /* sent by the client */
	struct x509_info *leaf;    /* set once the chain has one */
	struct inv_entry *ie;      /* the leaf's inventory entry (NULL: none) */
	bool other_role;           /* the entry was seen in the other role too */
	struct where w;            /* the message's first row */
	bool named;
	const char *serial;
	char me[EK_ENDPOINT_STRLEN], peer[EK_ENDPOINT_STRLEN], sbuf[256];
};

static void name_msg(struct cert_msg *m)
{
	if (m->named) return;
	m->named = true;
	const struct tls_event *ev = m->ev;
	sender_endpoint(ev, ev->sender, !m->client, m->me, sizeof m->me);
	sender_endpoint(ev, m->client ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT, m->client, m->peer, sizeof m->peer);
	const struct x509_info *first = m->c->n_certs ? m->c->certs[0] : NULL;
	m->serial = first ? sanitize_str(first->serial_hex, m->sbuf, sizeof m->sbuf) : "";
}

static const char *role_purpose(bool client)
{
	return client ? "clientAuth" : "serverAuth";
}

/* client_cert_empty: the server asked for a certificate, the client sent none. */
static void rule_client_cert_empty(struct cert_msg *m, const struct ek_addr *my_addr)
{
	if (!m->client || !m->fc->cert_requested) return;
	name_msg(m);
	char seen[400] = "";
	empty_cert_elsewhere(m->f, m->ev, my_addr, m->me, seen, sizeof seen);
	raise_finding(m->f, m->fc, F_CLIENT_CERT_EMPTY, &m->w, NULL,
		      "client %s sent an empty Certificate (frame %llu) to %s although the server "
		      "requested one (CertificateRequest, frame %llu)%s",
		      m->me, (unsigned long long)m->ev->pkt.frame, m->peer, (unsigned long long)m->fc->cr_frame, seen);
}

/* client_cert_no_clientauth, server_cert_no_serverauth, eku_any_only: the
 * leaf has an EKU without the purpose of the role it was presented in
 * (with anyExtendedKeyUsage only some implementations accept it). */
static void rule_eku_role(struct cert_msg *m)
{
	unsigned e = m->leaf->eku_flags;
	if (!(e & EKU_PRESENT) || (e & (m->client ? EKU_CLIENT : EKU_SERVER))) return;
	const char *role = role_name(m->ev->sender), *purpose = role_purpose(m->client);
	enum finding_code code = (e & EKU_ANY)   ? F_EKU_ANY_ONLY
				 : m->client ? F_CLIENT_CERT_NO_CLIENTAUTH
					     : F_SERVER_CERT_NO_SERVERAUTH;
	name_msg(m);
	raise_finding(m->f, m->fc, code, &m->w, NULL, "%s presented certificate %s (EKU %s) as TLS %s to %s (frame %llu): no %s%s",
		      m->me, m->serial, m->leaf->eku, role, m->peer, (unsigned long long)m->ev->pkt.frame, purpose,
		      code == F_EKU_ANY_ONLY ? ", relies on anyExtendedKeyUsage (Go, Java, GnuTLS accept it; NSS, "
					       "OpenSSL reject it)"
					     : "");
	inventory_mark(m->ie, code);
}

/* cert_no_eku: no EKU extension, any purpose. */
static void rule_no_eku(struct cert_msg *m)
{
	if (m->leaf->eku_flags & EKU_PRESENT) return;
	name_msg(m);
	raise_finding(m->f, m->fc, F_CERT_NO_EKU, &m->w, NULL,
		      "%s %s presented certificate %s without an EKU extension (any purpose)", role_name(m->ev->sender),
		      m->me, m->serial);
	inventory_mark(m->ie, F_CERT_NO_EKU);
}

/* public_ca_clientauth: public CAs stop issuing clientAuth. */
static void rule_public_ca_clientauth(struct cert_msg *m)
{
	if (!(m->leaf->eku_flags & EKU_CLIENT) || !m->ie || !inventory_public_ca(m->f->inv, m->ie)) return;
	name_msg(m);
	raise_finding(m->f, m->fc, F_PUBLIC_CA_CLIENTAUTH, &m->w, NULL,
		      "%s presents certificate %s (EKU %s) from a public CA: its renewal will not carry clientAuth",
		      m->me, m->serial, m->leaf->eku);
	inventory_mark(m->ie, F_PUBLIC_CA_CLIENTAUTH);
}

/* sni_mismatch: the server's leaf does not match the name the client asked for. */
static void rule_sni_mismatch(struct cert_msg *m)
{
	const char *sni = m->fc->sni;
	int host;
	if (m->client || !sni || (host = check_host(m->f, m->leaf, sni, !m->fc->sni_owned)) == 1 || host == -2) return;
	char sni_text[300], san[400];
	name_msg(m);
	raise_finding(m->f, m->fc, F_SNI_MISMATCH, &m->w, sni, "server %s certificate %s (%s) does not match SNI %s",
		      m->me, m->serial, sanitize_str(*m->leaf->san ? m->leaf->san : m->leaf->subject, san, sizeof san),
		      sanitize_str(sni, sni_text, sizeof sni_text));
	inventory_mark(m->ie, F_SNI_MISMATCH);
}

/* chain_untrusted: the chain does not verify against --ca-file/--ca-path. */
static void rule_chain_untrusted(struct cert_msg *m)
{
	char reason[256];
	if (trust_verify(m->f->trust, m->f->cache, m->c->certs, m->c->n_certs, m->client, m->ev->pkt.ts.sec, reason,
			 sizeof reason) != 1)
		return;
	name_msg(m);
	raise_finding(m->f, m->fc, F_CHAIN_UNTRUSTED, &m->w, reason, "%s chain of %s (leaf %s) does not verify for %s: %s",
		      role_name(m->ev->sender), m->me, m->serial, m->client ? "sslclient" : "sslserver", reason);
	inventory_mark(m->ie, F_CHAIN_UNTRUSTED);
}

/* same_cert_both_roles: one address presents the certificate as server and as client. */
static void rule_same_cert_both_roles(struct cert_msg *m)
{
	if (!m->other_role || !m->ie || (m->ie->codes & (1u << F_SAME_CERT_BOTH_ROLES))) return;
	char ip[EK_ENDPOINT_STRLEN];
	sender_endpoint(m->ev, m->ev->sender, false, ip, sizeof ip);
	name_msg(m);
	raise_finding(m->f, m->fc, F_SAME_CERT_BOTH_ROLES, &m->w, NULL,
		      "%s presented certificate %s both as TLS server and as TLS client (now as %s, frame %llu)", ip,
		      m->serial, role_name(m->ev->sender), (unsigned long long)m->ev->pkt.frame);
	inventory_mark(m->ie, F_SAME_CERT_BOTH_ROLES);
}

/* cert_expired, cert_not_yet_valid: certificate i of the chain was not
 * valid at the packet's time; the bound it crossed, worded ("that expired
 * <bound>, before the packet"). */
static void raise_validity(struct cert_msg *m, size_t i, enum finding_code code, int64_t bound, const char *bound_is,
			   const char *packet_is)
{
	const struct x509_info *x = m->c->certs[i];
	struct where wi = { m->ev, &m->rows[i], role_name(m->ev->sender), x };
	char when[32], at[32], xs[256];
	ek_unix_str(m->ev->pkt.ts.sec, at, sizeof at);
	ek_unix_str(bound, when, sizeof when);
	name_msg(m);
	raise_finding(m->f, m->fc, code, &wi, NULL,
		      "%s %s presented certificate %s (chain position %zu) %s %s, %s the packet (%s, frame %llu)",
		      role_name(m->ev->sender), m->me, sanitize_str(x->serial_hex, xs, sizeof xs), i, bound_is, when,
		      packet_is, at, (unsigned long long)m->ev->pkt.frame);
	if (i == 0) inventory_mark(m->ie, code);
}

/* Validity of every certificate of the chain, at the packet's time. */
static void rule_validity(struct cert_msg *m)
{
	int64_t now = m->ev->pkt.ts.sec;
	for (size_t i = 0; i < m->c->n_certs && i < m->n; i++) {
		const struct x509_info *x = m->c->certs[i];
		if (!x || !x->have_validity) continue;
		if (now > x->not_after)
			raise_validity(m, i, F_CERT_EXPIRED, x->not_after, "that expired", "before");
		else if (now < x->not_before)
			raise_validity(m, i, F_CERT_NOT_YET_VALID, x->not_before, "valid only from", "after");
	}
}

/* issuer_not_requested: none of the CAs the server listed issued the
 * client's chain. */
static void rule_issuer_not_requested(struct cert_msg *m)
{
	const struct findings_conn *fc = m->fc;
	if (!m->client || !fc->cert_requested || !fc->n_ca) return;
	for (size_t i = 0; i < m->c->n_certs; i++) {
		const struct x509_info *x = m->c->certs[i];
		if (!x || !x->parsed) continue;
		for (size_t k = 0; k < fc->n_ca; k++)
			if (strcmp(x->issuer, fc->ca_names[k]) == 0 || strcmp(x->subject, fc->ca_names[k]) == 0) return;
	}
	if (!m->leaf->parsed) return;
	char iss[300], listed[300];
	name_msg(m);
	raise_finding(m->f, m->fc, F_ISSUER_NOT_REQUESTED, &m->w, NULL,
		      "client %s sent certificate %s issued by %s; the server %s listed %zu other CA%s (first: %s)", m->me,
		      m->serial, sanitize_str(m->leaf->issuer, iss, sizeof iss), m->peer, fc->n_ca, fc->n_ca == 1 ? "" : "s",
		      sanitize_str(fc->ca_names[0], listed, sizeof listed));
	inventory_mark(m->ie, F_ISSUER_NOT_REQUESTED);
}

/* The rules on a parsed leaf, in the order their findings are raised. */
static void (*const leaf_rules[])(struct cert_msg *) = {
	rule_eku_role, rule_no_eku, rule_public_ca_clientauth, rule_sni_mismatch, rule_chain_untrusted,
};

static void on_certificate(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			   size_t n)
{
	struct cert_msg m = { .f = f, .fc = fc, .ev = ev, .c = &ev->u.hs.u.cert, .rows = rows, .n = n,
			      .client = ev->sender == TLS_ROLE_CLIENT };
	m.w = (struct where){ ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };
	if (m.client) {
		fc->client_cert_seen = true;
		fc->client_cert_frame = ev->pkt.frame;
		fc->client_cert_ts = ev->pkt.ts;
	}
	const struct ek_endpoint *me = m.client ? &ev->conn->client : &ev->conn->server;
	if (m.c->n_certs == 0) {
		rule_client_cert_empty(&m, &me->addr);
		return;
	}
	m.leaf = m.c->certs[0];
	if (!m.leaf) return;
	m.w.cert = m.leaf;
	if (m.leaf->parsed)
		ipcerts_note(f->ipc, &me->addr, m.client, &ev->pkt, ev->conn->id, m.leaf);
	m.ie = inventory_note(f->inv, me, m.client, m.c->certs, m.c->n_certs, ev->pkt.file_index, ev->pkt.frame,
			      &m.other_role);
	if (m.leaf->parsed)
		for (size_t i = 0; i < sizeof leaf_rules / sizeof leaf_rules[0]; i++) leaf_rules[i](&m);
	rule_same_cert_both_roles(&m);
	rule_validity(&m);
	rule_issuer_not_requested(&m);
}

/* An alert, reset or FIN ended the connection: was the handshake done? */
static void on_end_signal(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			  size_t n)
{
	const struct tls_conn_view *v = ev->conn;
	if (fc->failed_done || tls_handshake_complete(v)) return;
	if (!v->client_sent_hello && !v->server_sent_hello) return; /* picked up mid-stream */
	if (ev->kind == TLS_EV_ALERT && !ev->u.alert.encrypted) {
		/* warnings other than close_notify/user_canceled do not end a connection */
		if (ev->u.alert.level != 2 && ev->u.alert.desc != 0 && ev->u.alert.desc != 90) return;
	}
	/* TLS 1.3 without keys: after the client's encrypted flight nothing can be told. */
	if (v->tls13 && fc->client_encrypted && !v->client_finished) return;
	/* keys given, but the server's handshake did not decrypt: its outcome is not visible either */
	if (v->tls13 && v->keys && fc->server_encrypted && !v->server_finished) return;
	fc->failed_done = true;

	char who[EK_ENDPOINT_STRLEN], peer[EK_ENDPOINT_STRLEN], how[160], after[200] = "", cause[200] = "";
	enum tls_role r = ev->sender;
	sender_endpoint(ev, r, r == TLS_ROLE_SERVER, who, sizeof who);
	sender_endpoint(ev, r == TLS_ROLE_CLIENT ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT, r == TLS_ROLE_CLIENT, peer,
			sizeof peer);
	const char *meaning = NULL;
	if (ev->kind == TLS_EV_ALERT) {
		char a[96];
		detail_alert(&ev->u.alert, a, sizeof a);
		snprintf(how, sizeof how, "%s alert", a);
		if (!ev->u.alert.encrypted) meaning = alert_meaning(ev->u.alert.desc);
	} else {
		snprintf(how, sizeof how, "%s", ev->kind == TLS_EV_TCP_RESET ? "a TCP reset" : "a TCP FIN");
	}
	int cause_i = likely_cause(fc);
	const char *why = cause_i >= 0 ? causes[cause_i].why : NULL;
	const char *code = cause_i >= 0 ? finding_def(causes[cause_i].code)->name : NULL;
	/* Point at the client's Certificate when the cause is the client's certificate. */
	bool client_cert_cause = fc->client_cert_seen && r == TLS_ROLE_SERVER &&
				 (fc->codes & (1u << F_CLIENT_CERT_NO_CLIENTAUTH | 1u << F_CLIENT_CERT_EMPTY |
					       1u << F_ISSUER_NOT_REQUESTED | 1u << F_EKU_ANY_ONLY));
	if (client_cert_cause)
		snprintf(after, sizeof after, ", %.1f ms after the client's Certificate (frame %llu)",
			 ms_between(fc->client_cert_ts, ev->pkt.ts), (unsigned long long)fc->client_cert_frame);
	else if (fc->last_name)
		snprintf(after, sizeof after, ", %.1f ms after the %s's %s (frame %llu)", ms_between(fc->last_ts, ev->pkt.ts),
			 role_name(fc->last_sender), fc->last_name, (unsigned long long)fc->last_frame);
	if (why)
		snprintf(cause, sizeof cause, "; likely cause: %s (%s)", why, code);
	else if (meaning)
		snprintf(cause, sizeof cause, "; %s", meaning);
	struct where w = { ev, n ? &rows[0] : NULL, role_name(r), NULL };
	char extra[64];
	snprintf(extra, sizeof extra, "%d|%u|%s", (int)ev->kind, ev->kind == TLS_EV_ALERT ? ev->u.alert.desc : 0,
		 code ? code : "");
	raise_finding(f, fc, F_HANDSHAKE_FAILED, &w, extra,
		      "%s %s aborted the handshake with %s by %s at frame %llu%s%s", role_name(r), who, peer, how,
		      (unsigned long long)ev->pkt.frame, after, cause);
}

/* certs_encrypted, once per connection: "<what> between C and S<why>",
 * with " (ServerHello frame N)" before why when sh_frame is given
 * (formatted only when the message is) */
static void raise_encrypted(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			    size_t n, const char *what, const uint64_t *sh_frame, const char *why)
{
	fc->encrypted_done = true;
	char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
	ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
	struct where w = { ev, n ? &rows[0] : NULL, "", NULL };
	if (sh_frame)
		raise_finding(f, fc, F_CERTS_ENCRYPTED, &w, NULL, "%s between %s and %s (ServerHello frame %llu)%s", what,
			      c, s, (unsigned long long)*sh_frame, why);
	else
		raise_finding(f, fc, F_CERTS_ENCRYPTED, &w, NULL, "%s between %s and %s%s", what, c, s, why);
}

/* The connection ends (end of the capture, idle, evicted) with its
 * handshake under way and nothing that ended it (no alert, FIN or RST:
 * those raise handshake_failed).  Say what is not in the file. */
static void on_unfinished(struct findings *f, struct findings_conn *fc, const struct tls_event *ev)
{
	const struct tls_conn_view *v = ev->conn;
	if (fc->failed_done || !v->is_tls || tls_handshake_complete(v)) return;
	if (!v->client_sent_hello && !v->server_sent_hello) return; /* picked up mid-stream */
	/* the same blind spots as handshake_failed: whether it finished cannot be told */
	if (v->tls13 && fc->client_encrypted && !v->client_finished) return;
	if (v->tls13 && v->keys && fc->server_encrypted && !v->server_finished) return;
	char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN], at[160], missing[160];
	ek_endpoint_str(&v->client, true, c, sizeof c);
	ek_endpoint_str(&v->server, true, s, sizeof s);
	/* the dissector names a cut message, or else the record it was in */
	static const char *const records[] = { "record", "Handshake", "EncryptedHandshake", "ApplicationData",
					       "Alert", "ChangeCipherSpec", "Heartbeat" };
	bool msg = fc->inc_name != NULL;
	for (size_t i = 0; msg && i < sizeof records / sizeof records[0]; i++)
		if (!strcmp(fc->inc_name, records[i])) msg = false;
	if (fc->inc_name && msg)
		snprintf(at, sizeof at, "inside the %s's %s", role_name(fc->inc_sender), fc->inc_name);
	else if (fc->inc_name)
		snprintf(at, sizeof at, "inside the %s's %s record", role_name(fc->inc_sender),
			 strcmp(fc->inc_name, "record") ? fc->inc_name : "TLS");
	else if (fc->last_name)
		snprintf(at, sizeof at, "after the %s's %s (frame %llu)", role_name(fc->last_sender), fc->last_name,
			 (unsigned long long)fc->last_frame);
	else
		snprintf(at, sizeof at, "before any complete handshake message");
	if (msg) {
		snprintf(missing, sizeof missing, "the rest of the %s's %s and of the handshake are",
			 role_name(fc->inc_sender), fc->inc_name);
	} else {
		const char *m = !v->server_sent_hello ? "the server's reply (ServerHello) and the rest of the handshake are"
				: !v->client_sent_hello ? "the client's ClientHello and the rest of the handshake are"
				: v->tls13 && !v->keys ? "the client's encrypted flight (with its Finished) is"
				: v->client_finished ? "the server's Finished is"
				: v->server_finished ? "the client's Finished is"
				: "the rest of the handshake (both Finished) is";
		snprintf(missing, sizeof missing, "%s", m);
	}
	struct where w = { ev, NULL, "", NULL };
	raise_finding(f, fc, F_HANDSHAKE_UNFINISHED, &w, NULL,
		      "the capture of the handshake between %s and %s ends at frame %llu %s: %s not in the file", c,
		      s, (unsigned long long)ev->pkt.frame, at, missing);
}

/* What later rules need from a ClientHello: the SNI (sni_mismatch). */
static void note_sni(struct findings *f, struct findings_conn *fc, const struct tls_client_hello *ch)
{
	if (!ch->sni || fc->sni) return;
	fc->sni = str_intern(f, ch->sni, strlen(ch->sni));
	if (!fc->sni && (fc->sni = strdup(ch->sni))) fc->sni_owned = true;
}

/* ... and from a CertificateRequest: the CAs listed (issuer_not_requested,
 * client_cert_empty). */
static void note_cert_request(struct findings_conn *fc, const struct tls_event *ev)
{
	const struct tls_cert_request *cr = &ev->u.hs.u.cr;
	if (fc->cert_requested) return;
	fc->cert_requested = true;
	fc->cr_frame = ev->pkt.frame;
	fc->ca_names = calloc(cr->n_ca_names + 1, sizeof *fc->ca_names);
	for (size_t i = 0; fc->ca_names && i < cr->n_ca_names; i++)
		if ((fc->ca_names[fc->n_ca] = strdup(cr->ca_names[i])) != NULL) fc->n_ca++;
}

/* resumed_no_certs, certs_encrypted: a (D)TLS 1.3 ServerHello without
 * keys: the certificates that follow are encrypted, or there are none. */
static void on_server_hello_13(struct findings *f, struct findings_conn *fc, const struct tls_event *ev,
			       struct row *rows, size_t n)
{
	const struct tls_server_hello *sh = &ev->u.hs.u.sh;
	if ((sh->selected_version != 0x0304 && sh->selected_version != 0xfefc) || ev->conn->keys || fc->encrypted_done)
		return;
	if (sh->resumed == TLS_RESUMED_PSK) {
		fc->encrypted_done = true;
		char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
		ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
		ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
		struct where w = { ev, n ? &rows[0] : NULL, "", NULL };
		raise_finding(f, fc, F_RESUMED_NO_CERTS, &w, NULL,
			      "TLS 1.3 between %s and %s (ServerHello frame %llu) resumed a session "
			      "(pre_shared_key): no certificates in this handshake",
			      c, s, (unsigned long long)ev->pkt.frame);
	} else {
		raise_encrypted(f, fc, ev, rows, n, ev->conn->dtls ? "DTLS 1.3" : "TLS 1.3", &ev->pkt.frame,
				": certificates are encrypted and no key was given for this connection");
	}
}

/* certs_encrypted: a key was given, but the TLS 1.3 handshake stays encrypted. */
static void on_decrypt_failed(struct findings *f, struct findings_conn *fc, const struct tls_event *ev,
			      struct row *rows, size_t n)
{
	if (!ev->conn->tls13 || !ev->u.decrypt.handshake || fc->encrypted_done) return;
	fc->encrypted_done = true;
	char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
	ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
	struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };
	raise_finding(f, fc, F_CERTS_ENCRYPTED, &w, NULL,
		      "TLS 1.3 between %s and %s: the key log's secrets for this connection do not "
		      "decrypt the %s's handshake (frame %llu: %s): certificates not visible",
		      c, s, role_name(ev->sender), (unsigned long long)ev->pkt.frame,
		      ev->u.decrypt.reason ? ev->u.decrypt.reason : "");
}

/* data_missing: bytes of the handshake were not captured. */
static void on_data_missing(struct findings *f, struct findings_conn *fc, const struct tls_event *ev,
			    struct row *rows, size_t n)
{
	if (fc->missing_done || tls_handshake_complete(ev->conn) || (ev->conn->tls13 && fc->client_encrypted)) return;
	fc->missing_done = true;
	char who[EK_ENDPOINT_STRLEN], b[64] = "bytes";
	sender_endpoint(ev, ev->sender, ev->sender == TLS_ROLE_SERVER, who, sizeof who);
	if (ev->u.missing.bytes) snprintf(b, sizeof b, "%llu bytes", (unsigned long long)ev->u.missing.bytes);
	struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };
	raise_finding(f, fc, F_DATA_MISSING, &w, NULL,
		      "%s of the handshake sent by %s %s were not captured (before frame %llu)", b,
		      role_name(ev->sender), who, (unsigned long long)ev->pkt.frame);
}

/* The connection ends: handshake_unfinished, and certs_encrypted for an
 * OpenVPN --tls-crypt control channel (said per connection, nothing guessed). */
static void on_conn_end(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			size_t n)
{
	on_unfinished(f, fc, ev);
	if (ev->conn->tls_crypt && !fc->encrypted_done)
		raise_encrypted(f, fc, ev, rows, n, "OpenVPN --tls-crypt", NULL,
				": the control channel is encrypted with the key all peers share, so the TLS "
				"handshake and its certificates are not visible (a key log does not help)");
}

void findings_on_event(void *ctx, struct conn_rec *cr, const struct tls_event *ev, struct row *rows, size_t n)
{
	struct findings *f = ctx;
	/* Rules look at TLS connections only: no state for the (possibly
	 * millions of) connections that are not, or not yet, TLS. */
	if (!cr->fc && cr->state != CONN_TLS) return;
	struct findings_conn *fc = conn_state(f, cr);
	if (!fc) return;
	if (n && ev->kind != TLS_EV_TCP_OPEN) ladder_add(fc, ev, rows, n);
	if (!fc->title_set) {
		fc->title_set = true;
		uint32_t fi = ev->pkt.file_index;
		fc->title_file = f->o.n_labels > 1 && fi < f->o.n_labels ? f->o.labels[fi] : n ? rows[0].file : "";
		fc->title_conn = ev->conn->id;
		fc->title_client = ev->conn->client;
		fc->title_server = ev->conn->server;
	}
	if (n && !fc->file) fc->file = rows[0].file; /* the first events have no row */

	switch (ev->kind) {
	case TLS_EV_HANDSHAKE: {
		const struct tls_handshake *hs = &ev->u.hs;
		fc->last_name = n ? rows[0].event : NULL;
		fc->last_sender = (uint8_t)ev->sender;
		fc->last_frame = ev->pkt.frame;
		fc->last_ts = ev->pkt.ts;
		if (hs->malformed) break;
		if (hs->type == TLS_HS_CLIENT_HELLO) note_sni(f, fc, &hs->u.ch);
		if (hs->type == TLS_HS_CERTIFICATE_REQUEST) note_cert_request(fc, ev);
		if (hs->type == TLS_HS_CERTIFICATE) on_certificate(f, fc, ev, rows, n);
		if (hs->type == TLS_HS_SERVER_HELLO) on_server_hello_13(f, fc, ev, rows, n);
		break;
	}
	case TLS_EV_ENCRYPTED_HANDSHAKE:
		if (ev->sender == TLS_ROLE_CLIENT) fc->client_encrypted = true;
		else fc->server_encrypted = true;
		break;
	case TLS_EV_DECRYPT_FAILED:
		on_decrypt_failed(f, fc, ev, rows, n);
		break;
	case TLS_EV_DATA_MISSING:
		on_data_missing(f, fc, ev, rows, n);
		break;
	case TLS_EV_ALERT:
	case TLS_EV_TCP_RESET:
	case TLS_EV_TCP_FIN:
		on_end_signal(f, fc, ev, rows, n);
		break;
	case TLS_EV_RECORD_INCOMPLETE:
		fc->inc_name = ev->u.incomplete;
		fc->inc_sender = (uint8_t)ev->sender;
		break;
	case TLS_EV_CONN_END:
		on_conn_end(f, fc, ev, rows, n);
		break;
	default:
		break;
	}
	if (ev->kind == TLS_EV_HANDSHAKE && ev->sender == fc->inc_sender) fc->inc_name = NULL;
}
