
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

/* X509_check_host(leaf, sni), remembered per (certificate, SNI). */
static int check_host(struct findings *f, const struct x509_info *leaf, const char *sni)
{
	uint64_t h = str_hash(sni, strlen(sni));
	h ^= leaf->sha256[0] | (uint64_t)leaf->sha256[1] << 8;
	struct host_memo *m = &f->host_memo[(h ^ h >> 32) % (sizeof f->host_memo / sizeof f->host_memo[0])];
	if (m->sni && memcmp(m->sha256, leaf->sha256, sizeof m->sha256) == 0 && strcmp(m->sni, sni) == 0)
		return m->result;
	int r = x509_check_host(f->cache, leaf, sni);
	char *copy = strdup(sni);
	if (copy) {
		free(m->sni);
		m->sni = copy;
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
	char ser[160], eku[200], id[EK_CONN_ID_STRLEN];
	ek_conn_id_str(pc->conn, id, sizeof id);
	bool no_clientauth = (pc->eku_flags & EKU_PRESENT) && !(pc->eku_flags & EKU_CLIENT);
	snprintf(buf, n, "; %s presented certificate %s (EKU %s) as TLS %s on conn %s (frame %llu)%s", me,
		 sanitize_str(pc->serial, ser, sizeof ser), sanitize_str(pc->eku, eku, sizeof eku),
		 pc->client ? "client" : "server", id, (unsigned long long)pc->frame,
		 no_clientauth ? ": it has no clientAuth, and clients that withhold such a certificate (NSS-based "
				 "ones among them) send an empty Certificate"
			       : "");
}

static void on_certificate(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			   size_t n)
{
	const struct tls_certificate *c = &ev->u.hs.u.cert;
	bool client = ev->sender == TLS_ROLE_CLIENT;
	/* The texts of a message, made only when a finding needs them. */
	char me[EK_ENDPOINT_STRLEN], peer[EK_ENDPOINT_STRLEN];
	char sbuf[256];
	const char *serial = "";
	bool named = false;
	const struct x509_info *named_leaf = c->n_certs ? c->certs[0] : NULL;
#define NAMED()                                                                                                 \
	do {                                                                                                    \
		if (!named) {                                                                                   \
			named = true;                                                                           \
			sender_endpoint(ev, ev->sender, !client, me, sizeof me);                               \
			sender_endpoint(ev, client ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT, client, peer, sizeof peer); \
			if (named_leaf) serial = sanitize_str(named_leaf->serial_hex, sbuf, sizeof sbuf);      \
		}                                                                                               \
	} while (0)
	struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };

	if (client) {
		fc->client_cert_seen = true;
		fc->client_cert_frame = ev->pkt.frame;
		fc->client_cert_ts = ev->pkt.ts;
	}
	const struct ek_addr *my_addr = client ? &ev->conn->client.addr : &ev->conn->server.addr;
	if (c->n_certs == 0) {
		if (client && fc->cert_requested) {
			NAMED();
			char seen[400] = "";
			empty_cert_elsewhere(f, ev, my_addr, me, seen, sizeof seen);
			raise_finding(f, fc, F_CLIENT_CERT_EMPTY, &w, NULL,
				      "client %s sent an empty Certificate (frame %llu) to %s although the server "
				      "requested one (CertificateRequest, frame %llu)%s",
				      me, (unsigned long long)ev->pkt.frame, peer, (unsigned long long)fc->cr_frame, seen);
		}
		return;
	}
	struct x509_info *leaf = c->certs[0];
	if (!leaf) return;
	w.cert = leaf;
	if (leaf->parsed)
		ipcerts_note(f->ipc, my_addr, client, &ev->pkt, ev->conn->id, leaf->serial_hex, leaf->eku,
			     leaf->eku_flags);

	bool other_role = false;
	struct inv_entry *ie =
		inventory_note(f->inv, client ? &ev->conn->client : &ev->conn->server, client, c->certs, c->n_certs,
			       ev->pkt.file_index, ev->pkt.frame, &other_role);

	if (leaf->parsed) {
		unsigned e = leaf->eku_flags;
		if (client && (e & EKU_PRESENT) && !(e & (EKU_CLIENT | EKU_ANY))) {
			NAMED();
			raise_finding(f, fc, F_CLIENT_CERT_NO_CLIENTAUTH, &w, NULL,
				      "%s presented certificate %s (EKU %s) as TLS client to %s (frame %llu): no "
				      "clientAuth",
				      me, serial, leaf->eku, peer, (unsigned long long)ev->pkt.frame);
			inventory_mark(ie, F_CLIENT_CERT_NO_CLIENTAUTH);
		}
		if (!client && (e & EKU_PRESENT) && !(e & (EKU_SERVER | EKU_ANY))) {
			NAMED();
			raise_finding(f, fc, F_SERVER_CERT_NO_SERVERAUTH, &w, NULL,
				      "%s presented certificate %s (EKU %s) as TLS server to %s (frame %llu): no "
				      "serverAuth",
				      me, serial, leaf->eku, peer, (unsigned long long)ev->pkt.frame);
			inventory_mark(ie, F_SERVER_CERT_NO_SERVERAUTH);
		}
		unsigned role_bit = client ? EKU_CLIENT : EKU_SERVER;
		if ((e & EKU_PRESENT) && (e & EKU_ANY) && !(e & role_bit)) {
			NAMED();
			raise_finding(f, fc, F_EKU_ANY_ONLY, &w, NULL,
				      "%s presented certificate %s (EKU %s) as TLS %s to %s (frame %llu): no %s, relies "
				      "on anyExtendedKeyUsage (Go, Java, GnuTLS accept it; NSS, OpenSSL reject it)",
				      me, serial, leaf->eku, role_name(ev->sender), peer, (unsigned long long)ev->pkt.frame,
				      client ? "clientAuth" : "serverAuth");
			inventory_mark(ie, F_EKU_ANY_ONLY);
		}
		if (!(e & EKU_PRESENT)) {
			NAMED();
			raise_finding(f, fc, F_CERT_NO_EKU, &w, NULL,
				      "%s %s presented certificate %s without an EKU extension (any purpose)",
				      role_name(ev->sender), me, serial);
			inventory_mark(ie, F_CERT_NO_EKU);
		}
		if ((e & EKU_CLIENT) && ie && inventory_public_ca(f->inv, ie)) {
			NAMED();
			raise_finding(f, fc, F_PUBLIC_CA_CLIENTAUTH, &w, NULL,
				      "%s presents certificate %s (EKU %s) from a public CA: its renewal will not "
				      "carry clientAuth",
				      me, serial, leaf->eku);
			inventory_mark(ie, F_PUBLIC_CA_CLIENTAUTH);
		}
		int host;
		if (!client && fc->sni && leaf->parsed && (host = check_host(f, leaf, fc->sni)) != 1 && host != -2) {
			char sni[300], san[400];
			NAMED();
			raise_finding(f, fc, F_SNI_MISMATCH, &w, fc->sni,
				      "server %s certificate %s (%s) does not match SNI %s", me, serial,
				      sanitize_str(*leaf->san ? leaf->san : leaf->subject, san, sizeof san),
				      sanitize_str(fc->sni, sni, sizeof sni));
			inventory_mark(ie, F_SNI_MISMATCH);
		}
		char reason[256];
		if (trust_verify(f->trust, f->cache, c->certs, c->n_certs, client, ev->pkt.ts.sec, reason, sizeof reason) == 1) {
			NAMED();
			raise_finding(f, fc, F_CHAIN_UNTRUSTED, &w, reason,
				      "%s chain of %s (leaf %s) does not verify for %s: %s", role_name(ev->sender), me,
				      serial, client ? "sslclient" : "sslserver", reason);
			inventory_mark(ie, F_CHAIN_UNTRUSTED);
		}
	}
	if (other_role && ie && !(ie->codes & (1u << F_SAME_CERT_BOTH_ROLES))) {
		char ip[EK_ENDPOINT_STRLEN];
		sender_endpoint(ev, ev->sender, false, ip, sizeof ip);
		NAMED();
		raise_finding(f, fc, F_SAME_CERT_BOTH_ROLES, &w, NULL,
			      "%s presented certificate %s both as TLS server and as TLS client (now as %s, frame %llu)",
			      ip, serial, role_name(ev->sender), (unsigned long long)ev->pkt.frame);
		inventory_mark(ie, F_SAME_CERT_BOTH_ROLES);
	}

	/* Validity of every certificate, at the packet's time. */
	for (size_t i = 0; i < c->n_certs && i < n; i++) {
		const struct x509_info *x = c->certs[i];
		if (!x || !x->have_validity) continue;
		struct where wi = { ev, &rows[i], role_name(ev->sender), x };
		char when[32], at[32], xs[256];
		if (ev->pkt.ts.sec > x->not_after) {
			ek_unix_str(ev->pkt.ts.sec, at, sizeof at);
			ek_unix_str(x->not_after, when, sizeof when);
			NAMED();
			raise_finding(f, fc, F_CERT_EXPIRED, &wi, NULL,
				      "%s %s presented certificate %s (chain position %zu) that expired %s, before the "
				      "packet (%s, frame %llu)",
				      role_name(ev->sender), me, sanitize_str(x->serial_hex, xs, sizeof xs), i, when, at,
				      (unsigned long long)ev->pkt.frame);
			if (i == 0) inventory_mark(ie, F_CERT_EXPIRED);
		} else if (ev->pkt.ts.sec < x->not_before) {
			ek_unix_str(ev->pkt.ts.sec, at, sizeof at);
			ek_unix_str(x->not_before, when, sizeof when);
			NAMED();
			raise_finding(f, fc, F_CERT_NOT_YET_VALID, &wi, NULL,
				      "%s %s presented certificate %s (chain position %zu) valid only from %s, after "
				      "the packet (%s, frame %llu)",
				      role_name(ev->sender), me, sanitize_str(x->serial_hex, xs, sizeof xs), i, when, at,
				      (unsigned long long)ev->pkt.frame);
			if (i == 0) inventory_mark(ie, F_CERT_NOT_YET_VALID);
		}
	}

	/* Did one of the CAs the server listed issue the client's chain? */
	if (client && fc->cert_requested && fc->n_ca) {
		bool match = false;
		for (size_t i = 0; i < c->n_certs && !match; i++) {
			const struct x509_info *x = c->certs[i];
			if (!x || !x->parsed) continue;
			for (size_t k = 0; k < fc->n_ca && !match; k++)
				match = strcmp(x->issuer, fc->ca_names[k]) == 0 || strcmp(x->subject, fc->ca_names[k]) == 0;
		}
		if (!match && leaf->parsed) {
			char iss[300], listed[300];
			NAMED();
			raise_finding(f, fc, F_ISSUER_NOT_REQUESTED, &w, NULL,
				      "client %s sent certificate %s issued by %s; the server %s listed %zu other CA%s "
				      "(first: %s)",
				      me, serial, sanitize_str(leaf->issuer, iss, sizeof iss), peer, fc->n_ca,
				      fc->n_ca == 1 ? "" : "s", sanitize_str(fc->ca_names[0], listed, sizeof listed));
			inventory_mark(ie, F_ISSUER_NOT_REQUESTED);
		}
	}
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

/* certs_encrypted, once per connection: "<what> between C and S<why>" */
static void raise_encrypted(struct findings *f, struct findings_conn *fc, const struct tls_event *ev, struct row *rows,
			    size_t n, const char *what, const char *why)
{
	fc->encrypted_done = true;
	char c[EK_ENDPOINT_STRLEN], s[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&ev->conn->client, true, c, sizeof c);
	ek_endpoint_str(&ev->conn->server, true, s, sizeof s);
	struct where w = { ev, n ? &rows[0] : NULL, "", NULL };
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
		if (hs->type == TLS_HS_CLIENT_HELLO && hs->u.ch.sni && !fc->sni) {
			fc->sni = str_intern(f, hs->u.ch.sni, strlen(hs->u.ch.sni));
			if (!fc->sni && (fc->sni = strdup(hs->u.ch.sni))) fc->sni_owned = true;
		}
		if (hs->type == TLS_HS_CERTIFICATE_REQUEST && !fc->cert_requested) {
			fc->cert_requested = true;
			fc->cr_frame = ev->pkt.frame;
			fc->ca_names = calloc(hs->u.cr.n_ca_names + 1, sizeof *fc->ca_names);
			for (size_t i = 0; fc->ca_names && i < hs->u.cr.n_ca_names; i++)
				if ((fc->ca_names[fc->n_ca] = strdup(hs->u.cr.ca_names[i])) != NULL) fc->n_ca++;
		}
		if (hs->type == TLS_HS_CERTIFICATE) on_certificate(f, fc, ev, rows, n);
		if (hs->type == TLS_HS_SERVER_HELLO &&
		    (hs->u.sh.selected_version == 0x0304 || hs->u.sh.selected_version == 0xfefc) && !ev->conn->keys &&
		    !fc->encrypted_done) {
			if (hs->u.sh.resumed == TLS_RESUMED_PSK) {
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
				char why[128];
				snprintf(why, sizeof why, " (ServerHello frame %llu): certificates are encrypted and no key "
					 "was given for this connection", (unsigned long long)ev->pkt.frame);
				raise_encrypted(f, fc, ev, rows, n, ev->conn->dtls ? "DTLS 1.3" : "TLS 1.3", why);
			}
		}
		break;
	}
	case TLS_EV_ENCRYPTED_HANDSHAKE:
		if (ev->sender == TLS_ROLE_CLIENT) fc->client_encrypted = true;
		else fc->server_encrypted = true;
		break;
	case TLS_EV_DECRYPT_FAILED:
		/* a key was given, but the TLS 1.3 handshake stays encrypted */
		if (ev->conn->tls13 && ev->u.decrypt.handshake && !fc->encrypted_done) {
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
		break;
	case TLS_EV_DATA_MISSING:
		if (!fc->missing_done && !tls_handshake_complete(ev->conn) && !(ev->conn->tls13 && fc->client_encrypted)) {
			fc->missing_done = true;
			char who[EK_ENDPOINT_STRLEN], b[64] = "bytes";
			sender_endpoint(ev, ev->sender, ev->sender == TLS_ROLE_SERVER, who, sizeof who);
			if (ev->u.missing.bytes) snprintf(b, sizeof b, "%llu bytes", (unsigned long long)ev->u.missing.bytes);
			struct where w = { ev, n ? &rows[0] : NULL, role_name(ev->sender), NULL };
			raise_finding(f, fc, F_DATA_MISSING, &w, NULL,
				      "%s of the handshake sent by %s %s were not captured (before frame %llu)", b,
				      role_name(ev->sender), who, (unsigned long long)ev->pkt.frame);
		}
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
		on_unfinished(f, fc, ev);
		if (ev->conn->tls_crypt && !fc->encrypted_done) /* said per connection, nothing guessed */
			raise_encrypted(f, fc, ev, rows, n, "OpenVPN --tls-crypt",
					": the control channel is encrypted with the key all peers share, so the TLS "
					"handshake and its certificates are not visible (a key log does not help)");
		break;
	default:
		break;
	}
	if (ev->kind == TLS_EV_HANDSHAKE && ev->sender == fc->inc_sender) fc->inc_name = NULL;
}
