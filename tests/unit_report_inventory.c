/* report/inventory.c through its public API: what each endpoint presented
 * (inventory_note), a -j worker's file merged in (inventory_merge) as if
 * noted in order, the conflict check that sends a file back to the main
 * thread, and the --certs CSV of the result. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pki_cert.h"
#include "report/inventory.h"
#include "report/out_certs_csv.h"


static struct ek_endpoint ep(uint8_t host, uint16_t port)
{
	return (struct ek_endpoint){ { 4, { 10, 0, 0, host } }, port };
}

/* Note one certificate (with its issuer when given) as the dissector would. */
static bool note(struct inventory *inv, struct x509_cache *cache, uint8_t host, uint16_t port, bool client,
		 const char *leaf, const char *issuer, uint32_t file, uint64_t frame)
{
	struct x509_info *chain[2] = { pki_cert(cache, leaf), issuer ? pki_cert(cache, issuer) : NULL };
	struct ek_endpoint e = ep(host, port);
	bool other = false;
	struct inv_entry *ie = inventory_note(inv, &e, client, chain, issuer ? 2 : 1, file, frame, &other);
	CHECK(ie != NULL);
	x509_unref(cache, chain[0]);
	if (chain[1]) x509_unref(cache, chain[1]);
	return other;
}

/* The --certs CSV lines (header dropped), in a static buffer. */
static const char *certs_csv(const struct inventory *inv, char *const *names, uint32_t n)
{
	static char buf[8192];
	char path[64], err[256];
	snprintf(path, sizeof path, "/tmp/ek-unit-inv.%ld.csv", (long)getpid());
	CHECK(certs_csv_write(inv, path, names, n, err, sizeof err) == 0);
	FILE *fp = fopen(path, "r");
	size_t got = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
	if (fp) fclose(fp);
	buf[got] = '\0';
	unlink(path);
	char *nl = strchr(buf, '\n');
	return nl ? nl + 1 : "";
}

/* The line of endpoint,role (with the comma after), or NULL. */
static const char *line_of(const char *csv, const char *endpoint_role)
{
	static char line[2048];
	size_t k = strlen(endpoint_role);
	for (const char *p = csv; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > k && strncmp(p, endpoint_role, k) == 0 && p[k] == ',') {
			snprintf(line, sizeof line, "%.*s", (int)n, p);
			return line;
		}
		p += n + (e != NULL);
	}
	return NULL;
}

/* The last four columns: public_ca,conns,first_frame,last_frame,findings
 * after the chain serials; compared as the CSV's tail. */
static bool ends_with(const char *line, const char *tail)
{
	size_t n = line ? strlen(line) : 0, k = strlen(tail);
	return line && n >= k && strcmp(line + n - k, tail) == 0;
}

static void merge(void)
{
	struct x509_cache *ca = x509_cache_new(0), *cw = x509_cache_new(0);
	struct trust *t = trust_new("samples/pki/public-root-ca.crt", NULL, NULL);
	struct inventory *a = inventory_new(ca, t), *w = inventory_new(cw, t);
	inventory_log_notes(w);

	/* file 0, the run's own: a server on two connections, a client */
	CHECK(!note(a, ca, 2, 443, false, "expressway-e-server.crt", "public-issuing-ca.crt", 0, 4));
	CHECK(!note(a, ca, 2, 443, false, "expressway-e-server.crt", "public-issuing-ca.crt", 0, 10));
	CHECK(!note(a, ca, 1, 0, true, "cucm.crt", NULL, 0, 6));
	CHECK_EQ_U(inventory_count(a), 2);

	/* file 1, a worker's: the same server again, and a new one */
	CHECK(!note(w, cw, 2, 443, false, "expressway-e-server.crt", "public-issuing-ca.crt", 1, 3));
	CHECK(!note(w, cw, 5, 8443, false, "expressway-c.crt", NULL, 1, 8));
	CHECK(!inventory_merge_conflict(a, w));
	inventory_merge(a, w);
	CHECK_EQ_U(inventory_count(a), 3);
	CHECK_EQ_U(inventory_count(w), 0);

	char *names[] = { "a.pcap", "b.pcap" };
	const char *csv = certs_csv(a, names, 2);
	/* in order of first sight: a's entries, then the worker's new one */
	const char *l = line_of(csv, "10.0.0.2:443,server");
	CHECK(l && strstr(csv, "10.0.0.2:443,server") < strstr(csv, "10.0.0.1,client") &&
	      strstr(csv, "10.0.0.1,client") < strstr(csv, "10.0.0.5:8443,server"));
	/* counted across both files: 3 connections, first in a.pcap, last in b.pcap */
	CHECK(ends_with(l, ",3,a.pcap:4,b.pcap:3,"));
	CHECK(ends_with(line_of(csv, "10.0.0.1,client"), ",1,a.pcap:6,a.pcap:6,"));
	CHECK(ends_with(line_of(csv, "10.0.0.5:8443,server"), ",1,b.pcap:8,b.pcap:8,"));
	/* the merged certificate now lives in a's cache: the worker's can go */
	inventory_free(w);
	csv = certs_csv(a, names, 2);
	CHECK(ends_with(line_of(csv, "10.0.0.5:8443,server"), ",1,b.pcap:8,b.pcap:8,"));
	CHECK(strstr(line_of(csv, "10.0.0.5:8443,server"), "CN=expressway-c.example.com") != NULL);

	/* a note that would have gone otherwise after a's files: the worker
	 * saw 10.0.0.2's certificate only as a client, a had it as a server */
	w = inventory_new(cw, t);
	inventory_log_notes(w);
	CHECK(!note(w, cw, 2, 0, true, "expressway-e-server.crt", "public-issuing-ca.crt", 2, 5));
	CHECK(inventory_merge_conflict(a, w));
	/* noted in order (what the main thread then does), it is the other role */
	CHECK(note(a, ca, 2, 0, true, "expressway-e-server.crt", "public-issuing-ca.crt", 2, 5));

	inventory_free(w);
	inventory_free(a);
	trust_free(t);
	x509_cache_free(cw);
	x509_cache_free(ca);
}

