/* The text report's findings: by severity, aggregated, with what each
 * means and what fixes it, wrapped for a terminal. */
#include "findings.h"
#include "findings_int.h"

/* Print text wrapped to 78 columns: first line at indent, the rest at hang.
 * Built in memory and written at once (the report has a line per
 * aggregated finding: thousands on big captures). */
static void wrap_hang(FILE *fp, const char *text, int indent, int hang)
{
	const int width = 78;
	size_t len = strlen(text);
	int in = indent > 0 ? indent : 0, hg = hang > 0 ? hang : 0;
	/* worst case: every character a one-letter word on its own line */
	size_t cap = (len + 1) * (size_t)(hg + 3) + (size_t)in + 2;
	char stack[8192];
	char *buf = cap <= sizeof stack ? stack : malloc(cap);
	if (!buf) return;
	char *o = buf;
	int col = 0;
	const char *p = text;
	while (*p) {
		while (*p == ' ') p++;
		const char *e = p;
		while (*e && *e != ' ') e++;
		int wl = (int)(e - p);
		if (col == 0) {
			memset(o, ' ', (size_t)in);
			o += in;
			col = indent;
		} else if (col + 1 + wl > width) {
			*o++ = '\n';
			memset(o, ' ', (size_t)hg);
			o += hg;
			col = hang;
		} else {
			*o++ = ' ';
			col++;
		}
		memcpy(o, p, (size_t)wl);
		o += wl;
		col += wl;
		p = e;
	}
	if (col) *o++ = '\n';
	if (o != buf) fwrite(buf, 1, (size_t)(o - buf), fp);
	if (buf != stack) free(buf);
}

static void wrap(FILE *fp, const char *text, int indent)
{
	wrap_hang(fp, text, indent, indent);
}

static int cmp_by_server(const void *pa, const void *pb)
{
	const struct by_server *a = pa, *b = pb;
	int c = memcmp(&a->server, &b->server, sizeof a->server);
	return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int cmp_group_size(const void *pa, const void *pb)
{
	const struct agg_group *a = pa, *b = pb;
	if (a->count != b->count) return a->count < b->count ? 1 : -1;
	return (a->first > b->first) - (a->first < b->first);
}

static int cmp_group_first(const void *pa, const void *pb)
{
	const struct agg_group *a = pa, *b = pb;
	return (a->first > b->first) - (a->first < b->first);
}

static void print_agg_line(FILE *fp, const struct agg *a, const struct agg_group *g)
{
	char buf[MSG_LEN * 2], line[MSG_LEN * 2 + 160];
	sanitize_str(a->message, buf, sizeof buf);
	if (g->n > 1) {
		char ep[EK_ENDPOINT_STRLEN];
		struct ek_endpoint e;
		memset(&e, 0, sizeof e);
		e.addr.family = a->server.v6 ? 6 : 4;
		memcpy(e.addr.a, a->server.a, sizeof e.addr.a);
		e.port = a->server.port;
		ek_endpoint_str(&e, true, ep, sizeof ep);
		snprintf(line, sizeof line, "- %zu findings with server %s (x%llu in all), for example: %s", g->n, ep,
			 (unsigned long long)g->count, buf);
	} else if (a->count > 1) {
		snprintf(line, sizeof line, "- %s (x%llu)", buf, (unsigned long long)a->count);
	} else {
		snprintf(line, sizeof line, "- %s", buf);
	}
	wrap_hang(fp, line, 4, 6);
}

/* One code's aggregates (indices idx[0..n), in order), grouped. */
static void print_code(const struct findings *f, FILE *fp, size_t *idx, size_t n)
{
	if (n <= REPORT_MAX_GROUPS) {
		struct agg_group one = { 0, 1, 0 };
		for (size_t i = 0; i < n; i++) print_agg_line(fp, f->aggs[idx[i]], &one);
		return;
	}
	struct agg_group *g = malloc(n * sizeof *g);
	struct by_server *k = malloc(n * sizeof *k);
	size_t ng = 0;
	bool ok = g && k;
	if (ok) {
		for (size_t i = 0; i < n; i++) k[i] = (struct by_server){ f->aggs[idx[i]]->server, idx[i] };
		qsort(k, n, sizeof *k, cmp_by_server);
		for (size_t i = 0; i < n; i++) {
			const struct agg *a = f->aggs[k[i].i];
			if (ng && memcmp(&k[i - 1].server, &k[i].server, sizeof k[i].server) == 0) {
				g[ng - 1].n++;
				g[ng - 1].count += a->count;
				continue;
			}
			g[ng++] = (struct agg_group){ k[i].i, 1, a->count };
		}
	}
	free(k);
	if (!ok) { /* out of memory: each alone */
		free(g);
		struct agg_group one = { 0, 1, 0 };
		for (size_t i = 0; i < n; i++) print_agg_line(fp, f->aggs[idx[i]], &one);
		return;
	}
	size_t shown = ng;
	if (ng > REPORT_MAX_GROUPS) {
		qsort(g, ng, sizeof *g, cmp_group_size);
		shown = REPORT_MAX_GROUPS;
	}
	qsort(g, shown, sizeof *g, cmp_group_first);
	uint64_t rest_aggs = 0;
	for (size_t i = shown; i < ng; i++) rest_aggs += g[i].n;
	for (size_t i = 0; i < shown; i++) print_agg_line(fp, f->aggs[g[i].first], &g[i]);
	if (ng > shown)
		fprintf(fp, "    ... and %llu more at %zu other servers: see --findings\n", (unsigned long long)rest_aggs,
			ng - shown);
	free(g);
}

void findings_print(const struct findings *f, FILE *fp)
{
	static const char *const titles[] = { "INFO", "WARNINGS", "ERRORS" };
	if (f->max_sev < 0) {
		fprintf(fp, "\nNo findings.\n");
		return;
	}
	/* each code's aggregates, in order of first occurrence */
	size_t start[F_COUNT + 1] = { 0 };
	for (size_t i = 0; i < f->n_aggs; i++) start[f->aggs[i]->code + 1]++;
	for (int c = 0; c < F_COUNT; c++) start[c + 1] += start[c];
	size_t *idx = malloc((f->n_aggs ? f->n_aggs : 1) * sizeof *idx), fill[F_COUNT];
	if (!idx) return;
	memcpy(fill, start, sizeof fill);
	for (size_t i = 0; i < f->n_aggs; i++) idx[fill[f->aggs[i]->code]++] = i;
	for (int sev = SEV_ERROR; sev >= SEV_INFO; sev--) {
		if (!f->by_sev[sev]) continue;
		fprintf(fp, "\n%s (%llu)\n", titles[sev], (unsigned long long)f->by_sev[sev]);
		for (int code = 0; code < F_COUNT; code++) {
			const struct finding_def *d = finding_def((enum finding_code)code);
			if ((int)d->severity != sev || start[code + 1] == start[code]) continue;
			fprintf(fp, "\n  %s\n", d->name);
			print_code(f, fp, idx + start[code], start[code + 1] - start[code]);
			bool openvpn = false;
			for (size_t i = start[code]; i < start[code + 1]; i++) openvpn |= f->aggs[idx[i]]->openvpn;
			fprintf(fp, "    What it means:\n");
			wrap(fp, d->explanation, 6);
			fprintf(fp, "    What fixes it:\n");
			wrap(fp, d->remedy, 6);
			const char *ov = openvpn ? findings_openvpn_remedy((enum finding_code)code) : NULL;
			if (ov) wrap(fp, ov, 6);
		}
	}
	free(idx);
}
