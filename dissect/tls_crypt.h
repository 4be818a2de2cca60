/* dissect/ internals: TLS record decryption with OpenSSL EVP only (no
 * hand-written cryptography).
 *
 *   TLS 1.3  traffic key/iv = HKDF-Expand-Label(secret, "key"/"iv", "", len)
 *            through EVP_KDF "TLS13-KDF" (EXPAND_ONLY); the next generation
 *            after a KeyUpdate = HKDF-Expand-Label(secret, "traffic upd", "",
 *            Hash.length); nonce = iv XOR seq; AAD = the record header.
 *   TLS <= 1.2  key_block = PRF(master_secret, "key expansion",
 *            server_random + client_random) through EVP_KDF "TLS1-PRF"
 *            (MD5-SHA1 before TLS 1.2); AES-GCM/CCM (RFC 5288/6655: 4-byte
 *            salt + 8-byte explicit nonce), ChaCha20-Poly1305 (RFC 7905),
 *            CBC with HMAC (MAC-then-encrypt, or encrypt-then-MAC when
 *            RFC 7366 was negotiated; explicit IV from TLS 1.1, the chained
 *            IV of TLS 1.0 when every record of the direction was seen).
 *
 * Decryption authenticates every record (AEAD tag, or the HMAC of a CBC
 * record): a wrong key is reported, never turned into garbage fields. */
#ifndef EK_TLS_CRYPT_H
#define EK_TLS_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_bulk { TB_NONE = 0, TB_GCM, TB_CHACHA, TB_CCM, TB_CBC };

struct tls_suite {
	uint8_t bulk;          /* enum tls_bulk */
	uint8_t key_len;
	uint8_t iv_len;        /* TLS 1.3: 12; TLS 1.2 GCM/CCM: 4 (salt); ChaCha: 12; CBC: block size */
	uint8_t tag_len;       /* AEAD tag (16, or 8 for CCM_8) */
	uint8_t mac_len;       /* CBC: HMAC length */
	uint8_t hash_len;      /* TLS 1.3: HKDF hash length */
	const char *cipher;    /* OpenSSL cipher name */
	const char *prf;       /* TLS 1.3 HKDF / TLS 1.2 PRF digest */
	const char *mac;       /* CBC HMAC digest */
};

/* The suite's parameters for a version (0x0304 / TLS 1.3 drafts: the 1.3
 * suites; 0x0301-0x0303: the TLS <= 1.2 ones); false when not supported
 * (RC4, export, NULL, GOST, SSL 3.0 ...). */
bool tls_suite_get(uint16_t cipher, uint16_t version, struct tls_suite *out);

/* One direction's record protection. */
struct tls_rkey {
	struct tls_suite s;
	uint16_t version;      /* 0x0304 for TLS 1.3, else the TLS <= 1.2 version */
	bool etm;              /* CBC: encrypt_then_mac (RFC 7366) */
	bool set;
	uint64_t seq;          /* sequence number of the next record */
	uint8_t key[32];
	uint8_t iv[16];
	uint8_t mac_key[48];
};

struct tls_crypto;
struct tls_crypto *tls_crypto_new(void);
void tls_crypto_free(struct tls_crypto *x);

/* TLS 1.3: key and iv of a traffic secret.  0, -1 on failure. */
int tls_crypto_tls13_key(struct tls_crypto *x, const struct tls_suite *s, const uint8_t *secret, size_t n,
			 struct tls_rkey *out);
/* TLS 1.3 KeyUpdate: secret (n = hash length) becomes the next generation. */
int tls_crypto_tls13_update(struct tls_crypto *x, const struct tls_suite *s, uint8_t *secret, size_t n);
/* TLS <= 1.2: both directions' keys from the master secret. */
int tls_crypto_tls12_keys(struct tls_crypto *x, const struct tls_suite *s, uint16_t version, bool etm,
			  const uint8_t *master, size_t master_len, const uint8_t *client_random,
			  const uint8_t *server_random, struct tls_rkey *client, struct tls_rkey *server);

/* Decrypt and authenticate one record body (type/ver/n as in its header)
 * with k at sequence number k->seq (not advanced).  out must hold n bytes.
 * TLS 1.3: *out_len bytes of TLSInnerPlaintext (content, type, zeros).
 * Returns 0, -1 when the record does not authenticate or is malformed. */
int tls_crypto_open(struct tls_crypto *x, struct tls_rkey *k, uint8_t type, uint16_t ver, const uint8_t *body,
		    size_t n, uint8_t *out, size_t *out_len);

#endif
