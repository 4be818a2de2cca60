/* X.509 certificates through OpenSSL, parsed once per distinct DER.
 *
 * Two tables.  Records (struct x509_entry: what the outputs print, strings
 * interned) are keyed by SHA-256 and live while referenced.  DER slots
 * (a copy of the DER, keyed by a fast 64-bit hash, a hit confirmed by
 * comparing the DER itself) let a recurring certificate be recognised
 * without SHA-256; a record lives while referenced or while it has a slot.
 * Slots are kept within a byte budget.  Once it is full a new slot is
 * admitted (replacing one picked at random) with probability 1/16 only,
 * the others are dropped after a grace of X509_PROTECT lookups: least
 * recently used eviction would make a working set just above the budget,
 * seen in a cycle, miss on every lookup; this keeps a stable share of it,
 * so the hit rate falls smoothly, about budget / working set.  A lookup
 * whose slot was dropped costs a SHA-256, and a parse only if nobody holds
 * the record any more.
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
#include "x509.h"

#include "../common/hash.h"
#include "../common/strbuf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct der_slot;

struct x509_entry {
	struct x509_info info;     /* first member: an x509_info * is an x509_entry * */
	struct x509_entry *next;   /* SHA-256 table chain */
	struct der_slot *slot;     /* its DER, NULL once dropped */
	X509 *full;                /* x509_object, freed with the slot */
	unsigned pins;
	int host_result;           /* x509_check_host memo */
	const char *host_name;     /* interned, NULL: none */
};

struct der_slot {
	struct der_slot *next;     /* DER table chain */
	size_t vi;                 /* index in the cache's slot vector */
	struct der_slot *pnext, *pprev; /* probation list (not admitted) */
	bool probation;
	struct x509_entry *rec;    /* one reference */
	uint64_t hash, stamp;      /* stamp: lookups at the last use */
	size_t len;
	uint8_t der[];
};

/* Interned string: refcounted, shared by records. */
struct istr {
	struct istr *next;
	uint64_t hash;
	uint32_t refs, len;
	char s[];
};

struct x509_cache {
	struct der_slot **slots;       /* DER table */
	size_t nslots_b, n_slots;      /* buckets (power of two), slots */
	struct x509_entry **recs;      /* SHA-256 table */
	size_t nrecs_b, n_recs;
	struct istr **strs;            /* interned strings */
	size_t nstrs_b, n_strs;
	struct der_slot **vec;         /* every slot, for picking one at random */
	struct der_slot *prob_head, *prob_tail; /* not admitted, oldest first */
	size_t prob_bytes;
	size_t vec_cap;
	uint64_t rnd;
	size_t der_bytes, max_bytes, rec_bytes;
	/* the key-less objects of the last certificates parsed, for
	 * x509_check_host on the message that brought them */
	struct recent {
		struct x509_entry *e;
		X509 *obj;
	} recent[8];
	unsigned recent_at;
	/* dn_text's answers by the name's DER (direct-mapped): issuers, and
	 * the subjects of a device certificate's renewals, recur */
	struct name_memo {
		uint8_t *der;
		size_t len;
		uint64_t hash;
		const char *text;      /* interned, one reference */
	} names[1024];
	OSSL_LIB_CTX *keyless;         /* only the null provider */
	OSSL_PROVIDER *null_prov;
	EVP_MD *sha256;
	struct x509_cache_stats st;
};

#define X509_DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define X509_PROTECT 256u           /* slots of the last 256 lookups stay */
#define SLOT_OVERHEAD 64u
#define FULL_BYTES(len) (4 * (len) + 4096) /* an X509 with its key, roughly */

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

/* ---- interned strings ------------------------------------------------------ */

static struct istr *istr_of(const char *s) { return (struct istr *)(void *)(s - offsetof(struct istr, s)); }

