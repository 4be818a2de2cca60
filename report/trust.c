#include "trust.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* A public root as read from the bundle: every PEM block is decoded
 * (ASN.1 only, with a library context that has no key decoders: cheap),
 * so the list ends where the plain reader's would; the full X509 (with
 * its public key, for X509_check_issued and X509_verify) is made only for
 * roots whose subject is the issuer or the subject of a chain's top
 * certificate, the only ones those checks can accept. */
struct root {
	unsigned char *der;
	long len;
	X509 *lite;               /* names only: no public key */
	X509 *full;               /* d2i_X509 of der, made on first use */
	bool tried;
};

struct trust {
	char *public_roots, *ca_file, *ca_path;
	bool roots_loaded, store_loaded;
	struct root *roots;       /* public roots */
	size_t n_roots;
	X509_STORE *store;        /* --ca-file / --ca-path */
	char load_err[256];
	/* trust_is_public's answers by the SHA-256 of the chain's top
	 * certificate: the same few chains come in every handshake, and each
	 * answer costs a pass over the public roots. */
	struct pub_memo {
		uint8_t sha256[32];
		bool used, result;
	} memo[64];
};

struct trust *trust_new(const char *public_roots, const char *ca_file, const char *ca_path)
{
	struct trust *t = calloc(1, sizeof *t);
	if (!t) return NULL;
	t->public_roots = public_roots ? strdup(public_roots) : NULL;
	t->ca_file = ca_file ? strdup(ca_file) : NULL;
	t->ca_path = ca_path ? strdup(ca_path) : NULL;
	return t;
}

void trust_free(struct trust *t)
{
	if (!t) return;
	for (size_t i = 0; i < t->n_roots; i++) {
		X509_free(t->roots[i].lite);
		X509_free(t->roots[i].full);
		OPENSSL_free(t->roots[i].der);
	}
	free(t->roots);
	X509_STORE_free(t->store);
	free(t->public_roots);
	free(t->ca_file);
	free(t->ca_path);
	free(t);
}

/* The PEM certificates of path, as PEM_read_X509 in a loop reads them (up
 * to the first block that does not parse).  0 when none. */
static size_t read_pem_bundle(const char *path, struct root **out)
{
	*out = NULL;
	BIO *b = BIO_new_file(path, "r");
	if (!b) {
		ERR_clear_error();
		return 0;
	}
	/* Decoding the public keys is most of the cost of reading a bundle
	 * (OpenSSL 3 decoders): a library context with only the null
	 * provider decodes the certificates without them. */
	OSSL_LIB_CTX *lite = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *null = lite ? OSSL_PROVIDER_load(lite, "null") : NULL;
	struct root *v = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		unsigned char *data = NULL;
		long len = 0;
		if (!PEM_bytes_read_bio(&data, &len, NULL, PEM_STRING_X509, b, NULL, NULL)) break;
		const unsigned char *p = data;
		X509 *x = lite ? (X509 *)ASN1_item_d2i_ex(NULL, &p, len, ASN1_ITEM_rptr(X509), lite, NULL)
			       : d2i_X509(NULL, &p, len);
		if (!x || (n == cap && !(cap = cap ? cap * 2 : 64, v = realloc(v, cap * sizeof *v)))) {
			X509_free(x);
			OPENSSL_free(data);
			break;
		}
		struct root r = { data, len, x, NULL, false };
		v[n++] = r;
	}
	ERR_clear_error(); /* end of file reads as an error */
	BIO_free(b);
	if (null) OSSL_PROVIDER_unload(null);
	OSSL_LIB_CTX_free(lite);
	if (!n) {
		free(v);
		return 0;
	}
	*out = v;
	return n;
}

static void load_roots(struct trust *t)
{
	if (t->roots_loaded) return;
	t->roots_loaded = true;
	const char *roots = t->public_roots ? t->public_roots : SYSTEM_BUNDLE;
	t->n_roots = read_pem_bundle(roots, &t->roots);
	struct stat sb;
	if (t->n_roots || !t->public_roots) return;
	if (stat(t->public_roots, &sb) != 0)
		snprintf(t->load_err, sizeof t->load_err, "--public-roots %s: %s", t->public_roots, strerror(errno));
	else
		snprintf(t->load_err, sizeof t->load_err, "--public-roots %s: no PEM certificates in it", t->public_roots);
}

/* The certificates of one file (PEM, several; else one DER) into st. */
static size_t add_cert_file(X509_STORE *st, const char *path)
{
	size_t n = 0;
	BIO *b = BIO_new_file(path, "rb");
	if (!b) return 0;
	X509 *x;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(st, x)) n++;
		X509_free(x);
	}
	if (!n && BIO_reset(b) == 0 && (x = d2i_X509_bio(b, NULL))) {
		if (X509_STORE_add_cert(st, x)) n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(b);
	return n;
}

/* A name --ca-path reads: *.pem, *.crt, *.cer, or an openssl rehash link
 * (8 hex digits, '.', a number). */
static bool ca_dir_name(const char *name)
{
	size_t n = strlen(name);
	if (n > 4 && (!strcasecmp(name + n - 4, ".pem") || !strcasecmp(name + n - 4, ".crt") ||
		      !strcasecmp(name + n - 4, ".cer")))
		return true;
	if (n < 10 || name[8] != '.') return false;
	for (size_t i = 0; i < n; i++)
		if (i != 8 && !(i < 8 ? isxdigit((unsigned char)name[i]) : isdigit((unsigned char)name[i]))) return false;
	return true;
}

