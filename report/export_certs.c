#include "../common/connid.h"
#include "export_certs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitize.h"

#define INDEX_NAME "index.tsv"

/* A set of SHA-256 digests (open addressing; the first 8 bytes are the hash). */
struct digest_set {
	uint8_t (*d)[32];
	bool *used;
	size_t n, cap;
};

struct cert_export {
	char *dir;
	struct x509_cache *cache; /* the analysis' certificates: PEM from the DER it holds */
	int dfd;
	FILE *index;
	struct digest_set certs, chains;
	uint64_t written_certs, written_chains, skipped_unparsable;
	bool failed;
	char err[300];
};

static bool set_grow(struct digest_set *s)
{
	size_t nc = s->cap ? s->cap * 2 : 256;
	uint8_t(*nd)[32] = calloc(nc, 32);
	bool *nu = calloc(nc, 1);
	if (!nd || !nu) {
		free(nd);
		free(nu);
		return false;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->used[i]) continue;
		uint64_t h;
		memcpy(&h, s->d[i], 8);
		size_t k = h & (nc - 1);
		while (nu[k]) k = (k + 1) & (nc - 1);
		memcpy(nd[k], s->d[i], 32);
		nu[k] = true;
	}
	free(s->d);
	free(s->used);
	s->d = nd;
	s->used = nu;
	s->cap = nc;
	return true;
}

/* true when d was not in the set (and is now). */
static bool set_add(struct digest_set *s, const uint8_t d[32])
{
	if ((s->n + 1) * 2 > s->cap && !set_grow(s)) return false;
	uint64_t h;
	memcpy(&h, d, 8);
	size_t k = h & (s->cap - 1);
	while (s->used[k]) {
		if (!memcmp(s->d[k], d, 32)) return false;
		k = (k + 1) & (s->cap - 1);
	}
	memcpy(s->d[k], d, 32);
	s->used[k] = true;
	s->n++;
	return true;
}

/* Names an earlier export wrote: index.tsv, cert-*.pem, chain-*.pem. */
static bool ours(const char *name)
{
	size_t n = strlen(name);
	if (!strcmp(name, INDEX_NAME)) return true;
	if (n < 5 || strcmp(name + n - 4, ".pem")) return false;
	return !strncmp(name, "cert-", 5) || !strncmp(name, "chain-", 6);
}

struct cert_export *cert_export_open(const char *dir, struct x509_cache *cache, char *err, size_t errn)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errn, "--export-certs %s: cannot create: %s", dir, strerror(errno));
		return NULL;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		snprintf(err, errn, "--export-certs %s: %s", dir, strerror(errno));
		return NULL;
	}
	DIR *d = fdopendir(dup(dfd));
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || ours(e->d_name)) continue;
		char name[64];
		snprintf(err, errn, "--export-certs %s: not empty, and %s was not written by ekuscope: give a new or empty "
			 "directory", dir, sanitize_str(e->d_name, name, sizeof name));
		closedir(d);
		close(dfd);
		return NULL;
	}
	if (d) closedir(d);
	struct cert_export *x = calloc(1, sizeof *x);
	if (!x || !(x->dir = strdup(dir))) {
		free(x);
		close(dfd);
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	x->dfd = dfd;
	x->cache = cache;
	int ifd = openat(dfd, INDEX_NAME, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
	struct stat sb;
	if (ifd < 0 || fstat(ifd, &sb) != 0 || !S_ISREG(sb.st_mode) || !(x->index = fdopen(ifd, "a"))) {
		snprintf(err, errn, "--export-certs %s/%s: cannot write: %s", dir, INDEX_NAME, strerror(errno));
		if (ifd >= 0) close(ifd);
		cert_export_free(x);
		return NULL;
	}
	if (sb.st_size == 0) fputs("kind\tfile\tsha256\tserial\tsubject\tfirst_seen\n", x->index);
	return x;
}

/* The serial as a file name part: hex digits only, at most 40. */
static void serial_part(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s && o + 1 < n && o < 40; s++)
		if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')) out[o++] = *s;
	out[o] = '\0';
	if (!o) snprintf(out, n, "noserial");
}

/* A new file name in the directory, written with the PEM of certs[0..n).
 * 0 written, 1 already there (the same content: the name carries its
 * digest), -1 error. */
