/* TLS record decryption through OpenSSL EVP (see tls_crypt.h).  Ciphers
 * and KDFs are fetched once per tls_crypto and reused; one cipher context
 * is reinitialised for every record. */
#include "tls_crypt.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "../common/cursor.h"
#include "tls.h"
#include "tls_int.h"

#define MAX_CIPHERS 16

struct tls_crypto {
	EVP_CIPHER_CTX *cctx;
	EVP_KDF *tls13kdf, *tls1prf;
	EVP_MAC *hmac;
	bool kdf_tried, prf_tried, hmac_tried;
	struct {
		const char *name;
		EVP_CIPHER *c;   /* NULL: fetch failed */
	} ciphers[MAX_CIPHERS];
	size_t n_ciphers;
};

/* ---- suites ----------------------------------------------------------------- */

static const struct {
	const char *bulk;      /* the part of the IANA name after "_WITH_" */
	struct tls_suite s;
} tls12_bulk[] = {
	{ "AES_128_GCM_SHA256", { TB_GCM, 16, 4, 16, 0, 0, "AES-128-GCM", "SHA256", NULL } },
	{ "AES_256_GCM_SHA384", { TB_GCM, 32, 4, 16, 0, 0, "AES-256-GCM", "SHA384", NULL } },
	{ "ARIA_128_GCM_SHA256", { TB_GCM, 16, 4, 16, 0, 0, "ARIA-128-GCM", "SHA256", NULL } },
	{ "ARIA_256_GCM_SHA384", { TB_GCM, 32, 4, 16, 0, 0, "ARIA-256-GCM", "SHA384", NULL } },
	{ "CHACHA20_POLY1305_SHA256", { TB_CHACHA, 32, 12, 16, 0, 0, "ChaCha20-Poly1305", "SHA256", NULL } },
	{ "AES_128_CCM", { TB_CCM, 16, 4, 16, 0, 0, "AES-128-CCM", "SHA256", NULL } },
	{ "AES_256_CCM", { TB_CCM, 32, 4, 16, 0, 0, "AES-256-CCM", "SHA256", NULL } },
	{ "AES_128_CCM_8", { TB_CCM, 16, 4, 8, 0, 0, "AES-128-CCM", "SHA256", NULL } },
	{ "AES_256_CCM_8", { TB_CCM, 32, 4, 8, 0, 0, "AES-256-CCM", "SHA256", NULL } },
	{ "AES_128_CBC_SHA", { TB_CBC, 16, 16, 0, 20, 0, "AES-128-CBC", "SHA256", "SHA1" } },
	{ "AES_256_CBC_SHA", { TB_CBC, 32, 16, 0, 20, 0, "AES-256-CBC", "SHA256", "SHA1" } },
	{ "AES_128_CBC_SHA256", { TB_CBC, 16, 16, 0, 32, 0, "AES-128-CBC", "SHA256", "SHA256" } },
	{ "AES_256_CBC_SHA256", { TB_CBC, 32, 16, 0, 32, 0, "AES-256-CBC", "SHA256", "SHA256" } },
	{ "AES_256_CBC_SHA384", { TB_CBC, 32, 16, 0, 48, 0, "AES-256-CBC", "SHA384", "SHA384" } },
	{ "CAMELLIA_128_CBC_SHA", { TB_CBC, 16, 16, 0, 20, 0, "CAMELLIA-128-CBC", "SHA256", "SHA1" } },
	{ "CAMELLIA_256_CBC_SHA", { TB_CBC, 32, 16, 0, 20, 0, "CAMELLIA-256-CBC", "SHA256", "SHA1" } },
	{ "CAMELLIA_128_CBC_SHA256", { TB_CBC, 16, 16, 0, 32, 0, "CAMELLIA-128-CBC", "SHA256", "SHA256" } },
	{ "CAMELLIA_256_CBC_SHA256", { TB_CBC, 32, 16, 0, 32, 0, "CAMELLIA-256-CBC", "SHA256", "SHA256" } },
	{ "CAMELLIA_256_CBC_SHA384", { TB_CBC, 32, 16, 0, 48, 0, "CAMELLIA-256-CBC", "SHA384", "SHA384" } },
	{ "ARIA_128_CBC_SHA256", { TB_CBC, 16, 16, 0, 32, 0, "ARIA-128-CBC", "SHA256", "SHA256" } },
	{ "ARIA_256_CBC_SHA384", { TB_CBC, 32, 16, 0, 48, 0, "ARIA-256-CBC", "SHA384", "SHA384" } },
	{ "3DES_EDE_CBC_SHA", { TB_CBC, 24, 8, 0, 20, 0, "DES-EDE3-CBC", "SHA256", "SHA1" } },
};

