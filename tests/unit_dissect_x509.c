/* dissect/x509.c: every field of certificates generated here with
 * OpenSSL, garbage DER, the key-less parse against d2i_X509 on mutated
 * certificates, and the cache (one parse per distinct DER, reference
 * counts, a DER budget smaller than the working set). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
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

static EVP_PKEY *key;       /* signs every certificate */
static EVP_PKEY *spki_key;  /* the certificates' public key (NULL: key) */

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
	X509_set_pubkey(x, spki_key ? spki_key : key);
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
	CHECK(x509_object(c, x) != NULL);
	CHECK(x509_object(c, x) && X509_get0_pubkey(x509_object(c, x)) != NULL); /* the full object has its key */
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
	char hex[65], got[65];
	hex_of_sha256(der, n, hex);
	x509_sha256_hex(x, got);
	CHECK_STR(got, hex);
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

/* The serial as i2a_ASN1_INTEGER prints it (`openssl x509 -serial`),
 * lowercased, its "\\\n" every 35 bytes dropped: negative, zero, a high
 * first bit, longer than 35 bytes. */
static void test_serials(void)
{
	static const char *const serials[] = {
		"00", "01", "-05", "80", "FF00", "-8000000000000000000001",
		"0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F2021222324252627282930",
	};
	struct x509_cache *c = x509_cache_new(0);
	for (size_t i = 0; i < sizeof serials / sizeof serials[0]; i++) {
		struct certspec s = { .serial_hex = serials[i], .subject_cn = "serial.example" };
		size_t n;
		uint8_t *der = make_cert(&s, &n);
		const unsigned char *p = der;
		X509 *ref = d2i_X509(NULL, &p, (long)n);
		BIO *b = BIO_new(BIO_s_mem());
		CHECK(ref && b && i2a_ASN1_INTEGER(b, X509_get0_serialNumber(ref)) > 0);
		char want[256] = "", *m = NULL;
		long mn = BIO_get_mem_data(b, &m);
		size_t o = 0;
		for (long k = 0; k < mn && o + 1 < sizeof want; k++)
			if (m[k] != '\\' && m[k] != '\n') want[o++] = (char)(m[k] >= 'A' && m[k] <= 'F' ? m[k] - 'A' + 'a' : m[k]);
		want[o] = '\0';
		struct x509_info *x = x509_get(c, der, n);
		CHECK(x && x->parsed);
		if (x) CHECK_STR(x->serial_hex, want);
		x509_unref(c, x);
		BIO_free(b);
		X509_free(ref);
		free(der);
	}
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
		CHECK(x509_object(c, x) == NULL);
		CHECK_EQ_U(x->der_len, strlen(junk));
		char hex[65];
		x509_sha256_hex(x, hex);
		CHECK_STR(hex, "8f6143920d47e967e241bdf850756c187fc293122dc13e4cad943c54dfb3900e");
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
	struct x509_cache *c = x509_cache_new(0);
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
	struct x509_cache_stats st;
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.lookups, 2);
	CHECK_EQ_U(st.parsed, 1);
	CHECK_EQ_U(st.entries, 1);
	CHECK_EQ_U(st.der_misses, 1); /* the second lookup found the DER: no SHA-256 */
	x509_unref(c, a2);
	/* x509_ref keeps an entry alive across the caller's unref. */
	x509_ref(a1);
	x509_unref(c, a1);
	x509_unref(c, a1);
	struct x509_info *b = x509_get(c, der[1], n[1]);
	struct x509_info *cc = x509_get(c, der[2], n[2]);
	CHECK(b && cc && b != cc && b != a1);
	if (b) CHECK_STR(b->subject, "CN=b.example,C=US");
	/* strings are interned: equal texts share one copy */
	if (b && cc) CHECK(b->eku == cc->eku && b->issuer != cc->issuer);
	x509_unref(c, b);
	x509_unref(c, cc);
	/* unreferenced records stay with their DER within the budget */
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.entries, 3);
	struct x509_info *a3 = x509_get(c, der[0], n[0]);
	x509_cache_stats(c, &st);
	CHECK_EQ_U(st.parsed, 3);
	CHECK(a3 && a3->parsed);
	if (a3) CHECK_STR(a3->eku, "clientAuth");
	x509_unref(c, a3);
	CHECK_EQ_U(st.lookups, 5);
	for (int i = 0; i < 3; i++) free(der[i]);
	free(copy);
	x509_cache_free(c);
}

