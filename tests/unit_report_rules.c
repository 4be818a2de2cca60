/* report/rules.c and findings_store.c through their public API: typed
 * dissector events (real certificates from samples/pki) go into
 * findings_on_event, the findings raised (code and message) come out of
 * findings_opts.on_finding; then aggregation (the text report) and the
 * -j merge. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pki_cert.h"
#include "report/findings.h"

#define MAX_GOT 32

static struct {
	enum finding_code code;
	char role[8];
	char msg[512];
} got[MAX_GOT];
static size_t n_got;

static void on_finding(void *ctx, const struct finding_rec *r)
{
	(void)ctx;
	if (n_got == MAX_GOT) return;
	got[n_got].code = r->code;
	snprintf(got[n_got].role, sizeof got[n_got].role, "%s", r->role);
	snprintf(got[n_got].msg, sizeof got[n_got].msg, "%s", r->message);
	n_got++;
}

/* The one finding raised since the last call, or -1 (none, or several). */
static int one_code(void)
{
	int c = n_got == 1 ? (int)got[0].code : -1;
	if (n_got > 1)
		for (size_t i = 0; i < n_got; i++) fprintf(stderr, "  raised: %s\n", finding_def(got[i].code)->name);
	return c;
}

struct env {
	struct x509_cache *cache;
	struct trust *trust;
	struct inventory *inv;
	struct findings *f;
};

static void env_open(struct env *e, const char *ca_file)
{
	char err[256];
	e->cache = x509_cache_new(0);
	e->trust = trust_new("samples/pki/public-root-ca.crt", ca_file, NULL);
	e->inv = inventory_new(e->cache, e->trust);
	struct findings_opts o;
	memset(&o, 0, sizeof o);
	o.on_finding = on_finding;
	e->f = findings_new(&o, e->cache, e->trust, e->inv, err, sizeof err);
	CHECK(e->cache && e->trust && e->inv && e->f);
}

static void env_close(struct env *e)
{
	findings_free(e->f);
	inventory_free(e->inv);
	trust_free(e->trust);
	x509_cache_free(e->cache);
}

static struct x509_info *cert(struct env *e, const char *name)
{
	return pki_cert(e->cache, name);
}

/* One connection 10.0.0.1:50000 -> 10.0.0.2:port (client host h). */
struct conn {
	struct tls_conn_view v;
	struct conn_rec cr;
	int64_t now;
};

static void conn_init(struct conn *c, uint64_t id, uint8_t client_host, uint16_t port, int64_t now)
{
	memset(c, 0, sizeof *c);
	c->v.id = c->cr.id = id;
	c->v.client = (struct ek_endpoint){ { 4, { 10, 0, 0, client_host } }, 50000 };
	c->v.server = (struct ek_endpoint){ { 4, { 10, 0, 0, 2 } }, port };
	c->v.roles_known = c->v.is_tls = true;
	c->cr.state = CONN_TLS;
	c->now = now;
}

static void conn_done(struct conn *c)
{
	if (c->cr.fc) findings_free_conn(c->cr.fc);
	c->cr.fc = NULL;
}

/* Feed one event with n rows (the timeline's rows for it). */
static void feed(struct env *e, struct conn *c, struct tls_event *ev, enum tls_role sender, uint64_t frame,
		 const char *name, size_t n)
{
	struct row rows[4];
	memset(rows, 0, sizeof rows);
	for (size_t i = 0; i < n; i++) {
		rows[i].file = "t.pcap";
		rows[i].frame = frame;
		rows[i].event = name;
		rows[i].detail = "";
		rows[i].cert_index = -1;
	}
	ev->conn = &c->v;
	ev->consumer = &c->v.consumer;
	ev->sender = sender;
	ev->pkt = (struct ek_pktref){ frame, { c->now, 0 }, 0 };
	if (ev->kind == TLS_EV_HANDSHAKE && ev->u.hs.type == TLS_HS_CLIENT_HELLO) c->v.client_sent_hello = true;
	if (ev->kind == TLS_EV_HANDSHAKE && ev->u.hs.type == TLS_HS_SERVER_HELLO) c->v.server_sent_hello = true;
	findings_on_event(e->f, &c->cr, ev, rows, n);
}

