/* Unit tests: a certificate of samples/pki (the samples' real PKI) as the
 * dissector hands it out, through the X.509 cache.  Tests run in the
 * source tree (tests/CMakeLists.txt). */
#ifndef EK_TEST_PKI_CERT_H
#define EK_TEST_PKI_CERT_H

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "check.h"
#include "dissect/x509.h"

/* NAME's certificate with one reference for the caller (x509_unref). */
static inline struct x509_info *pki_cert(struct x509_cache *cache, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "samples/pki/%s", name);
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	if (fp) fclose(fp);
	unsigned char *der = NULL;
	int n = x ? i2d_X509(x, &der) : -1;
	X509_free(x);
	struct x509_info *xi = n > 0 ? x509_get(cache, der, (size_t)n) : NULL;
	OPENSSL_free(der);
	CHECK(xi && xi->parsed);
	return xi;
}

#endif
