#include "inventory.h"

#include <stdlib.h>
#include <string.h>

#include "csv_out.h"
#include "sanitize.h"
#include "strmap.h"

struct inventory {
	struct x509_cache *cache;
	struct trust *trust;
	struct strmap *entries;   /* "c|ip|sha" / "s|ip:port|sha" -> inv_entry */
	struct strmap *by_ip;     /* "ip|sha" -> role bits (as pointer-sized int) */
};

struct inventory *inventory_new(struct x509_cache *cache, struct trust *trust)
{
	struct inventory *inv = calloc(1, sizeof *inv);
	if (!inv) return NULL;
	inv->cache = cache;
	inv->trust = trust;
	inv->entries = strmap_new();
	inv->by_ip = strmap_new();
	if (!inv->entries || !inv->by_ip) {
		inventory_free(inv);
		return NULL;
	}
	return inv;
}

static void free_entry(void *ctx, void *p)
{
	struct inventory *inv = ctx;
	struct inv_entry *e = p;
	if (e->leaf) x509_unref(inv->cache, e->leaf);
	free(e->chain_serials);
	free(e);
}

void inventory_free(struct inventory *inv)
{
	if (!inv) return;
	strmap_free(inv->entries, free_entry, inv);
	strmap_free(inv->by_ip, NULL, NULL);
	free(inv);
}

static char *join_serials(struct x509_info *const *chain, size_t n)
{
	size_t len = 1;
	for (size_t i = 1; i < n; i++) len += (chain[i] ? strlen(chain[i]->serial_hex) : 0) + 1;
	char *s = malloc(len);
	if (!s) return NULL;
	s[0] = '\0';
	for (size_t i = 1; i < n; i++) {
		if (i > 1) strcat(s, ";");
		if (chain[i]) strcat(s, chain[i]->serial_hex);
	}
	return s;
}

struct inv_entry *inventory_note(struct inventory *inv, const struct ek_endpoint *ep, bool client,
				 struct x509_info *const *chain, size_t n, uint32_t file_index, uint64_t frame,
				 bool *other_role)
{
	*other_role = false;
	if (!n || !chain[0]) return NULL;
	char ip[EK_ENDPOINT_STRLEN], name[EK_ENDPOINT_STRLEN], key[256];
	ek_endpoint_str(ep, false, ip, sizeof ip);
	ek_endpoint_str(ep, !client, name, sizeof name);
	const char *sha = chain[0]->sha256_hex;

	/* by_ip holds "ip|sha|c" and "ip|sha|s": which roles this ip used the leaf in */
	snprintf(key, sizeof key, "%s|%s|%c", ip, sha, client ? 's' : 'c');
	*other_role = strmap_get(inv->by_ip, key) != NULL;
	snprintf(key, sizeof key, "%s|%s|%c", ip, sha, client ? 'c' : 's');
	if (!strmap_get(inv->by_ip, key)) strmap_put(inv->by_ip, key, inv);

	snprintf(key, sizeof key, "%c|%s|%s", client ? 'c' : 's', name, sha);
	struct inv_entry *e = strmap_get(inv->entries, key);
	if (!e) {
		e = calloc(1, sizeof *e);
		if (!e) return NULL;
		snprintf(e->endpoint, sizeof e->endpoint, "%s", name);
		e->client = client;
		e->leaf = chain[0];
		x509_ref(e->leaf);
		e->chain_serials = join_serials(chain, n);
		e->public_ca = trust_is_public(inv->trust, chain, n);
		e->first_file = file_index;
		e->first_frame = frame;
		if (strmap_put(inv->entries, key, e) != 0) {
			free_entry(inv, e);
			return NULL;
		}
	}
	e->conns++;
	e->last_file = file_index;
	e->last_frame = frame;
	return e;
}

void inventory_mark(struct inv_entry *e, enum finding_code code)
{
	if (e) e->codes |= 1u << code;
}

size_t inventory_count(const struct inventory *inv) { return strmap_count(inv->entries); }
const struct inv_entry *inventory_at(const struct inventory *inv, size_t i) { return strmap_at(inv->entries, i); }

static void frame_ref(char *buf, size_t n, char *const *names, uint32_t n_files, uint32_t f, uint64_t frame)
{
	if (n_files > 1 && f < n_files && names[f])
		snprintf(buf, n, "%s:%llu", names[f], (unsigned long long)frame);
	else
		snprintf(buf, n, "%llu", (unsigned long long)frame);
}