bool tls_suite_get(uint16_t cipher, uint16_t version, struct tls_suite *out)
{
	memset(out, 0, sizeof *out);
	if (tls_version_is_13(version)) {
		switch (cipher) {
		case 0x1301: *out = (struct tls_suite){ TB_GCM, 16, 12, 16, 0, 32, "AES-128-GCM", "SHA256", NULL }; return true;
		case 0x1302: *out = (struct tls_suite){ TB_GCM, 32, 12, 16, 0, 48, "AES-256-GCM", "SHA384", NULL }; return true;
		case 0x1303:
			*out = (struct tls_suite){ TB_CHACHA, 32, 12, 16, 0, 32, "ChaCha20-Poly1305", "SHA256", NULL };
			return true;
		case 0x1304: *out = (struct tls_suite){ TB_CCM, 16, 12, 16, 0, 32, "AES-128-CCM", "SHA256", NULL }; return true;
		case 0x1305: *out = (struct tls_suite){ TB_CCM, 16, 12, 8, 0, 32, "AES-128-CCM", "SHA256", NULL }; return true;
		default: return false;
		}
	}
	if (version < 0x0301 || version > 0x0303) return false; /* SSL 3.0 has its own MAC and key derivation */
	const char *name = tls_cipher_name(cipher);
	const char *w = name ? strstr(name, "_WITH_") : NULL;
	if (!w) return false;
	w += 6;
	for (size_t i = 0; i < sizeof tls12_bulk / sizeof tls12_bulk[0]; i++) {
		if (strcmp(w, tls12_bulk[i].bulk) != 0) continue;
		*out = tls12_bulk[i].s;
		/* AEAD suites exist from TLS 1.2 only; TLS 1.0/1.1 use the MD5-SHA1 PRF */
		if (out->bulk != TB_CBC && version < 0x0303) return false;
		if (version < 0x0303) out->prf = "MD5-SHA1";
		return true;
	}
	return false;
}

/* ---- context ------------------------------------------------------------------ */

struct tls_crypto *tls_crypto_new(void)
{
	struct tls_crypto *x = OPENSSL_zalloc(sizeof *x);
	if (!x) return NULL;
	x->cctx = EVP_CIPHER_CTX_new();
	if (!x->cctx) {
		OPENSSL_free(x);
		return NULL;
	}
	return x;
}

void tls_crypto_free(struct tls_crypto *x)
{
	if (!x) return;
	EVP_CIPHER_CTX_free(x->cctx);
	EVP_KDF_free(x->tls13kdf);
	EVP_KDF_free(x->tls1prf);
	EVP_MAC_free(x->hmac);
	for (size_t i = 0; i < x->n_ciphers; i++) EVP_CIPHER_free(x->ciphers[i].c);
	OPENSSL_free(x);
}

static const EVP_CIPHER *cipher_of(struct tls_crypto *x, const char *name)
{
	for (size_t i = 0; i < x->n_ciphers; i++)
		if (strcmp(x->ciphers[i].name, name) == 0) return x->ciphers[i].c;
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	if (x->n_ciphers < MAX_CIPHERS) {
		x->ciphers[x->n_ciphers].name = name;
		x->ciphers[x->n_ciphers].c = c;
		x->n_ciphers++;
	} else {
		EVP_CIPHER_free(c);
		return NULL;
	}
	return c;
}

/* ---- key derivation ------------------------------------------------------------- */

/* HKDF-Expand-Label(secret, label, "", outlen) (RFC 8446 7.1). */
static int expand_label(struct tls_crypto *x, const char *md, const uint8_t *secret, size_t slen, const char *label,
			uint8_t *out, size_t outlen)
{
	if (!x->kdf_tried) {
		x->kdf_tried = true;
		x->tls13kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	}
	if (!x->tls13kdf) return -1;
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(x->tls13kdf);
	if (!k) return -1;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	static const char prefix[] = "tls13 ";
	static const char empty[1] = "";
	OSSL_PARAM p[7];
	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)prefix, sizeof prefix - 1);
	p[4] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, strlen(label));
	p[5] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (void *)empty, 0);
	p[6] = OSSL_PARAM_construct_end();
	int ok = EVP_KDF_derive(k, out, outlen, p) > 0;
	EVP_KDF_CTX_free(k);
	return ok ? 0 : -1;
}

