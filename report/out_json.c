#include "../common/connid.h"
#include "out_json.h"

#include <stdlib.h>
#include <string.h>

#include "findings_table.h"
#include "json_out.h"
#include "out_conns_csv.h"

/* ekuscope.conn is always a string ("12", UDP "u3"): one type for the index mapping. */
static void jw_conn(struct jw *w, uint64_t id)
{
	char buf[EK_CONN_ID_STRLEN];
	ek_conn_id_str(id, buf, sizeof buf);
	jw_str(w, "conn", buf);
}

struct json_writer {
	FILE *fp;
	bool flush_each;
	bool failed;
	struct jw w;
	struct ek_time last_ts;      /* the latest time seen: the summary's @timestamp */
	bool have_ts;
	uint64_t by_sev[3];
};

struct json_writer *json_writer_new(FILE *fp, bool flush_each)
{
	struct json_writer *j = calloc(1, sizeof *j);
	if (!j) return NULL;
	j->fp = fp;
	j->flush_each = flush_each;
	return j;
}

void json_writer_free(struct json_writer *j)
{
	if (!j) return;
	jw_free(&j->w);
	free(j);
}

int json_writer_status(const struct json_writer *j)
{
	return j->failed ? -1 : 0;
}

static void end_line(struct json_writer *j)
{
	if (jw_end_line(&j->w, j->fp) != 0) j->failed = true;
	if (j->flush_each) fflush(j->fp);
}

static void see_time(struct json_writer *j, struct ek_time t)
{
	if (!j->have_ts || t.sec > j->last_ts.sec || (t.sec == j->last_ts.sec && t.nsec > j->last_ts.nsec)) j->last_ts = t;
	j->have_ts = true;
}

static void timestamp(struct json_writer *j, struct ek_time t)
{
	char s[EK_TIME_STRLEN];
	ek_time_str(t, s, sizeof s);
	jw_str(&j->w, "@timestamp", s);
}

/* event.* : kind, category, dataset (ekuscope.<what>), action. */
static void event_obj(struct jw *w, const char *kind, const char *what, const char *action)
{
	char ds[48];
	snprintf(ds, sizeof ds, "ekuscope.%s", what);
	jw_obj(w, "event");
	jw_str(w, "kind", kind);
	jw_arr(w, "category");
	jw_str(w, NULL, "network");
	jw_close(w);
	jw_str(w, "module", "ekuscope");
	jw_str(w, "dataset", ds);
	if (action) jw_str(w, "action", action);
	jw_close(w);
}

/* source/destination {ip, port} from "ip:port" / "[v6]:port" texts. */
static void endpoint_text(struct jw *w, const char *key, const char *s, size_t n)
{
	const char *colon = NULL;
	for (size_t i = n; i-- > 0;)
		if (s[i] == ':') {
			colon = s + i;
			break;
		}
	if (!n || !colon) return;
	const char *ip = s;
	size_t iplen = (size_t)(colon - s);
	if (iplen >= 2 && ip[0] == '[' && ip[iplen - 1] == ']') {
		ip++;
		iplen -= 2;
	}
	jw_obj(w, key);
	jw_strn(w, "ip", ip, iplen);
	jw_u64(w, "port", strtoull(colon + 1, NULL, 10));
	jw_close(w);
}

/* The transport follows the conn id: UDP flows (DTLS, OpenVPN over UDP) are "u<N>". */
static void endpoints(struct jw *w, uint64_t id, const char *client, size_t cl, const char *server,
		      size_t sl)
{
	endpoint_text(w, "source", client, cl);
	endpoint_text(w, "destination", server, sl);
	jw_obj(w, "network");
	jw_str(w, "transport", (id & EK_CONN_UDP) ? "udp" : "tcp");
	jw_str(w, "protocol", "tls");
	jw_close(w);
}

static void endpoints_ep(struct jw *w, uint64_t id, const struct ek_endpoint *c,
			 const struct ek_endpoint *s)
{
	char ct[EK_ENDPOINT_STRLEN], st[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(c, true, ct, sizeof ct);
	ek_endpoint_str(s, true, st, sizeof st);
	endpoints(w, id, ct, strlen(ct), st, strlen(st));
}

/* tls.version "1.2" and tls.version_protocol "tls" from "TLS1.2" (also
 * "SSL3.0" -> "3.0", "ssl"; "DTLS1.2" -> "1.2", "dtls"). */
static void tls_version(struct jw *w, const char *v)
{
	static const char *const protos[] = { "DTLS", "TLS", "SSL" };
	for (size_t i = 0; v && i < 3; i++) {
		size_t n = strlen(protos[i]);
		if (strncmp(v, protos[i], n) || !v[n]) continue;
		char proto[5];
		for (size_t k = 0; k <= n; k++) proto[k] = (char)(protos[i][k] | (k < n ? 0x20 : 0));
		jw_str(w, "version", v + n);
		jw_str(w, "version_protocol", proto);
		return;
	}
}

static void upper_hex(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; src[i] && i + 1 < n; i++) dst[i] = src[i] >= 'a' && src[i] <= 'f' ? (char)(src[i] - 32) : src[i];
	dst[i] = '\0';
}