int inventory_write_csv(const struct inventory *inv, const char *path, char *const *file_names, uint32_t n_files,
			char *err, size_t errn)
{
	static const char *const cols[] = {
		"endpoint", "role", "cert_serial", "cert_subject", "cert_issuer", "cert_san", "cert_eku",
		"cert_key_usage", "cert_not_before", "cert_not_after", "cert_sha256", "chain_serials", "public_ca",
		"conns", "first_frame", "last_frame", "findings",
	};
	struct csv_out *o = csv_out_open(path, true, err, errn);
	if (!o) return -1;
	csv_out_row(o, cols, sizeof cols / sizeof cols[0]);
	for (size_t i = 0; i < strmap_count(inv->entries); i++) {
		const struct inv_entry *e = strmap_at(inv->entries, i);
		const struct x509_info *c = e->leaf;
		char nb[32] = "", na[32] = "", ff[300], lf[300], codes[512] = "";
		if (c->have_validity) {
			ek_unix_str(c->not_before, nb, sizeof nb);
			ek_unix_str(c->not_after, na, sizeof na);
		}
		frame_ref(ff, sizeof ff, file_names, n_files, e->first_file, e->first_frame);
		frame_ref(lf, sizeof lf, file_names, n_files, e->last_file, e->last_frame);
		for (int k = 0; k < F_COUNT; k++) {
			if (!(e->codes & (1u << k))) continue;
			if (codes[0]) strcat(codes, ";");
			strcat(codes, finding_def((enum finding_code)k)->name);
		}
		csv_out_field(o, e->endpoint);
		csv_out_field(o, e->client ? "client" : "server");
		csv_out_field(o, c->serial_hex);
		csv_out_field(o, c->parsed ? c->subject : "(unparsable certificate)");
		csv_out_field(o, c->issuer);
		csv_out_field(o, c->san);
		csv_out_field(o, c->parsed ? c->eku : "");
		csv_out_field(o, c->key_usage);
		csv_out_field(o, nb);
		csv_out_field(o, na);
		csv_out_field(o, c->sha256_hex);
		csv_out_field(o, e->chain_serials ? e->chain_serials : "");
		csv_out_field(o, e->public_ca ? "yes" : "no");
		csv_out_fieldf(o, "%llu", (unsigned long long)e->conns);
		csv_out_field(o, ff);
		csv_out_field(o, lf);
		csv_out_field(o, codes);
		csv_out_end_row(o);
	}
	return csv_out_close(o, true, err, errn);
}

static int cmp_entries(const void *a, const void *b)
{
	const struct inv_entry *x = *(const struct inv_entry *const *)a, *y = *(const struct inv_entry *const *)b;
	/* group by address (the endpoint up to its port), servers before clients */
	char ax[EK_ENDPOINT_STRLEN], ay[EK_ENDPOINT_STRLEN];
	snprintf(ax, sizeof ax, "%s", x->endpoint);
	snprintf(ay, sizeof ay, "%s", y->endpoint);
	char *p = strrchr(ax, ':');
	if (!x->client && p && ax[0] != '[') *p = '\0';
	p = strrchr(ay, ':');
	if (!y->client && p && ay[0] != '[') *p = '\0';
	int c = strcmp(ax, ay);
	if (c) return c;
	if (x->client != y->client) return x->client ? 1 : -1;
	return strcmp(x->endpoint, y->endpoint);
}

void inventory_print(const struct inventory *inv, FILE *fp)
{
	size_t n = strmap_count(inv->entries);
	if (!n) return;
	const struct inv_entry **v = malloc(n * sizeof *v);
	if (!v) return;
	for (size_t i = 0; i < n; i++) v[i] = strmap_at(inv->entries, i);
	qsort(v, n, sizeof *v, cmp_entries);
	fprintf(fp, "\nENDPOINTS (what each presented)\n");
	char buf[512];
	for (size_t i = 0; i < n; i++) {
		const struct inv_entry *e = v[i];
		const struct x509_info *c = e->leaf;
		fprintf(fp, "\n  %s as %s, %llu connection%s\n", e->endpoint, e->client ? "client" : "server",
			(unsigned long long)e->conns, e->conns == 1 ? "" : "s");
		fprintf(fp, "    serial %s  eku %s%s\n", sanitize_str(c->serial_hex, buf, sizeof buf),
			c->parsed ? c->eku : "(unparsable)", e->public_ca ? "  (public CA)" : "");
		if (c->parsed) {
			fprintf(fp, "    subject %s\n", sanitize_str(c->subject, buf, sizeof buf));
			fprintf(fp, "    issuer  %s\n", sanitize_str(c->issuer, buf, sizeof buf));
			if (c->have_validity) {
				char nb[32], na[32];
				ek_unix_str(c->not_before, nb, sizeof nb);
				ek_unix_str(c->not_after, na, sizeof na);
				fprintf(fp, "    valid   %s .. %s\n", nb, na);
			}
		}
	}
	free(v);
}