static void hello(struct env *e, struct conn *c, const char *sni)
{
	struct tls_event ev = { .kind = TLS_EV_HANDSHAKE };
	ev.u.hs.type = TLS_HS_CLIENT_HELLO;
	ev.u.hs.u.ch.sni = sni;
	feed(e, c, &ev, TLS_ROLE_CLIENT, 1, "ClientHello", 1);
	ev = (struct tls_event){ .kind = TLS_EV_HANDSHAKE };
	ev.u.hs.type = TLS_HS_SERVER_HELLO;
	ev.u.hs.u.sh.selected_version = 0x0303;
	feed(e, c, &ev, TLS_ROLE_SERVER, 2, "ServerHello", 1);
}

static void certificate(struct env *e, struct conn *c, enum tls_role who, uint64_t frame, struct x509_info **chain,
			size_t n)
{
	struct tls_event ev = { .kind = TLS_EV_HANDSHAKE };
	ev.u.hs.type = TLS_HS_CERTIFICATE;
	ev.u.hs.u.cert.certs = chain;
	ev.u.hs.u.cert.n_certs = ev.u.hs.u.cert.n_total = n;
	feed(e, c, &ev, who, frame, "Certificate", n ? n : 1);
}

static void cert_request(struct env *e, struct conn *c, uint64_t frame, const char *const *cas, size_t n)
{
	struct tls_event ev = { .kind = TLS_EV_HANDSHAKE };
	ev.u.hs.type = TLS_HS_CERTIFICATE_REQUEST;
	ev.u.hs.u.cr.ca_names = cas;
	ev.u.hs.u.cr.n_ca_names = n;
	feed(e, c, &ev, TLS_ROLE_SERVER, frame, "CertificateRequest", 1);
}

/* A handshake on c up to one side's Certificate (after a
 * CertificateRequest listing cas, when n_cas): got[] holds the findings
 * that Certificate raised. */
static void present(struct env *e, struct conn *c, const char *sni, const char *const *cas, size_t n_cas,
		    enum tls_role who, uint64_t frame, struct x509_info **chain, size_t n)
{
	hello(e, c, sni);
	if (n_cas) cert_request(e, c, 5, cas, n_cas);
	n_got = 0;
	certificate(e, c, who, frame, chain, n);
}

/* The one finding raised is code, with message want. */
static void expect(enum finding_code code, const char *want)
{
	CHECK_EQ_U(one_code(), code);
	CHECK_STR(n_got ? got[0].msg : "", want);
}