int tls_crypto_tls13_key(struct tls_crypto *x, const struct tls_suite *s, const uint8_t *secret, size_t n,
			 struct tls_rkey *out)
{
	memset(out, 0, sizeof *out);
	if (!n || n != s->hash_len) return -1;
	out->s = *s;
	out->version = 0x0304;
	if (expand_label(x, s->prf, secret, n, "key", out->key, s->key_len) != 0 ||
	    expand_label(x, s->prf, secret, n, "iv", out->iv, s->iv_len) != 0) {
		OPENSSL_cleanse(out, sizeof *out);
		return -1;
	}
	out->set = true;
	return 0;
}

int tls_crypto_tls13_update(struct tls_crypto *x, const struct tls_suite *s, uint8_t *secret, size_t n)
{
	uint8_t next[64];
	if (n != s->hash_len || n > sizeof next) return -1;
	if (expand_label(x, s->prf, secret, n, "traffic upd", next, n) != 0) return -1;
	memcpy(secret, next, n);
	OPENSSL_cleanse(next, sizeof next);
	return 0;
}

int tls_crypto_tls12_keys(struct tls_crypto *x, const struct tls_suite *s, uint16_t version, bool etm,
			  const uint8_t *master, size_t master_len, const uint8_t *client_random,
			  const uint8_t *server_random, struct tls_rkey *client, struct tls_rkey *server)
{
	memset(client, 0, sizeof *client);
	memset(server, 0, sizeof *server);
	if (!x->prf_tried) {
		x->prf_tried = true;
		x->tls1prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	}
	if (!x->tls1prf) return -1;
	/* key_block: client MAC, server MAC, client key, server key, client IV, server IV */
	size_t iv = s->bulk == TB_CBC && version >= 0x0302 ? 0 : s->iv_len; /* TLS 1.1+: explicit CBC IV */
	size_t need = 2u * s->mac_len + 2u * s->key_len + 2u * iv;
	uint8_t kb[2 * 48 + 2 * 32 + 2 * 16];
	uint8_t seed[13 + 64];
	if (need > sizeof kb) return -1;
	memcpy(seed, "key expansion", 13);
	memcpy(seed + 13, server_random, 32);
	memcpy(seed + 45, client_random, 32);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(x->tls1prf);
	if (!k) return -1;
	OSSL_PARAM p[4];
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)s->prf, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)master, master_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed);
	p[3] = OSSL_PARAM_construct_end();
	int ok = EVP_KDF_derive(k, kb, need, p) > 0;
	EVP_KDF_CTX_free(k);
	if (!ok) return -1;
	struct cur c = cur_make(kb, need);
	cur_copy(&c, client->mac_key, s->mac_len);
	cur_copy(&c, server->mac_key, s->mac_len);
	cur_copy(&c, client->key, s->key_len);
	cur_copy(&c, server->key, s->key_len);
	cur_copy(&c, client->iv, iv);
	cur_copy(&c, server->iv, iv);
	OPENSSL_cleanse(kb, sizeof kb);
	if (!cur_ok(&c)) return -1;
	client->s = server->s = *s;
	client->version = server->version = version;
	client->etm = server->etm = etm && s->bulk == TB_CBC;
	client->set = server->set = true;
	return 0;
}

/* ---- records --------------------------------------------------------------------- */

static void put_seq(uint8_t *b, uint64_t seq)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)seq;
		seq >>= 8;
	}
}