static bool table_grow(void ***tab, size_t *nb, size_t n, size_t next_off, size_t hash_off)
{
	if (n < *nb * 2) return true;
	size_t nn = *nb ? *nb * 2 : 256;
	void **t = calloc(nn, sizeof *t);
	if (!t) return false; /* keep the longer chains */
	for (size_t k = 0; k < *nb; k++) {
		char *e = (*tab)[k];
		while (e) {
			char *next;
			memcpy(&next, e + next_off, sizeof next);
			uint64_t h;
			memcpy(&h, e + hash_off, sizeof h);
			memcpy(e + next_off, &t[h & (nn - 1)], sizeof(void *));
			t[h & (nn - 1)] = e;
			e = next;
		}
	}
	free(*tab);
	*tab = t;
	*nb = nn;
	return true;
}

/* The interned copy of s (one reference), NULL on allocation failure. */
static const char *intern(struct x509_cache *c, const char *s)
{
	if (!s) return NULL;
	size_t len = strlen(s);
	uint64_t h = ek_hash_bytes((const uint8_t *)s, len, 0);
	if (c->strs) {
		for (struct istr *i = c->strs[h & (c->nstrs_b - 1)]; i; i = i->next) {
			if (i->hash == h && i->len == len && memcmp(i->s, s, len) == 0) {
				i->refs++;
				return i->s;
			}
		}
	}
	if (len > UINT32_MAX - 1) return NULL;
	table_grow((void ***)&c->strs, &c->nstrs_b, c->n_strs, offsetof(struct istr, next), offsetof(struct istr, hash));
	if (!c->strs) return NULL;
	struct istr *i = malloc(sizeof *i + len + 1);
	if (!i) return NULL;
	i->hash = h;
	i->refs = 1;
	i->len = (uint32_t)len;
	memcpy(i->s, s, len + 1);
	i->next = c->strs[h & (c->nstrs_b - 1)];
	c->strs[h & (c->nstrs_b - 1)] = i;
	c->n_strs++;
	c->rec_bytes += sizeof *i + len + 1;
	return i->s;
}

static void unintern(struct x509_cache *c, const char *s)
{
	if (!s) return;
	struct istr *i = istr_of(s);
	if (--i->refs) return;
	struct istr **pp = &c->strs[i->hash & (c->nstrs_b - 1)];
	while (*pp && *pp != i) pp = &(*pp)->next;
	if (*pp) *pp = i->next;
	c->n_strs--;
	c->rec_bytes -= sizeof *i + i->len + 1;
	free(i);
}

/* Takes a malloc'd string (or NULL): the interned copy, "" when s is NULL. */
static const char *intern_take(struct x509_cache *c, char *s)
{
	const char *r = intern(c, s ? s : "");
	free(s);
	return r;
}

/* ---- records ------------------------------------------------------------- */

#define N_STRINGS 6
static void rec_strings(struct x509_info *i, const char **f[N_STRINGS])
{
	f[0] = &i->serial_hex;
	f[1] = &i->subject;
	f[2] = &i->issuer;
	f[3] = &i->san;
	f[4] = &i->eku;
	f[5] = &i->key_usage;
}

static void set_digest(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len)
{
	unsigned int mdlen = 0;
	if (!c->sha256 || !EVP_Digest(der, len, i->sha256, &mdlen, c->sha256, NULL))
		memset(i->sha256, 0, sizeof i->sha256);
	for (size_t k = 0; k < 32; k++) {
		i->sha256_hex[2 * k] = hexd[i->sha256[k] >> 4];
		i->sha256_hex[2 * k + 1] = hexd[i->sha256[k] & 15];
	}
	i->sha256_hex[64] = '\0';
	i->der_len = len;
}

