/* --export-certs DIR: each distinct certificate once as PEM, and one PEM
 * bundle per distinct presented chain, with an index (README "Certificate
 * export").  Never overwrites: DIR must be new, empty, or hold only files
 * of an earlier export; a name that exists already holds the same
 * certificate (names carry its SHA-256) and is left as it is. */
#ifndef EK_EXPORT_CERTS_H
#define EK_EXPORT_CERTS_H

#include <stddef.h>

#include "../dissect/tls.h"

struct cert_export;

/* NULL with a one-line reason in err (DIR not usable). */
struct cert_export *cert_export_open(const char *dir, struct x509_cache *cache, char *err, size_t errn);
/* One dissect event: Certificate messages are exported. */
void cert_export_event(struct cert_export *x, const struct tls_event *ev, const char *file);
/* Close; -1 with err when a file could not be written.  Warnings (skipped
 * unparsable certificates) go to stderr. */
int cert_export_close(struct cert_export *x, char *err, size_t errn);
void cert_export_free(struct cert_export *x);

#endif