static void server_cert_rules(void)
{
	struct env e;
	env_open(&e, NULL);
	struct conn c;
	char want[512], at[32], when[32];

	/* expired: the leaf only (chain position 0), at the packet's time */
	struct x509_info *exp[2] = { cert(&e, "expired.crt"), cert(&e, "public-issuing-ca.crt") };
	int64_t t = exp[0]->not_after + 86400;
	conn_init(&c, 1, 1, 443, t);
	present(&e, &c, "expressway-e.example.com", NULL, 0, TLS_ROLE_SERVER, 4, exp, 2);
	ek_unix_str(t, at, sizeof at);
	ek_unix_str(exp[0]->not_after, when, sizeof when);
	snprintf(want, sizeof want,
		 "server 10.0.0.2:443 presented certificate %s (chain position 0) that expired %s, before the packet "
		 "(%s, frame 4)",
		 exp[0]->serial_hex, when, at);
	expect(F_CERT_EXPIRED, want);
	CHECK_STR(got[0].role, "server");
	conn_done(&c);

	/* not yet valid */
	struct x509_info *nyv = cert(&e, "not-yet-valid.crt");
	t = nyv->not_before - 3600;
	conn_init(&c, 2, 1, 443, t);
	present(&e, &c, "expressway-e.example.com", NULL, 0, TLS_ROLE_SERVER, 4, &nyv, 1);
	ek_unix_str(t, at, sizeof at);
	ek_unix_str(nyv->not_before, when, sizeof when);
	snprintf(want, sizeof want,
		 "server 10.0.0.2:443 presented certificate %s (chain position 0) valid only from %s, after the packet "
		 "(%s, frame 4)",
		 nyv->serial_hex, when, at);
	expect(F_CERT_NOT_YET_VALID, want);
	conn_done(&c);

	/* no EKU extension */
	int64_t now = 1800000000; /* 2027: within every other certificate's validity */
	struct x509_info *noeku = cert(&e, "expressway-x8-no-eku.crt");
	conn_init(&c, 3, 1, 443, now);
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_SERVER, 4, &noeku, 1);
	snprintf(want, sizeof want, "server 10.0.0.2:443 presented certificate %s without an EKU extension (any purpose)",
		 noeku->serial_hex);
	expect(F_CERT_NO_EKU, want);
	conn_done(&c);

	/* the SNI the client asked for is not in the certificate */
	struct x509_info *sni = cert(&e, "expressway-sni.crt");
	conn_init(&c, 4, 1, 443, now);
	present(&e, &c, "other.example.org", NULL, 0, TLS_ROLE_SERVER, 4, &sni, 1);
	snprintf(want, sizeof want, "server 10.0.0.2:443 certificate %s (%s) does not match SNI other.example.org",
		 sni->serial_hex, sni->san);
	expect(F_SNI_MISMATCH, want);
	conn_done(&c);
	/* ... and nothing when it matches */
	conn_init(&c, 5, 1, 443, now);
	present(&e, &c, "expressway.example.com", NULL, 0, TLS_ROLE_SERVER, 4, &sni, 1);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);

	/* server certificate without serverAuth */
	struct x509_info *conly = cert(&e, "cucm-client-only.crt");
	conn_init(&c, 6, 1, 8443, now);
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_SERVER, 4, &conly, 1);
	snprintf(want, sizeof want,
		 "10.0.0.2:8443 presented certificate %s (EKU clientAuth) as TLS server to 10.0.0.1 (frame 4): no "
		 "serverAuth",
		 conly->serial_hex);
	expect(F_SERVER_CERT_NO_SERVERAUTH, want);
	conn_done(&c);

	/* clientAuth from a public CA (samples/pki/public-root-ca.crt is the public root here) */
	struct x509_info *dual[2] = { cert(&e, "expressway-e-dual.crt"), cert(&e, "public-issuing-ca.crt") };
	conn_init(&c, 7, 1, 5061, now);
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_SERVER, 4, dual, 2);
	CHECK_EQ_U(one_code(), F_PUBLIC_CA_CLIENTAUTH);
	conn_done(&c);
	/* ... and not from a private one */
	struct x509_info *priv = cert(&e, "expressway-c.crt");
	conn_init(&c, 8, 1, 5061, now);
	present(&e, &c, "expressway-c.example.com", NULL, 0, TLS_ROLE_SERVER, 4, &priv, 1);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);

	/* the same certificate from one address as server, then as client */
	struct x509_info *cucm = cert(&e, "cucm.crt");
	conn_init(&c, 9, 1, 5061, now);
	c.v.server.addr.a[3] = 9;
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_SERVER, 4, &cucm, 1);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);
	conn_init(&c, 10, 9, 5061, now);
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_CLIENT, 6, &cucm, 1);
	snprintf(want, sizeof want,
		 "10.0.0.9 presented certificate %s both as TLS server and as TLS client (now as client, frame 6)",
		 cucm->serial_hex);
	expect(F_SAME_CERT_BOTH_ROLES, want);
	conn_done(&c);

	x509_unref(e.cache, exp[0]);
	x509_unref(e.cache, exp[1]);
	x509_unref(e.cache, nyv);
	x509_unref(e.cache, noeku);
	x509_unref(e.cache, sni);
	x509_unref(e.cache, conly);
	x509_unref(e.cache, dual[0]);
	x509_unref(e.cache, dual[1]);
	x509_unref(e.cache, priv);
	x509_unref(e.cache, cucm);
	env_close(&e);
}