/* AEAD open: ct/ct_len then tag; returns 0 when the tag verifies. */
static int aead_open(struct tls_crypto *x, const struct tls_rkey *k, const uint8_t *nonce, const uint8_t *aad,
		     size_t aad_len, const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *out)
{
	const EVP_CIPHER *ci = cipher_of(x, k->s.cipher);
	EVP_CIPHER_CTX *c = x->cctx;
	int l = 0, l2 = 0;
	if (!ci || ct_len > 0x7fffffff) return -1;
	if (EVP_CIPHER_CTX_reset(c) != 1 || EVP_DecryptInit_ex(c, ci, NULL, NULL, NULL) != 1) return -1;
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1) return -1;
	if (k->s.bulk == TB_CCM) {
		/* CCM: the tag before the key, the length before the AAD */
		if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, k->s.tag_len, (void *)tag) != 1) return -1;
		if (EVP_DecryptInit_ex(c, NULL, NULL, k->key, nonce) != 1) return -1;
		if (EVP_DecryptUpdate(c, NULL, &l, NULL, (int)ct_len) != 1) return -1;
		if (EVP_DecryptUpdate(c, NULL, &l, aad, (int)aad_len) != 1) return -1;
		return EVP_DecryptUpdate(c, out, &l, ct, (int)ct_len) > 0 ? 0 : -1;
	}
	if (EVP_DecryptInit_ex(c, NULL, NULL, k->key, nonce) != 1) return -1;
	if (EVP_DecryptUpdate(c, NULL, &l, aad, (int)aad_len) != 1) return -1;
	if (ct_len && EVP_DecryptUpdate(c, out, &l, ct, (int)ct_len) != 1) return -1;
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, k->s.tag_len, (void *)tag) != 1) return -1;
	return EVP_DecryptFinal_ex(c, out + l, &l2) > 0 ? 0 : -1;
}

static int open13(struct tls_crypto *x, struct tls_rkey *k, uint8_t type, uint16_t ver, const uint8_t *body, size_t n,
		  uint8_t *out, size_t *out_len)
{
	struct cur b = cur_make(body, n);
	if (n < (size_t)k->s.tag_len + 1u || n > TLS13_MAX_CIPHERTEXT) return -1;
	size_t ct_len = n - k->s.tag_len;
	const uint8_t *ct = cur_bytes(&b, ct_len);
	const uint8_t *tag = cur_bytes(&b, k->s.tag_len);
	if (!ct || !tag) return -1;
	uint8_t nonce[12], s8[8], aad[5];
	memcpy(nonce, k->iv, 12);
	put_seq(s8, k->seq);
	for (int i = 0; i < 8; i++) nonce[4 + i] ^= s8[i];
	aad[0] = type;
	aad[1] = (uint8_t)(ver >> 8);
	aad[2] = (uint8_t)ver;
	aad[3] = (uint8_t)(n >> 8);
	aad[4] = (uint8_t)n;
	if (aead_open(x, k, nonce, aad, sizeof aad, ct, ct_len, tag, out) != 0) return -1;
	*out_len = ct_len;
	return 0;
}

static void aad12(uint8_t *aad, uint64_t seq, uint8_t type, uint16_t ver, size_t len)
{
	put_seq(aad, seq);
	aad[8] = type;
	aad[9] = (uint8_t)(ver >> 8);
	aad[10] = (uint8_t)ver;
	aad[11] = (uint8_t)(len >> 8);
	aad[12] = (uint8_t)len;
}

static int hmac(struct tls_crypto *x, const struct tls_rkey *k, const uint8_t *hdr, size_t hl, const uint8_t *data,
		size_t dl, uint8_t *mac)
{
	if (!x->hmac_tried) {
		x->hmac_tried = true;
		x->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	}
	if (!x->hmac) return -1;
	EVP_MAC_CTX *m = EVP_MAC_CTX_new(x->hmac);
	if (!m) return -1;
	OSSL_PARAM p[2];
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k->s.mac, 0);
	p[1] = OSSL_PARAM_construct_end();
	size_t ml = 0;
	int ok = EVP_MAC_init(m, k->mac_key, k->s.mac_len, p) == 1 && EVP_MAC_update(m, hdr, hl) == 1 &&
		 EVP_MAC_update(m, data, dl) == 1 && EVP_MAC_final(m, mac, &ml, 64) == 1 && ml == k->s.mac_len;
	EVP_MAC_CTX_free(m);
	return ok ? 0 : -1;
}