/* n leaves of a phone fleet, serials from `first`, issued by "Fleet CA";
 * the bytes of all of them. */
static size_t make_fleet(int count, int first, uint8_t **der, size_t *n)
{
	size_t total = 0;
	for (int i = 0; i < count; i++) {
		char serial[16], cn[32];
		snprintf(serial, sizeof serial, "%X", first + i);
		snprintf(cn, sizeof cn, "phone%d.example", i);
		struct certspec s = { .serial_hex = serial, .subject_cn = cn, .issuer_cn = "Fleet CA" };
		der[i] = make_cert(&s, &n[i]);
		total += n[i];
	}
	return total;
}

/* A DER budget smaller than the working set, certificates seen in a cycle
 * (the worst case for LRU): the hit rate falls about as budget / working
 * set, not to zero, from the second time round (past a quarter of the
 * budget a DER takes a slot on its second sight); certificates whose
 * records are held elsewhere are not parsed again; the bytes kept stay
 * near the budget; fields stay right. */
static void test_small_cache(void)
{
	enum { N = 1200, ROUNDS = 4 };
	uint8_t *der[N];
	size_t n[N], total = make_fleet(N, 0x1000, der, n);
	size_t budget = total / 2; /* about half of the DER (with overheads: less) */
	for (int held = 0; held < 2; held++) {
		struct x509_cache *c = x509_cache_new(budget);
		struct x509_info *keep[N] = { 0 };
		struct x509_cache_stats st, prev;
		bool right = true;
		uint64_t max_der = 0;
		for (int r = 0; r < ROUNDS; r++) {
			x509_cache_stats(c, &prev);
			for (int i = 0; i < N; i++) {
				struct x509_info *x = x509_get(c, der[i], n[i]);
				char want[16];
				snprintf(want, sizeof want, "%x", 0x1000 + i);
				right = right && x && x->parsed && strcmp(x->serial_hex, want) == 0;
				if (held && !keep[i]) keep[i] = x; /* an inventory holds it */
				else x509_unref(c, x);
				x509_cache_stats(c, &st);
				if (st.der_bytes > max_der) max_der = st.der_bytes;
			}
			x509_cache_stats(c, &st);
			uint64_t misses = st.der_misses - prev.der_misses;
			if (getenv("EK_TEST_VERBOSE")) fprintf(stderr, "held %d round %d: %llu misses of %d\n", held, r, (unsigned long long)misses, N);
			if (r == 1) CHECK(misses < N); /* the budget's first quarter hits */
			if (r > 1) {
				/* LRU would miss all N; the admitted share hits (~40 % here) */
				CHECK(misses < N * 70 / 100);
				CHECK(misses > N / 4);
			}
		}
		CHECK(right);
		x509_cache_stats(c, &st);
		/* over the budget only by the protected last 256 lookups' DER */
		CHECK(max_der <= budget + 256 * (n[0] + 200));
		if (held) CHECK_EQ_U(st.parsed, N); /* records held: a miss is a SHA-256, not a parse */
		else CHECK(st.parsed > N && st.parsed == st.der_misses);
		CHECK(st.record_bytes > 0);
		for (int i = 0; i < N; i++) x509_unref(c, keep[i]);
		x509_cache_stats(c, &st);
		CHECK(st.entries * (n[0] + 64) <= budget + 256 * (n[0] + 200)); /* what stays is in the budget */
		x509_cache_free(c);
	}
	for (int i = 0; i < N; i++) free(der[i]);
}

/* Certificates seen once each (a phone fleet's leaves, held by the
 * inventory) fill a quarter of the DER budget, not all of it; one that
 * recurs among them (the fleet's CA) keeps its slot: a hit each time. */