/* DER -> certificate without its public key decoded (see the top). */
static X509 *decode_keyless(struct x509_cache *c, const uint8_t *der, size_t len)
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
	if (!X509_NAME_get0_der(nm, &der, &len) || !der) return intern_take(c, dn_text(nm));
	uint64_t h = ek_hash_bytes(der, len, 0);
	struct name_memo *m = &c->names[h % (sizeof c->names / sizeof c->names[0])];
	if (m->text && m->hash == h && m->len == len && memcmp(m->der, der, len) == 0) {
		istr_of(m->text)->refs++;
		return m->text;
	}
	char *t = dn_text(nm);
	if (!t) return NULL;
	const char *r = intern_take(c, t);
	uint8_t *copy = r && len ? malloc(len) : NULL;
	if (copy) {
		memcpy(copy, der, len);
		unintern(c, m->text);
		free(m->der);
		m->der = copy;
		m->len = len;
		m->hash = h;
		m->text = intern(c, r); /* the memo's reference */
	}
	return r;
}

/* Fills i from the DER; *obj: the key-less object (NULL: not parsed). */
static bool parse_info(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, X509 **obj)
{
	X509 *x = decode_keyless(c, der, len);
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
	i->serial_hex = intern_take(c, serial);
	i->subject = x ? subject : intern(c, "");
	i->issuer = x ? issuer : intern(c, "");
	i->san = intern_take(c, san);
	i->eku = intern_take(c, eku);
	i->key_usage = intern_take(c, ku);
	const char **f[N_STRINGS];
	rec_strings(i, f);
	for (size_t k = 0; k < N_STRINGS; k++) ok = ok && *f[k];
	return ok;
}

static void recent_forget(struct x509_cache *c, struct x509_entry *e)
{
	for (size_t k = 0; k < sizeof c->recent / sizeof c->recent[0]; k++) {
		if (c->recent[k].e == e) {
			X509_free(c->recent[k].obj);
			c->recent[k].e = NULL;
			c->recent[k].obj = NULL;
		}
	}
}

static void rec_free(struct x509_cache *c, struct x509_entry *e)
{
	recent_forget(c, e);
	const char **f[N_STRINGS];
	rec_strings(&e->info, f);
	for (size_t k = 0; k < N_STRINGS; k++) unintern(c, *f[k]);
	unintern(c, e->host_name);
	X509_free(e->full);
	c->rec_bytes -= sizeof *e;
	free(e);
}

static struct x509_entry *rec_find(struct x509_cache *c, const uint8_t sha256[32], size_t len)
{
	if (!c->recs) return NULL;
	for (struct x509_entry *e = c->recs[ek_rd64(sha256) & (c->nrecs_b - 1)]; e; e = e->next)
		if (e->info.der_len == len && memcmp(e->info.sha256, sha256, 32) == 0) return e;
	return NULL;
}

static void rec_insert(struct x509_cache *c, struct x509_entry *e)
{
	/* the hash for table_grow: the SHA-256's first 8 bytes */
	table_grow((void ***)&c->recs, &c->nrecs_b, c->n_recs, offsetof(struct x509_entry, next),
		   offsetof(struct x509_entry, info.sha256));
	size_t at = ek_rd64(e->info.sha256) & (c->nrecs_b - 1);
	e->next = c->recs[at];
	c->recs[at] = e;
	c->n_recs++;
	c->st.entries = c->n_recs;
}

/* Free e once nobody holds it and it has no slot. */
static void rec_maybe_free(struct x509_cache *c, struct x509_entry *e)
{
	if (e->info.refs || e->slot) return;
	struct x509_entry **pp = &c->recs[ek_rd64(e->info.sha256) & (c->nrecs_b - 1)];
	while (*pp && *pp != e) pp = &(*pp)->next;
	if (*pp) *pp = e->next;
	c->n_recs--;
	c->st.entries = c->n_recs;
	rec_free(c, e);
}