static int open_cbc(struct tls_crypto *x, struct tls_rkey *k, uint8_t type, uint16_t ver, const uint8_t *body, size_t n,
		    uint8_t *out, size_t *out_len)
{
	size_t bs = k->s.iv_len, ml = k->s.mac_len;
	bool explicit_iv = k->version >= 0x0302;
	struct cur b = cur_make(body, n);
	uint8_t aad[13], mac[64];
	size_t enc_len = n;
	if (k->etm) {
		/* MAC over the ciphertext (IV included), outside of it */
		if (n < ml) return -1;
		enc_len = n - ml;
		if (explicit_iv && enc_len < bs) return -1;
		struct cur e = cur_make(body, n);
		const uint8_t *enc = cur_bytes(&e, enc_len);
		const uint8_t *tag = cur_bytes(&e, ml);
		aad12(aad, k->seq, type, ver, enc_len);
		if (!enc || !tag || hmac(x, k, aad, sizeof aad, enc, enc_len, mac) != 0 ||
		    CRYPTO_memcmp(mac, tag, ml) != 0)
			return -1;
	}
	uint8_t iv[16];
	if (explicit_iv) {
		if (!cur_copy(&b, iv, bs)) return -1;
		enc_len -= bs;
	} else {
		memcpy(iv, k->iv, bs);
	}
	const uint8_t *ct = cur_bytes(&b, enc_len);
	if (!ct || enc_len == 0 || enc_len % bs || enc_len > 0x7fffffff) return -1;
	const EVP_CIPHER *ci = cipher_of(x, k->s.cipher);
	EVP_CIPHER_CTX *c = x->cctx;
	int l = 0;
	if (!ci || EVP_CIPHER_CTX_reset(c) != 1 || EVP_DecryptInit_ex(c, ci, NULL, k->key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_DecryptUpdate(c, out, &l, ct, (int)enc_len) != 1 ||
	    (size_t)l != enc_len)
		return -1;
	if (!explicit_iv) {
		/* TLS 1.0: the next record's IV is this record's last ciphertext block */
		struct cur t = cur_make(ct, enc_len);
		cur_skip(&t, enc_len - bs);
		cur_copy(&t, k->iv, bs);
	}
	/* padding: pad_len + 1 bytes, each pad_len */
	struct cur pt = cur_make(out, enc_len);
	uint8_t pad = cur_peek_u8(&pt, enc_len - 1);
	if ((size_t)pad + 1 > enc_len) return -1;
	for (size_t i = enc_len - 1 - pad; i < enc_len; i++)
		if (cur_peek_u8(&pt, i) != pad) return -1;
	size_t len = enc_len - 1 - pad;
	if (!k->etm) {
		if (len < ml) return -1;
		len -= ml;
		aad12(aad, k->seq, type, ver, len);
		struct cur m = cur_make(out, enc_len);
		cur_skip(&m, len);
		const uint8_t *tag = cur_bytes(&m, ml);
		if (!tag || hmac(x, k, aad, sizeof aad, out, len, mac) != 0 || CRYPTO_memcmp(mac, tag, ml) != 0)
			return -1;
	}
	*out_len = len;
	return 0;
}

int tls_crypto_open(struct tls_crypto *x, struct tls_rkey *k, uint8_t type, uint16_t ver, const uint8_t *body,
		    size_t n, uint8_t *out, size_t *out_len)
{
	*out_len = 0;
	if (!x || !k->set) return -1;
	if (k->version == 0x0304) return open13(x, k, type, ver, body, n, out, out_len);
	if (k->s.bulk == TB_CBC) return open_cbc(x, k, type, ver, body, n, out, out_len);
	struct cur b = cur_make(body, n);
	uint8_t nonce[12], aad[13];
	size_t ct_len;
	if (k->s.bulk == TB_CHACHA) {
		/* RFC 7905: iv XOR seq, no explicit nonce */
		if (n < k->s.tag_len) return -1;
		uint8_t s8[8];
		memcpy(nonce, k->iv, 12);
		put_seq(s8, k->seq);
		for (int i = 0; i < 8; i++) nonce[4 + i] ^= s8[i];
	} else {
		/* GCM / CCM: 4-byte salt from the key block, 8-byte explicit nonce */
		if (n < 8u + k->s.tag_len) return -1;
		memcpy(nonce, k->iv, 4);
		cur_copy(&b, nonce + 4, 8);
	}
	ct_len = cur_left(&b) - k->s.tag_len;
	const uint8_t *ct = cur_bytes(&b, ct_len);
	const uint8_t *tag = cur_bytes(&b, k->s.tag_len);
	if (!ct || !tag) return -1;
	aad12(aad, k->seq, type, ver, ct_len);
	if (aead_open(x, k, nonce, aad, sizeof aad, ct, ct_len, tag, out) != 0) return -1;
	*out_len = ct_len;
	return 0;
}
