/* The findings CSV (--findings): one row per finding raised. */
#include "findings.h"
#include "findings_int.h"

#include "csv_out.h"

static const char *const csv_cols[] = {
	"code", "severity", "file", "frame", "conn", "client", "server", "role", "cert_serial", "cert_subject",
	"message",
};

struct csv_out *findings_csv_open(const char *path, bool atomic, char *err, size_t errn)
{
	struct csv_out *c = csv_out_open(path, atomic, err, errn);
	if (c) csv_out_row(c, csv_cols, sizeof csv_cols / sizeof csv_cols[0]);
	return c;
}

void findings_csv_row(struct csv_out *csv, const struct finding_def *d, const char *file, const struct tls_event *ev,
		      const char *role, const struct x509_info *cert, const char *msg)
{
	const struct tls_conn_view *v = ev->conn;
	char client[EK_ENDPOINT_STRLEN], server[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&v->client, true, client, sizeof client);
	ek_endpoint_str(&v->server, true, server, sizeof server);
	csv_out_field(csv, d->name);
	csv_out_field(csv, severity_name(d->severity));
	csv_out_field(csv, file);
	csv_out_fieldf(csv, "%llu", (unsigned long long)ev->pkt.frame);
	char cid[EK_CONN_ID_STRLEN];
	ek_conn_id_str(v->id, cid, sizeof cid);
	csv_out_field(csv, cid);
	csv_out_field(csv, client);
	csv_out_field(csv, server);
	csv_out_field(csv, role);
	csv_out_field(csv, cert ? cert->serial_hex : "");
	csv_out_field(csv, cert ? cert->subject : "");
	csv_out_field(csv, msg);
	csv_out_end_row(csv);
}