/* x509: {...}, hash: {sha256} of one certificate, in an open tls.<role>. */
static void x509_members(struct jw *w, const struct x509_info *x)
{
	jw_obj(w, "x509");
	if (x->parsed) {
		char serial[512];
		upper_hex(serial, x->serial_hex, sizeof serial);
		jw_str(w, "serial_number", serial);
		jw_obj(w, "subject");
		jw_str(w, "distinguished_name", x->subject);
		jw_close(w);
		jw_obj(w, "issuer");
		jw_str(w, "distinguished_name", x->issuer);
		jw_close(w);
		if (x->have_validity) {
			char t[EK_TIME_STRLEN];
			ek_unix_str(x->not_before, t, sizeof t);
			jw_str(w, "not_before", t);
			ek_unix_str(x->not_after, t, sizeof t);
			jw_str(w, "not_after", t);
		}
		if (*x->san) {
			jw_arr(w, "alternative_names");
			for (const char *p = x->san;;) {
				const char *e = strchr(p, ';');
				size_t n = e ? (size_t)(e - p) : strlen(p);
				/* ECS wants the names: DNS:/IP: prefixes off, other kinds kept */
				if (n > 4 && !memcmp(p, "DNS:", 4)) jw_strn(w, NULL, p + 4, n - 4);
				else if (n > 3 && !memcmp(p, "IP:", 3)) jw_strn(w, NULL, p + 3, n - 3);
				else jw_strn(w, NULL, p, n);
				if (!e) break;
				p = e + 1;
			}
			jw_close(w);
		}
	}
	jw_close(w);
	char hex[65], h[65];
	x509_sha256_hex(x, hex);
	upper_hex(h, hex, sizeof h);
	jw_obj(w, "hash");
	jw_str(w, "sha256", h);
	jw_close(w);
}

static void x509_obj(struct jw *w, const char *role, const struct x509_info *x)
{
	jw_obj(w, role);
	x509_members(w, x);
	jw_close(w);
}

/* ekuscope.cert: what ECS has no field for. */
static void ek_cert(struct jw *w, const struct x509_info *x, int index)
{
	jw_obj(w, "cert");
	if (index >= 0) jw_u64(w, "index", (unsigned)index);
	if (x->parsed) {
		jw_list(w, "eku", x->eku, ';');
		jw_list(w, "key_usage", x->key_usage, ';');
	} else {
		jw_bool(w, "unparsable", true);
	}
	jw_close(w);
}

void json_write_row(void *ctx, const struct row *r)
{
	struct json_writer *j = ctx;
	struct jw *w = &j->w;
	see_time(j, r->ts);
	jw_begin(w);
	timestamp(j, r->ts);
	event_obj(w, "event", "timeline", r->event);
	endpoints(w, r->conn, r->client, r->client_len, r->server, r->server_len);
	bool cert = r->cert_index >= 0 && r->cert && (!strcmp(r->sender, "client") || !strcmp(r->sender, "server"));
	if (*r->version || cert) {
		jw_obj(w, "tls");
		tls_version(w, r->version);
		if (cert) x509_obj(w, r->sender, r->cert);
		jw_close(w);
	}
	jw_obj(w, "ekuscope");
	jw_str(w, "file", r->file);
	jw_u64(w, "frame", r->frame);
	jw_conn(w, r->conn);
	jw_str(w, "event", r->event);
	if (*r->sender) jw_str(w, "role", r->sender);
	if (r->detail_len) jw_strn(w, "detail", r->detail, r->detail_len);
	if (cert) ek_cert(w, r->cert, r->cert_index);
	if (r->n_findings) {
		char f[ROW_FINDINGS_LEN];
		row_findings_str(r, f);
		jw_list(w, "findings", f, ';');
	}
	jw_close(w);
	end_line(j);
}

