/* dissect/x509_template.c + x509_names.c against d2i_X509: the same
 * accept/reject decision and the same fields (serial, names, SAN, EKU,
 * key usage, CA, self-issued, validity) and X509_check_host answers, on
 * real certificates (samples/pki, and every certificate found in the
 * captures of samples/ and the public corpus) and on many mutated copies
 * of them.
 *
 * Mutations: bit flips, byte changes, truncations, bytes inserted and
 * deleted; and, aimed at the structure (the TLVs are walked with
 * ASN1_get_object, into extension values too): tags changed (string
 * types, SEQUENCE/SET/OCTET/BIT STRING, context tags), lengths changed,
 * indefinite lengths, content bytes changed, and bytes inserted into or
 * deleted from a value with every enclosing length fixed, so the result
 * is still well-formed DER with other content (names that canonicalise
 * differently or not at all, versions, algorithms, extensions).
 *
 * EK_X509_MUTATIONS (default 6000: a few seconds under ASan) sets the
 * count, EK_X509_SEED the seed; bench/x509-mutate.sh runs 650 000. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "dissect/x509.h"
#include "dissect/x509_internal.h"

struct der {
	uint8_t *p;
	size_t n;
};

static struct der *certs;
static size_t n_certs, cap_certs;

static bool have_cert(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n_certs; i++)
		if (certs[i].n == n && memcmp(certs[i].p, p, n) == 0) return true;
	return false;
}

/* Keeps p[0..n) when d2i_X509 takes exactly it. */
static bool add_cert(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509 *x = d2i_X509(NULL, &q, (long)n);
	bool ok = x && q == p + n && !have_cert(p, n);
	X509_free(x);
	if (!ok) return false;
	if (n_certs == cap_certs) {
		cap_certs = cap_certs ? 2 * cap_certs : 64;
		certs = realloc(certs, cap_certs * sizeof *certs);
		if (!certs) exit(2);
	}
	certs[n_certs].p = malloc(n);
	if (!certs[n_certs].p) exit(2);
	memcpy(certs[n_certs].p, p, n);
	certs[n_certs++].n = n;
	return true;
}

static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	uint8_t *b = NULL;
	size_t cap = 0;
	*n = 0;
	for (;;) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 65536;
			uint8_t *nb = realloc(b, cap);
			if (!nb) exit(2);
			b = nb;
		}
		size_t r = fread(b + *n, 1, cap - *n, f);
		if (r == 0) break;
		*n += r;
	}
	fclose(f);
	return b;
}

/* Certificates inside a capture: any SEQUENCE { SEQUENCE ... } with a
 * two-byte length that d2i_X509 accepts whole (those not split across
 * segments). */
static unsigned scan_capture(const char *path)
{
	size_t n;
	uint8_t *b = read_file(path, &n);
	unsigned found = 0;
	for (size_t i = 0; b && i + 8 < n; i++) {
		if (b[i] != 0x30 || b[i + 1] != 0x82 || b[i + 4] != 0x30) continue;
		size_t len = 4 + ((size_t)b[i + 2] << 8 | b[i + 3]);
		if (i + len <= n && add_cert(b + i, len)) found++;
	}
	free(b);
	return found;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static unsigned scan_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d) return 0;
	unsigned found = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0) continue;
		if (S_ISDIR(st.st_mode) && depth < 8) {
			found += scan_dir(path, depth + 1);
		} else if (S_ISREG(st.st_mode) && (ends_with(path, ".pcap") || ends_with(path, ".pcapng"))) {
			found += scan_capture(path);
		} else if (S_ISREG(st.st_mode) && (ends_with(path, ".crt") || ends_with(path, ".pem"))) {
			FILE *f = fopen(path, "r");
			X509 *x;
			while (f && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
				unsigned char *der = NULL;
				int len = i2d_X509(x, &der);
				if (len > 0 && add_cert(der, (size_t)len)) found++;
				OPENSSL_free(der);
				X509_free(x);
			}
			if (f) fclose(f);
		}
	}
	closedir(d);
	return found;
}

