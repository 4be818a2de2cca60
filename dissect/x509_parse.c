/* DER -> the fields of a certificate's record.
 *
 * Parsing: d2i_X509 in a library context that has only OpenSSL's null
 * provider, so the public key is not decoded (OpenSSL 3 decodes it
 * "opportunistically" through the provider decoders, 80 % of d2i_X509's
 * cost, and drops any failure to: the accept/reject decision is the same).
 * The full object, key decoded, is made from the DER only when chain
 * verification asks for it (x509_object).
 *
 * Every field comes from OpenSSL (d2i_X509, X509_get_ext_d2i, ...): no
 * ASN.1 is parsed by hand here. */
#include "dn_text.h"
#include "x509_internal.h"

#include "../common/hash.h"
#include "../common/strbuf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* DER -> certificate without its public key decoded (see the top). */
X509 *x509_decode_keyless(struct x509_cache *c, const uint8_t *der, size_t len)
{
	if (len == 0 || len > (size_t)0x7fffffff) return NULL;
	const unsigned char *p = der;
	if (!c->keyless) return d2i_X509(NULL, &p, (long)len);
	return (X509 *)ASN1_item_d2i_ex(NULL, &p, (long)len, ASN1_ITEM_rptr(X509), c->keyless, NULL);
}

/* dn_text(nm), interned (one reference for the caller); NULL on failure. */
static const char *name_text(struct x509_cache *c, const X509_NAME *nm)
{
	const unsigned char *der = NULL;
	size_t len = 0;
	if (!X509_NAME_get0_der(nm, &der, &len) || !der) return x509_intern_take(c, dn_text(nm));
	uint64_t h = ek_hash_bytes(der, len, 0);
	struct name_memo *m = &c->names[h % (sizeof c->names / sizeof c->names[0])];
	if (m->text && m->hash == h && m->len == len && memcmp(m->der, der, len) == 0) {
		x509_intern_ref(m->text);
		return m->text;
	}
	char *t = dn_text(nm);
	if (!t) return NULL;
	const char *r = x509_intern_take(c, t);
	uint8_t *copy = r && len ? malloc(len) : NULL;
	if (copy) {
		memcpy(copy, der, len);
		x509_unintern(c, m->text);
		free(m->der);
		m->der = copy;
		m->len = len;
		m->hash = h;
		m->text = x509_intern(c, r); /* the memo's reference */
	}
	return r;
}

/* Fills i from the DER; *obj: the key-less object (NULL: not parsed). */
bool x509_parse_info(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, X509 **obj)
{
	X509 *x = x509_decode_keyless(c, der, len);
	*obj = x;
	char *serial = NULL, *san = NULL, *eku = NULL, *ku = NULL;
	const char *subject = NULL, *issuer = NULL;
	if (x) {
		i->parsed = true;
		serial = serial_hex(x);
		subject = name_text(c, X509_get_subject_name(x));
		issuer = name_text(c, X509_get_issuer_name(x));
		san = san_list(x);
		eku = eku_list(x, &i->eku_flags);
		ku = key_usage_list(x);
		i->is_ca = basic_ca(x);
		i->self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
		i->have_validity = asn1_time_unix(X509_get0_notBefore(x), &i->not_before) &&
				   asn1_time_unix(X509_get0_notAfter(x), &i->not_after);
		if (!i->have_validity) i->not_before = i->not_after = 0;
	}
	bool ok = !x || (serial && subject && issuer && san && eku && ku);
	i->serial_hex = x509_intern_take(c, serial);
	i->subject = x ? subject : x509_intern(c, "");
	i->issuer = x ? issuer : x509_intern(c, "");
	i->san = x509_intern_take(c, san);
	i->eku = x509_intern_take(c, eku);
	i->key_usage = x509_intern_take(c, ku);
	const char **f[N_STRINGS];
	x509_rec_strings(i, f);
	for (size_t k = 0; k < N_STRINGS; k++) ok = ok && *f[k];
	return ok;
}
