#include "out_timeline_text.h"

#include "../common/connid.h"

#include <string.h>

#include "../common/netaddr.h"
#include "sanitize.h"

static void write_row(void *ctx, const struct row *r)
{
	struct timeline_text *tt = ctx;
	FILE *fp = tt->fp;
	char buf[1024];

	if (r->cert_index <= 0) {
		char ts[EK_TIME_STRLEN];
		ek_time_str(r->ts, ts, sizeof ts);
		/* "2026-03-24T11:54:26.106123Z" -> time of day only; the date is in the summary */
		const char *tod = strchr(ts, 'T');
		tod = tod ? tod + 1 : ts;
		const char *from = r->client, *to = r->server;
		if (strcmp(r->sender, "server") == 0) {
			from = r->server;
			to = r->client;
		}
		if (tt->show_file) fprintf(fp, "%s:", sanitize_str(r->file, buf, sizeof buf));
		char cid[EK_CONN_ID_STRLEN];
		ek_conn_id_str(r->conn, cid, sizeof cid);
		/* "c12" for TCP connection 12, "u3" for UDP flow 3 */
		fprintf(fp, "%-6llu %s %s%s %s %s %s  %-6s %s", (unsigned long long)r->frame, tod,
			(r->conn & EK_CONN_UDP) ? "" : "c", cid, from, *r->sender ? "->" : "--", to, r->version, r->event);
		if (*r->detail) fprintf(fp, "  %s", sanitize_str(r->detail, buf, sizeof buf));
		if (r->n_findings) {
			char fs[ROW_FINDINGS_LEN];
			row_findings_str(r, fs);
			fprintf(fp, "  [%s]", fs);
		}
		fputc('\n', fp);
	}
	if (r->cert_index >= 0 && r->cert) {
		const struct x509_info *c = r->cert;
		if (!c->parsed) {
			char hex[65];
			x509_sha256_hex(c, hex);
			fprintf(fp, "         cert[%d] unparsable, %zu bytes, sha256 %s\n", r->cert_index, c->der_len, hex);
		} else {
			char nb[32] = "?", na[32] = "?";
			if (c->have_validity) {
				ek_unix_str(c->not_before, nb, sizeof nb);
				ek_unix_str(c->not_after, na, sizeof na);
			}
			fprintf(fp, "         cert[%d] serial %s  eku %s\n", r->cert_index,
				sanitize_str(c->serial_hex, buf, sizeof buf), c->eku);
			fprintf(fp, "                 subject %s\n", sanitize_str(c->subject, buf, sizeof buf));
			fprintf(fp, "                 issuer  %s\n", sanitize_str(c->issuer, buf, sizeof buf));
			fprintf(fp, "                 valid   %s .. %s\n", nb, na);
		}
	}
}

struct row_writer timeline_text_writer(struct timeline_text *tt)
{
	struct row_writer w = { tt, write_row };
	return w;
}
