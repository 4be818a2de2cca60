/* The certificate as an asn1t.h template of our own: RFC 5280's
 * Certificate, read by OpenSSL's ASN.1 engine, with two differences from
 * OpenSSL's X509 item, both for speed and neither changing which inputs
 * are accepted:
 *
 * - subjectPublicKeyInfo is SEQUENCE { X509_ALGOR, BIT STRING }: the
 *   template OpenSSL's X509_PUBKEY decodes first (X509_PUBKEY_INTERNAL),
 *   without the key decoding it then attempts through the provider
 *   decoders and whose failure it ignores.  (ASN1_ANY here would accept
 *   keys X509_PUBKEY rejects.)
 * - issuer and subject are kept as their encoding (ASN1_SEQUENCE: a
 *   constructed SEQUENCE, whole TLV); x509_names.c decodes each distinct
 *   one once as an X509_NAME, with the same checks (canonicalisation
 *   included) that d2i_X509 applies inside the certificate.  X509_NAME
 *   also takes a SEQUENCE tag without the constructed bit: what this
 *   template rejects goes through a second one that decodes the names in
 *   place (EK_X509_NAMED), as d2i_X509 does, to decide.
 *
 * Everything else uses OpenSSL's own items (ASN1_INTEGER, X509_ALGOR,
 * X509_VAL, X509_EXTENSION), with the tags and options of x_x509.c.
 * tests/unit_dissect_x509_mutate.c holds the accept/reject decision and
 * every field to d2i_X509's on mutated real certificates. */
#include "x509_internal.h"

#include <openssl/asn1t.h>

ASN1_SEQUENCE(EK_X509_SPKI) = {
	ASN1_SIMPLE(EK_X509_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(EK_X509_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(EK_X509_SPKI)

/* TBSCertificate's fields in X509_CINF's order, tags and options; the two
 * templates differ only in how they take issuer and subject. */
#define EK_TBS_FIELDS(issuer, subject, name_item) \
	ASN1_EXP_OPT(EK_X509_TBS, version, ASN1_INTEGER, 0), \
	ASN1_SIMPLE(EK_X509_TBS, serial, ASN1_INTEGER), \
	ASN1_SIMPLE(EK_X509_TBS, signature, X509_ALGOR), \
	ASN1_SIMPLE(EK_X509_TBS, issuer, name_item), \
	ASN1_SIMPLE(EK_X509_TBS, validity, X509_VAL), \
	ASN1_SIMPLE(EK_X509_TBS, subject, name_item), \
	ASN1_SIMPLE(EK_X509_TBS, key, EK_X509_SPKI), \
	ASN1_IMP_OPT(EK_X509_TBS, issuer_uid, ASN1_BIT_STRING, 1), \
	ASN1_IMP_OPT(EK_X509_TBS, subject_uid, ASN1_BIT_STRING, 2), \
	ASN1_EXP_SEQUENCE_OF_OPT(EK_X509_TBS, extensions, X509_EXTENSION, 3)

/* Issuer and subject kept as their encodings. */
ASN1_SEQUENCE(EK_X509_TBS) = {
	EK_TBS_FIELDS(issuer_enc, subject_enc, ASN1_SEQUENCE),
} static_ASN1_SEQUENCE_END(EK_X509_TBS)

/* The same with the names decoded in place, exactly as X509_CINF does. */
ASN1_SEQUENCE(EK_X509_TBS_NAMED) = {
	EK_TBS_FIELDS(issuer_name, subject_name, X509_NAME),
} static_ASN1_SEQUENCE_END_name(EK_X509_TBS, EK_X509_TBS_NAMED)

ASN1_SEQUENCE(EK_X509) = {
	ASN1_SIMPLE(EK_X509, tbs, EK_X509_TBS),
	ASN1_SIMPLE(EK_X509, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(EK_X509, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(EK_X509)

ASN1_SEQUENCE(EK_X509_NAMED) = {
	ASN1_SIMPLE(EK_X509, tbs, EK_X509_TBS_NAMED),
	ASN1_SIMPLE(EK_X509, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(EK_X509, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(EK_X509, EK_X509_NAMED)

/* into: an object of it's to decode into (its allocations reused), NULL
 * for a new one.  OpenSSL frees it when the DER is rejected. */
static EK_X509 *d2i(EK_X509 *into, const uint8_t *der, size_t len, const ASN1_ITEM *it)
{
	if (len == 0 || len > (size_t)0x7fffffff) {
		ek_x509_free(into);
		return NULL;
	}
	const unsigned char *p = der;
	ASN1_VALUE *v = (ASN1_VALUE *)into;
	return (EK_X509 *)ASN1_item_d2i(&v, &p, (long)len, it);
}

EK_X509 *ek_x509_d2i(EK_X509 *into, const uint8_t *der, size_t len)
{
	if (into && into->named) { /* another template's */
		ek_x509_free(into);
		into = NULL;
	}
	return d2i(into, der, len, ASN1_ITEM_rptr(EK_X509));
}

EK_X509 *ek_x509_d2i_named(const uint8_t *der, size_t len)
{
	EK_X509 *x = d2i(NULL, der, len, ASN1_ITEM_rptr(EK_X509_NAMED));
	if (x) x->named = true;
	return x;
}

void ek_x509_free(EK_X509 *x)
{
	if (x) ASN1_item_free((ASN1_VALUE *)x, x->named ? ASN1_ITEM_rptr(EK_X509_NAMED) : ASN1_ITEM_rptr(EK_X509));
}
