/* The one decimal writer: unsigned integers as decimal digits, without
 * printf (rows, endpoint texts and details are formatted by the million). */
#ifndef EK_DECIMAL_H
#define EK_DECIMAL_H

#include <stdint.h>
#include <string.h>

/* "00" "01" ... "99": two digits per division. */
static const char ek_digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal v at o (room for EK_U64_DIGITS bytes; no NUL); the end. */
#define EK_U64_DIGITS 20
static inline char *ek_put_u64(char *o, unsigned long long v)
{
	static const unsigned long long pow10[] = {
		10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull, 1000000000ull,
		10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull, 100000000000000ull,
		1000000000000000ull, 10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
		10000000000000000000ull,
	};
	/* digits from the bit length: log10(2) ~ 1233/4096, then one compare */
	unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1);
	size_t t = bits * 1233u >> 12;
	size_t n = t + 1 - (t > 0 && v < pow10[t - 1]);
	char *e = o + n, *p = e;
	while (v >= 4294967296ull) {
		unsigned k = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, ek_digits2 + 2 * k, 2);
	}
	uint32_t x = (uint32_t)v; /* 32-bit divisions from here */
	while (x >= 100) {
		unsigned k = x % 100;
		x /= 100;
		p -= 2;
		memcpy(p, ek_digits2 + 2 * k, 2);
	}
	if (x >= 10) {
		p -= 2;
		memcpy(p, ek_digits2 + 2 * x, 2);
	} else {
		p[-1] = (char)('0' + x);
	}
	return e;
}

/* v < 1000000 as exactly six digits at o (microseconds); the end. */
static inline char *ek_put_6digits(char *o, uint32_t v)
{
	memcpy(o, ek_digits2 + 2 * (v / 10000), 2);
	memcpy(o + 2, ek_digits2 + 2 * (v / 100 % 100), 2);
	memcpy(o + 4, ek_digits2 + 2 * (v % 100), 2);
	return o + 6;
}

#endif
