/* The hashing of every hash table (connection index, X.509 cache,
 * findings, inventory, key log, resumption, ...): one mixer (ek_mix64),
 * one way to add a word (ek_hash_word) and one byte hash (ek_hash_bytes).
 * Not for packet parsing: callers hash bytes they own or have
 * bounds-checked already.  Not cryptographic: tables compare keys in full. */
#ifndef EK_HASH_H
#define EK_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 8 bytes at p, host order (the hash only has to spread them). */
static inline uint64_t ek_rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* 64 x 64 -> 128-bit multiply with the halves folded (wyhash's "mum"):
 * one multiply mixes 16 bytes. */
static inline uint64_t ek_mum(uint64_t a, uint64_t b)
{
	__extension__ unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* wyhash's constants: odd, with bits spread evenly. */
#define EK_HASH_K0 0xa0761d6478bd642fULL
#define EK_HASH_K1 0xe7037ed1a0b428dbULL
#define EK_HASH_K2 0x8ebc6af09c88c6e3ULL
#define EK_HASH_K3 0x589965cc75374cc3ULL

/* The mixer: every input bit reaches every output bit (splitmix64's
 * finaliser; a bijection). */
static inline uint64_t ek_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ x >> 31;
}

/* h with one more word of a key added. */
static inline uint64_t ek_hash_word(uint64_t h, uint64_t v)
{
	return ek_mix64(h ^ v);
}

/* n bytes at p, seeded: every byte counts; two independent lanes of 16
 * bytes so the multiplies overlap. */
static inline uint64_t ek_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t x = EK_HASH_K0 ^ seed ^ (uint64_t)n, y = EK_HASH_K1;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		x = ek_mum(ek_rd64(b + i) ^ EK_HASH_K0, ek_rd64(b + i + 8) ^ x);
		y = ek_mum(ek_rd64(b + i + 16) ^ EK_HASH_K1, ek_rd64(b + i + 24) ^ y);
	}
	for (; i + 8 <= n; i += 8) x = ek_mum(ek_rd64(b + i) ^ EK_HASH_K2, x);
	uint64_t t = 0;
	for (; i < n; i++) t = t << 8 | b[i];
	return ek_mix64(ek_mum(x ^ EK_HASH_K3, y ^ t));
}

#endif