void json_write_finding(struct json_writer *j, const struct finding_rec *f)
{
	struct jw *w = &j->w;
	const struct finding_def *d = finding_def(f->code);
	const struct tls_conn_view *v = f->ev->conn;
	j->by_sev[d->severity]++;
	see_time(j, f->ev->pkt.ts);
	jw_begin(w);
	timestamp(j, f->ev->pkt.ts);
	event_obj(w, "alert", "finding", d->name);
	jw_str(w, "message", f->message);
	endpoints_ep(w, v->id, &v->client, &v->server);
	bool role = f->cert && (!strcmp(f->role, "client") || !strcmp(f->role, "server"));
	if (role) {
		jw_obj(w, "tls");
		x509_obj(w, f->role, f->cert);
		jw_close(w);
	}
	jw_obj(w, "ekuscope");
	jw_str(w, "file", f->file);
	jw_u64(w, "frame", f->ev->pkt.frame);
	jw_conn(w, v->id);
	jw_str(w, "event", "finding");
	if (*f->role) jw_str(w, "role", f->role);
	jw_obj(w, "finding");
	jw_str(w, "code", d->name);
	jw_str(w, "severity", severity_name(d->severity));
	jw_close(w);
	if (f->cert) ek_cert(w, f->cert, -1);
	jw_close(w);
	end_line(j);
}

void json_write_conn(struct json_writer *j, const struct conn_info *ci)
{
	struct jw *w = &j->w;
	jw_begin(w);
	timestamp(j, ci->first_ts);
	event_obj(w, "state", "connection", conn_outcome_name(ci->outcome));
	endpoints_ep(w, ci->id, &ci->client_ep, &ci->server_ep);
	jw_obj(w, "tls");
	tls_version(w, ci->version);
	if (ci->cipher[0]) jw_str(w, "cipher", ci->cipher);
	jw_bool(w, "established", ci->outcome == OUTCOME_COMPLETED);
	if (ci->sni || ci->leaf[0]) {
		jw_obj(w, "client");
		if (ci->sni) jw_str(w, "server_name", ci->sni);
		if (ci->leaf[0]) x509_members(w, ci->leaf[0]);
		jw_close(w);
	}
	if (ci->leaf[1]) x509_obj(w, "server", ci->leaf[1]);
	jw_close(w);
	jw_obj(w, "ekuscope");
	jw_str(w, "file", ci->file);
	jw_conn(w, ci->id);
	jw_str(w, "event", "connection");
	jw_u64(w, "first_frame", ci->first_frame);
	jw_u64(w, "last_frame", ci->last_frame);
	jw_list(w, "offered_versions", ci->offered, ';');
	jw_list(w, "alpn_offered", ci->alpn, ',');
	jw_bool(w, "cert_request", ci->cert_request);
	if (ci->cert_request) jw_u64(w, "cert_request_cas", ci->n_ca_names);
	jw_str(w, "outcome", conn_outcome_name(ci->outcome));
	if (ci->outcome_detail[0]) jw_str(w, "outcome_detail", ci->outcome_detail);
	static const char *const keys[2] = { "client_cert", "server_cert" };
	for (int i = 0; i < 2; i++) {
		if (!ci->leaf[i] || !ci->leaf[i]->parsed) continue;
		jw_obj(w, keys[i]);
		jw_list(w, "eku", ci->leaf[i]->eku, ';');
		jw_close(w);
	}
	char codes[400];
	conn_codes_str(ci->codes, codes, sizeof codes);
	jw_list(w, "findings", codes, ';');
	jw_close(w);
	end_line(j);
}

void json_write_summary(struct json_writer *j, const struct analysis_totals *t)
{
	struct jw *w = &j->w;
	jw_begin(w);
	if (j->have_ts) timestamp(j, j->last_ts);
	event_obj(w, "metric", "summary", NULL);
	jw_obj(w, "ekuscope");
	jw_str(w, "event", "summary");
	jw_obj(w, "summary");
	jw_u64(w, "files", t->files);
	jw_u64(w, "packets", t->packets);
	jw_u64(w, "tcp_connections", t->tcp_conns);
	jw_u64(w, "tls_connections", t->tls_conns);
	jw_obj(w, "handshakes");
	jw_u64(w, "completed", t->handshakes_complete);
	jw_u64(w, "failed", t->handshakes_failed);
	jw_u64(w, "outcome_not_visible", t->handshakes_unknown);
	jw_close(w);
	jw_obj(w, "findings");
	jw_u64(w, "error", j->by_sev[SEV_ERROR]);
	jw_u64(w, "warning", j->by_sev[SEV_WARNING]);
	jw_u64(w, "info", j->by_sev[SEV_INFO]);
	jw_close(w);
	jw_u64(w, "missing_data_holes", t->gaps);
	jw_u64(w, "snaplen_cut_packets", t->snaplen_cut);
	jw_u64(w, "files_truncated", t->files_truncated);
	jw_u64(w, "connections_evicted", t->evicted);
	jw_u64(w, "records_decrypted", t->records_decrypted);
	jw_close(w);
	jw_close(w);
	end_line(j);
}
