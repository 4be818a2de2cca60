/* X.509 certificates through OpenSSL, parsed once per distinct DER.
 *
 * Cache: a chained hash table keyed by a fast 64-bit hash of the DER; a
 * hit is confirmed by comparing the DER itself (the entry keeps a copy),
 * so SHA-256 runs once per distinct certificate, not per lookup.  Entries
 * are reference counted; those nobody holds sit on an LRU list that is
 * bounded by max_entries (the least recently released is freed first).
 *
 * Every field comes from OpenSSL (d2i_X509, X509_get_ext_d2i, ...): no
 * ASN.1 is parsed by hand here. */
#include "dn_text.h"
#include "x509.h"

#include "../common/hash.h"
#include "../common/strbuf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/cursor.h"

struct x509_entry {
	struct x509_info info; /* first member: an x509_info * is an x509_entry * */
	uint64_t hash;
	uint8_t *der;
	struct x509_entry *lru_prev, *lru_next; /* on the LRU list only while refs == 0 */
};

struct x509_cache {
	struct x509_entry **buckets; /* chained through info.next */
	size_t nbuckets;             /* power of two */
	size_t n;                    /* entries in the table */
	struct x509_entry *lru_head, *lru_tail; /* head: most recently released */
	size_t n_lru, max_lru;
	struct x509_cache_stats st;
};

#define X509_DEFAULT_MAX 4096
#define X509_INITIAL_BUCKETS 256

/* ---- field extraction --------------------------------------------------- */

/* Contents of a memory BIO as a malloc'd string (NULL on failure). */
static char *bio_string(BIO *b)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	if (n < 0) return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s) return NULL;
	if (n) memcpy(s, p, (size_t)n);
	s[n] = '\0';
	return s;
}


/* Serial as `openssl x509 -noout -serial` prints it (i2a_ASN1_INTEGER),
 * lowercased.  i2a_ASN1_INTEGER breaks very long integers with "\\\n"
 * every 35 bytes; those continuation marks are dropped. */
static char *serial_hex(X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIO *b = BIO_new(BIO_s_mem());
	if (!b) return NULL;
	char *s = NULL;
	if (sn && i2a_ASN1_INTEGER(b, sn) >= 0) s = bio_string(b);
	BIO_free(b);
	if (!s) return NULL;
	size_t o = 0;
	for (size_t i = 0; s[i]; i++) {
		char ch = s[i];
		if (ch == '\\' || ch == '\n' || ch == '\r') continue;
		if (ch >= 'A' && ch <= 'F') ch = (char)(ch - 'A' + 'a');
		s[o++] = ch;
	}
	s[o] = '\0';
	return s;
}

/* Joined lists (common/strbuf.h); sep goes between items. */
static void sb_add(struct ek_str *b, const char *sep, const char *str, size_t n)
{
	if (b->len && sep) ek_str_puts(b, sep);
	ek_str_put(b, str, n);
}

/* The list, "" when empty, NULL when out of memory. */
static char *sb_take(struct ek_str *b)
{
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (!b->s) return strdup("");
	return b->s;
}

static void add_san_string(struct ek_str *b, const char *prefix, const ASN1_STRING *s)
{
	const unsigned char *d = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s);
	if (!d || n < 0) return;
	sb_add(b, ";", prefix, strlen(prefix));
	sb_add(b, NULL, (const char *)d, (size_t)n);
}

/* subjectAltName: DNS, IP (IPv4/IPv6 text), and also URI and email, which
 * client certificates commonly carry. */
static char *san_list(X509 *x)
{
	struct ek_str b = { 0 };
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!gens) return sb_take(&b);
	int n = sk_GENERAL_NAME_num(gens);
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			add_san_string(&b, "DNS:", g->d.dNSName);
		} else if (g->type == GEN_IPADD) {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			int len = ASN1_STRING_length(g->d.iPAddress);
			char txt[INET6_ADDRSTRLEN + 8];
			if (d && len == 4 && inet_ntop(AF_INET, d, txt, sizeof txt)) {
				sb_add(&b, ";", "IP:", 3);
				sb_add(&b, NULL, txt, strlen(txt));
			} else if (d && len == 16 && inet_ntop(AF_INET6, d, txt, sizeof txt)) {
				sb_add(&b, ";", "IP:", 3);
				sb_add(&b, NULL, txt, strlen(txt));
			} else {
				sb_add(&b, ";", "IP:?", 4);
			}
		} else if (g->type == GEN_URI) {
			add_san_string(&b, "URI:", g->d.uniformResourceIdentifier);
		} else if (g->type == GEN_EMAIL) {
			add_san_string(&b, "email:", g->d.rfc822Name);
		}
	}
	GENERAL_NAMES_free(gens);
	return sb_take(&b);
}