static void client_cert_rules(void)
{
	struct env e;
	env_open(&e, NULL);
	struct conn c;
	char want[640];
	int64_t now = 1800000000;

	/* a server-only certificate as client, then the server's fatal alert */
	struct x509_info *srv = cert(&e, "expressway-e-server.crt");
	const char *cas[] = { srv->issuer };
	conn_init(&c, 1, 1, 5061, now);
	present(&e, &c, NULL, cas, 1, TLS_ROLE_CLIENT, 7, &srv, 1);
	snprintf(want, sizeof want,
		 "10.0.0.1 presented certificate %s (EKU serverAuth) as TLS client to 10.0.0.2:5061 (frame 7): no "
		 "clientAuth",
		 srv->serial_hex);
	expect(F_CLIENT_CERT_NO_CLIENTAUTH, want);
	CHECK_STR(got[0].role, "client");
	n_got = 0;
	struct tls_event ev = { .kind = TLS_EV_ALERT };
	ev.u.alert.level = 2;
	ev.u.alert.desc = 42; /* bad_certificate */
	feed(&e, &c, &ev, TLS_ROLE_SERVER, 9, "Alert", 1);
	CHECK_EQ_U(one_code(), F_HANDSHAKE_FAILED);
	CHECK_STR(got[0].msg, "server 10.0.0.2:5061 aborted the handshake with 10.0.0.1 by fatal bad_certificate(42) "
			      "alert at frame 9, 0.0 ms after the client's Certificate (frame 7); likely cause: client "
			      "certificate without clientAuth EKU (client_cert_no_clientauth)");
	CHECK(strstr(got[0].msg, "at frame 9, 0.0 ms after the client's Certificate (frame 7); likely cause: client "
				 "certificate without clientAuth EKU (client_cert_no_clientauth)") != NULL);
	/* one handshake_failed per connection */
	n_got = 0;
	ev = (struct tls_event){ .kind = TLS_EV_TCP_RESET };
	feed(&e, &c, &ev, TLS_ROLE_SERVER, 10, "TcpReset", 1);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);

	/* anyExtendedKeyUsage only, as client */
	struct x509_info *any = cert(&e, "expressway-c-any-eku.crt");
	conn_init(&c, 2, 1, 5061, now);
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_CLIENT, 7, &any, 1);
	snprintf(want, sizeof want,
		 "10.0.0.1 presented certificate %s (EKU anyExtendedKeyUsage) as TLS client to 10.0.0.2:5061 (frame "
		 "7): no clientAuth, relies on anyExtendedKeyUsage (Go, Java, GnuTLS accept it; NSS, OpenSSL reject "
		 "it)",
		 any->serial_hex);
	expect(F_EKU_ANY_ONLY, want);
	conn_done(&c);

	/* requested, none sent */
	conn_init(&c, 3, 1, 5061, now);
	present(&e, &c, NULL, cas, 1, TLS_ROLE_CLIENT, 7, NULL, 0);
	/* with what the same address presented on conn 2 (the anyExtendedKeyUsage one) */
	snprintf(want, sizeof want,
		 "client 10.0.0.1 sent an empty Certificate (frame 7) to 10.0.0.2:5061 although the server requested "
		 "one (CertificateRequest, frame 5); 10.0.0.1 presented certificate %s (EKU anyExtendedKeyUsage) as "
		 "TLS client on conn 2 (frame 7): it has no clientAuth, and clients that withhold such a certificate "
		 "(NSS-based ones among them) send an empty Certificate",
		 any->serial_hex);
	expect(F_CLIENT_CERT_EMPTY, want);
	conn_done(&c);
	/* not requested: an empty Certificate says nothing */
	conn_init(&c, 4, 1, 5061, now);
	present(&e, &c, NULL, NULL, 0, TLS_ROLE_CLIENT, 7, NULL, 0);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);

	/* a client certificate from a CA the server did not list */
	struct x509_info *cli = cert(&e, "cucm.crt");
	const char *other[] = { "CN=Some Other CA,O=Elsewhere,C=US" };
	conn_init(&c, 5, 1, 5061, now);
	present(&e, &c, NULL, other, 1, TLS_ROLE_CLIENT, 7, &cli, 1);
	snprintf(want, sizeof want,
		 "client 10.0.0.1 sent certificate %s issued by %s; the server 10.0.0.2:5061 listed 1 other CA (first: "
		 "CN=Some Other CA,O=Elsewhere,C=US)",
		 cli->serial_hex, cli->issuer);
	expect(F_ISSUER_NOT_REQUESTED, want);
	conn_done(&c);
	/* ... listed: nothing */
	const char *mine[] = { cli->issuer };
	conn_init(&c, 6, 1, 5061, now);
	present(&e, &c, NULL, mine, 1, TLS_ROLE_CLIENT, 7, &cli, 1);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);

	x509_unref(e.cache, srv);
	x509_unref(e.cache, any);
	x509_unref(e.cache, cli);
	env_close(&e);
}

