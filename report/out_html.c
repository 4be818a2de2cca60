#include "../common/connid.h"
#include "out_html.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "findings_table.h"
#include "html_buf.h"
#include "out_conns_csv.h"

/* A group of failed handshakes that drew the same ladder (same client
 * address, server, messages, certificates and alert). */
struct ladder_group {
	char *key;
	uint64_t hash;
	uint64_t count;
	char *svg;                   /* the first one's figure */
};

struct msg_agg {
	char *msg;
	uint64_t count;
};

struct html_report {
	struct ladder_group *groups;
	size_t n_groups, cap_groups;
	uint64_t groups_untracked;   /* failed handshakes past HTML_MAX_GROUPS distinct ones */
	struct ek_str conns;         /* the connection table's rows */
	uint64_t n_conns, conns_left_out;
	struct msg_agg *msgs[F_COUNT];
	size_t n_msgs[F_COUNT];
	uint64_t msgs_more[F_COUNT], by_code[F_COUNT];
};

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em;color:#222}"
	"h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;margin-top:1.6em}"
	"table{border-collapse:collapse;width:100%;font-size:13px}td,th{border:1px solid #ddd;padding:3px 5px;"
	"text-align:left;vertical-align:top}th{background:#f3f3f3}#conns th{cursor:pointer}"
	".sev-error h3{color:#b00}.sev-warning h3{color:#a60}.sev-info h3{color:#357}"
	".finding{font-family:ui-monospace,monospace;font-size:12.5px}.why{margin:.3em 0 .3em 1em}"
	".badge{display:inline-block;border-radius:3px;padding:0 5px;margin:1px;font-size:12px;color:#fff}"
	".ok{background:#2a7}.no{background:#b33}.pub{background:#36a}.sunset{background:#c60}.priv{background:#777}"
	".mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}"
	"figure.ladder{margin:1em 0;border:1px solid #ddd;padding:.5em;overflow-x:auto}"
	"svg text{font:12px ui-monospace,monospace;fill:#222}svg text.msg{font-weight:bold}"
	"svg text.info{font-size:11px;fill:#555}svg line.lane{stroke:#999;stroke-width:2}"
	"svg line.arrow{stroke:#345;stroke-width:1.5}svg line.fatal{stroke:#c00;stroke-width:2.5}"
	"svg text.fatal{fill:#c00}svg text.lane{font-weight:bold}.note{color:#666}"
	".filters input,.filters select{margin-right:1em}.defs{position:absolute}";

static const char script[] =
	"(function(){var t=document.getElementById('conns');if(!t)return;"
	"var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);"
	"var fp=document.getElementById('f-port'),fs=document.getElementById('f-sni'),fo=document.getElementById('f-outcome');"
	"function apply(){var p=fp.value.trim(),s=fs.value.trim().toLowerCase(),o=fo.value;"
	"rows.forEach(function(r){var d=r.dataset;r.hidden=!((!p||d.port===p)&&(!s||d.sni.toLowerCase().indexOf(s)>=0)"
	"&&(!o||d.outcome===o));});}"
	"[fp,fs,fo].forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});"
	"Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){th.addEventListener('click',function(){"
	"var asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';var num=th.dataset.type==='num';"
	"rows.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent;"
	"var r=num?(parseFloat(a)||0)-(parseFloat(c)||0):a.localeCompare(c);return asc?r:-r;});"
	"rows.forEach(function(r){b.appendChild(r);});});});})();";

struct html_report *html_report_new(void)
{
	return calloc(1, sizeof(struct html_report));
}

void html_report_free(struct html_report *h)
{
	if (!h) return;
	for (size_t i = 0; i < h->n_groups; i++) {
		free(h->groups[i].key);
		free(h->groups[i].svg);
	}
	free(h->groups);
	ek_str_free(&h->conns);
	for (int c = 0; c < F_COUNT; c++) {
		for (size_t i = 0; i < h->n_msgs[c]; i++) free(h->msgs[c][i].msg);
		free(h->msgs[c]);
	}
	free(h);
}

static uint64_t fnv(const char *s)
{
	uint64_t x = 1469598103934665603ull;
	for (; *s; s++) x = (x ^ (unsigned char)*s) * 1099511628211ull;
	return x;
}

static double ms_since(struct ek_time a, struct ek_time b)
{
	return (double)(b.sec - a.sec) * 1e3 + ((double)b.nsec - (double)a.nsec) / 1e6;
}

