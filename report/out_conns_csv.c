#include "../common/connid.h"
#include "out_conns_csv.h"

#include <stdio.h>
#include <string.h>

#include "findings_table.h"

static const char *const columns[] = {
	"file", "conn", "first_frame", "last_frame", "client", "server", "sni", "alpn", "offered_versions",
	"version", "cipher", "cert_request", "cert_request_cas", "client_cert_serial", "client_cert_eku",
	"client_cert_issuer", "server_cert_serial", "server_cert_eku", "server_cert_issuer", "outcome",
	"outcome_detail", "findings",
};

void conns_csv_header(struct csv_out *o)
{
	csv_out_row(o, columns, sizeof columns / sizeof columns[0]);
}

void conn_codes_str(unsigned codes, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int c = 0; c < F_COUNT; c++) {
		if (!(codes & 1u << c)) continue;
		int w = snprintf(buf + len, n - len, "%s%s", len ? ";" : "", finding_def((enum finding_code)c)->name);
		if (w < 0 || (size_t)w >= n - len) break;
		len += (size_t)w;
	}
}

static void leaf_fields(struct csv_out *o, const struct x509_info *x)
{
	csv_out_field(o, x ? x->serial_hex : "");
	csv_out_field(o, x ? x->eku : "");
	csv_out_field(o, x ? x->issuer : "");
}

void conns_csv_row(void *ctx, const struct conn_info *ci)
{
	struct csv_out *o = ctx;
	csv_out_field(o, ci->file);
	char id[EK_CONN_ID_STRLEN];
	ek_conn_id_str(ci->id, id, sizeof id);
	csv_out_field(o, id);
	csv_out_fieldf(o, "%llu", (unsigned long long)ci->first_frame);
	csv_out_fieldf(o, "%llu", (unsigned long long)ci->last_frame);
	csv_out_field(o, ci->client);
	csv_out_field(o, ci->server);
	csv_out_field(o, ci->sni ? ci->sni : "");
	csv_out_field(o, ci->alpn ? ci->alpn : "");
	csv_out_field(o, ci->offered);
	csv_out_field(o, ci->version);
	csv_out_field(o, ci->cipher);
	csv_out_field(o, ci->cert_request ? "yes" : "no");
	if (ci->cert_request) csv_out_fieldf(o, "%u", ci->n_ca_names);
	else csv_out_field(o, "");
	leaf_fields(o, ci->leaf[0]);
	leaf_fields(o, ci->leaf[1]);
	csv_out_field(o, conn_outcome_name(ci->outcome));
	csv_out_field(o, ci->outcome_detail);
	char codes[400];
	conn_codes_str(ci->codes, codes, sizeof codes);
	csv_out_field(o, codes);
	csv_out_end_row(o);
}