static void connection_rules(void)
{
	struct env e;
	env_open(&e, NULL);
	struct conn c;
	int64_t now = 1800000000;

	/* the capture ends after the ClientHello */
	conn_init(&c, 1, 1, 443, now);
	struct tls_event ev = { .kind = TLS_EV_HANDSHAKE };
	ev.u.hs.type = TLS_HS_CLIENT_HELLO;
	feed(&e, &c, &ev, TLS_ROLE_CLIENT, 1, "ClientHello", 1);
	n_got = 0;
	ev = (struct tls_event){ .kind = TLS_EV_CONN_END };
	feed(&e, &c, &ev, TLS_ROLE_NONE, 3, NULL, 0);
	CHECK_EQ_U(one_code(), F_HANDSHAKE_UNFINISHED);
	CHECK_STR(got[0].msg, "the capture of the handshake between 10.0.0.1:50000 and 10.0.0.2:443 ends at frame 3 "
			      "after the client's ClientHello (frame 1): the server's reply (ServerHello) and the rest of "
			      "the handshake are not in the file");
	conn_done(&c);

	/* a completed handshake ends without a finding */
	conn_init(&c, 2, 1, 443, now);
	hello(&e, &c, NULL);
	c.v.client_finished = c.v.server_finished = true;
	n_got = 0;
	ev = (struct tls_event){ .kind = TLS_EV_TCP_FIN };
	feed(&e, &c, &ev, TLS_ROLE_CLIENT, 9, "TcpFin", 1);
	ev = (struct tls_event){ .kind = TLS_EV_CONN_END };
	feed(&e, &c, &ev, TLS_ROLE_NONE, 10, NULL, 0);
	CHECK_EQ_U(n_got, 0);
	conn_done(&c);

	/* bytes of the handshake not captured */
	conn_init(&c, 3, 1, 443, now);
	hello(&e, &c, NULL);
	n_got = 0;
	ev = (struct tls_event){ .kind = TLS_EV_DATA_MISSING };
	ev.u.missing.bytes = 1448;
	feed(&e, &c, &ev, TLS_ROLE_SERVER, 5, "DataMissing", 1);
	CHECK_EQ_U(one_code(), F_DATA_MISSING);
	CHECK_STR(got[0].msg, "1448 bytes of the handshake sent by server 10.0.0.2:443 were not captured (before frame 5)");
	conn_done(&c);

	/* TLS 1.3 without keys: certificates encrypted, once */
	conn_init(&c, 4, 1, 443, now);
	ev = (struct tls_event){ .kind = TLS_EV_HANDSHAKE };
	ev.u.hs.type = TLS_HS_SERVER_HELLO;
	ev.u.hs.u.sh.selected_version = 0x0304;
	n_got = 0;
	feed(&e, &c, &ev, TLS_ROLE_SERVER, 2, "ServerHello", 1);
	CHECK_EQ_U(one_code(), F_CERTS_ENCRYPTED);
	CHECK_STR(got[0].msg, "TLS 1.3 between 10.0.0.1:50000 and 10.0.0.2:443 (ServerHello frame 2): certificates are "
			      "encrypted and no key was given for this connection");
	conn_done(&c);
	env_close(&e);
}