/* The ladder figure of one connection. */
static void render_ladder(struct ek_str *b, const struct conn_info *ci, uint64_t more)
{
	enum { W = 980, XC = 250, XS = 880, ROW = 36, TOP = 56 };
	int n = ci->n_steps;
	int height = TOP + n * ROW + (ci->steps_dropped ? ROW : 10);
	char codes[400];
	conn_codes_str(ci->codes & ~(1u << F_HANDSHAKE_FAILED), codes, sizeof codes);
	char id[EK_CONN_ID_STRLEN];
	ek_conn_id_str(ci->id, id, sizeof id);
	hb_printf(b, "<figure class=\"ladder\" data-conn=\"%s\" data-file=\"", id);
	hb_esc(b, ci->file, 0);
	ek_str_puts(b, "\"><figcaption><b>");
	hb_esc(b, ci->file, 0);
	hb_printf(b, " conn %s</b>: ", id);
	hb_esc(b, ci->client, 0);
	ek_str_puts(b, " &#8594; ");
	hb_esc(b, ci->server, 0);
	if (ci->sni) {
		ek_str_puts(b, " (SNI ");
		hb_esc(b, ci->sni, 200);
		ek_str_puts(b, ")");
	}
	ek_str_puts(b, "<br>");
	hb_esc(b, ci->outcome_detail, 0);
	if (more) hb_printf(b, " <i>(and %llu more like it)</i>", (unsigned long long)more);
	hb_printf(b, "</figcaption><svg class=\"ladder\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		     "role=\"img\">", W, height, W, height);
	hb_printf(b, "<text x=\"4\" y=\"20\">frame</text><text x=\"64\" y=\"20\">+ms</text>"
		     "<text class=\"lane\" x=\"%d\" y=\"20\" text-anchor=\"middle\">client ", XC);
	hb_esc(b, ci->client, 0);
	hb_printf(b, "</text><text class=\"lane\" x=\"%d\" y=\"20\" text-anchor=\"end\">server ", XS);
	hb_esc(b, ci->server, 0);
	hb_printf(b, "</text><line class=\"lane\" x1=\"%d\" y1=\"30\" x2=\"%d\" y2=\"%d\"/>"
		     "<line class=\"lane\" x1=\"%d\" y1=\"30\" x2=\"%d\" y2=\"%d\"/>", XC, XC, height - 4, XS, XS, height - 4);
	struct ek_time t0 = n ? ci->steps[0].ts : ci->first_ts;
	for (int i = 0; i < n; i++) {
		const struct conn_step *s = &ci->steps[i];
		int y = TOP + i * ROW;
		bool from_client = s->sender != TLS_ROLE_SERVER;
		int x1 = from_client ? XC : XS, x2 = from_client ? XS : XC;
		const char *cls = s->fatal ? "fatal" : "arrow";
		hb_printf(b, "<g class=\"step\" data-frame=\"%llu\"><text x=\"4\" y=\"%d\">%llu</text>"
			     "<text x=\"64\" y=\"%d\">%.1f</text>",
			  (unsigned long long)s->frame, y + 4, (unsigned long long)s->frame, y + 4, ms_since(t0, s->ts));
		hb_printf(b, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" marker-end=\"url(#%s)\"/>", cls,
			  x1, y, x2 + (from_client ? -4 : 4), y, s->fatal ? "ahr" : "ah");
		hb_printf(b, "<text class=\"msg%s\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", s->fatal ? " fatal" : "",
			  (XC + XS) / 2, y - 5);
		hb_esc(b, s->name, 0);
		if (s->fatal && *codes) {
			ek_str_puts(b, " &#8594; ");
			hb_esc(b, codes, 0);
		}
		ek_str_puts(b, "</text>");
		if (s->info) {
			hb_printf(b, "<text class=\"info%s\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", s->fatal ? " fatal" : "",
				  (XC + XS) / 2, y + 13);
			hb_esc(b, s->info, 96);
			ek_str_puts(b, "</text>");
		}
		ek_str_puts(b, "</g>");
	}
	if (ci->steps_dropped)
		hb_printf(b, "<text class=\"info\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">... %u more messages</text>",
			  (XC + XS) / 2, TOP + n * ROW, ci->steps_dropped);
	ek_str_puts(b, "</svg></figure>\n");
}

