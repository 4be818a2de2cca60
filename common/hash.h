/* Hashing pieces shared by the hash tables (connection index, X.509
 * cache).  Not for packet parsing: callers hash bytes they own or have
 * bounds-checked already. */
#ifndef EK_HASH_H
#define EK_HASH_H

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

#endif
