/* X.509 certificates through OpenSSL, parsed once per distinct DER.
 *
 * The same server certificate recurs in thousands of handshakes, so
 * certificates live in a cache keyed by the DER's digest; a record is
 * reference counted and stays valid while anyone holds it. */
#ifndef EK_X509_H
#define EK_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct x509_st X509;

/* EKU bits. */
enum {
	EKU_PRESENT = 1u << 0, /* the certificate has an extendedKeyUsage extension */
	EKU_SERVER = 1u << 1,
	EKU_CLIENT = 1u << 2,
	EKU_ANY = 1u << 3,     /* anyExtendedKeyUsage */
	EKU_OTHER = 1u << 4,   /* some other purpose */
};

/* A distinct certificate as the outputs need it: a compact record, not an
 * X509 object.  Its strings are interned in the cache (shared between
 * records: the variants of one device certificate differ in the serial
 * only). */
struct x509_info {
	uint8_t sha256[32];     /* in hex: x509_sha256_hex */
	bool parsed;            /* false: OpenSSL could not parse it; only size + digest are set */
	bool is_ca;
	bool self_issued;       /* subject == issuer */
	bool have_validity;
	unsigned eku_flags;
	size_t der_len;
	/* Strings are never NULL (empty when unknown) and are raw certificate
	 * content: attacker-controlled, escape before printing. */
	const char *serial_hex; /* lowercase, as `openssl x509 -noout -serial` prints it */
	const char *subject;    /* RFC 2253 */
	const char *issuer;     /* RFC 2253 */
	const char *san;        /* "DNS:a.example;IP:10.0.0.1" (also URI: and email: entries) */
	const char *eku;        /* "serverAuth;clientAuth", dotted OIDs for unknown, "absent" */
	const char *key_usage;  /* "digitalSignature;keyEncipherment", "" when absent */
	int64_t not_before, not_after; /* Unix seconds, UTC */
	unsigned refs;          /* cache bookkeeping */
};

/* x's SHA-256 in lowercase hex (64 digits and a NUL): not kept in the
 * record, 65 bytes per distinct certificate. */
void x509_sha256_hex(const struct x509_info *x, char out[65]);

struct x509_cache;

/* max_bytes bounds the DER copies (and full X509 objects) the cache keeps
 * to recognise certificates again (0: 8 MiB); records stay while someone
 * holds them.  Above the bound DER copies picked at random are dropped
 * (the hit rate falls smoothly, no cliff for a working set seen in a
 * cycle): a certificate seen again costs a SHA-256, and a parse only when
 * nobody holds its record any more. */
struct x509_cache *x509_cache_new(size_t max_bytes);
void x509_cache_free(struct x509_cache *c);

/* The certificate for this DER, parsed on first sight.  The returned
 * entry holds one reference for the caller (release with x509_unref).
 * Never NULL except on allocation failure. */
struct x509_info *x509_get(struct x509_cache *c, const uint8_t *der, size_t len);
void x509_ref(struct x509_info *x);
void x509_unref(struct x509_cache *c, struct x509_info *x);

/* The full OpenSSL object of x (public key decoded), for chain
 * verification: built on first use from the DER the cache still holds,
 * kept as long as that DER, borrowed (valid until the next x509_get or
 * x509_pin change on c).  NULL when x was not parsed or its DER is gone
 * (not for a certificate of the last 256 x509_get calls, nor a pinned
 * one). */
X509 *x509_object(struct x509_cache *c, const struct x509_info *x);

/* A pinned certificate keeps its DER (and so x509_object) until
 * unpinned: for certificates an output asks about later. */
void x509_pin(struct x509_cache *c, struct x509_info *x);
void x509_unpin(struct x509_cache *c, struct x509_info *x);

/* X509_check_host(x, name): remembered per certificate (the last name
 * asked) and, for the certificates that share them, per subject,
 * subjectAltName and name; -2 when x has no object (see x509_object). */
int x509_check_host(struct x509_cache *c, const struct x509_info *x, const char *name);

/* x's record in dst (one reference, pinned when x was pinned in src);
 * x's reference and pin in src are released.  report/parallel.c moves
 * certificates between the caches of its threads with it. */
struct x509_info *x509_move(struct x509_cache *dst, struct x509_cache *src, struct x509_info *x);

struct x509_cache_stats {
	uint64_t lookups, parsed, failed, entries; /* entries: live records */
	uint64_t der_misses;          /* lookups that had to hash the DER with SHA-256 */
	uint64_t der_bytes;           /* DER copies and objects kept now (bounded) */
	uint64_t slots;               /* DER copies kept now */
	uint64_t record_bytes;        /* records and their interned strings now */
};
void x509_cache_stats(const struct x509_cache *c, struct x509_cache_stats *out);

#endif