static void add_ladder(struct html_report *h, const struct conn_info *ci)
{
	struct ek_str k = { 0 };
	/* the client by address: its port changes with every attempt */
	char cip[EK_ENDPOINT_STRLEN];
	ek_endpoint_str(&ci->client_ep, false, cip, sizeof cip);
	ek_str_puts(&k, cip);
	ek_str_puts(&k, "|");
	ek_str_puts(&k, ci->server);
	for (uint16_t i = 0; i < ci->n_steps; i++) {
		const struct conn_step *s = &ci->steps[i];
		hb_printf(&k, "|%d%s %s", (int)s->sender, s->name, s->info ? s->info : "");
	}
	if (k.oom || !k.s) {
		ek_str_free(&k);
		return;
	}
	uint64_t hash = fnv(k.s);
	for (size_t i = 0; i < h->n_groups; i++) {
		struct ladder_group *g = &h->groups[i];
		if (g->hash == hash && !strcmp(g->key, k.s)) {
			g->count++;
			ek_str_free(&k);
			return;
		}
	}
	if (h->n_groups == HTML_MAX_GROUPS) {
		h->groups_untracked++;
		ek_str_free(&k);
		return;
	}
	if (h->n_groups == h->cap_groups) {
		size_t nc = h->cap_groups ? h->cap_groups * 2 : 64;
		struct ladder_group *ng = realloc(h->groups, nc * sizeof *ng);
		if (!ng) {
			ek_str_free(&k);
			return;
		}
		h->groups = ng;
		h->cap_groups = nc;
	}
	struct ek_str svg = { 0 };
	render_ladder(&svg, ci, 0);
	h->groups[h->n_groups++] = (struct ladder_group){ k.s, hash, 1, svg.s };
}

static void add_conn_row(struct html_report *h, const struct conn_info *ci)
{
	if (h->n_conns >= HTML_MAX_CONN_ROWS) {
		h->conns_left_out++;
		return;
	}
	h->n_conns++;
	struct ek_str *b = &h->conns;
	hb_printf(b, "<tr data-port=\"%u\" data-outcome=\"%s\" data-sni=\"", ci->server_ep.port,
		  conn_outcome_name(ci->outcome));
	hb_esc(b, ci->sni ? ci->sni : "", 300);
	ek_str_puts(b, "\"><td>");
	hb_esc(b, ci->file, 0);
	char id[EK_CONN_ID_STRLEN];
	ek_conn_id_str(ci->id, id, sizeof id);
	hb_printf(b, "</td><td>%s</td><td>%llu</td><td>", id, (unsigned long long)ci->first_frame);
	hb_esc(b, ci->client, 0);
	ek_str_puts(b, "</td><td>");
	hb_esc(b, ci->server, 0);
	ek_str_puts(b, "</td><td class=\"mono\">");
	hb_esc(b, ci->sni ? ci->sni : "", 300);
	ek_str_puts(b, "</td><td>");
	hb_esc(b, ci->version, 0);
	ek_str_puts(b, "</td><td class=\"mono\">");
	hb_esc(b, ci->cipher, 0);
	for (int i = 0; i < 2; i++) {
		ek_str_puts(b, "</td><td class=\"mono serial\">");
		if (ci->leaf[i]) hb_esc(b, ci->leaf[i]->serial_hex, 0);
	}
	hb_printf(b, "</td><td>%s</td><td class=\"mono\">", conn_outcome_name(ci->outcome));
	char codes[400];
	conn_codes_str(ci->codes, codes, sizeof codes);
	hb_esc(b, codes, 0);
	ek_str_puts(b, "</td></tr>\n");
}

void html_report_conn(struct html_report *h, const struct conn_info *ci)
{
	add_conn_row(h, ci);
	if (ci->steps && ci->n_steps) add_ladder(h, ci);
}

/* One finding's message, counted with the same ones of its code. */
static void html_add_message(struct html_report *h, int c, const char *text)
{
	for (size_t i = 0; i < h->n_msgs[c]; i++)
		if (!strcmp(h->msgs[c][i].msg, text)) {
			h->msgs[c][i].count++;
			return;
		}
	if (h->n_msgs[c] == HTML_MAX_MESSAGES) {
		h->msgs_more[c]++;
		return;
	}
	if (!h->n_msgs[c] && !(h->msgs[c] = calloc(HTML_MAX_MESSAGES, sizeof *h->msgs[c]))) return;
	char *m = strdup(text);
	if (!m) return;
	h->msgs[c][h->n_msgs[c]++] = (struct msg_agg){ m, 1 };
}

