#include "out_certs_csv.h"

#include <string.h>

#include "../common/decimal.h"
#include "../common/strbuf.h"
#include "cert_columns.h"
#include "csv_out.h"

static const char *const columns[] = {
	"endpoint", "role", "cert_serial", "cert_subject", "cert_issuer", "cert_san", "cert_eku",
	"cert_key_usage", "cert_not_before", "cert_not_after", "cert_sha256", "chain_serials", "public_ca",
	"conns", "first_frame", "last_frame", "findings",
};

/* e's row into row (each field after a ','). */
static void entry_row(struct ek_str *row, const struct inventory *inv, struct inv_entry *e, char *const *names,
		      uint32_t n_files)
{
	char t[300];
	inventory_endpoint(e, t);
	csv_append_field(row, t);
	csv_append_field(row, e->client ? "client" : "server");
	cert_columns(row, e->leaf, CERT_COLS_INVENTORY);
	csv_append_field(row, e->chain->serials);
	csv_append_field(row, inventory_public_ca(inv, e) ? "yes" : "no");
	*ek_put_u64(t, (unsigned long long)e->conns) = '\0';
	csv_append_field(row, t);
	inventory_frame_ref(t, sizeof t, names, n_files, e->first_file, e->first_frame);
	csv_append_field(row, t);
	inventory_frame_ref(t, sizeof t, names, n_files, e->last_file, e->last_frame);
	csv_append_field(row, t);
	/* the codes' names, ';'-joined */
	char codes[F_COUNT * 48] = "", *o = codes;
	for (int k = 0; k < F_COUNT; k++) {
		if (!(e->codes & (1u << k))) continue;
		const char *name = finding_def((enum finding_code)k)->name;
		size_t l = strlen(name);
		if (o + l + 2 > codes + sizeof codes) break;
		if (o != codes) *o++ = ';';
		memcpy(o, name, l);
		o += l;
		*o = '\0';
	}
	csv_append_field(row, codes);
}

int certs_csv_write(const struct inventory *inv, const char *path, char *const *file_names, uint32_t n_files,
		    char *err, size_t errn)
{
	struct csv_out *o = csv_out_open(path, true, err, errn);
	if (!o) return -1;
	csv_out_row(o, columns, sizeof columns / sizeof columns[0]);
	struct ek_str row = { 0 };
	for (size_t i = 0; i < inventory_count(inv); i++) {
		ek_str_clear(&row);
		entry_row(&row, inv, inventory_at(inv, i), file_names, n_files);
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
	return csv_out_close(o, true, err, errn);
}
