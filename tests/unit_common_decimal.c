/* common/decimal.h: ek_put_u64 writes what printf("%llu") writes, for
 * every value under a million, around every power of ten, a stride
 * through the eight-digit range (the word-at-once path) and the largest
 * values; no byte past EK_U64_DIGITS. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/decimal.h"

static int bad;

static void one(unsigned long long v)
{
	char got[EK_U64_DIGITS + 8], want[32];
	memset(got, 'x', sizeof got);
	char *end = ek_put_u64(got, v);
	snprintf(want, sizeof want, "%llu", v);
	bool ok = (size_t)(end - got) == strlen(want) && memcmp(got, want, strlen(want)) == 0 &&
		  got[EK_U64_DIGITS] == 'x';
	if (!ok && bad++ < 5) fprintf(stderr, "ek_put_u64(%llu): \"%.*s\"\n", v, (int)(end - got), got);
}

int main(void)
{
	for (unsigned long long v = 0; v < 1000000; v++) one(v);
	for (unsigned long long v = 0; v < 100000000; v += 9973) one(v);
	for (unsigned long long p = 10; p && p <= 10000000000000000000ull; p *= 10) {
		for (unsigned long long d = 0; d < 3; d++) {
			one(p - 1 - d);
			one(p + d);
		}
		if (p > 1844674407370955161ull) break;
	}
	one(4294967295ull);
	one(4294967296ull);
	one(18446744073709551615ull);
	CHECK(bad == 0);
	char six[8];
	CHECK(memcmp(ek_put_6digits(six, 42) - 6, "000042", 6) == 0);
	return check_summary();
}