/* A few generated here for what the captures lack: version 1, names in
 * BMPString/UTF8String/T61String, duplicated and critical extensions,
 * an Ed25519 key. */
static void add_generated(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k) exit(2);
	for (int v = 0; v < 4; v++) {
		X509 *x = X509_new();
		X509_set_version(x, v == 0 ? 0 : 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + v);
		X509_NAME *s = X509_get_subject_name(x), *i = X509_NAME_new();
		X509_NAME_add_entry_by_txt(s, "CN", v == 1 ? MBSTRING_BMP : MBSTRING_UTF8,
					   (const unsigned char *)"Phone \xc3\xa9 SEP00AB", -1, -1, 0);
		X509_NAME_add_entry_by_txt(s, "O", MBSTRING_ASC, (const unsigned char *)"  Fleet   Inc ", -1, -1, 0);
		X509_NAME_add_entry_by_txt(s, "OU", MBSTRING_ASC, (const unsigned char *)"a", -1, -1, 1); /* multi-valued RDN */
		X509_NAME_ENTRY *t61 = X509_NAME_ENTRY_create_by_txt(NULL, "L", V_ASN1_T61STRING, (const unsigned char *)"Gen\xe8ve", -1);
		X509_NAME_add_entry(s, t61, -1, 0);
		X509_NAME_ENTRY_free(t61);
		X509_NAME_add_entry_by_txt(i, "CN", MBSTRING_ASC, (const unsigned char *)(v == 2 ? "phone \xc3\xa9 sep00ab" : "Gen CA"), -1, -1, 0);
		X509_set_issuer_name(x, v == 3 ? s : i);
		X509_NAME_free(i);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		ASN1_TIME_set_string(X509_getm_notAfter(x), "20520101000000Z");
		X509_set_pubkey(x, k);
		if (v) {
			const char *ext[][2] = { { "subjectAltName", "DNS:*.fleet.example,IP:10.1.2.3,IP:::1,email:a@b.c,URI:sip:x@y" },
						 { "extendedKeyUsage", "critical,serverAuth,1.3.6.1.4.1.99.1,clientAuth" },
						 { "keyUsage", "critical,digitalSignature,keyAgreement,decipherOnly" },
						 { "basicConstraints", v == 3 ? "critical,CA:TRUE" : "CA:FALSE" },
						 { "subjectKeyIdentifier", "hash" },
						 { "extendedKeyUsage", "serverAuth" } }; /* twice: "invalid" */
			for (size_t e = 0; e < (v == 2 ? 6u : 5u); e++) {
				X509V3_CTX ctx;
				X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
				X509_EXTENSION *ex = X509V3_EXT_conf(NULL, &ctx, ext[e][0], ext[e][1]);
				if (ex) X509_add_ext(x, ex, -1);
				X509_EXTENSION_free(ex);
			}
		}
		X509_sign(x, k, NULL);
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		if (len > 0) add_cert(der, (size_t)len);
		OPENSSL_free(der);
		X509_free(x);
	}
	EVP_PKEY_free(k);
}

/* ---- mutations ------------------------------------------------------------- */

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

struct tlv {
	size_t at, hlen, clen; /* header offset and length, content length */
	int parent;            /* index, -1: top */
	bool cons;
};

/* The TLVs of d[0..n) (definite lengths), into extension values and
 * BIT STRINGs that hold DER too. */
static size_t walk(const uint8_t *d, size_t off, size_t n, int parent, struct tlv *out, size_t k, size_t max, int depth)
{
	size_t end = off + n;
	while (off < end && k < max && depth < 20) {
		const unsigned char *p = d + off;
		long len;
		int tag, cls;
		int r = ASN1_get_object(&p, &len, &tag, &cls, (long)(end - off));
		if (r & 0x80 || r == 0x21) break;
		size_t hlen = (size_t)(p - (d + off));
		int self = (int)k;
		out[k++] = (struct tlv){ off, hlen, (size_t)len, parent, (r & V_ASN1_CONSTRUCTED) != 0 };
		if (r & V_ASN1_CONSTRUCTED) {
			k = walk(d, off + hlen, (size_t)len, self, out, k, max, depth + 1);
		} else if (cls == V_ASN1_UNIVERSAL && tag == V_ASN1_OCTET_STRING && len > 1 && p[0] == 0x30) {
			k = walk(d, off + hlen, (size_t)len, self, out, k, max, depth + 1);
		} else if (cls == V_ASN1_UNIVERSAL && tag == V_ASN1_BIT_STRING && len > 2 && p[0] == 0 && p[1] == 0x30) {
			k = walk(d, off + hlen + 1, (size_t)len - 1, self, out, k, max, depth + 1);
		}
		off += hlen + (size_t)len;
	}
	return k;
}

