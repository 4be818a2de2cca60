/* The certificate cache's private parts, shared by dissect/x509*.c only
 * (the contract for everyone else is x509.h).
 *
 * x509_parse.c: DER -> the record's fields (OpenSSL's ASN.1 engine).
 * x509_cache.c: records, interned strings, DER slots, x509_get.
 * x509.c:       what the outputs ask of a record later (objects, pins,
 *               host check, moving between caches). */
#ifndef EK_X509_INTERNAL_H
#define EK_X509_INTERNAL_H

#include "x509.h"

#include <stddef.h>

#include <openssl/provider.h>
#include <openssl/x509.h>

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
	struct x509_shared *shared;    /* -j: the run's store (x509_shared.h), NULL none */
	struct x509_cache_stats st;
};

#define X509_DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define X509_PROTECT 256u           /* slots of the last 256 lookups stay */
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
struct x509_entry *x509_rec_find(struct x509_cache *c, const uint8_t sha256[32], size_t len);
void x509_rec_insert(struct x509_cache *c, struct x509_entry *e);
void x509_rec_free(struct x509_cache *c, struct x509_entry *e);
size_t x509_slot_bytes(const struct der_slot *s);
void x509_prob_unlink(struct x509_cache *c, struct der_slot *s);
/* Drops DER slots while over the budget (see x509_cache.c). */
void x509_shrink(struct x509_cache *c);

/* ---- x509_parse.c ---------------------------------------------------------- */

/* DER -> certificate without its public key decoded; NULL: rejected. */
X509 *x509_decode_keyless(struct x509_cache *c, const uint8_t *der, size_t len);
/* Fills i's fields from the DER (strings interned); *obj: the key-less
 * object (NULL: not parsed).  false on allocation failure. */
bool x509_parse_info(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, X509 **obj);

/* ---- x509_shared.c ---------------------------------------------------------- */

/* x509_parse_info, or, with a store attached, the record another thread
 * parsed (*obj NULL then).  A record is its x509_info and its N_STRINGS
 * strings: that is what is shared and copied. */
bool x509_parse_shared(struct x509_cache *c, struct x509_info *i, const uint8_t *der, size_t len, X509 **obj);
/* dst's fields from src (another cache's, or a stored image), strings
 * interned in c, dst's reference count kept; false on allocation failure. */
bool x509_rec_copy(struct x509_cache *c, struct x509_info *dst, const struct x509_info *src);

#endif