static char *eku_list(X509 *x, unsigned *flags)
{
	struct ek_str b = { 0 };
	int crit = -1;
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	*flags = 0;
	if (!eku) {
		if (crit == -1) return strdup("absent");
		/* Present but undecodable (or present twice). */
		*flags = EKU_PRESENT | EKU_OTHER;
		return strdup("invalid");
	}
	*flags = EKU_PRESENT;
	int n = sk_ASN1_OBJECT_num(eku);
	for (int i = 0; i < n; i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(o);
		const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
		char dotted[128];
		if (nid == NID_server_auth) *flags |= EKU_SERVER;
		else if (nid == NID_client_auth) *flags |= EKU_CLIENT;
		else if (nid == NID_anyExtendedKeyUsage) *flags |= EKU_ANY;
		else *flags |= EKU_OTHER;
		if (!sn) {
			int len = OBJ_obj2txt(dotted, (int)sizeof dotted, o, 1);
			if (len <= 0) snprintf(dotted, sizeof dotted, "?");
			sn = dotted;
		}
		sb_add(&b, ";", sn, strlen(sn));
	}
	EXTENDED_KEY_USAGE_free(eku);
	return sb_take(&b);
}

static char *key_usage_list(X509 *x)
{
	static const char *const names[] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
		"keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly",
	};
	struct ek_str b = { 0 };
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	if (!ku) return sb_take(&b);
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (ASN1_BIT_STRING_get_bit(ku, i)) sb_add(&b, ";", names[i], strlen(names[i]));
	ASN1_BIT_STRING_free(ku);
	return sb_take(&b);
}

static bool basic_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	if (!bc) return false;
	bool ca = bc->ca != 0;
	BASIC_CONSTRAINTS_free(bc);
	return ca;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); exact for any year, before 1970 too.  Used instead
 * of timegm() whose -1 also means 1969-12-31T23:59:59. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) return false;
	int64_t days = days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
	*out = days * 86400 + (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 + tm.tm_sec;
	return true;
}

static const char hexd[] = "0123456789abcdef";

static void set_empty_strings(struct x509_info *i)
{
	char **f[] = { &i->serial_hex, &i->subject, &i->issuer, &i->san, &i->eku, &i->key_usage };
	for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
		if (!*f[k]) *f[k] = strdup("");
}

static void free_strings(struct x509_info *i)
{
	free(i->serial_hex);
	free(i->subject);
	free(i->issuer);
	free(i->san);
	free(i->eku);
	free(i->key_usage);
}

static bool parse_info(struct x509_info *i, const uint8_t *der, size_t len)
{
	unsigned int mdlen = 0;
	if (!EVP_Digest(der, len, i->sha256, &mdlen, EVP_sha256(), NULL)) memset(i->sha256, 0, sizeof i->sha256);
	for (size_t k = 0; k < 32; k++) {
		i->sha256_hex[2 * k] = hexd[i->sha256[k] >> 4];
		i->sha256_hex[2 * k + 1] = hexd[i->sha256[k] & 15];
	}
	i->sha256_hex[64] = '\0';
	i->der_len = len;

	X509 *x = NULL;
	if (len > 0 && len <= (size_t)0x7fffffff) {
		const unsigned char *p = der;
		x = d2i_X509(NULL, &p, (long)len);
	}
	if (x) {
		i->x509 = x;
		i->parsed = true;
		i->serial_hex = serial_hex(x);
		i->subject = dn_text(X509_get_subject_name(x));
		i->issuer = dn_text(X509_get_issuer_name(x));
		i->san = san_list(x);
		i->eku = eku_list(x, &i->eku_flags);
		i->key_usage = key_usage_list(x);
		i->is_ca = basic_ca(x);
		i->self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
		i->have_validity = asn1_time_unix(X509_get0_notBefore(x), &i->not_before) &&
				   asn1_time_unix(X509_get0_notAfter(x), &i->not_after);
		if (!i->have_validity) i->not_before = i->not_after = 0;
	}
	set_empty_strings(i);
	return i->serial_hex && i->subject && i->issuer && i->san && i->eku && i->key_usage;
}

/* ---- cache -------------------------------------------------------------- */