/* A new record for this DER (one reference), NULL on allocation failure. */
static struct x509_entry *rec_new(struct x509_cache *c, const struct x509_info *digest, const uint8_t *der,
				  size_t len)
{
	struct x509_entry *e = calloc(1, sizeof *e);
	if (!e) return NULL;
	c->rec_bytes += sizeof *e;
	memcpy(e->info.sha256, digest->sha256, sizeof e->info.sha256);
	memcpy(e->info.sha256_hex, digest->sha256_hex, sizeof e->info.sha256_hex);
	e->info.der_len = len;
	e->info.refs = 1;
	X509 *obj = NULL;
	if (!parse_info(c, &e->info, der, len, &obj)) {
		X509_free(obj);
		rec_free(c, e);
		return NULL;
	}
	if (obj) {
		struct recent *r = &c->recent[c->recent_at++ % (sizeof c->recent / sizeof c->recent[0])];
		X509_free(r->obj);
		r->e = e;
		r->obj = obj;
	}
	if (e->info.parsed) c->st.parsed++;
	else c->st.failed++;
	ERR_clear_error();
	rec_insert(c, e);
	return e;
}

/* ---- DER slots ------------------------------------------------------------- */

static size_t slot_bytes(const struct der_slot *s)
{
	return SLOT_OVERHEAD + s->len + (s->rec->full ? FULL_BYTES(s->len) : 0);
}

static void prob_unlink(struct x509_cache *c, struct der_slot *s)
{
	if (!s->probation) return;
	if (s->pprev) s->pprev->pnext = s->pnext;
	else c->prob_head = s->pnext;
	if (s->pnext) s->pnext->pprev = s->pprev;
	else c->prob_tail = s->pprev;
	s->probation = false;
	c->prob_bytes -= SLOT_OVERHEAD + s->len;
}

static void slot_drop(struct x509_cache *c, struct der_slot *s)
{
	prob_unlink(c, s);
	c->vec[s->vi] = c->vec[c->n_slots - 1];
	c->vec[s->vi]->vi = s->vi;
	struct der_slot **pp = &c->slots[s->hash & (c->nslots_b - 1)];
	while (*pp && *pp != s) pp = &(*pp)->next;
	if (*pp) *pp = s->next;
	c->n_slots--;
	c->der_bytes -= slot_bytes(s);
	struct x509_entry *e = s->rec;
	X509_free(e->full);
	e->full = NULL;
	e->slot = NULL;
	free(s);
	rec_maybe_free(c, e);
}

static uint64_t next_rnd(struct x509_cache *c)
{
	c->rnd ^= c->rnd << 13;
	c->rnd ^= c->rnd >> 7;
	c->rnd ^= c->rnd << 17;
	return c->rnd;
}

/* While over the budget: drop slots on probation whose grace is over,
 * then admitted ones picked at random (a few tries).  The certificates of
 * the last X509_PROTECT lookups (the message being analysed) and pinned
 * ones stay: the budget is exceeded by them until later. */
static void shrink(struct x509_cache *c)
{
	while (c->der_bytes > c->max_bytes && c->prob_head) {
		struct der_slot *s = c->prob_head;
		if (s->stamp + X509_PROTECT > c->st.lookups) break;
		slot_drop(c, s);
	}
	/* slots on probation in their grace do not push admitted ones out */
	for (unsigned tries = 0; c->der_bytes - c->prob_bytes > c->max_bytes && c->n_slots && tries < 16;) {
		struct der_slot *s = c->vec[(size_t)((next_rnd(c) >> 32) * c->n_slots >> 32)];
		if (s->rec->pins || s->probation || s->stamp + X509_PROTECT > c->st.lookups) {
			tries++;
			continue;
		}
		slot_drop(c, s);
	}
}

