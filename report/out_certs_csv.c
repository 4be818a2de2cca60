#include "out_certs_csv.h"

#include <stdlib.h>
#include <string.h>

#include "../common/decimal.h"
#include "../common/hash.h"
#include "../common/strbuf.h"
#include "cert_columns.h"
#include "csv_out.h"

static const char *const columns[] = {
	"endpoint", "role", "cert_serial", "cert_subject", "cert_issuer", "cert_san", "cert_eku",
	"cert_key_usage", "cert_not_before", "cert_not_after", "cert_sha256", "chain_serials", "public_ca",
	"conns", "first_frame", "last_frame", "findings",
};

/* ---- each distinct leaf's columns rendered once -------------------------- */

/* A leaf has an entry per endpoint that presented it (nine on average on
 * bench/'s recurring certificates): its certificate columns, the escaping
 * of its names most of all, are rendered at its first row and kept until
 * its last, counted by a first pass.  A leaf with one row keeps nothing. */
struct leaf_slot {
	const struct x509_info *leaf; /* NULL: empty */
	uint32_t left;                /* its rows not yet written */
	uint32_t text;                /* index + 1 in leaf_cols.text, 0: not rendered */
};

struct leaf_cols {
	struct leaf_slot *slots;      /* open addressing on the leaf's address */
	size_t nslots, n;
	struct ek_str *text;          /* rendered columns, freed after the leaf's last row */
	size_t n_text, cap_text;
	struct cert_cols_memo *fields; /* the leaves' shared names escaped once (NULL: none) */
};

static struct leaf_slot *leaf_slot(const struct leaf_cols *m, const struct x509_info *leaf)
{
	size_t mask = m->nslots - 1;
	for (size_t i = (size_t)ek_mix64((uint64_t)(uintptr_t)leaf) & mask;; i = (i + 1) & mask)
		if (!m->slots[i].leaf || m->slots[i].leaf == leaf) return &m->slots[i];
}

/* Counts one row of leaf; false when out of memory. */
static bool leaf_count(struct leaf_cols *m, const struct x509_info *leaf)
{
	if (4 * (m->n + 1) > 3 * m->nslots) {
		size_t ns = m->nslots ? m->nslots * 2 : 1024;
		struct leaf_cols g = { .slots = calloc(ns, sizeof *g.slots), .nslots = ns };
		if (!g.slots) return false;
		for (size_t i = 0; i < m->nslots; i++)
			if (m->slots[i].leaf) *leaf_slot(&g, m->slots[i].leaf) = m->slots[i];
		free(m->slots);
		m->slots = g.slots;
		m->nslots = g.nslots;
	}
	struct leaf_slot *s = leaf_slot(m, leaf);
	if (!s->leaf) {
		s->leaf = leaf;
		m->n++;
	}
	s->left++;
	return true;
}

static void leaf_cols_free(struct leaf_cols *m)
{
	for (size_t i = 0; i < m->n_text; i++) ek_str_free(&m->text[i]);
	free(m->text);
	free(m->slots);
	if (m->fields) cert_cols_memo_free(m->fields);
	free(m->fields);
}

/* leaf's columns appended to row: from the memo when it has them (m NULL:
 * rendered).  The inventory holds every leaf while the CSV is written, so
 * their strings stay put (cert_columns_memo). */
static void leaf_columns(struct ek_str *row, struct leaf_cols *m, const struct x509_info *leaf)
{
	struct leaf_slot *s = m && m->slots ? leaf_slot(m, leaf) : NULL;
	if (!s || !s->leaf) {
		cert_columns_memo(row, leaf, CERT_COLS_INVENTORY, m ? m->fields : NULL);
		return;
	}
	s->left--;
	if (!s->text && s->left) {
		/* the first of several rows: render into the memo */
		if (m->n_text == m->cap_text) {
			size_t nc = m->cap_text ? m->cap_text * 2 : 256;
			struct ek_str *v = realloc(m->text, nc * sizeof *v);
			if (v) {
				m->text = v;
				m->cap_text = nc;
			}
		}
		if (m->n_text < m->cap_text) {
			struct ek_str *t = &m->text[m->n_text];
			*t = (struct ek_str){ NULL, 0, 0, false };
			cert_columns_memo(t, leaf, CERT_COLS_INVENTORY, m->fields);
			if (t->oom) ek_str_free(t);
			else s->text = (uint32_t)++m->n_text;
		}
	}
	if (!s->text) {
		cert_columns_memo(row, leaf, CERT_COLS_INVENTORY, m->fields);
		return;
	}
	struct ek_str *t = &m->text[s->text - 1];
	ek_str_put(row, t->s, t->len);
	if (!s->left) ek_str_free(t);
}