void html_report_finding(struct html_report *h, const struct finding_rec *f)
{
	int c = (int)f->code;
	h->by_code[c]++;
	/* several inputs: "label: message", as the text report shows it */
	char *labelled = NULL;
	const char *text = f->message;
	if (f->label) {
		size_t n = strlen(f->label) + 2 + strlen(f->message) + 1;
		if ((labelled = malloc(n))) {
			snprintf(labelled, n, "%s: %s", f->label, f->message);
			text = labelled;
		}
	}
	html_add_message(h, c, text);
	free(labelled);
}

/* 'sha256-<base64>' of a piece of inline code, for the CSP. */
static void csp_hash(const char *s, char out[64])
{
	unsigned char md[32];
	unsigned len = 0;
	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	char b64[48];
	EVP_EncodeBlock((unsigned char *)b64, md, 32);
	snprintf(out, 64, "'sha256-%s'", b64);
}

static void summary(struct ek_str *b, const struct analysis_totals *t, const struct html_report *h)
{
	ek_str_puts(b, "<h2 id=\"summary\">Summary</h2><table class=\"summary\">");
	hb_printf(b, "<tr><th>files</th><td>%u</td></tr><tr><th>packets</th><td>%llu</td></tr>"
		     "<tr><th>TCP connections</th><td>%llu</td></tr><tr><th>TLS connections</th><td>%llu</td></tr>",
		  t->files, (unsigned long long)t->packets, (unsigned long long)t->tcp_conns,
		  (unsigned long long)t->tls_conns);
	hb_printf(b, "<tr><th>handshakes</th><td>%llu completed, %llu failed or incomplete, %llu outcome not visible"
		     "</td></tr>",
		  (unsigned long long)t->handshakes_complete, (unsigned long long)t->handshakes_failed,
		  (unsigned long long)t->handshakes_unknown);
	uint64_t sev[3] = { 0, 0, 0 };
	for (int c = 0; c < F_COUNT; c++) sev[finding_def((enum finding_code)c)->severity] += h->by_code[c];
	hb_printf(b, "<tr><th>findings</th><td>%llu errors, %llu warnings, %llu info</td></tr>",
		  (unsigned long long)sev[SEV_ERROR], (unsigned long long)sev[SEV_WARNING],
		  (unsigned long long)sev[SEV_INFO]);
	if (t->gaps || t->snaplen_cut)
		hb_printf(b, "<tr><th>missing data</th><td>%llu holes (%llu bytes), %llu packets cut by snaplen</td></tr>",
			  (unsigned long long)t->gaps, (unsigned long long)t->gap_bytes,
			  (unsigned long long)t->snaplen_cut);
	if (t->files_truncated) hb_printf(b, "<tr><th>truncated files</th><td>%u</td></tr>", t->files_truncated);
	if (t->evicted)
		hb_printf(b, "<tr><th>connections evicted</th><td>%llu</td></tr>", (unsigned long long)t->evicted);
	if (t->conns_keyed || t->records_decrypted)
		hb_printf(b, "<tr><th>decryption</th><td>%llu connections with keys, %llu records decrypted, %llu failed"
			     "</td></tr>",
			  (unsigned long long)t->conns_keyed, (unsigned long long)t->records_decrypted,
			  (unsigned long long)t->conns_decrypt_failed);
	ek_str_puts(b, "</table>\n");
}

static void findings_section(struct ek_str *b, const struct html_report *h)
{
	static const char *const titles[] = { "Info", "Warnings", "Errors" };
	static const char *const cls[] = { "info", "warning", "error" };
	ek_str_puts(b, "<h2 id=\"findings\">Findings</h2>\n");
	bool any = false;
	for (int sev = SEV_ERROR; sev >= SEV_INFO; sev--) {
		uint64_t n = 0;
		for (int c = 0; c < F_COUNT; c++)
			if ((int)finding_def((enum finding_code)c)->severity == sev) n += h->by_code[c];
		if (!n) continue;
		any = true;
		hb_printf(b, "<section class=\"sev-%s\"><h3>%s (%llu)</h3>\n", cls[sev], titles[sev], (unsigned long long)n);
		for (int c = 0; c < F_COUNT; c++) {
			const struct finding_def *d = finding_def((enum finding_code)c);
			if ((int)d->severity != sev || !h->by_code[c]) continue;
			hb_printf(b, "<div class=\"code\" data-code=\"%s\"><h4>%s</h4><ul>", d->name, d->name);
			for (size_t i = 0; i < h->n_msgs[c]; i++) {
				ek_str_puts(b, "<li class=\"finding\">");
				hb_esc(b, h->msgs[c][i].msg, 0);
				if (h->msgs[c][i].count > 1) hb_printf(b, " (x%llu)", (unsigned long long)h->msgs[c][i].count);
				ek_str_puts(b, "</li>");
			}
			if (h->msgs_more[c])
				hb_printf(b, "<li class=\"note\">%llu more (see --findings)</li>", (unsigned long long)h->msgs_more[c]);
			ek_str_puts(b, "</ul><p class=\"why\"><b>What it means:</b> ");
			hb_esc(b, d->explanation, 0);
			ek_str_puts(b, "</p><p class=\"why\"><b>What fixes it:</b> ");
			hb_esc(b, d->remedy, 0);
			ek_str_puts(b, "</p></div>\n");
		}
		ek_str_puts(b, "</section>\n");
	}
	if (!any) ek_str_puts(b, "<p>No findings.</p>\n");
}