static void slot_add(struct x509_cache *c, struct x509_entry *e, uint64_t h, const uint8_t *der, size_t len)
{
	table_grow((void ***)&c->slots, &c->nslots_b, c->n_slots, offsetof(struct der_slot, next),
		   offsetof(struct der_slot, hash));
	if (!c->slots) return;
	if (c->n_slots == c->vec_cap) {
		size_t cap = c->vec_cap ? c->vec_cap * 2 : 256;
		struct der_slot **v = realloc(c->vec, cap * sizeof *v);
		if (!v) return;
		c->vec = v;
		c->vec_cap = cap;
	}
	struct der_slot *s = malloc(sizeof *s + len);
	if (!s) return; /* recognised by SHA-256 next time */
	s->hash = h;
	s->len = len;
	s->stamp = c->st.lookups;
	if (len) memcpy(s->der, der, len);
	s->rec = e;
	e->slot = s;
	s->probation = false;
	s->pnext = s->pprev = NULL;
	if (c->der_bytes - c->prob_bytes + SLOT_OVERHEAD + len > c->max_bytes && e->pins == 0 && (next_rnd(c) & 15) != 0) {
		s->probation = true; /* the budget is full: admitted 1 time in 16 */
		c->prob_bytes += SLOT_OVERHEAD + len;
		s->pprev = c->prob_tail;
		if (c->prob_tail) c->prob_tail->pnext = s;
		else c->prob_head = s;
		c->prob_tail = s;
	}
	size_t at = h & (c->nslots_b - 1);
	s->next = c->slots[at];
	c->slots[at] = s;
	s->vi = c->n_slots;
	c->vec[c->n_slots++] = s;
	c->der_bytes += slot_bytes(s);
}

/* ---- cache ------------------------------------------------------------------ */

struct x509_cache *x509_cache_new(size_t max_bytes)
{
	struct x509_cache *c = calloc(1, sizeof *c);
	if (!c) return NULL;
	c->max_bytes = max_bytes ? max_bytes : X509_DEFAULT_MAX_BYTES;
	c->rnd = 0x9e3779b97f4a7c15ULL;
	c->keyless = OSSL_LIB_CTX_new();
	c->null_prov = c->keyless ? OSSL_PROVIDER_load(c->keyless, "null") : NULL;
	if (c->keyless && !c->null_prov) {
		OSSL_LIB_CTX_free(c->keyless);
		c->keyless = NULL;
	}
	c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	ERR_clear_error();
	if (!c->sha256) {
		x509_cache_free(c);
		return NULL;
	}
	return c;
}

void x509_cache_free(struct x509_cache *c)
{
	if (!c) return;
	for (size_t k = 0; k < sizeof c->recent / sizeof c->recent[0]; k++) X509_free(c->recent[k].obj);
	for (size_t k = 0; k < sizeof c->names / sizeof c->names[0]; k++) free(c->names[k].der);
	for (size_t b = 0; b < c->nslots_b; b++) {
		for (struct der_slot *s = c->slots[b], *next; s; s = next) {
			next = s->next;
			free(s);
		}
	}
	for (size_t b = 0; b < c->nrecs_b; b++) {
		for (struct x509_entry *e = c->recs[b], *next; e; e = next) {
			next = e->next;
			X509_free(e->full);
			free(e);
		}
	}
	for (size_t b = 0; b < c->nstrs_b; b++) {
		for (struct istr *i = c->strs[b], *next; i; i = next) {
			next = i->next;
			free(i);
		}
	}
	free(c->slots);
	free(c->vec);
	free(c->recs);
	free(c->strs);
	EVP_MD_free(c->sha256);
	if (c->null_prov) OSSL_PROVIDER_unload(c->null_prov);
	OSSL_LIB_CTX_free(c->keyless);
	free(c);
}

struct x509_info *x509_get(struct x509_cache *c, const uint8_t *der, size_t len)
{
	if (!c || (!der && len)) return NULL;
	c->st.lookups++;
	uint64_t h = ek_hash_bytes(der, len, 0);
	if (c->slots) {
		for (struct der_slot *s = c->slots[h & (c->nslots_b - 1)]; s; s = s->next) {
			if (s->hash == h && s->len == len && (len == 0 || memcmp(s->der, der, len) == 0)) {
				s->stamp = c->st.lookups;
				s->rec->info.refs++;
				return &s->rec->info;
			}
		}
	}
	c->st.der_misses++;
	struct x509_info digest;
	set_digest(c, &digest, der, len);
	struct x509_entry *e = rec_find(c, digest.sha256, len);
	if (e) e->info.refs++;
	else if (!(e = rec_new(c, &digest, der, len))) return NULL;
	if (!e->slot) slot_add(c, e, h, der, len);
	shrink(c);
	return &e->info;
}

