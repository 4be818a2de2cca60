/* Trust questions about presented chains, answered by OpenSSL:
 * does a chain lead to a publicly trusted root, and does it verify for
 * its role against the CAs the user gave (--ca-file / --ca-path). */
#ifndef EK_TRUST_H
#define EK_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../dissect/x509.h"

struct trust;

/* public_roots: PEM bundle standing for the public root programs (NULL:
 * the system bundle, Debian's ca-certificates).  ca_file/ca_path: NULL
 * when chain verification is off.  Loading is lazy; errors surface from
 * trust_check_config. */
struct trust *trust_new(const char *public_roots, const char *ca_file, const char *ca_path);
void trust_free(struct trust *t);
/* Loads what was configured now; -1 with a one-line reason when a file
 * given on the command line cannot be used. */
int trust_check_config(struct trust *t, char *err, size_t errn);

/* The chain's top certificate is a public root or is issued (and signed)
 * by one.  False when no public roots could be loaded.  The certificates'
 * objects come from cache (x509_object). */
bool trust_is_public(struct trust *t, struct x509_cache *cache, struct x509_info *const *chain, size_t n);

/* Verify chain[0] with chain[1..] as untrusted intermediates for purpose
 * sslclient (client=true) or sslserver at time `at`.  Returns -1 when
 * verification is not configured or the leaf is unparsable, 0 when it
 * verifies, 1 when it fails (reason set to OpenSSL's text). */
int trust_verify(struct trust *t, struct x509_cache *cache, struct x509_info *const *chain, size_t n, bool client,
		 int64_t at, char *reason, size_t reasonn);

#endif