static int write_pem(struct cert_export *x, const char *name, struct x509_info *const *certs, size_t n)
{
	int fd = openat(x->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
	if (fd < 0) {
		if (errno == EEXIST) return 1;
		snprintf(x->err, sizeof x->err, "--export-certs %s/%s: %s", x->dir, name, strerror(errno));
		return -1;
	}
	FILE *fp = fdopen(fd, "w");
	bool ok = fp != NULL;
	for (size_t i = 0; ok && i < n; i++)
		if (certs[i]) {
			X509 *o = x509_object(x->cache, certs[i]);
			if (o) ok = PEM_write_X509(fp, o) == 1;
		}
	if (fp) ok = fclose(fp) == 0 && ok;
	else close(fd);
	if (!ok) {
		snprintf(x->err, sizeof x->err, "--export-certs %s/%s: write failed", x->dir, name);
		unlinkat(x->dfd, name, 0);
		return -1;
	}
	return 0;
}

static void index_line(struct cert_export *x, const char *kind, const char *name, const char *sha, const struct x509_info *leaf,
		       const struct tls_event *ev, const char *file)
{
	char subj[1024], fn[256];
	char id[EK_CONN_ID_STRLEN];
	ek_conn_id_str(ev->conn->id, id, sizeof id);
	fprintf(x->index, "%s\t%s\t%s\t%s\t%s\t%s:%llu conn %s %s\n", kind, name, sha, leaf->serial_hex,
		sanitize_str(leaf->subject, subj, sizeof subj), sanitize_str(file, fn, sizeof fn),
		(unsigned long long)ev->pkt.frame, id,
		ev->sender == TLS_ROLE_CLIENT ? "client" : "server");
}

void cert_export_event(struct cert_export *x, const struct tls_event *ev, const char *file)
{
	if (x->failed || ev->kind != TLS_EV_HANDSHAKE || ev->u.hs.type != TLS_HS_CERTIFICATE || ev->u.hs.malformed)
		return;
	const struct tls_certificate *c = &ev->u.hs.u.cert;
	size_t usable = 0;
	for (size_t i = 0; i < c->n_certs; i++) {
		struct x509_info *ci = c->certs[i];
		if (!ci) continue;
		/* the object is built from the DER the cache still holds: this
		 * message's certificates were just looked up */
		if (!ci->parsed || !x509_object(x->cache, ci)) {
			if (set_add(&x->certs, ci->sha256)) x->skipped_unparsable++;
			continue;
		}
		usable++;
		if (!set_add(&x->certs, ci->sha256)) continue;
		char name[128], serial[48], hex[65];
		serial_part(ci->serial_hex, serial, sizeof serial);
		x509_sha256_hex(ci, hex);
		snprintf(name, sizeof name, "cert-%.16s-%s.pem", hex, serial);
		int rc = write_pem(x, name, &ci, 1);
		if (rc < 0) {
			x->failed = true;
			return;
		}
		if (rc == 0) {
			x->written_certs++;
			index_line(x, "cert", name, hex, ci, ev, file);
		}
	}
	if (!usable || !c->certs[0] || !c->certs[0]->parsed) return;
	/* the chain: SHA-256 over its certificates' digests, in order */
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < c->n_certs; i++)
		if (c->certs[i]) ok = EVP_DigestUpdate(ctx, c->certs[i]->sha256, 32) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || !set_add(&x->chains, md)) return;
	char hex[65], name[128], serial[48];
	for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
	serial_part(c->certs[0]->serial_hex, serial, sizeof serial);
	snprintf(name, sizeof name, "chain-%.16s-%s.pem", hex, serial);
	int rc = write_pem(x, name, c->certs, c->n_certs);
	if (rc < 0) {
		x->failed = true;
		return;
	}
	if (rc == 0) {
		x->written_chains++;
		index_line(x, "chain", name, hex, c->certs[0], ev, file);
	}
}

int cert_export_close(struct cert_export *x, char *err, size_t errn)
{
	int rc = 0;
	if (x->index) {
		if (fclose(x->index) != 0 && !x->failed) {
			snprintf(x->err, sizeof x->err, "--export-certs %s/%s: write failed", x->dir, INDEX_NAME);
			x->failed = true;
		}
		x->index = NULL;
	}
	if (x->failed) {
		snprintf(err, errn, "%s", x->err);
		rc = -1;
	}
	if (x->skipped_unparsable)
		fprintf(stderr, "ekuscope: warning: --export-certs: %llu certificate%s OpenSSL cannot parse not exported\n",
			(unsigned long long)x->skipped_unparsable, x->skipped_unparsable == 1 ? "" : "s");
	return rc;
}

void cert_export_free(struct cert_export *x)
{
	if (!x) return;
	if (x->index) fclose(x->index);
	if (x->dfd >= 0) close(x->dfd);
	free(x->certs.d);
	free(x->certs.used);
	free(x->chains.d);
	free(x->chains.used);
	free(x->dir);
	free(x);
}
