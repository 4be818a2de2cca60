/* dissect/x509.c: every field of certificates generated here with
 * OpenSSL, garbage DER, and the cache (one parse per distinct DER,
 * reference counts, bounded LRU of unreferenced entries). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "dissect/x509.h"

struct certspec {
	const char *serial_hex;   /* NULL: 1 */
	const char *subject_cn, *subject_o;
	const char *issuer_cn;    /* NULL: self-issued */
	const char *eku;          /* NULL: no extension */
	const char *san, *ku, *bc;
	const char *not_before, *not_after; /* ASN1_TIME_set_string format */
};

static EVP_PKEY *key;

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e) {
		fprintf(stderr, "bad extension %d=%s\n", nid, value);
		exit(2);
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static uint8_t *make_cert(const struct certspec *s, size_t *len)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	BIGNUM *bn = NULL;
	BN_hex2bn(&bn, s->serial_hex ? s->serial_hex : "1");
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME *subj = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(subj, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0);
	if (s->subject_o)
		X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC, (const unsigned char *)s->subject_o, -1, -1, 0);
	X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)s->subject_cn, -1, -1, 0);
	if (s->issuer_cn) {
		X509_NAME *iss = X509_NAME_new();
		X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC, (const unsigned char *)s->issuer_cn, -1, -1, 0);
		X509_set_issuer_name(x, iss);
		X509_NAME_free(iss);
	} else {
		X509_set_issuer_name(x, subj);
	}
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_TIME_set_string(t, s->not_before ? s->not_before : "240301000000Z");
	X509_set1_notBefore(x, t);
	ASN1_TIME_set_string(t, s->not_after ? s->not_after : "260301000000Z");
	X509_set1_notAfter(x, t);
	ASN1_TIME_free(t);
	X509_set_pubkey(x, key);
	if (s->bc) add_ext(x, NID_basic_constraints, s->bc);
	if (s->ku) add_ext(x, NID_key_usage, s->ku);
	if (s->eku) add_ext(x, NID_ext_key_usage, s->eku);
	if (s->san) add_ext(x, NID_subject_alt_name, s->san);
	X509_sign(x, key, EVP_sha256());
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0) exit(2);
	uint8_t *out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static void hex_of_sha256(const uint8_t *d, size_t n, char out[65])
{
	uint8_t md[32];
	unsigned ml = 0;
	EVP_Digest(d, n, md, &ml, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_full_fields(void)
{
	struct x509_cache *c = x509_cache_new(0);
	struct certspec s = {
		.serial_hex = "2F0000004C869C77C8981BECDE00000000004C",
		.subject_cn = "leaf.example", .subject_o = "Example Org", .issuer_cn = "Example Issuing CA 01",
		.eku = "serverAuth", .san = "DNS:leaf.example,DNS:www.leaf.example,IP:10.0.0.1,IP:2001:db8::1",
		.ku = "critical,digitalSignature,keyEncipherment", .bc = "critical,CA:FALSE",
		.not_before = "650101000000Z", .not_after = "20510615120000Z",
	};
	size_t n;
	uint8_t *der = make_cert(&s, &n);
	struct x509_info *x = x509_get(c, der, n);
	CHECK(x != NULL);
	CHECK(x->parsed);
	CHECK(x->x509 != NULL);
	CHECK_STR(x->serial_hex, "2f0000004c869c77c8981becde00000000004c");
	CHECK_STR(x->subject, "CN=leaf.example,O=Example Org,C=US");
	CHECK_STR(x->issuer, "CN=Example Issuing CA 01");
	CHECK_STR(x->san, "DNS:leaf.example;DNS:www.leaf.example;IP:10.0.0.1;IP:2001:db8::1");
	CHECK_STR(x->eku, "serverAuth");
	CHECK_EQ_U(x->eku_flags, EKU_PRESENT | EKU_SERVER);
	CHECK_STR(x->key_usage, "digitalSignature;keyEncipherment");
	CHECK(!x->is_ca);
	CHECK(!x->self_issued);
	CHECK(x->have_validity);
	CHECK(x->not_before == -157766400);  /* 1965-01-01T00:00:00Z, UTCTime */
	CHECK(x->not_after == 2570443200LL); /* 2051-06-15T12:00:00Z, GeneralizedTime */
	CHECK_EQ_U(x->der_len, n);
	char hex[65];
	hex_of_sha256(der, n, hex);
	CHECK_STR(x->sha256_hex, hex);
	CHECK_EQ_U(x->refs, 1);
	x509_unref(c, x);
	free(der);
	x509_cache_free(c);
}

static void test_eku_variants(void)
{
	struct x509_cache *c = x509_cache_new(0);
	struct {
		const char *eku, *want;
		unsigned flags;
	} cases[] = {
		{ "serverAuth,clientAuth", "serverAuth;clientAuth", EKU_PRESENT | EKU_SERVER | EKU_CLIENT },
		{ "clientAuth", "clientAuth", EKU_PRESENT | EKU_CLIENT },
		{ NULL, "absent", 0 },
		{ "1.2.3.4", "1.2.3.4", EKU_PRESENT | EKU_OTHER },
		{ "serverAuth,1.2.3.4,codeSigning", "serverAuth;1.2.3.4;codeSigning", EKU_PRESENT | EKU_SERVER | EKU_OTHER },
		{ "anyExtendedKeyUsage", "anyExtendedKeyUsage", EKU_PRESENT | EKU_ANY },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct certspec s = { .serial_hex = "0A", .subject_cn = "eku.example", .eku = cases[i].eku };
		size_t n;
		uint8_t *der = make_cert(&s, &n);
		struct x509_info *x = x509_get(c, der, n);
		CHECK(x && x->parsed);
		if (x) {
			CHECK_STR(x->eku, cases[i].want);
			CHECK_EQ_U(x->eku_flags, cases[i].flags);
			CHECK_STR(x->serial_hex, "0a");
			CHECK_STR(x->san, "");       /* no SAN extension */
			CHECK_STR(x->key_usage, ""); /* no KU extension */
			CHECK(x->self_issued);
			CHECK_STR(x->subject, "CN=eku.example,C=US");
			CHECK(x->not_before == 1709251200 && x->not_after == 1772323200);
		}
		x509_unref(c, x);
		free(der);
	}
	x509_cache_free(c);
}

static void test_ca(void)
{
	struct x509_cache *c = x509_cache_new(0);
	struct certspec s = { .serial_hex = "00", .subject_cn = "Root", .bc = "critical,CA:TRUE",
			      .ku = "keyCertSign,cRLSign" };
	size_t n;
	uint8_t *der = make_cert(&s, &n);
	struct x509_info *x = x509_get(c, der, n);
	CHECK(x && x->parsed && x->is_ca && x->self_issued);
	if (x) {
		CHECK_STR(x->key_usage, "keyCertSign;cRLSign");
		CHECK_STR(x->serial_hex, "00");
		CHECK_STR(x->eku, "absent");
	}
	x509_unref(c, x);
	free(der);
	x509_cache_free(c);
}

static void test_garbage(void)
{
	struct x509_cache *c = x509_cache_new(0);
	static const char junk[] = "this is not a certificate at all";
	struct x509_info *x = x509_get(c, (const uint8_t *)junk, strlen(junk));
	CHECK(x != NULL);
	if (x) {
		CHECK(!x->parsed);
		CHECK(x->x509 == NULL);
		CHECK_EQ_U(x->der_len, strlen(junk));
		CHECK_STR(x->sha256_hex, "8f6143920d47e967e241bdf850756c187fc293122dc13e4cad943c54dfb3900e");
		CHECK_STR(x->serial_hex, "");
		CHECK_STR(x->subject, "");
		CHECK_STR(x->eku, "");
		CHECK(!x->have_validity);
	}
	/* A truncated real certificate is not parsed either. */
	struct certspec s = { .subject_cn = "t.example" };
	size_t n;
	uint8_t *der = make_cert(&s, &n);
	struct x509_info *y = x509_get(c, der, n - 10);
	CHECK(y && !y->parsed && y->der_len == n - 10);
	struct x509_cache_stats st;
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.failed, 2);
	CHECK_EQ_U(st.parsed, 0);
	x509_unref(c, x);
	x509_unref(c, y);
	free(der);
	x509_cache_free(c);
}

static void test_cache(void)
{
	struct x509_cache *c = x509_cache_new(2);
	uint8_t *der[3];
	size_t n[3];
	const char *cn[3] = { "a.example", "b.example", "c.example" };
	for (int i = 0; i < 3; i++) {
		struct certspec s = { .subject_cn = cn[i], .eku = "clientAuth" };
		der[i] = make_cert(&s, &n[i]);
	}
	/* Same DER (from a different buffer) -> same entry, parsed once. */
	uint8_t *copy = malloc(n[0]);
	memcpy(copy, der[0], n[0]);
	struct x509_info *a1 = x509_get(c, der[0], n[0]);
	struct x509_info *a2 = x509_get(c, copy, n[0]);
	CHECK(a1 != NULL && a1 == a2);
	CHECK_EQ_U(a1->refs, 2);
	struct x509_cache_stats st;
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.lookups, 2);
	CHECK_EQ_U(st.parsed, 1);
	CHECK_EQ_U(st.entries, 1);
	x509_unref(c, a2);
	CHECK_EQ_U(a1->refs, 1);

	/* Referenced entries are never evicted; unreferenced ones are capped at 2. */
	struct x509_info *b = x509_get(c, der[1], n[1]);
	struct x509_info *cc = x509_get(c, der[2], n[2]);
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.entries, 3);
	CHECK_EQ_U(st.parsed, 3);
	x509_unref(c, a1); /* released first: least recently */
	x509_unref(c, b);
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.entries, 3);
	x509_unref(c, cc); /* third unreferenced entry: a is evicted */
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.entries, 2);
	/* b is still cached (no new parse); a is parsed again. */
	struct x509_info *b2 = x509_get(c, der[1], n[1]);
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.parsed, 3);
	struct x509_info *a3 = x509_get(c, der[0], n[0]);
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.parsed, 4);
	CHECK(a3 && a3->parsed);
	if (a3) CHECK_STR(a3->eku, "clientAuth");
	/* x509_ref keeps an entry alive across the caller's unref. */
	x509_ref(b2);
	x509_unref(c, b2);
	CHECK_EQ_U(b2->refs, 1);
	x509_unref(c, b2);
	x509_unref(c, a3);
	x509_cache_stats(c, &st);
	CHECK(st.entries <= 2);
	CHECK_EQ_U(st.lookups, 6);
	for (int i = 0; i < 3; i++) free(der[i]);
	free(copy);
	x509_cache_free(c);
}

