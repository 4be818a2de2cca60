/* X.509 certificates through OpenSSL, parsed once per distinct DER.
 *
 * The same server certificate recurs in thousands of handshakes, so
 * certificates live in a cache keyed by the DER's digest; an entry is
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

struct x509_info {
	uint8_t sha256[32];
	char sha256_hex[65];
	size_t der_len;
	bool parsed;            /* false: OpenSSL could not parse it; only size + digest are set */
	/* Strings are never NULL (empty when unknown) and are raw certificate
	 * content: attacker-controlled, escape before printing. */
	char *serial_hex;       /* lowercase, as `openssl x509 -noout -serial` prints it */
	char *subject;          /* RFC 2253 */
	char *issuer;           /* RFC 2253 */
	char *san;              /* "DNS:a.example;IP:10.0.0.1" (also URI: and email: entries) */
	char *eku;              /* "serverAuth;clientAuth", dotted OIDs for unknown, "absent" */
	char *key_usage;        /* "digitalSignature;keyEncipherment", "" when absent */
	unsigned eku_flags;
	bool is_ca;
	bool self_issued;       /* subject == issuer */
	bool have_validity;
	int64_t not_before, not_after; /* Unix seconds, UTC */
	X509 *x509;             /* NULL unless parsed */
	/* cache bookkeeping */
	unsigned refs;
	struct x509_info *next;
};

struct x509_cache;

/* max_entries bounds the number of unreferenced entries kept (0: 4096). */
struct x509_cache *x509_cache_new(size_t max_entries);
void x509_cache_free(struct x509_cache *c);

/* The certificate for this DER, parsed on first sight.  The returned
 * entry holds one reference for the caller (release with x509_unref).
 * Never NULL except on allocation failure. */
struct x509_info *x509_get(struct x509_cache *c, const uint8_t *der, size_t len);
void x509_ref(struct x509_info *x);
void x509_unref(struct x509_cache *c, struct x509_info *x);

struct x509_cache_stats {
	uint64_t lookups, parsed, failed, entries;
};
void x509_cache_stats(const struct x509_cache *c, struct x509_cache_stats *out);

/* The DER x was made from (der_len bytes): another cache's x509_get of
 * it gives the same certificate (so a caller with a cache per thread can
 * move certificates between them). */
const uint8_t *x509_der(const struct x509_info *x);

#endif