static void test_seen_once(void)
{
	enum { N = 2000 };
	size_t nca;
	struct certspec cs = { .serial_hex = "CA01", .subject_cn = "Fleet CA" };
	uint8_t *ca = make_cert(&cs, &nca);
	uint8_t *der[N];
	size_t n[N], total = make_fleet(N, 0x2000, der, n);
	size_t budget = total / 2;
	struct x509_cache *c = x509_cache_new(budget);
	struct x509_info *keep[N];
	struct x509_cache_stats st;
	uint64_t max_der = 0;
	bool right = true;
	for (int i = 0; i < N; i++) {
		keep[i] = x509_get(c, der[i], n[i]);
		struct x509_info *x = x509_get(c, ca, nca);
		right = right && keep[i] && keep[i]->parsed && x && x->parsed;
		x509_unref(c, x);
		x509_cache_stats(c, &st);
		if (st.der_bytes > max_der) max_der = st.der_bytes;
	}
	CHECK(right);
	CHECK_EQ_U(st.der_misses, N + 1); /* the CA: one SHA-256 */
	CHECK_EQ_U(st.parsed, N + 1);
	/* a quarter of the budget, and the last 256 lookups' DER */
	CHECK(max_der <= budget / 4 + 256 * (n[0] + 200));
	CHECK(max_der < budget / 2);
	for (int i = 0; i < N; i++) {
		x509_unref(c, keep[i]);
		free(der[i]);
	}
	x509_cache_free(c);
	free(ca);
}

/* The key-less parse accepts and rejects what d2i_X509 does, and reads
 * the same names, on mutated certificates with RSA, EC and Ed25519 keys
 * (mutations all over, and more in the public key at the end). */
static void test_keyless_decisions(void)
{
	EVP_PKEY *keys[3] = { EVP_RSA_gen(2048), EVP_EC_gen("P-384"), EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") };
	uint64_t rnd = 0x243f6a8885a308d3ULL;
	unsigned accepted = 0, rejected = 0, same = 0, total = 0, names_same = 0;
	for (int k = 0; k < 3; k++) {
		CHECK(keys[k] != NULL);
		if (!keys[k]) continue;
		spki_key = keys[k];
		struct certspec s = { .serial_hex = "0BAD0443", .subject_cn = "m.example", .issuer_cn = "Mut CA",
				      .eku = "serverAuth,clientAuth", .san = "DNS:m.example" };
		size_t n;
		uint8_t *der = make_cert(&s, &n);
		spki_key = NULL;
		uint8_t *m = malloc(n);
		struct x509_cache *c = x509_cache_new(1); /* nothing kept: every lookup parses */
		for (int t = 0; t < 1500; t++) {
			memcpy(m, der, n);
			size_t len = n;
			int edits = 1 + (int)(rnd % 3);
			for (int e = 0; e < edits; e++) {
				rnd ^= rnd << 13;
				rnd ^= rnd >> 7;
				rnd ^= rnd << 17;
				/* half the edits in the last 40 %: the key and the signature */
				size_t at = (rnd >> 8) & 1 ? n * 6 / 10 + (size_t)(rnd >> 20) % (n - n * 6 / 10)
							 : (size_t)(rnd >> 20) % n;
				switch ((rnd >> 40) % 4) {
				case 0: m[at] ^= (uint8_t)(1u << ((rnd >> 48) % 8)); break;
				case 1: m[at] = (uint8_t)(rnd >> 52); break;
				case 2: if (at > 0) len = at; break; /* truncate */
				default: m[at] = 0; break;
				}
			}
			const unsigned char *p = m;
			X509 *ref = d2i_X509(NULL, &p, (long)len);
			struct x509_info *x = x509_get(c, m, len);
			CHECK(x != NULL);
			if (!x) {
				X509_free(ref);
				continue;
			}
			total++;
			if ((ref != NULL) == x->parsed) same++;
			if (ref) {
				accepted++;
				X509_NAME *sn = X509_get_subject_name(ref);
				char *want = X509_NAME_oneline(sn, NULL, 0);
				X509 *obj = x509_object(c, x);
				char *got = obj ? X509_NAME_oneline(X509_get_subject_name(obj), NULL, 0) : NULL;
				if (want && got && strcmp(want, got) == 0) names_same++;
				OPENSSL_free(want);
				OPENSSL_free(got);
			} else {
				rejected++;
			}
			X509_free(ref);
			x509_unref(c, x);
		}
		x509_cache_free(c);
		free(m);
		free(der);
		EVP_PKEY_free(keys[k]);
	}
	CHECK_EQ_U(same, total);
	CHECK_EQ_U(names_same, accepted);
	CHECK(accepted > 100 && rejected > 100); /* both kinds were exercised */
}

static void test_many(void)
{
	/* Many distinct certificates: the table grows, all are found again. */
	struct x509_cache *c = x509_cache_new(10000); /* bytes: most DER dropped, the records are held */
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
	test_serials();
	test_garbage();
	test_cache();
	test_small_cache();
	test_seen_once();
	test_keyless_decisions();
	test_many();
	EVP_PKEY_free(key);
	return check_summary();
}
