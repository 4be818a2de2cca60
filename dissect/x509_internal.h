/* The certificate cache's private parts, shared by dissect/x509*.c only
 * (the contract for everyone else is x509.h).
 *
 * x509_template.c: the certificate's template (no key decoding).
 * x509_names.c: issuer and subject Names, decoded and printed once each.
 * x509_parse.c: DER -> the record's fields (OpenSSL's ASN.1 engine).
 * x509_cache.c: records, interned strings, DER slots, x509_get.
 * x509.c:       what the outputs ask of a record later (objects, pins,
 *               moving between caches).
 * x509_host.c:  the host name check, its answers kept. */
#ifndef EK_X509_INTERNAL_H
#define EK_X509_INTERNAL_H

#include "x509.h"

#include <stddef.h>

#include <openssl/x509.h>

/* ---- x509_template.c: the certificate without key decoding -------------- */

typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *public_key;
} EK_X509_SPKI;

typedef struct {
	ASN1_INTEGER *version, *serial;
	X509_ALGOR *signature;
	/* the names: their encodings (x509_names.c decodes them), or, from
	 * the second template (EK_X509.named), decoded in place */
	ASN1_STRING *issuer_enc, *subject_enc;
	X509_NAME *issuer_name, *subject_name;
	X509_VAL *validity;
	EK_X509_SPKI *key;
	ASN1_BIT_STRING *issuer_uid, *subject_uid;
	STACK_OF(X509_EXTENSION) *extensions;
} EK_X509_TBS;

typedef struct {
	EK_X509_TBS *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
	bool named;                /* decoded by EK_X509_NAMED (x509_template.c) */
} EK_X509;

/* The certificate, NULL where d2i_X509 would reject it, the names aside:
 * ek_x509_d2i keeps their encodings (checked by x509_name_get, see
 * x509_decode), ek_x509_d2i_named decodes them in place.  into: a
 * certificate ek_x509_d2i made before, done with (NULL: none), to decode
 * into: ASN1_item_d2i then reuses its allocations instead of freeing them
 * and making new ones (a third of a distinct certificate's parse); it
 * is consumed either way.  Which DER are accepted, and every field, are
 * the same as into a new object (tests/unit_dissect_x509_mutate.c). */
EK_X509 *ek_x509_d2i(EK_X509 *into, const uint8_t *der, size_t len);
EK_X509 *ek_x509_d2i_named(const uint8_t *der, size_t len);
void ek_x509_free(EK_X509 *x);

/* ---- x509_names.c ----------------------------------------------------------- */

/* A distinct Name, by its encoding. */
struct x509_name {
	uint64_t hash, used;       /* used: the table's clock at the last lookup */
	unsigned refs;             /* the table's, and each caller's */
	size_t len;
	X509_NAME *nm;             /* decoded: for X509_NAME_cmp, X509_check_host */
	const char *text;          /* dn_text, interned */
	uint8_t der[];
};
#define X509_NAME_SETS 512
#define X509_NAME_WAYS 2

/* The Name encoded as der (one reference for the caller: x509_name_put).
 * NULL when OpenSSL rejects it, or (*oom) on allocation failure or when
 * it cannot be printed. */
struct x509_name *x509_name_get(struct x509_cache *c, const uint8_t *der, size_t len, bool *oom);
void x509_name_put(struct x509_cache *c, struct x509_name *n);
void x509_names_clear(struct x509_cache *c);

/* ---- the cache ---------------------------------------------------------------- */

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
	/* DER hashes looked up (32-bit fingerprints, direct-mapped): a DER
	 * seen before may take a slot past X509_FREE_SHARE of the budget */
	uint32_t *seen;
	size_t nseen;                  /* power of two */
	/* the decoded certificates of the last ones parsed, for
	 * x509_check_host on the message that brought them */
	struct recent {
		struct x509_entry *e;
		EK_X509 *obj;
	} recent[8];
	unsigned recent_at;
	EK_X509 *spare;                /* decoded certificate done with, to decode the next one into (x509_obj_put) */
	struct x509_name *names[X509_NAME_SETS][X509_NAME_WAYS]; /* x509_names.c */
	uint64_t name_clock;
	EVP_MD *sha256;
	struct x509_shared *shared;    /* -j: the run's store (x509_shared.h), NULL none */
	struct x509_host_memo *host_memo; /* x509_host.c, NULL until used */
	struct x509_cache_stats st;
};

