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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* v < 100000000 at o, without leading zeros (8 bytes written, room for
 * them); the end.  All eight digits at once in one 64-bit word: v split
 * into two 4-digit halves, each into 2-digit pairs, each pair into two
 * digits, by multiply-and-shift (exact for these ranges); then the
 * leading zero bytes are shifted out.  Frame and connection numbers
 * fill every row. */
__attribute__((always_inline)) static inline char *ek_put_u64_8(char *o, uint32_t v)
{
	uint64_t x = v / 10000u | (uint64_t)(v % 10000u) << 32;   /* abcd | efgh << 32 */
	uint64_t q = (x * 10486u) >> 20 & 0x0000007f0000007full;  /* ab, ef (x / 100) */
	x = q | (x - q * 100u) << 16;                              /* ab | cd << 16 | ef << 32 | gh << 48 */
	q = (x * 103u) >> 10 & 0x000f000f000f000full;               /* tens of each pair (x / 10) */
	x = q | (x - q * 10u) << 8;                                /* one digit a byte, first at the lowest */
	unsigned zeros = (unsigned)__builtin_ctzll(x | 1ull << 56) / 8u; /* leading zero digits */
	x = (x >> 8 * zeros) + 0x3030303030303030ull;             /* '0' added; the shifted-in bytes are past the end */
	memcpy(o, &x, 8);
	return o + (8 - zeros);
}
#endif

/* Decimal v of any size at o (room for EK_U64_DIGITS bytes); the end.
 * Out of line: values of 10^8 and more are rare, and callers such as
 * ek_str_putu stay small enough to be inlined. */
__attribute__((noinline, unused)) static char *ek_put_u64_any(char *o, unsigned long long v)
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

/* Decimal v at o (room for EK_U64_DIGITS bytes; no NUL); the end. */
#define EK_U64_DIGITS 20
__attribute__((always_inline)) static inline char *ek_put_u64(char *o, unsigned long long v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (__builtin_expect(v < 100000000ull, 1)) return ek_put_u64_8(o, (uint32_t)v);
#endif
	return ek_put_u64_any(o, v);
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