/* Every certificate file of dir, hashed by openssl rehash or not. */
static size_t add_cert_dir(X509_STORE *st, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!ca_dir_name(de->d_name)) continue;
		size_t len = strlen(dir) + strlen(de->d_name) + 2;
		char *p = malloc(len);
		if (!p) break;
		snprintf(p, len, "%s/%s", dir, de->d_name);
		n += add_cert_file(st, p);
		free(p);
	}
	closedir(d);
	return n;
}

/* --ca-file / --ca-path: each must exist, be what it is named as, and
 * give at least one certificate; else load_err says which and why. */
static void load_store(struct trust *t)
{
	if (t->store_loaded) return;
	t->store_loaded = true;
	if (!t->ca_file && !t->ca_path) return;
	t->store = X509_STORE_new();
	if (!t->store) {
		snprintf(t->load_err, sizeof t->load_err, "out of memory");
		return;
	}
	const char *opt[] = { "--ca-file", "--ca-path" }, *path[] = { t->ca_file, t->ca_path };
	for (int i = 0; i < 2 && !t->load_err[0]; i++) {
		struct stat sb;
		if (!path[i]) continue;
		if (stat(path[i], &sb) != 0)
			snprintf(t->load_err, sizeof t->load_err, "%s %s: %s", opt[i], path[i], strerror(errno));
		else if (i == 0 && S_ISDIR(sb.st_mode))
			snprintf(t->load_err, sizeof t->load_err, "--ca-file %s: is a directory (--ca-path takes one)", path[i]);
		else if (i == 1 && !S_ISDIR(sb.st_mode))
			snprintf(t->load_err, sizeof t->load_err, "--ca-path %s: not a directory (--ca-file takes a file)",
				 path[i]);
		else if (i == 0 && !add_cert_file(t->store, path[i]))
			snprintf(t->load_err, sizeof t->load_err, "--ca-file %s: no certificates in it (PEM or DER)", path[i]);
		else if (i == 1 && !add_cert_dir(t->store, path[i]))
			snprintf(t->load_err, sizeof t->load_err,
				 "--ca-path %s: no certificates in it (read: *.pem, *.crt, *.cer, openssl rehash links)",
				 path[i]);
	}
	if (t->load_err[0]) {
		X509_STORE_free(t->store);
		t->store = NULL;
	}
}

static void load(struct trust *t)
{
	load_roots(t);
	load_store(t);
}

int trust_check_config(struct trust *t, char *err, size_t errn)
{
	load(t);
	if (t->load_err[0]) {
		snprintf(err, errn, "%s", t->load_err);
		return -1;
	}
	return 0;
}

static X509 *root_full(struct root *r)
{
	if (!r->tried) {
		r->tried = true;
		const unsigned char *p = r->der;
		r->full = d2i_X509(NULL, &p, r->len);
		ERR_clear_error();
	}
	return r->full;
}

bool trust_is_public(struct trust *t, struct x509_cache *cache, struct x509_info *const *chain, size_t n)
{
	load_roots(t);
	if (!t->n_roots || !n) return false;
	const struct x509_info *top_info = NULL;
	for (size_t i = n; i-- > 0;) {
		if (chain[i] && chain[i]->parsed) {
			top_info = chain[i];
			break;
		}
	}
	if (!top_info) return false;
	/* the memo first: an answer is only kept for a certificate that had
	 * its object, and the object is not needed to find it */
	struct pub_memo *m = &t->memo[top_info->sha256[0] % (sizeof t->memo / sizeof t->memo[0])];
	if (m->used && memcmp(m->sha256, top_info->sha256, sizeof m->sha256) == 0) return m->result;
	X509 *top = x509_object(cache, top_info);
	if (!top) return false;
	bool result = false;
	const X509_NAME *ti = X509_get_issuer_name(top), *ts = X509_get_subject_name(top);
	for (size_t i = 0; i < t->n_roots && !result; i++) {
		/* X509_cmp == 0 needs the same subject, X509_check_issued the
		 * root's subject as the issuer: other roots cannot match */
		const X509_NAME *rs = X509_get_subject_name(t->roots[i].lite);
		if (X509_NAME_cmp(rs, ti) != 0 && X509_NAME_cmp(rs, ts) != 0) continue;
		X509 *root = root_full(&t->roots[i]);
		if (!root) continue;
		if (X509_cmp(root, top) == 0) result = true;
		else if (X509_check_issued(root, top) == X509_V_OK) {
			EVP_PKEY *k = X509_get0_pubkey(root);
			if (k && X509_verify(top, k) == 1) result = true;
			else ERR_clear_error();
		}
	}
	memcpy(m->sha256, top_info->sha256, sizeof m->sha256);
	m->used = true;
	m->result = result;
	return result;
}

int trust_verify(struct trust *t, struct x509_cache *cache, struct x509_info *const *chain, size_t n, bool client,
		 int64_t at, char *reason, size_t reasonn)
{
	load_store(t);
	X509 *leaf = t->store && n && chain[0] ? x509_object(cache, chain[0]) : NULL;
	if (!leaf) return -1;
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	for (size_t i = 1; untrusted && i < n; i++) {
		X509 *x = chain[i] ? x509_object(cache, chain[i]) : NULL;
		if (x) sk_X509_push(untrusted, x);
	}
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1;
	if (ctx && untrusted && X509_STORE_CTX_init(ctx, t->store, leaf, untrusted)) {
		X509_STORE_CTX_set_purpose(ctx, client ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
		X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
		if (X509_verify_cert(ctx) == 1) {
			rc = 0;
		} else {
			rc = 1;
			snprintf(reason, reasonn, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		}
	}
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}
