#include "trust.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct trust {
	char *public_roots, *ca_file, *ca_path;
	bool loaded;
	STACK_OF(X509) *roots;    /* public roots */
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
	if (t->roots) sk_X509_pop_free(t->roots, X509_free);
	X509_STORE_free(t->store);
	free(t->public_roots);
	free(t->ca_file);
	free(t->ca_path);
	free(t);
}

static STACK_OF(X509) *read_pem_bundle(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp) return NULL;
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	while (sk && (x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(sk, x)) X509_free(x);
	ERR_clear_error(); /* end of file reads as an error */
	fclose(fp);
	if (sk && sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

static void load(struct trust *t)
{
	if (t->loaded) return;
	t->loaded = true;
	const char *roots = t->public_roots ? t->public_roots : SYSTEM_BUNDLE;
	t->roots = read_pem_bundle(roots);
	if (!t->roots && t->public_roots)
		snprintf(t->load_err, sizeof t->load_err, "--public-roots %s: no PEM certificates could be read",
			 t->public_roots);
	if (t->ca_file || t->ca_path) {
		t->store = X509_STORE_new();
		if (t->store && !X509_STORE_load_locations(t->store, t->ca_file, t->ca_path)) {
			snprintf(t->load_err, sizeof t->load_err, "%s %s: no CA certificates could be loaded",
				 t->ca_file ? "--ca-file" : "--ca-path", t->ca_file ? t->ca_file : t->ca_path);
			X509_STORE_free(t->store);
			t->store = NULL;
			ERR_clear_error();
		}
	}
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

bool trust_is_public(struct trust *t, struct x509_info *const *chain, size_t n)
{
	load(t);
	if (!t->roots || !n) return false;
	X509 *top = NULL;
	const struct x509_info *top_info = NULL;
	for (size_t i = n; i-- > 0;) {
		if (chain[i] && chain[i]->x509) {
			top = chain[i]->x509;
			top_info = chain[i];
			break;
		}
	}
	if (!top) return false;
	struct pub_memo *m = &t->memo[top_info->sha256[0] % (sizeof t->memo / sizeof t->memo[0])];
	if (m->used && memcmp(m->sha256, top_info->sha256, sizeof m->sha256) == 0) return m->result;
	bool result = false;
	for (int i = 0; i < sk_X509_num(t->roots) && !result; i++) {
		X509 *root = sk_X509_value(t->roots, i);
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

int trust_verify(struct trust *t, struct x509_info *const *chain, size_t n, bool client, int64_t at,
		 char *reason, size_t reasonn)
{
	load(t);
	if (!t->store || !n || !chain[0] || !chain[0]->x509) return -1;
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	for (size_t i = 1; untrusted && i < n; i++)
		if (chain[i] && chain[i]->x509) sk_X509_push(untrusted, chain[i]->x509);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1;
	if (ctx && untrusted && X509_STORE_CTX_init(ctx, t->store, chain[0]->x509, untrusted)) {
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