/* Content length of t changed by delta with every enclosing length fixed;
 * false when a length would change its encoded size (then m is left
 * half-edited: the caller starts over). */
static bool fix_lengths(uint8_t *m, const struct tlv *t, const struct tlv *all, long delta)
{
	for (const struct tlv *a = t; a; a = a->parent >= 0 ? &all[a->parent] : NULL) {
		long nl = (long)a->clen + delta;
		if (nl < 0) return false;
		uint8_t *h = m + a->at + 1;
		if (h[0] < 0x80) {
			if (nl >= 0x80) return false;
			h[0] = (uint8_t)nl;
		} else {
			size_t nb = h[0] & 0x7f;
			if (nb == 0 || nb > 3 || (nb == 1 && nl < 0x80) || nl >= (1L << (8 * nb)) || nl < (1L << (8 * (nb - 1))))
				return false;
			for (size_t i = 0; i < nb; i++) h[1 + i] = (uint8_t)(nl >> (8 * (nb - 1 - i)));
		}
	}
	return true;
}

static const uint8_t tags[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a,
				0x1c, 0x1e, 0x30, 0x31, 0x80, 0x81, 0x82, 0x86, 0x87, 0xa0, 0xa1, 0xa3, 0x00 };
static const uint8_t specials[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, 0xc3, 0xe2, 0xf0, 0x2a, 0x20, 0x41, 0x61 };

/* One mutated copy of c in m (capacity c->n + 64); its length. */
static size_t mutate(const struct der *c, uint8_t *m, struct tlv *tl, size_t max_tlv)
{
	for (;;) {
		memcpy(m, c->p, c->n);
		size_t n = c->n;
		size_t nt = walk(m, 0, n, -1, tl, 0, max_tlv, 0);
		int edits = 1 + (int)rnd_below(rnd_below(4) ? 1 : 3);
		bool redo = false;
		for (int e = 0; e < edits && !redo; e++) {
			size_t at = rnd_below(n);
			const struct tlv *t = &tl[rnd_below(nt)];
			switch (rnd_below(12)) {
			case 0: m[at] ^= (uint8_t)(1u << rnd_below(8)); break;
			case 1: m[at] = (uint8_t)rnd(); break;
			case 2: if (at > 0) n = at; break;
			case 3: memmove(m + at, m + at + 1, n - at - 1); n--; break;
			case 4: memmove(m + at + 1, m + at, n - at); m[at] = (uint8_t)rnd(); n++; break;
			case 5: m[t->at] = tags[rnd_below(sizeof tags)] | (t->cons && rnd_below(2) ? 0x20 : 0); break;
			case 6: /* length off by one, or indefinite */
				if (m[t->at + 1] < 0x80 && rnd_below(4) == 0 && t->cons) m[t->at + 1] = 0x80;
				else m[t->at + t->hlen - 1] = (uint8_t)(m[t->at + t->hlen - 1] + (rnd_below(2) ? 1 : 255));
				break;
			case 7: case 8: /* a content byte of a small value */
				if (t->clen) m[t->at + t->hlen + rnd_below(t->clen)] = rnd_below(2) ? (uint8_t)rnd() : specials[rnd_below(sizeof specials)];
				break;
			case 9: case 10: { /* a byte into a primitive value, lengths fixed */
				if (t->cons || e > 0) break;
				size_t pos = t->at + t->hlen + rnd_below(t->clen + 1);
				memmove(m + pos + 1, m + pos, n - pos);
				m[pos] = specials[rnd_below(sizeof specials)];
				n++;
				redo = !fix_lengths(m, t, tl, 1);
				break;
			}
			default: { /* a byte out of a value, lengths fixed */
				if (t->clen == 0 || e > 0) break;
				size_t pos = t->at + t->hlen + rnd_below(t->clen);
				memmove(m + pos, m + pos + 1, n - pos - 1);
				n--;
				redo = !fix_lengths(m, t, tl, -1);
				break;
			}
			}
			if (n > c->n + 32) n = c->n + 32;
		}
		if (!redo) return n;
	}
}

