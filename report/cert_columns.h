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

/* The same, with the record's name and usage fields (subject, issuer, SAN,
 * EKU, key usage: interned strings that certificates of one issuer or one
 * device share) escaped once and kept by the string's address.  Only
 * for a caller that holds every certificate it renders while m is in use:
 * an address is then never reused for another string.  m zeroed to
 * start. */
#define CERT_COLS_MEMO_SLOTS 256
struct cert_cols_memo {
	struct cert_cols_slot {
		const char *s;          /* NULL: empty */
		struct ek_str text;     /* ',' and s escaped */
	} slot[CERT_COLS_MEMO_SLOTS];
};
void cert_columns_memo(struct ek_str *b, const struct x509_info *c, enum cert_cols which, struct cert_cols_memo *m);
void cert_cols_memo_free(struct cert_cols_memo *m);

#endif