#define X509_DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define X509_PROTECT 256u           /* slots of the last 256 lookups stay */
#define X509_FREE_SHARE 4u          /* the first 1/4 of the budget admits any DER */
#define SLOT_OVERHEAD 64u
#define FULL_BYTES(len) (4 * (len) + 4096) /* an X509 with its key, roughly */
#define N_STRINGS 6

/* ---- x509_cache.c ---------------------------------------------------------- */

/* Interned strings: x509_intern gives the shared copy of s with one more
 * reference (NULL on allocation failure); x509_intern_take does so for a
 * malloc'd string (NULL: "") and frees it. */
const char *x509_intern(struct x509_cache *c, const char *s);
const char *x509_intern_take(struct x509_cache *c, char *s);
void x509_unintern(struct x509_cache *c, const char *s);
/* One more reference to an interned string. */
static inline void x509_intern_ref(const char *s)
{
	((struct istr *)(void *)(s - offsetof(struct istr, s)))->refs++;
}

/* The record's string fields, for loops over all of them. */
void x509_rec_strings(struct x509_info *i, const char **f[N_STRINGS]);
/* Drops i's references to its strings. */
void x509_info_release(struct x509_cache *c, struct x509_info *i);
struct x509_entry *x509_rec_find(struct x509_cache *c, const uint8_t sha256[32], size_t len);
void x509_rec_insert(struct x509_cache *c, struct x509_entry *e);
void x509_rec_free(struct x509_cache *c, struct x509_entry *e);
size_t x509_slot_bytes(const struct der_slot *s);
void x509_prob_unlink(struct x509_cache *c, struct der_slot *s);
/* Drops DER slots while over the budget (see x509_cache.c). */
void x509_shrink(struct x509_cache *c);

/* ---- x509_parse.c ---------------------------------------------------------- */

/* The certificate as d2i_X509 decides (NULL: rejected, or *oom): the
 * template that keeps the names' encodings, then the names decoded once
 * each (names: the subject's and the issuer's entries, one reference
 * each); when something there fails, the template that decodes them in
 * place decides (names NULL). */
/* x is done with: kept as c->spare for the next decode, else freed. */
void x509_obj_put(struct x509_cache *c, EK_X509 *x);
EK_X509 *x509_decode(struct x509_cache *c, const uint8_t *der, size_t len, struct x509_name *names[2], bool *oom);
/* Fills i's fields from the DER (strings interned); *obj: the decoded
 * certificate (NULL: not parsed).  false on allocation failure. */
bool x509_parse_info(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, EK_X509 **obj);
/* The same from d2i_X509 (key decoded, names inside the certificate):
 * the reference the template is tested against (tests/, fuzz_x509).  i's
 * strings are interned in c; release them with x509_info_release. */
bool x509_parse_reference(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len);
/* An X509 with x's subject and extensions only, for X509_check_host
 * (NULL on failure). */
X509 *x509_host_object(struct x509_cache *c, const EK_X509 *x);

/* ---- x509_host.c ---------------------------------------------------------- */

void x509_host_memo_free(struct x509_cache *c);

/* ---- x509_shared.c ---------------------------------------------------------- */

/* x509_parse_info, or, with a store attached, the record another thread
 * parsed (*obj NULL then).  A record is its x509_info and its N_STRINGS
 * strings: that is what is shared and copied. */
bool x509_parse_shared(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, EK_X509 **obj);
/* dst's fields from src (another cache's, or a stored image), strings
 * interned in c, dst's reference count kept; false on allocation failure. */
bool x509_rec_copy(struct x509_cache *c, struct x509_info *dst, const struct x509_info *src);

#endif