static int by_count(const void *a, const void *b)
{
	const struct ladder_group *x = a, *y = b;
	return x->count > y->count ? -1 : x->count < y->count;
}

static void ladders_section(struct ek_str *b, struct html_report *h)
{
	ek_str_puts(b, "<h2 id=\"ladders\">Handshake ladders</h2>\n");
	if (!h->n_groups) {
		ek_str_puts(b, "<p>No failed handshakes.</p>\n");
		return;
	}
	/* stable: equal counts keep capture order */
	for (size_t i = 1; i < h->n_groups; i++) {
		struct ladder_group g = h->groups[i];
		size_t j = i;
		while (j > 0 && by_count(&h->groups[j - 1], &g) > 0) {
			h->groups[j] = h->groups[j - 1];
			j--;
		}
		h->groups[j] = g;
	}
	size_t shown = h->n_groups < HTML_MAX_LADDERS ? h->n_groups : HTML_MAX_LADDERS;
	hb_printf(b, "<p class=\"note\">%zu distinct handshake%s, largest groups first.</p>\n", h->n_groups,
		  h->n_groups == 1 ? "" : "s");
	for (size_t i = 0; i < shown; i++) {
		struct ladder_group *g = &h->groups[i];
		if (g->count > 1) hb_printf(b, "<p class=\"note\">%llu connections like the next one:</p>", (unsigned long long)g->count);
		if (g->svg) ek_str_puts(b, g->svg);
	}
	uint64_t left = h->n_groups - shown + h->groups_untracked;
	if (left)
		hb_printf(b, "<p class=\"note\" id=\"ladders-left-out\">%llu more distinct handshakes left out (see --conns "
			     "and --findings).</p>\n",
			  (unsigned long long)left);
}

static void badge(struct ek_str *b, const char *cls, const char *text)
{
	hb_printf(b, "<span class=\"badge %s\">%s</span>", cls, text);
}

static void inventory_section(struct ek_str *b, const struct inventory *inv)
{
	ek_str_puts(b, "<h2 id=\"endpoints\">Endpoints: what each presented</h2>\n");
	size_t n = inv ? inventory_count(inv) : 0;
	if (!n) {
		ek_str_puts(b, "<p>No certificates seen.</p>\n");
		return;
	}
	ek_str_puts(b, "<table id=\"inventory\"><thead><tr><th>endpoint</th><th>role</th><th>serial</th><th>EKU</th>"
		   "<th>subject</th><th>issuer</th><th>valid</th><th>connections</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		/* inventory_public_ca fills in a cached answer */
		struct inv_entry *e = inventory_at(inv, i);
		const struct x509_info *x = e->leaf;
		char ep[EK_ENDPOINT_STRLEN];
		inventory_endpoint(e, ep);
		ek_str_puts(b, "<tr><td>");
		hb_esc(b, ep, 0);
		hb_printf(b, "</td><td>%s</td><td class=\"mono serial\">", e->client ? "client" : "server");
		hb_esc(b, x->serial_hex, 0);
		ek_str_puts(b, "</td><td>");
		if (x->parsed) {
			bool absent = !strcmp(x->eku, "absent");
			bool ca = absent || strstr(x->eku, "clientAuth") || strstr(x->eku, "anyExtendedKeyUsage");
			bool sa = absent || strstr(x->eku, "serverAuth") || strstr(x->eku, "anyExtendedKeyUsage");
			badge(b, sa ? "ok" : "no", sa ? "serverAuth" : "no serverAuth");
			badge(b, ca ? "ok" : "no", ca ? "clientAuth" : "no clientAuth");
			bool pub = inventory_public_ca(inv, e);
			badge(b, pub ? "pub" : "priv", pub ? "public CA" : "private CA");
			if (pub && ca && !absent) badge(b, "sunset", "clientAuth sunset: renewal loses it");
			ek_str_puts(b, "<div class=\"mono\">");
			hb_esc(b, x->eku, 0);
			ek_str_puts(b, "</div></td><td class=\"mono\">");
			hb_esc(b, x->subject, 0);
			ek_str_puts(b, "</td><td class=\"mono\">");
			hb_esc(b, x->issuer, 0);
			ek_str_puts(b, "</td><td>");
			if (x->have_validity) {
				char nb[32], na[32];
				ek_unix_str(x->not_before, nb, sizeof nb);
				ek_unix_str(x->not_after, na, sizeof na);
				hb_printf(b, "%s .. %s", nb, na);
			}
		} else {
			ek_str_puts(b, "(unparsable)</td><td></td><td></td><td>");
		}
		hb_printf(b, "</td><td>%llu</td></tr>\n", (unsigned long long)e->conns);
	}
	ek_str_puts(b, "</tbody></table>\n");
}

