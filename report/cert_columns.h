/* The certificate columns of the CSVs, rendered by one function: the
 * timeline's cert_serial .. cert_sha256 and the certificate inventory's
 * (the same with cert_san and cert_key_usage). */
#ifndef EK_CERT_COLUMNS_H
#define EK_CERT_COLUMNS_H

#include "../common/strbuf.h"
#include "../dissect/x509.h"

enum cert_cols {
	CERT_COLS_TIMELINE,  /* serial, subject, issuer, eku, not_before, not_after, sha256 */
	CERT_COLS_INVENTORY, /* serial, subject, issuer, san, eku, key_usage, not_before, not_after, sha256 */
};

/* Appends c's columns to b, each as ',' and the field as csv_out_field
 * writes it.  Out of memory: b->oom. */
void cert_columns(struct ek_str *b, const struct x509_info *c, enum cert_cols which);

#endif
