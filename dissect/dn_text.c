#include "dn_text.h"

#include <openssl/bio.h>
#include <stdlib.h>
#include <string.h>

#define DN_FLAGS (XN_FLAG_RFC2253 & ~(unsigned long)(ASN1_STRFLGS_ESC_MSB | ASN1_STRFLGS_ESC_CTRL))

char *dn_text(const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b) return NULL;
	char *p = NULL, *s = NULL;
	long n = X509_NAME_print_ex(b, nm, 0, DN_FLAGS) >= 0 ? BIO_get_mem_data(b, &p) : -1;
	if (n >= 0) {
		size_t nul = 0;
		for (long i = 0; i < n; i++) nul += p[i] == '\0';
		s = malloc((size_t)n + 3 * nul + 1);
	}
	if (s) {
		char *o = s;
		for (long i = 0; i < n; i++) {
			if (p[i]) *o++ = p[i];
			else o = memcpy(o, "\\x00", 4) + 4;
		}
		*o = '\0';
	}
	BIO_free(b);
	return s;
}