static void test_many(void)
{
	/* Many distinct certificates: the table grows, all are found again. */
	struct x509_cache *c = x509_cache_new(10000);
	enum { N = 700 };
	uint8_t *der[N];
	size_t n[N];
	struct x509_info *x[N];
	for (int i = 0; i < N; i++) {
		char serial[16], cn[32];
		snprintf(serial, sizeof serial, "%X", i + 1);
		snprintf(cn, sizeof cn, "h%d.example", i);
		struct certspec s = { .serial_hex = serial, .subject_cn = cn };
		der[i] = make_cert(&s, &n[i]);
		x[i] = x509_get(c, der[i], n[i]);
	}
	int same = 0;
	for (int i = 0; i < N; i++) {
		struct x509_info *y = x509_get(c, der[i], n[i]);
		same += y == x[i];
		x509_unref(c, y);
		x509_unref(c, x[i]);
		free(der[i]);
	}
	CHECK_EQ_U(same, N);
	struct x509_cache_stats st;
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.parsed, N);
	x509_cache_free(c);
}

int main(void)
{
	key = EVP_EC_gen("P-256");
	if (!key) return 2;
	test_full_fields();
	test_eku_variants();
	test_ca();
	test_garbage();
	test_cache();
	test_many();
	EVP_PKEY_free(key);
	return check_summary();
}