struct x509_cache *x509_cache_new(size_t max_entries)
{
	struct x509_cache *c = calloc(1, sizeof *c);
	if (!c) return NULL;
	c->nbuckets = X509_INITIAL_BUCKETS;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->max_lru = max_entries ? max_entries : X509_DEFAULT_MAX;
	return c;
}

static void entry_free(struct x509_entry *e)
{
	free_strings(&e->info);
	X509_free(e->info.x509);
	free(e->der);
	free(e);
}

void x509_cache_free(struct x509_cache *c)
{
	if (!c) return;
	for (size_t b = 0; b < c->nbuckets; b++) {
		struct x509_info *i = (struct x509_info *)c->buckets[b];
		while (i) {
			struct x509_info *next = i->next;
			entry_free((struct x509_entry *)i);
			i = next;
		}
	}
	free(c->buckets);
	free(c);
}

static void lru_remove(struct x509_cache *c, struct x509_entry *e)
{
	if (e->lru_prev) e->lru_prev->lru_next = e->lru_next;
	else c->lru_head = e->lru_next;
	if (e->lru_next) e->lru_next->lru_prev = e->lru_prev;
	else c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
	c->n_lru--;
}

static void lru_push(struct x509_cache *c, struct x509_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head) c->lru_head->lru_prev = e;
	else c->lru_tail = e;
	c->lru_head = e;
	c->n_lru++;
}

static void table_remove(struct x509_cache *c, struct x509_entry *e)
{
	struct x509_info **pp = (struct x509_info **)&c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp && *pp != &e->info) pp = &(*pp)->next;
	if (*pp) *pp = e->info.next;
	c->n--;
	c->st.entries = c->n;
}

static void grow(struct x509_cache *c)
{
	size_t nb = c->nbuckets * 2;
	struct x509_entry **b = calloc(nb, sizeof *b);
	if (!b) return; /* keep the longer chains */
	for (size_t k = 0; k < c->nbuckets; k++) {
		struct x509_info *i = (struct x509_info *)c->buckets[k];
		while (i) {
			struct x509_info *next = i->next;
			struct x509_entry *e = (struct x509_entry *)i;
			size_t at = e->hash & (nb - 1);
			i->next = (struct x509_info *)b[at];
			b[at] = e;
			i = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

struct x509_info *x509_get(struct x509_cache *c, const uint8_t *der, size_t len)
{
	if (!c || (!der && len)) return NULL;
	c->st.lookups++;
	uint64_t h = ek_hash_bytes(der, len, 0);
	for (struct x509_info *i = (struct x509_info *)c->buckets[h & (c->nbuckets - 1)]; i; i = i->next) {
		struct x509_entry *e = (struct x509_entry *)i;
		if (e->hash == h && i->der_len == len && (len == 0 || memcmp(e->der, der, len) == 0)) {
			if (i->refs == 0) lru_remove(c, e);
			i->refs++;
			return i;
		}
	}
	struct x509_entry *e = calloc(1, sizeof *e);
	if (!e) return NULL;
	e->der = malloc(len ? len : 1);
	if (!e->der) {
		free(e);
		return NULL;
	}
	if (len) memcpy(e->der, der, len);
	e->hash = h;
	if (!parse_info(&e->info, der, len)) {
		entry_free(e);
		return NULL;
	}
	if (e->info.parsed) c->st.parsed++;
	else c->st.failed++;
	if (c->n >= c->nbuckets * 2) grow(c);
	size_t at = h & (c->nbuckets - 1);
	e->info.next = (struct x509_info *)c->buckets[at];
	c->buckets[at] = e;
	c->n++;
	c->st.entries = c->n;
	e->info.refs = 1;
	return &e->info;
}

void x509_ref(struct x509_info *x)
{
	if (x) x->refs++;
}

void x509_unref(struct x509_cache *c, struct x509_info *x)
{
	if (!c || !x || x->refs == 0) return;
	struct x509_entry *e = (struct x509_entry *)x;
	if (--x->refs) return;
	lru_push(c, e);
	while (c->n_lru > c->max_lru) {
		struct x509_entry *victim = c->lru_tail;
		lru_remove(c, victim);
		table_remove(c, victim);
		entry_free(victim);
	}
}

void x509_cache_stats(const struct x509_cache *c, struct x509_cache_stats *out)
{
	if (!c) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = c->st;
}

const uint8_t *x509_der(const struct x509_info *x)
{
	return ((const struct x509_entry *)x)->der;
}
