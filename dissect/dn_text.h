/* A DistinguishedName as text: RFC 2253 order and escaping by OpenSSL,
 * every string converted to UTF-8 and kept so (no \XX for non-ASCII);
 * control characters are left for the writers' sanitizer (\xNN), except
 * NUL, written here as "\x00" so the text stays one C string.  One
 * function, so the certificate's names and a CertificateRequest's CA names
 * compare equal. */
#ifndef EK_DN_TEXT_H
#define EK_DN_TEXT_H

#include <openssl/x509.h>

/* malloc'd text, NULL when OpenSSL cannot print the name. */
char *dn_text(const X509_NAME *nm);

#endif