/* ---- rows ---------------------------------------------------------------- */

/* ',' and s[0..n) as it is: for fields that never need escaping (digits,
 * fixed words, addresses, the codes' names), what csv_append_field would
 * write without the scan.  put_plain at o, in room the caller reserved;
 * past them. */
static inline char *put_plain(char *o, const char *s, size_t n)
{
	*o++ = ',';
	memcpy(o, s, n);
	return o + n;
}

static void plain_field(struct ek_str *row, const char *s, size_t n)
{
	char *o = ek_str_reserve(row, n + 1);
	if (o) ek_str_commit(row, put_plain(o, s, n));
}

/* A frame reference: digits alone for one file, else with the file's
 * name (escaped). */
static void frame_field(struct ek_str *row, char *const *names, uint32_t n_files, uint32_t file, uint64_t frame)
{
	char t[300];
	inventory_frame_ref(t, sizeof t, names, n_files, file, frame);
	if (n_files > 1) csv_append_field(row, t);
	else plain_field(row, t, strlen(t));
}

/* e's row into row (each field after a ',').  The fields that are never
 * escaped go in without csv_append_field's scan. */
static void entry_row(struct ek_str *row, const struct inventory *inv, struct inv_entry *e, struct leaf_cols *m,
		      char *const *names, uint32_t n_files)
{
	char t[EK_ENDPOINT_STRLEN + EK_U64_DIGITS];
	inventory_endpoint(e, t);
	char *o = ek_str_reserve(row, sizeof t + 8);
	if (!o) return;
	o = put_plain(o, t, strlen(t));
	o = put_plain(o, e->client ? "client" : "server", 6);
	ek_str_commit(row, o);
	leaf_columns(row, m, e->leaf);
	csv_append_field(row, e->chain->serials);
	bool pub = inventory_public_ca(inv, e);
	/* the codes' names, ';'-joined */
	char codes[F_COUNT * 48], *c = codes;
	for (int k = 0; k < F_COUNT; k++) {
		if (!(e->codes & (1u << k))) continue;
		const char *name = finding_def((enum finding_code)k)->name;
		size_t l = strlen(name);
		if (c + l + 2 > codes + sizeof codes) break;
		if (c != codes) *c++ = ';';
		memcpy(c, name, l);
		c += l;
	}
	/* ",yes," or ",no," and the count, then the frame references (escaped
	 * when they name files) and the codes */
	o = ek_str_reserve(row, 5 + EK_U64_DIGITS);
	if (!o) return;
	o = put_plain(o, pub ? "yes" : "no", pub ? 3 : 2);
	*o++ = ',';
	ek_str_commit(row, ek_put_u64(o, (unsigned long long)e->conns));
	frame_field(row, names, n_files, e->first_file, e->first_frame);
	frame_field(row, names, n_files, e->last_file, e->last_frame);
	plain_field(row, codes, (size_t)(c - codes));
}

int certs_csv_write(const struct inventory *inv, const char *path, char *const *file_names, uint32_t n_files,
		    char *err, size_t errn)
{
	struct csv_out *o = csv_out_open(path, true, err, errn);
	return o ? certs_csv_write_to(o, inv, file_names, n_files, err, errn) : -1;
}

int certs_csv_write_to(struct csv_out *o, const struct inventory *inv, char *const *file_names, uint32_t n_files,
		       char *err, size_t errn)
{
	csv_out_row(o, columns, sizeof columns / sizeof columns[0]);
	struct leaf_cols memo = { .fields = calloc(1, sizeof *memo.fields) }, *m = &memo;
	for (size_t i = 0; m && i < inventory_count(inv); i++)
		if (!leaf_count(m, inventory_at(inv, i)->leaf)) m = NULL; /* out of memory: rendered each time */
	struct ek_str row = { 0 };
	for (size_t i = 0; i < inventory_count(inv); i++) {
		ek_str_clear(&row);
		entry_row(&row, inv, inventory_at(inv, i), m, file_names, n_files);
		char *p = row.oom ? NULL : csv_out_row_reserve(o, row.len);
		if (!p) {
			csv_out_fail(o);
			break;
		}
		/* the row without the ',' before its first field, and a newline */
		memcpy(p, row.s + 1, row.len - 1);
		p[row.len - 1] = '\n';
		csv_out_row_commit(o, p + row.len);
	}
	ek_str_free(&row);
	leaf_cols_free(&memo);
	return csv_out_close(o, true, err, errn);
}
