/* report/ipcerts.c: the last leaf each address presented.  The table
 * starts empty and grows with the addresses (past its first 64, through
 * several doublings) up to IPCERTS_MAX; every address keeps what it
 * presented last, with a reference to the leaf's record; the texts the
 * messages quote are cut as the copies the table used to keep. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pki_cert.h"
#include "report/ipcerts.h"

static struct ek_addr v4(unsigned i)
{
	return (struct ek_addr){ 4, { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
}

static struct ek_addr v6(unsigned i)
{
	struct ek_addr a = { 6, { 0x20, 0x01, 0x0d, 0xb8 } };
	a.a[14] = (uint8_t)(i >> 8);
	a.a[15] = (uint8_t)i;
	return a;
}

int main(void)
{
	struct x509_cache *cache = x509_cache_new(0);
	struct x509_info *a = pki_cert(cache, "cucm.crt");
	struct x509_info *b = pki_cert(cache, "expressway-e-dual.crt");
	CHECK(a && b);
	if (!a || !b) return check_summary();

	struct ipcerts *t = ipcerts_new(cache);
	struct ek_addr x = v4(1);
	CHECK(ipcerts_get(t, &x) == NULL);
	struct ek_addr bad = { 0, { 0 } };
	struct ek_pktref at = { 7, { 0, 0 }, 2 };
	CHECK(!ipcerts_note(t, &bad, true, &at, 1, a));

	/* more addresses than the bound: each of the first IPCERTS_MAX is
	 * kept (IPv4 and IPv6 alike), the rest are not */
	unsigned n = IPCERTS_MAX + 100;
	for (unsigned i = 0; i < n; i++) {
		struct ek_addr ad = i % 3 ? v4(i) : v6(i);
		struct ek_pktref p = { 1000 + i, { 0, 0 }, 7 };
		CHECK(ipcerts_note(t, &ad, i % 2, &p, i, i % 5 ? a : b) == (i < IPCERTS_MAX));
	}
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		struct ek_addr ad = i % 3 ? v4(i) : v6(i);
		const struct ipcert *c = ipcerts_get(t, &ad);
		if (i >= IPCERTS_MAX) {
			CHECK(c == NULL);
			continue;
		}
		ok += c && c->conn == i && c->frame == 1000 + i && c->file_index == 7 && c->client == (i % 2) &&
		      c->leaf == (i % 5 ? a : b) && c->addr.family == ad.family;
	}
	CHECK_EQ_U(ok, IPCERTS_MAX);
	/* an IPv4 address and the IPv6 one with the same first bytes differ */
	struct ek_addr six = v6(1);
	CHECK(ipcerts_get(t, &six) == NULL);

	/* full: a known address still takes its new certificate */
	struct ek_addr a3 = v4(4); /* noted above (4 % 3: IPv4) */
	struct ek_pktref p9 = { 99, { 0, 0 }, 7 };
	CHECK(ipcerts_note(t, &a3, false, &p9, 77, b));
	const struct ipcert *c3 = ipcerts_get(t, &a3);
	CHECK(c3 && c3->leaf == b && c3->conn == 77 && c3->frame == 99 && c3->file_index == 7 && !c3->client);
	/* the same leaf again (the table held the only other reference) */
	CHECK(ipcerts_note(t, &a3, true, &p9, 78, b));
	c3 = ipcerts_get(t, &a3);
	CHECK(c3 && c3->leaf == b && c3->client && c3->conn == 78);

	/* the texts, as the messages quote them */
	char ser[IPCERT_SERIAL_LEN], eku[IPCERT_EKU_LEN];
	ipcert_serial(c3, ser);
	ipcert_eku(c3, eku);
	CHECK_STR(ser, b->serial_hex);
	CHECK_STR(eku, b->eku);
	char long_serial[100], long_eku[200];
	memset(long_serial, 'a', sizeof long_serial - 1);
	long_serial[sizeof long_serial - 1] = '\0';
	memset(long_eku, 'e', sizeof long_eku - 1);
	long_eku[sizeof long_eku - 1] = '\0';
	struct x509_info fake = *b;
	fake.serial_hex = long_serial;
	fake.eku = long_eku;
	struct ipcert fc = { v4(9), true, 0, 0, 0, &fake };
	ipcert_serial(&fc, ser);
	ipcert_eku(&fc, eku);
	CHECK_EQ_U(strlen(ser), IPCERT_SERIAL_LEN - 1);
	CHECK_EQ_U(strlen(eku), IPCERT_EKU_LEN - 1);
	CHECK(strncmp(ser, long_serial, IPCERT_SERIAL_LEN - 1) == 0);

	/* one reference per address (and ours), released with the table */
	unsigned with_a = 0, with_b = 0;
	for (unsigned i = 0; i < IPCERTS_MAX; i++) {
		struct ek_addr ad = i % 3 ? v4(i) : v6(i);
		const struct ipcert *c = ipcerts_get(t, &ad);
		with_a += c && c->leaf == a;
		with_b += c && c->leaf == b;
	}
	CHECK_EQ_U(with_a + with_b, IPCERTS_MAX);
	CHECK_EQ_U(a->refs, with_a + 1);
	CHECK_EQ_U(b->refs, with_b + 1);

	/* the next file starts empty (as a -j worker's table does): the
	 * addresses of file 7 are gone, their references released, and the
	 * bound counts file 8's addresses alone */
	struct ek_addr late = v4(IPCERTS_MAX + 50); /* not kept in file 7 */
	struct ek_pktref p8 = { 5, { 0, 0 }, 8 };
	CHECK(ipcerts_note(t, &late, true, &p8, 500, a));
	const struct ipcert *cl = ipcerts_get(t, &late);
	CHECK(cl && cl->file_index == 8 && cl->conn == 500 && cl->leaf == a);
	CHECK(ipcerts_get(t, &a3) == NULL);
	struct ek_addr first = v4(1);
	CHECK(ipcerts_get(t, &first) == NULL);
	CHECK_EQ_U(a->refs, 2);
	CHECK_EQ_U(b->refs, 1);
	unsigned kept8 = 1;
	for (unsigned i = 0; i < IPCERTS_MAX + 10; i++) {
		struct ek_addr ad = v6(i + 7);
		kept8 += ipcerts_note(t, &ad, false, &p8, i, b);
	}
	CHECK_EQ_U(kept8, IPCERTS_MAX);
	ipcerts_free(t);
	CHECK_EQ_U(a->refs, 1);
	CHECK_EQ_U(b->refs, 1);
	x509_unref(cache, a);
	x509_unref(cache, b);
	x509_cache_free(cache);
	return check_summary();
}