static void conns_section(struct ek_str *b, const struct html_report *h)
{
	ek_str_puts(b, "<h2 id=\"connections\">Connections</h2>\n");
	if (!h->n_conns) {
		ek_str_puts(b, "<p>No TLS connections.</p>\n");
		return;
	}
	ek_str_puts(b, "<p class=\"filters\"><label>server port <input id=\"f-port\" size=\"6\"></label>"
		   "<label>SNI <input id=\"f-sni\" size=\"24\"></label><label>outcome <select id=\"f-outcome\">"
		   "<option value=\"\">any</option><option>completed</option><option>failed</option>"
		   "<option>unfinished</option><option>not_visible</option></select></label> "
		   "<span class=\"note\">click a column to sort</span></p>\n"
		   "<table id=\"conns\"><thead><tr><th>file</th><th data-type=\"num\">conn</th><th data-type=\"num\">"
		   "frame</th><th>client</th><th>server</th><th>SNI</th><th>version</th><th>cipher</th>"
		   "<th>client cert</th><th>server cert</th><th>outcome</th><th>findings</th></tr></thead><tbody>\n");
	if (h->conns.s) ek_str_put(b, h->conns.s, h->conns.len);
	ek_str_puts(b, "</tbody></table>\n");
	if (h->conns_left_out)
		hb_printf(b, "<p class=\"note\">%llu more connections left out (see --conns).</p>\n",
			  (unsigned long long)h->conns_left_out);
}

int html_report_write(struct html_report *h, FILE *fp, const struct analysis_totals *t, const struct inventory *inv)
{
	struct ek_str b = { 0 };
	char sh[64], ch[64];
	csp_hash(script, sh);
	csp_hash(css, ch);
	ek_str_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
	/* nothing outside this file: no fetch, image, font, frame or form;
	 * only the one style and script below run */
	hb_printf(&b, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src %s; "
		      "script-src %s; img-src 'none'; base-uri 'none'; form-action 'none'\">\n", ch, sh);
	ek_str_puts(&b, "<meta name=\"viewport\" content=\"width=device-width\"><meta name=\"referrer\" content=\"no-referrer\">\n"
		    "<title>ekuscope report</title><style>");
	ek_str_puts(&b, css);
	ek_str_puts(&b, "</style></head><body>\n<h1>ekuscope report</h1>\n"
		    "<p class=\"note\">Which certificate each side of every TLS connection presented, and why handshakes "
		    "failed. Frame numbers are Wireshark's.</p>\n"
		    "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>"
		    "<marker id=\"ah\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\">"
		    "<path d=\"M0,0 L10,4 L0,8 z\" fill=\"#345\"/></marker>"
		    "<marker id=\"ahr\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\">"
		    "<path d=\"M0,0 L10,4 L0,8 z\" fill=\"#c00\"/></marker></defs></svg>\n");
	summary(&b, t, h);
	findings_section(&b, h);
	ladders_section(&b, h);
	inventory_section(&b, inv);
	conns_section(&b, h);
	hb_printf(&b, "<script>%s</script>\n</body></html>\n", script);
	int rc = -1;
	if (!b.oom && b.s && fwrite(b.s, 1, b.len, fp) == b.len) rc = 0;
	ek_str_free(&b);
	return rc;
}