void x509_ref(struct x509_info *x)
{
	if (x) x->refs++;
}

void x509_unref(struct x509_cache *c, struct x509_info *x)
{
	if (!c || !x || x->refs == 0) return;
	x->refs--;
	rec_maybe_free(c, (struct x509_entry *)x);
}

X509 *x509_object(struct x509_cache *c, const struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)(uintptr_t)x;
	if (!c || !e || !e->info.parsed) return NULL;
	if (e->full || !e->slot) return e->full;
	struct der_slot *s = e->slot;
	const unsigned char *p = s->der;
	size_t before = slot_bytes(s);
	e->full = d2i_X509(NULL, &p, (long)s->len);
	ERR_clear_error();
	c->der_bytes += slot_bytes(s) - before;
	return e->full;
}

void x509_pin(struct x509_cache *c, struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)x;
	if (!c || !e) return;
	e->pins++;
	if (e->slot) prob_unlink(c, e->slot);
}

void x509_unpin(struct x509_cache *c, struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)x;
	if (!c || !e || e->pins == 0) return;
	if (--e->pins == 0) shrink(c);
}

int x509_check_host(struct x509_cache *c, const struct x509_info *x, const char *name)
{
	struct x509_entry *e = (struct x509_entry *)(uintptr_t)x;
	if (!c || !e || !e->info.parsed) return -2;
	if (e->host_name && strcmp(e->host_name, name) == 0) return e->host_result;
	/* names only: the certificate without its key is enough; usually it
	 * was just parsed */
	X509 *obj = e->full, *tmp = NULL;
	for (size_t k = 0; !obj && k < sizeof c->recent / sizeof c->recent[0]; k++)
		if (c->recent[k].e == e) obj = c->recent[k].obj;
	if (!obj && e->slot) obj = tmp = decode_keyless(c, e->slot->der, e->slot->len);
	if (!obj) return -2;
	int r = X509_check_host(obj, name, strlen(name), 0, NULL);
	X509_free(tmp);
	ERR_clear_error();
	const char *n = intern(c, name);
	if (n) {
		unintern(c, e->host_name);
		e->host_name = n;
		e->host_result = r;
	}
	return r;
}

struct x509_info *x509_move(struct x509_cache *dst, struct x509_cache *src, struct x509_info *x)
{
	struct x509_entry *e = (struct x509_entry *)x, *d = rec_find(dst, x->sha256, x->der_len);
	struct x509_info *y = NULL;
	if (d) {
		d->info.refs++;
		y = &d->info;
	} else if (e->slot) {
		y = x509_get(dst, e->slot->der, e->slot->len);
	} else if ((d = calloc(1, sizeof *d))) {
		/* the DER is gone: a copy of the record */
		dst->rec_bytes += sizeof *d;
		d->info = *x;
		d->info.refs = 1;
		const char **f[N_STRINGS];
		rec_strings(&d->info, f);
		bool ok = true;
		for (size_t k = 0; k < N_STRINGS; k++) ok = (*f[k] = intern(dst, *f[k])) && ok;
		if (ok) {
			rec_insert(dst, d);
			y = &d->info;
		} else {
			rec_free(dst, d);
		}
	}
	if (y && e->pins) x509_pin(dst, y);
	if (e->pins) x509_unpin(src, x);
	x509_unref(src, x);
	return y;
}

void x509_cache_stats(const struct x509_cache *c, struct x509_cache_stats *out)
{
	if (!c) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = c->st;
	out->der_bytes = c->der_bytes;
	out->slots = c->n_slots;
	out->record_bytes = c->rec_bytes;
}
