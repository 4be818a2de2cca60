/* dissect/x509_host.c: x509_check_host answers as X509_check_host gives
 * them on the full certificate (d2i_X509), for certificates made here
 * that share what the answers are kept by (subject, subjectAltName) or
 * differ in one part of it only, asked with several names in turn: a
 * kept answer must never be handed to a certificate or a name it was not
 * worked out for. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "dissect/x509.h"

static EVP_PKEY *key;

/* A certificate for cn (NULL: no commonName) with one subjectAltName
 * extension per non-NULL san[] entry; DER (OPENSSL_free), *len. */
static uint8_t *cert(unsigned serial, const char *cn, const char *const san[2], size_t *len)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"Example", -1, -1, 0);
	if (cn) X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	for (int i = 0; i < 2 && san && san[i]; i++) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san[i]);
		if (!e) exit(2);
		X509_add_ext(x, e, -1); /* a second one too: X509_check_host then ignores both */
		X509_EXTENSION_free(e);
	}
	X509_sign(x, key, EVP_sha256());
	unsigned char *der = NULL; /* OPENSSL_free */
	int n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0) exit(2);
	*len = (size_t)n;
	return der;
}

/* X509_check_host on d2i_X509 of der: what x509_check_host must say. */
static int reference(const uint8_t *der, size_t len, const char *name)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	int r = x ? X509_check_host(x, name, strlen(name), 0, NULL) : -9;
	X509_free(x);
	return r;
}

static void test_answers(void)
{
	static const char *const a[2] = { "DNS:a.example,DNS:*.w.example", NULL };
	static const char *const a_ip[2] = { "DNS:a.example,DNS:*.w.example,IP:10.0.0.1", NULL };
	static const char *const b[2] = { "DNS:b.example", NULL };
	static const char *const ip_only[2] = { "IP:10.0.0.1", NULL };
	static const char *const two[2] = { "DNS:a.example", "DNS:b.example" };
	const struct {
		const char *cn;
		const char *const *san;
	} specs[] = {
		{ "a.example", a },     { "a.example", a },       /* the same identity, serials differ */
		{ "a.example", a_ip },  { "a.example", b },       /* the SAN differs */
		{ "b.example", a },     { "c.example", NULL },    /* the CN differs; no SAN: the CN */
		{ "b.example", NULL },  { "a.example", ip_only }, /* no DNS name: the CN */
		{ "c.example", two },   { NULL, a },              /* two SAN extensions; no CN */
		{ "a.example", a },                               /* the first identity again */
	};
	const char *names[] = { "a.example", "x.w.example", "b.example", "c.example", "A.EXAMPLE", "w.example" };
	enum { N = sizeof specs / sizeof specs[0], K = sizeof names / sizeof names[0] };
	struct x509_cache *c = x509_cache_new(0);
	uint8_t *der[N];
	size_t len[N];
	struct x509_info *x[N];
	for (size_t i = 0; i < N; i++) {
		der[i] = cert((unsigned)i + 1, specs[i].cn, specs[i].san, &len[i]);
		x[i] = x509_get(c, der[i], len[i]);
		CHECK(x[i] && x[i]->parsed);
	}
	/* every certificate with every name, names in turn and certificates
	 * in turn (the answers kept per certificate and per identity are
	 * asked both ways), twice */
	int wrong = 0, matched = 0;
	for (int round = 0; round < 2; round++) {
		for (size_t k = 0; k < K; k++) {
			for (size_t i = 0; i < N; i++) {
				size_t ii = round ? N - 1 - i : i;
				int want = reference(der[ii], len[ii], names[k]);
				int got = x509_check_host(c, x[ii], names[k]);
				if (got != want) {
					wrong++;
					fprintf(stderr, "cert %zu name %s: %d, X509_check_host %d\n", ii, names[k], got, want);
				}
				matched += got == 1;
			}
		}
	}
	CHECK_EQ_U(wrong, 0);
	CHECK(matched > 0 && matched < 2 * N * K); /* both answers were given */
	/* one certificate, two names alternating: two answers */
	CHECK_EQ_U(x509_check_host(c, x[0], "a.example"), 1);
	CHECK_EQ_U(x509_check_host(c, x[0], "b.example"), 0);
	CHECK_EQ_U(x509_check_host(c, x[0], "a.example"), 1);
	CHECK_EQ_U(x509_check_host(c, x[1], "b.example"), 0);
	CHECK_EQ_U(x509_check_host(c, x[3], "b.example"), 1); /* a.example's subject, b.example's SAN */
	for (size_t i = 0; i < N; i++) {
		x509_unref(c, x[i]);
		OPENSSL_free(der[i]);
	}
	x509_cache_free(c);
}

int main(void)
{
	key = EVP_EC_gen("P-256");
	if (!key) return 2;
	test_answers();
	EVP_PKEY_free(key);
	return check_summary();
}