/* ---- comparison ------------------------------------------------------------ */

static unsigned mismatches;

static void show(const char *what, const uint8_t *m, size_t n, const char *a, const char *b)
{
	if (++mismatches > 10) return;
	fprintf(stderr, "mismatch (%s): template \"%s\", d2i_X509 \"%s\"; input %zu bytes:\n", what, a ? a : "", b ? b : "", n);
	for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x%s", m[i], i % 32 == 31 ? "\n" : "");
	fprintf(stderr, "\n");
}

static bool same_str(const char *what, const char *a, const char *b, const uint8_t *m, size_t n)
{
	if (a && b && strcmp(a, b) == 0) return true;
	show(what, m, n, a, b);
	return false;
}

static bool same_int(const char *what, long long a, long long b, const uint8_t *m, size_t n)
{
	if (a == b) return true;
	char sa[32], sb[32];
	snprintf(sa, sizeof sa, "%lld", a);
	snprintf(sb, sizeof sb, "%lld", b);
	show(what, m, n, sa, sb);
	return false;
}

/* Host names to try on x: its DNS names, each with a label in front, the
 * wildcards filled in, and one that matches nothing. */
static unsigned host_names(const struct x509_info *x, char names[][96], unsigned max)
{
	unsigned k = 0;
	snprintf(names[k++], 96, "nothing.invalid");
	const char *s = x->san;
	while (s && *s && k + 2 < max) {
		const char *e = strchr(s, ';');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len > 4 && len < 80 && strncmp(s, "DNS:", 4) == 0) {
			const char *d = s + 4;
			int dl = (int)len - 4;
			if (d[0] == '*' && dl > 1) snprintf(names[k++], 96, "a%.*s", dl - 1, d + 1);
			else snprintf(names[k++], 96, "%.*s", dl, d);
			snprintf(names[k++], 96, "x.%.*s", dl, d);
		}
		s = e ? e + 1 : NULL;
	}
	const char *cn = strstr(x->subject, "CN=");
	if (cn && k < max) {
		size_t len = strcspn(cn + 3, ",+");
		if (len < 80) snprintf(names[k++], 96, "%.*s", (int)len, cn + 3);
	}
	return k;
}

struct tally {
	unsigned long inputs, accepted, rejected, hosts, matched, cn_only;
};