/* A leaf at several endpoints, interleaved with others, and a leaf that
 * shares all its names with another: each row has its certificate columns
 * (a leaf's rendered once, kept for its later rows; shared names escaped
 * once), as openssl x509 prints them. */
static void shared_leaves(void)
{
	struct x509_cache *c = x509_cache_new(0);
	struct trust *t = trust_new("samples/pki/public-root-ca.crt", NULL, NULL);
	struct inventory *inv = inventory_new(c, t);
	for (uint8_t h = 1; h <= 3; h++) {
		CHECK(!note(inv, c, h, 443, false, "expressway-e-server.crt", "public-issuing-ca.crt", 0, h));
		if (h < 3) CHECK(!note(inv, c, (uint8_t)(10 + h), 0, true, "cucm.crt", NULL, 0, 10u + h));
	}
	CHECK(!note(inv, c, 20, 8443, false, "expressway-c.crt", NULL, 0, 20));
	/* expressway-e-server.crt's subject, issuer, SAN, key usage and dates, another EKU */
	CHECK(!note(inv, c, 30, 443, false, "expressway-e-dual.crt", "public-issuing-ca.crt", 0, 30));
	CHECK_EQ_U(inventory_count(inv), 7);
	const char *csv = certs_csv(inv, NULL, 1);
	static const char e_cols[] =
		",46df76aa000000000029,\"CN=expressway-e.example.com,OU=TAC,O=Example,L=KA,ST=KA,C=IN\","
		"\"CN=Public Issuing CA,O=Example Public Trust,C=US\",DNS:expressway-e.example.com,serverAuth,"
		"digitalSignature,2026-01-01T00:00:00Z,2036-01-01T00:00:00Z,"
		"24e216ef402f0811e6b41189018de5884f10c08e2e9004a1cf7e182ef15cbbba,";
	static const char cucm_cols[] =
		",2001000000000038,\"CN=cucm.example.com,OU=TAC,O=Example,L=KA,ST=KA,C=IN\","
		"\"CN=Private CA 1,O=Example,C=IN\",DNS:cucm.example.com,serverAuth;clientAuth,digitalSignature,"
		"2026-01-01T00:00:00Z,2036-01-01T00:00:00Z,"
		"3c44ada38c3851f317c432ab3b1a504fec614c859743efc742b0aa9f0f38a8f6,";
	const char *rows[] = { "10.0.0.1:443,server", "10.0.0.2:443,server", "10.0.0.3:443,server",
			       "10.0.0.11,client", "10.0.0.12,client" };
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *l = line_of(csv, rows[i]);
		CHECK(l && strncmp(l + strlen(rows[i]), i < 3 ? e_cols : cucm_cols,
				   strlen(i < 3 ? e_cols : cucm_cols)) == 0);
	}
	CHECK(strstr(line_of(csv, "10.0.0.20:8443,server"), "CN=expressway-c.example.com") != NULL);
	CHECK_STR(line_of(csv, "10.0.0.30:443,server"),
		  "10.0.0.30:443,server,2f0000004c869c77c8981becde00000000004c,"
		  "\"CN=expressway-e.example.com,OU=TAC,O=Example,L=KA,ST=KA,C=IN\","
		  "\"CN=Public Issuing CA,O=Example Public Trust,C=US\",DNS:expressway-e.example.com,"
		  "serverAuth;clientAuth,digitalSignature,2026-01-01T00:00:00Z,2036-01-01T00:00:00Z,"
		  "d997a0484019b04cafeea7503a18fcd6095126fca13d7f29f2dd7deb2e5996bd,1002,yes,1,30,30,");
	/* written twice, the same */
	char first[8192];
	snprintf(first, sizeof first, "%s", csv);
	CHECK_STR(certs_csv(inv, NULL, 1), first);
	inventory_free(inv);
	trust_free(t);
	x509_cache_free(c);
}

int main(void)
{
	merge();
	shared_leaves();
	return check_summary();
}
