/* DER -> the fields of a certificate's record.
 *
 * Parsing: our own template of the certificate (x509_template.c), which
 * accepts and rejects what d2i_X509 does without decoding the public key
 * (OpenSSL 3 decodes it "opportunistically" through the provider
 * decoders, 80 % of d2i_X509's cost) and leaves the names to x509_names.c
 * (decoded and printed once per distinct name).  The full object, key
 * decoded, is made from the DER only when chain verification asks for it
 * (x509_object).
 *
 * Every field comes from OpenSSL (its ASN.1 engine, X509V3_get_d2i, ...):
 * no ASN.1 is parsed by hand here. */
#include "dn_text.h"
#include "x509_internal.h"

#include "../common/strbuf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- field extraction --------------------------------------------------- */

/* Serial as `openssl x509 -noout -serial` prints it (i2a_ASN1_INTEGER),
 * lowercased and without the "\\\n" that breaks a long one every 35
 * bytes: "-" when negative, then the magnitude's bytes in hex, "00" when
 * it has none.  OPENSSL_buf2hexstr_ex writes the hex in place: a memory
 * BIO and two characters a BIO_write cost 6 times as much. */
static char *serial_hex(const ASN1_INTEGER *sn)
{
	if (!sn) return NULL;
	const unsigned char *d = ASN1_STRING_get0_data(sn);
	int len = ASN1_STRING_length(sn);
	if (len < 0 || (len && !d)) return NULL;
	size_t n = (size_t)len, neg = (ASN1_STRING_type(sn) & V_ASN1_NEG) ? 1 : 0;
	size_t size = neg + (n ? 2 * n : 2) + 1;
	char *s = malloc(size);
	if (!s) return NULL;
	if (neg) s[0] = '-';
	if (!n) memcpy(s + neg, "00", 3);
	else if (!OPENSSL_buf2hexstr_ex(s + neg, size - neg, NULL, d, n, '\0')) {
		free(s);
		return NULL;
	}
	for (char *o = s + neg; *o; o++)
		if (*o >= 'A' && *o <= 'F') *o = (char)(*o - 'A' + 'a');
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
static char *san_list(const STACK_OF(X509_EXTENSION) *exts)
{
	struct ek_str b = { 0 };
	GENERAL_NAMES *gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
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

static char *eku_list(const STACK_OF(X509_EXTENSION) *exts, unsigned *flags)
{
	struct ek_str b = { 0 };
	int crit = -1;
	EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(exts, NID_ext_key_usage, &crit, NULL);
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

static char *key_usage_list(const STACK_OF(X509_EXTENSION) *exts)
{
	static const char *const names[] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
		"keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly",
	};
	struct ek_str b = { 0 };
	ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);
	if (!ku) return sb_take(&b);
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (ASN1_BIT_STRING_get_bit(ku, i)) sb_add(&b, ";", names[i], strlen(names[i]));
	ASN1_BIT_STRING_free(ku);
	return sb_take(&b);
}

static bool basic_ca(const STACK_OF(X509_EXTENSION) *exts)
{
	BASIC_CONSTRAINTS *bc = X509V3_get_d2i(exts, NID_basic_constraints, NULL, NULL);
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

/* What a record is made of, from either decoder. */
struct fields_src {
	const ASN1_INTEGER *serial;
	const STACK_OF(X509_EXTENSION) *exts;
	const ASN1_TIME *not_before, *not_after;
	const X509_NAME *subject, *issuer;
	const char *subject_text, *issuer_text; /* interned */
};

/* Fills i from src (NULL: not parsed); false on allocation failure. */
static bool fill(struct x509_cache *c, struct x509_info *i, const struct fields_src *src)
{
	char *serial = NULL, *san = NULL, *eku = NULL, *ku = NULL;
	if (src) {
		i->parsed = true;
		serial = serial_hex(src->serial);
		san = san_list(src->exts);
		eku = eku_list(src->exts, &i->eku_flags);
		ku = key_usage_list(src->exts);
		i->is_ca = basic_ca(src->exts);
		i->self_issued = X509_NAME_cmp(src->subject, src->issuer) == 0;
		i->have_validity = asn1_time_unix(src->not_before, &i->not_before) &&
				   asn1_time_unix(src->not_after, &i->not_after);
		if (!i->have_validity) i->not_before = i->not_after = 0;
	}
	bool ok = !src || (serial && san && eku && ku);
	i->serial_hex = x509_intern_take(c, serial);
	i->subject = x509_intern(c, src ? src->subject_text : "");
	i->issuer = x509_intern(c, src ? src->issuer_text : "");
	i->san = x509_intern_take(c, san);
	i->eku = x509_intern_take(c, eku);
	i->key_usage = x509_intern_take(c, ku);
	const char **f[N_STRINGS];
	x509_rec_strings(i, f);
	for (size_t k = 0; k < N_STRINGS; k++) ok = ok && *f[k];
	return ok;
}

/* The Name's entry (x509_names.c) for an issuer or subject of x. */
static struct x509_name *name_of(struct x509_cache *c, const ASN1_STRING *enc, bool *oom)
{
	return x509_name_get(c, ASN1_STRING_get0_data(enc), (size_t)ASN1_STRING_length(enc), oom);
}

void x509_obj_put(struct x509_cache *c, EK_X509 *x)
{
	if (x && !x->named && !c->spare) c->spare = x;
	else ek_x509_free(x);
}

EK_X509 *x509_decode(struct x509_cache *c, const uint8_t *der, size_t len, struct x509_name *names[2], bool *oom)
{
	names[0] = names[1] = NULL;
	*oom = false;
	EK_X509 *x = ek_x509_d2i(c->spare, der, len);
	c->spare = NULL;
	if (x) {
		/* d2i_X509 decodes both names inside the certificate */
		names[1] = name_of(c, x->tbs->issuer_enc, oom);
		names[0] = names[1] ? name_of(c, x->tbs->subject_enc, oom) : NULL;
		if (names[0]) return x;
		x509_name_put(c, names[1]);
		names[1] = NULL;
		x509_obj_put(c, x);
		if (*oom) return NULL;
	}
	return ek_x509_d2i_named(der, len);
}

bool x509_parse_info(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, EK_X509 **obj)
{
	struct x509_name *nm[2];
	bool oom;
	EK_X509 *x = x509_decode(c, der, len, nm, &oom);
	*obj = x;
	const char *st = NULL, *it = NULL;
	struct fields_src src;
	if (x) {
		const EK_X509_TBS *t = x->tbs;
		src = (struct fields_src){ t->serial, t->extensions, t->validity->notBefore, t->validity->notAfter,
					   t->subject_name, t->issuer_name, NULL, NULL };
		if (x->named) {
			src.subject_text = st = x509_intern_take(c, dn_text(t->subject_name));
			src.issuer_text = it = x509_intern_take(c, dn_text(t->issuer_name));
			oom = oom || !st || !it;
		} else {
			src.subject = nm[0]->nm;
			src.issuer = nm[1]->nm;
			src.subject_text = nm[0]->text;
			src.issuer_text = nm[1]->text;
		}
	}
	bool ok = fill(c, i, x ? &src : NULL) && !oom;
	x509_unintern(c, st);
	x509_unintern(c, it);
	x509_name_put(c, nm[0]);
	x509_name_put(c, nm[1]);
	return ok;
}

bool x509_parse_reference(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = len && len <= (size_t)0x7fffffff ? d2i_X509(NULL, &p, (long)len) : NULL;
	ERR_clear_error();
	const char *st = x ? x509_intern_take(c, dn_text(X509_get_subject_name(x))) : NULL;
	const char *it = x ? x509_intern_take(c, dn_text(X509_get_issuer_name(x))) : NULL;
	struct fields_src src;
	if (x)
		src = (struct fields_src){ X509_get0_serialNumber(x), X509_get0_extensions(x), X509_get0_notBefore(x),
					   X509_get0_notAfter(x), X509_get_subject_name(x), X509_get_issuer_name(x),
					   st, it };
	bool ok = fill(c, i, x ? &src : NULL) && (!x || (st && it));
	x509_unintern(c, st);
	x509_unintern(c, it);
	X509_free(x);
	return ok;
}

/* An X509 with only what X509_check_host reads of x: the subjectAltName
 * extensions and the subject's commonName entries (copies; the full
 * subject and every extension cost 5 times as much).  NULL on failure. */
X509 *x509_host_object(struct x509_cache *c, const EK_X509 *x)
{
	bool oom;
	struct x509_name *sn = x->named ? NULL : name_of(c, x->tbs->subject_enc, &oom);
	const X509_NAME *subject = x->named ? x->tbs->subject_name : sn ? sn->nm : NULL;
	X509 *o = subject ? X509_new() : NULL;
	bool ok = o != NULL;
	X509_NAME *cn = ok ? X509_get_subject_name(o) : NULL;
	for (int k = -1; ok && (k = X509_NAME_get_index_by_NID(subject, NID_commonName, k)) >= 0;)
		ok = X509_NAME_add_entry(cn, X509_NAME_get_entry(subject, k), -1, 0);
	const STACK_OF(X509_EXTENSION) *exts = x->tbs->extensions;
	for (int k = -1; ok && (k = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, k)) >= 0;)
		ok = X509_add_ext(o, X509v3_get_ext(exts, k), -1);
	x509_name_put(c, sn);
	if (!ok) {
		X509_free(o);
		return NULL;
	}
	return o;
}