/* One input through both routes. */
static void compare(struct x509_cache *c, struct x509_cache *rc, const uint8_t *m, size_t n, struct tally *tl)
{
	struct x509_info ref;
	memset(&ref, 0, sizeof ref);
	bool rok = x509_parse_reference(rc, &ref, m, n);
	struct x509_info *x = x509_get(c, m, n);
	CHECK(rok && x);
	if (!rok || !x) {
		x509_info_release(rc, &ref);
		if (x) x509_unref(c, x);
		return;
	}
	tl->inputs++;
	bool ok = same_int("accepted", x->parsed, ref.parsed, m, n);
	if (ok && ref.parsed) {
		tl->accepted++;
		ok = same_str("serial", x->serial_hex, ref.serial_hex, m, n) && same_str("subject", x->subject, ref.subject, m, n) &&
		     same_str("issuer", x->issuer, ref.issuer, m, n) && same_str("san", x->san, ref.san, m, n) &&
		     same_str("eku", x->eku, ref.eku, m, n) && same_str("key usage", x->key_usage, ref.key_usage, m, n) &&
		     same_int("eku flags", x->eku_flags, ref.eku_flags, m, n) && same_int("ca", x->is_ca, ref.is_ca, m, n) &&
		     same_int("self-issued", x->self_issued, ref.self_issued, m, n) &&
		     same_int("validity", x->have_validity, ref.have_validity, m, n) &&
		     same_int("not before", x->not_before, ref.not_before, m, n) &&
		     same_int("not after", x->not_after, ref.not_after, m, n);
		const unsigned char *p = m;
		X509 *obj = d2i_X509(NULL, &p, (long)n);
		char names[12][96];
		unsigned k = host_names(&ref, names, 12);
		for (unsigned i = 0; ok && obj && i < k; i++) {
			int want = X509_check_host(obj, names[i], strlen(names[i]), 0, NULL);
			ok = same_int(names[i], x509_check_host(c, x, names[i]), want, m, n);
			tl->hosts++;
			tl->matched += want == 1;
			tl->cn_only += want == 1 && !strstr(ref.san, "DNS:");
		}
		X509_free(obj);
	} else if (ok) {
		tl->rejected++;
	}
	CHECK(ok);
	x509_info_release(rc, &ref);
	x509_unref(c, x);
}

int main(void)
{
	const char *shared = getenv("EK_SHARED");
	char corpus[4096];
	snprintf(corpus, sizeof corpus, "%s/corpus/public", shared && *shared ? shared : "../shared");
	unsigned from_pki = scan_dir("samples/pki", 0);
	unsigned from_samples = scan_dir("samples", 1); /* the captures; pki is read above */
	unsigned from_corpus = scan_dir(corpus, 0);
	add_generated();
	printf("certificates: %zu (samples/pki %u, samples %u, %s %u, generated)\n", n_certs, from_pki, from_samples,
	       corpus, from_corpus);
	CHECK(from_pki >= 20);
	CHECK(n_certs >= 40);

	const char *env = getenv("EK_X509_MUTATIONS");
	unsigned long count = env && *env ? strtoul(env, NULL, 10) : 6000;
	const char *seed = getenv("EK_X509_SEED");
	rnd_state = seed && *seed ? strtoull(seed, NULL, 0) | 1 : 0x9e3779b97f4a7c15ULL;

	/* the template's cache keeps nothing: every input is parsed */
	struct x509_cache *c = x509_cache_new(1), *rc = x509_cache_new(1);
	struct tally t = { 0 };
	for (size_t i = 0; i < n_certs; i++) compare(c, rc, certs[i].p, certs[i].n, &t);
	CHECK_EQ_U(t.accepted, n_certs);
	size_t maxn = 0;
	for (size_t i = 0; i < n_certs; i++) maxn = certs[i].n > maxn ? certs[i].n : maxn;
	uint8_t *m = malloc(maxn + 64);
	enum { MAX_TLV = 4096 };
	struct tlv *tl = malloc(MAX_TLV * sizeof *tl);
	if (!m || !tl) return 2;
	for (unsigned long k = 0; k < count; k++) {
		const struct der *base = &certs[rnd_below(n_certs)];
		size_t n = mutate(base, m, tl, MAX_TLV);
		compare(c, rc, m, n, &t);
		if (k % 4096 == 4095) { /* a fresh cache now and then: the name table's replacement at work too */
			x509_cache_free(c);
			c = x509_cache_new(1);
		}
	}
	printf("inputs %lu: accepted %lu, rejected %lu by both; %lu host checks (%lu matched, %lu by the CN); %u "
	       "mismatches\n",
	       t.inputs, t.accepted, t.rejected, t.hosts, t.matched, t.cn_only, mismatches);
	CHECK_EQ_U(mismatches, 0);
	CHECK(t.accepted > count / 20 && t.rejected > count / 20); /* both kinds exercised */
	CHECK(t.matched > 0 && t.cn_only > 0 && t.matched < t.hosts);
	free(m);
	free(tl);
	x509_cache_free(c);
	x509_cache_free(rc);
	for (size_t i = 0; i < n_certs; i++) free(certs[i].p);
	free(certs);
	return check_summary();
}
