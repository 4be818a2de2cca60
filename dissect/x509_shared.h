/* Distinct-certificate records shared by the caches of the -j threads.
 *
 * Each thread keeps its own certificate cache (x509.h: single-threaded,
 * with its DER slots, reference counts and pins).  On a miss, where it
 * would parse, a cache attached to a store (x509_cache_share) asks the
 * store by SHA-256 first: a certificate another thread has parsed is
 * copied, not parsed again.  The first thread to ask for a digest claims
 * it; a thread asking for a claimed digest waits for that parse rather
 * than repeating it.
 *
 * The store keeps records as opaque images (a record and its strings in
 * one block, made and read back by x509_shared.c's x509_parse_shared),
 * within max_bytes: beyond it the oldest are dropped (the next thread
 * that needs one parses it again).  Only a miss takes the store's lock;
 * a cache hit never does. */
#ifndef EK_X509_SHARED_H
#define EK_X509_SHARED_H

#include <stddef.h>
#include <stdint.h>

struct x509_shared;
struct x509_cache;

/* max_bytes bounds the images kept (0: 2 MiB).  NULL when out of memory. */
struct x509_shared *x509_shared_new(size_t max_bytes);
/* Every claim must have been ended (x509_shared_put). */
void x509_shared_free(struct x509_shared *s);

enum x509_shared_got {
	X509_SHARED_HIT,     /* use() has run on the stored image */
	X509_SHARED_CLAIMED, /* parse it, then x509_shared_put (others wait for it) */
	X509_SHARED_NONE,    /* parse it, nothing to put (out of memory) */
};

/* The record of the certificate with this SHA-256 and DER length.  On a
 * hit use(ctx, image, len) runs under the store's lock: it copies what it
 * needs and must not call the store.  Waits while another thread has the
 * digest claimed. */
enum x509_shared_got x509_shared_get(struct x509_shared *s, const uint8_t sha256[32], size_t der_len,
				     void (*use)(void *ctx, const void *image, size_t len), void *ctx);

/* Ends the caller's claim: image (malloc'd, taken over) is the record, or
 * NULL when there is none to share (the next asker claims it again). */
void x509_shared_put(struct x509_shared *s, const uint8_t sha256[32], size_t der_len, void *image, size_t len);

/* X509_check_host's answer for the certificate with this SHA-256 and DER
 * length and this name, as a thread worked it out (the last name asked
 * per certificate); X509_SHARED_UNKNOWN when none. */
#define X509_SHARED_UNKNOWN (-1000)
int x509_shared_host(struct x509_shared *s, const uint8_t sha256[32], size_t der_len, const char *name);
void x509_shared_host_put(struct x509_shared *s, const uint8_t sha256[32], size_t der_len, const char *name,
			  int result);

/* c asks s on a miss from now on (NULL: no more).  s must outlive the
 * attachment; c stays single-threaded. */
void x509_cache_share(struct x509_cache *c, struct x509_shared *s);

struct x509_shared_stats {
	uint64_t hits, claims, waits;  /* waits: gets that waited for another thread's parse */
	uint64_t entries, bytes;       /* images kept now and their bytes (bounded) */
	uint64_t dropped;              /* images dropped for the bound */
};
void x509_shared_stats(struct x509_shared *s, struct x509_shared_stats *out);

#endif