/* The text report's findings section, in a static buffer. */
static const char *report(const struct findings *f)
{
	static char buf[16384];
	FILE *fp = fmemopen(buf, sizeof buf, "w");
	if (!fp) return "";
	findings_print(f, fp);
	fclose(fp);
	return buf;
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
	return n;
}

/* Aggregation: the same finding (code, client address, server endpoint,
 * certificate) on several connections is one line with its count; the
 * -j merge adds a later file's as if it had been seen in order. */
static void aggregation(void)
{
	struct env a, w;
	env_open(&a, NULL);
	env_open(&w, NULL);
	int64_t now = 1800000000;
	struct x509_info *noeku = cert(&a, "expressway-x8-no-eku.crt");
	struct conn c;
	for (uint64_t id = 1; id <= 3; id++) {
		conn_init(&c, id, 1, 443, now);
		c.v.client.port = (uint16_t)(50000 + id); /* clients aggregate by address */
		hello(&a, &c, NULL);
		certificate(&a, &c, TLS_ROLE_SERVER, 4, &noeku, 1);
		conn_done(&c);
	}
	/* another client address: its own line */
	conn_init(&c, 4, 7, 443, now);
	hello(&a, &c, NULL);
	certificate(&a, &c, TLS_ROLE_SERVER, 4, &noeku, 1);
	conn_done(&c);
	const char *r = report(a.f);
	CHECK_EQ_U(count_of(r, "\n  cert_no_eku\n"), 1);
	CHECK_EQ_U(count_of(r, "\n    - server 10.0.0.2:443 presented certificate "), 2);
	CHECK_EQ_U(count_of(r, "(any purpose) (x3)\n"), 1);
	CHECK_EQ_U(count_of(r, "(any purpose)\n"), 1);
	CHECK_EQ_U(findings_max_severity(a.f), finding_def(F_CERT_NO_EKU)->severity);
	CHECK_EQ_U(findings_count(a.f, finding_def(F_CERT_NO_EKU)->severity), 4);

	/* a worker's file: the same finding twice more, and a new one */
	struct x509_info *wnoeku = cert(&w, "expressway-x8-no-eku.crt");
	struct x509_info *wsrv = cert(&w, "cucm-client-only.crt");
	for (uint64_t id = 1; id <= 2; id++) {
		conn_init(&c, id, 1, 443, now);
		hello(&w, &c, NULL);
		certificate(&w, &c, TLS_ROLE_SERVER, 4, &wnoeku, 1);
		conn_done(&c);
	}
	conn_init(&c, 3, 1, 8443, now);
	hello(&w, &c, NULL);
	certificate(&w, &c, TLS_ROLE_SERVER, 4, &wsrv, 1);
	conn_done(&c);
	x509_unref(w.cache, wnoeku);
	x509_unref(w.cache, wsrv);
	findings_trim(w.f);
	findings_merge(a.f, w.f);
	r = report(a.f);
	CHECK_EQ_U(count_of(r, "\n  cert_no_eku\n"), 1);
	CHECK_EQ_U(count_of(r, "(any purpose) (x5)\n"), 1);
	CHECK_EQ_U(count_of(r, "(any purpose)\n"), 1);
	CHECK_EQ_U(count_of(r, "\n  server_cert_no_serverauth\n"), 1);
	CHECK_EQ_U(count_of(r, "\n    - 10.0.0.2:8443 presented certificate "), 1);
	CHECK_EQ_U(count_of(r, "\n    - "), 3);
	/* the severity counts add up: 4 + 2 + 1 raised */
	uint64_t total = 0;
	for (int sev = SEV_INFO; sev <= SEV_ERROR; sev++) total += findings_count(a.f, (enum severity)sev);
	CHECK_EQ_U(total, 7);
	x509_unref(a.cache, noeku);
	env_close(&w);
	env_close(&a);
}

int main(void)
{
	server_cert_rules();
	client_cert_rules();
	connection_rules();
	aggregation();
	return check_summary();
}
