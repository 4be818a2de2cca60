#include "timeline_csv.h"

#include "../common/netaddr.h"

static const char *const columns[] = {
	"file", "frame", "time", "conn", "client", "server", "sender", "version", "event", "detail",
	"cert_index", "cert_serial", "cert_subject", "cert_issuer", "cert_eku", "cert_not_before",
	"cert_not_after", "cert_sha256", "findings",
};

/* csv_out_fieldf(o, "%llu", v) without printf. */
static void field_u64(struct csv_out *o, unsigned long long v)
{
	char t[24], *p = t + sizeof t;
	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	csv_out_field(o, p);
}

static void write_row(void *ctx, const struct row *r)
{
	struct csv_out *o = ctx;
	char ts[EK_TIME_STRLEN];
	ek_time_str(r->ts, ts, sizeof ts);
	csv_out_field(o, r->file);
	field_u64(o, (unsigned long long)r->frame);
	csv_out_field(o, ts);
	field_u64(o, (unsigned long long)r->conn);
	csv_out_field(o, r->client);
	csv_out_field(o, r->server);
	csv_out_field(o, r->sender);
	csv_out_field(o, r->version);
	csv_out_field(o, r->event);
	csv_out_field(o, r->detail);
	if (r->cert_index >= 0 && r->cert) {
		const struct x509_info *c = r->cert;
		char nb[32] = "", na[32] = "";
		if (c->have_validity) {
			ek_unix_str(c->not_before, nb, sizeof nb);
			ek_unix_str(c->not_after, na, sizeof na);
		}
		field_u64(o, (unsigned long long)r->cert_index); /* >= 0 here */
		csv_out_field(o, c->serial_hex);
		csv_out_field(o, c->parsed ? c->subject : "(unparsable certificate)");
		csv_out_field(o, c->issuer);
		csv_out_field(o, c->parsed ? c->eku : "");
		csv_out_field(o, nb);
		csv_out_field(o, na);
		csv_out_field(o, c->sha256_hex);
	} else {
		csv_out_empty(o, 8);
	}
	csv_out_field(o, r->findings);
	csv_out_end_row(o);
}

struct row_writer timeline_csv_writer(struct csv_out *out)
{
	csv_out_row(out, columns, sizeof columns / sizeof columns[0]);
	struct row_writer w = { out, write_row };
	return w;
}
