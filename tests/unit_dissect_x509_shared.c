/* dissect/x509_shared.c: caches of several threads sharing one store.
 * Every record equals what a cache of its own parses (fields and
 * X509_check_host answers), each distinct certificate is parsed once in
 * all (also when the threads ask in the same order at the same time),
 * and the store stays within its byte bound. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "dissect/x509.h"
#include "dissect/x509_shared.h"

#define N_CERTS 300
#define N_DER (N_CERTS + 1) /* and one that does not parse */
#define N_THREADS 4

static uint8_t *der[N_DER];
static size_t der_len[N_DER];

/* A server certificate per index: its own serial, names and SAN. */
static void make_certs(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	if (!key) exit(2);
	for (int i = 0; i < N_CERTS; i++) {
		X509 *x = X509_new();
		char cn[64], san[96];
		snprintf(cn, sizeof cn, "host-%d.example", i);
		snprintf(san, sizeof san, "DNS:host-%d.example,IP:10.0.%d.%d", i, i / 256, i % 256);
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + i);
		X509_NAME *nm = X509_get_subject_name(x);
		X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"Fleet", -1, -1, 0);
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
		X509_set_issuer_name(x, nm);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 86400L * (i + 1));
		X509_set_pubkey(x, key);
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		const char *exts[][2] = { { "subjectAltName", san }, { "extendedKeyUsage", i % 3 ? "serverAuth" : "clientAuth" } };
		for (size_t k = 0; k < 2; k++) {
			X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[k][0], exts[k][1]);
			if (!e) exit(2);
			X509_add_ext(x, e, -1);
			X509_EXTENSION_free(e);
		}
		X509_sign(x, key, EVP_sha256());
		unsigned char *d = NULL;
		int n = i2d_X509(x, &d);
		if (n <= 0) exit(2);
		der[i] = malloc((size_t)n);
		memcpy(der[i], d, (size_t)n);
		der_len[i] = (size_t)n;
		OPENSSL_free(d);
		X509_free(x);
	}
	der[N_CERTS] = malloc(40);
	memset(der[N_CERTS], 0x30, 40);
	der_len[N_CERTS] = 40;
	EVP_PKEY_free(key);
}

struct side {
	struct x509_cache *c;
	struct x509_shared *s;
	bool reverse;
	struct x509_info *got[N_DER];
	int host_ok[N_DER], host_bad[N_DER];
	pthread_t th;
};

static void *run_side(void *arg)
{
	struct side *d = arg;
	if (d->s) x509_cache_share(d->c, d->s);
	for (int k = 0; k < N_DER; k++) {
		int i = d->reverse ? N_DER - 1 - k : k;
		d->got[i] = x509_get(d->c, der[i], der_len[i]);
		char name[64];
		snprintf(name, sizeof name, "host-%d.example", i);
		d->host_ok[i] = x509_check_host(d->c, d->got[i], name);
		d->host_bad[i] = x509_check_host(d->c, d->got[i], "other.example");
	}
	return NULL;
}

static void same_record(const struct x509_info *a, const struct x509_info *b)
{
	CHECK(a && b);
	if (!a || !b) return;
	CHECK(memcmp(a->sha256, b->sha256, 32) == 0);
	CHECK(a->parsed == b->parsed && a->is_ca == b->is_ca && a->self_issued == b->self_issued);
	CHECK(a->have_validity == b->have_validity && a->not_before == b->not_before && a->not_after == b->not_after);
	CHECK_EQ_U(a->eku_flags, b->eku_flags);
	CHECK_EQ_U(a->der_len, b->der_len);
	CHECK_STR(a->serial_hex, b->serial_hex);
	CHECK_STR(a->subject, b->subject);
	CHECK_STR(a->issuer, b->issuer);
	CHECK_STR(a->san, b->san);
	CHECK_STR(a->eku, b->eku);
	CHECK_STR(a->key_usage, b->key_usage);
}

/* n threads, each its own cache on one store of max_bytes; reverse: every
 * other thread asks in the opposite order. */
static void run(size_t max_bytes, int n, bool reverse, const struct side *ref, struct x509_shared_stats *st)
{
	struct x509_shared *s = x509_shared_new(max_bytes);
	CHECK(s != NULL);
	struct side *sides = calloc((size_t)n, sizeof *sides);
	for (int t = 0; t < n; t++) {
		sides[t].c = x509_cache_new(0);
		sides[t].s = s;
		sides[t].reverse = reverse && (t & 1);
		pthread_create(&sides[t].th, NULL, run_side, &sides[t]);
	}
	for (int t = 0; t < n; t++) pthread_join(sides[t].th, NULL);
	for (int t = 0; t < n; t++) {
		for (int i = 0; i < N_DER; i++) {
			same_record(sides[t].got[i], ref->got[i]);
			CHECK(sides[t].host_ok[i] == ref->host_ok[i]);
			CHECK(sides[t].host_bad[i] == ref->host_bad[i]);
			x509_unref(sides[t].c, sides[t].got[i]);
		}
		x509_cache_share(sides[t].c, NULL);
		x509_cache_free(sides[t].c);
	}
	x509_shared_stats(s, st);
	x509_shared_free(s);
	free(sides);
}

int main(void)
{
	make_certs();
	/* the reference: one cache alone */
	struct side ref = { .c = x509_cache_new(0) };
	run_side(&ref);
	CHECK(ref.got[0]->parsed && !ref.got[N_CERTS]->parsed);
	CHECK(ref.host_ok[1] == 1 && ref.host_bad[1] == 0);

	struct x509_shared_stats st;
	/* two threads, opposite orders: each certificate parsed once */
	run(0, 2, true, &ref, &st);
	CHECK_EQ_U(st.claims, N_DER);
	CHECK_EQ_U(st.hits, N_DER);
	CHECK_EQ_U(st.entries, N_DER);
	CHECK_EQ_U(st.dropped, 0);
	/* four threads in the same order at once: still once each (the
	 * others wait for the claim or find the record) */
	run(0, N_THREADS, false, &ref, &st);
	CHECK_EQ_U(st.claims, N_DER);
	CHECK_EQ_U(st.hits, (N_THREADS - 1) * N_DER);
	/* a bound of ~10 records: the oldest dropped, some parsed again,
	 * every record still right */
	size_t bound = 10 * (sizeof(struct x509_info) + 200);
	run(bound, 2, true, &ref, &st);
	CHECK(st.dropped > 0);
	CHECK(st.claims > N_DER && st.claims <= 2 * N_DER);
	CHECK(st.bytes <= bound + 2048);
	CHECK(st.entries < 20);

	for (int i = 0; i < N_DER; i++) {
		x509_unref(ref.c, ref.got[i]);
		free(der[i]);
	}
	x509_cache_free(ref.c);
	return check_summary();
}
