/* report/cert_columns.c: cert_columns_memo (fields kept by their string's
 * address, the last dates kept) writes what cert_columns writes, for
 * more distinct strings than it has slots, strings that need quoting,
 * recurring in another order, and changing dates; one row as the CSV
 * must read; and the dates and the digest (written without the escaper
 * when they cannot need it) as csv_escape_to writes ek_unix_str's and
 * x509_sha256_hex's texts, for dates in and far outside years 1000-9999. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/netaddr.h"
#include "report/cert_columns.h"
#include "report/csv_out.h"

enum { N_NAMES = 3 * CERT_COLS_MEMO_SLOTS, N_CERTS = 2 * N_NAMES };

static char names[N_NAMES][48];

static void fill(struct x509_info *x, size_t i)
{
	memset(x, 0, sizeof *x);
	static char serial[N_CERTS][24];
	snprintf(serial[i], sizeof serial[i], "%zx", i + 1);
	x->serial_hex = serial[i];
	x->parsed = i % 97 != 5;
	/* each name twice: first in order, then from the end */
	size_t k = i < N_NAMES ? i : N_CERTS - 1 - i;
	x->subject = names[k];
	x->issuer = names[(k * 7 + 3) % N_NAMES];
	x->san = i % 3 ? names[(k + 1) % N_NAMES] : "";
	x->eku = i % 2 ? "serverAuth" : "clientAuth;serverAuth";
	x->key_usage = "digitalSignature";
	x->have_validity = i % 5 != 0;
	x->not_before = 1767225600 + (int64_t)(i / 4) * 86400; /* runs of the same dates */
	x->not_after = x->not_before + (int64_t)(i % 2) * 365 * 86400;
	memset(x->sha256, 0, sizeof x->sha256); /* i, big-endian, in the last 8 bytes */
	for (size_t b = 0; b < 8; b++) x->sha256[sizeof x->sha256 - 1 - b] = (uint8_t)((uint64_t)i >> (8 * b));
}

int main(void)
{
	for (size_t i = 0; i < N_NAMES; i++)
		snprintf(names[i], sizeof names[i], i % 4 ? "CN=host%zu,O=Example" : "CN=\"quoted\" %zu", i);
	struct cert_cols_memo *m = calloc(1, sizeof *m);
	CHECK(m != NULL);
	if (!m) return check_summary();
	int differ = 0;
	for (int which = 0; which < 2; which++) {
		for (size_t i = 0; i < N_CERTS; i++) {
			struct x509_info x;
			fill(&x, i);
			struct ek_str a = { 0 }, b = { 0 };
			cert_columns(&a, &x, (enum cert_cols)which);
			cert_columns_memo(&b, &x, (enum cert_cols)which, m);
			if (!a.s || !b.s || strcmp(a.s, b.s) != 0) {
				if (differ++ < 3) fprintf(stderr, "cert %zu:\n  %s\n  %s\n", i, a.s, b.s);
			}
			ek_str_free(&a);
			ek_str_free(&b);
		}
	}
	CHECK_EQ_U(differ, 0);
	/* one row in full */
	struct x509_info x;
	fill(&x, 1);
	struct ek_str b = { 0 };
	cert_columns_memo(&b, &x, CERT_COLS_INVENTORY, m);
	CHECK_STR(b.s, ",2,\"CN=host1,O=Example\",\"CN=host10,O=Example\",\"CN=host2,O=Example\",serverAuth,"
		       "digitalSignature,"
		       "2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,"
		       "0000000000000000000000000000000000000000000000000000000000000001");
	ek_str_free(&b);
	/* the last three columns against the rule, field by field */
	static const int64_t dates[] = { 0, 1767225600, -30610224000LL, -30610224001LL, 253402300799LL,
					 253402300800LL, -62167219200LL, -62167219201LL, -99999999999LL,
					 INT64_MAX / 2, INT64_MIN / 2, 4102444800LL };
	size_t nd = sizeof dates / sizeof dates[0], bad = 0;
	for (size_t i = 0; i < nd * nd; i++) {
		fill(&x, i % N_CERTS);
		x.have_validity = true;
		x.not_before = dates[i % nd];
		x.not_after = dates[i / nd];
		x.sha256[0] = (uint8_t)(i * 37);
		x.sha256[9] = 0xff;
		struct ek_str got = { 0 };
		cert_columns(&got, &x, CERT_COLS_TIMELINE);
		char nb[32], na[32], hex[65], want[3 * (8 * 64 + 9)], *o = want;
		ek_unix_str(x.not_before, nb, sizeof nb);
		ek_unix_str(x.not_after, na, sizeof na);
		x509_sha256_hex(&x, hex);
		const char *tail[3] = { nb, na, hex };
		for (size_t k = 0; k < 3; k++) {
			*o++ = ',';
			o = csv_escape_to(o, tail[k], strlen(tail[k]));
		}
		*o = '\0';
		size_t wl = strlen(want);
		if (!got.s || got.len < wl || strcmp(got.s + got.len - wl, want) != 0) {
			if (bad++ < 3) fprintf(stderr, "dates %lld %lld:\n  %s\n  ...%s\n", (long long)x.not_before,
					       (long long)x.not_after, got.s, want);
		}
		ek_str_free(&got);
	}
	CHECK_EQ_U(bad, 0);
	cert_cols_memo_free(m);
	free(m);
	return check_summary();
}
