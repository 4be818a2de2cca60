#include "conn_filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/connid.h"

struct conn_sel {
	char *file;     /* as given, NULL: any (a single input) */
	uint64_t id;
};

struct conn_filter {
	struct conn_sel *sel;
	size_t n, cap;
};

struct conn_filter *conn_filter_new(void)
{
	return calloc(1, sizeof(struct conn_filter));
}

void conn_filter_free(struct conn_filter *f)
{
	if (!f) return;
	for (size_t i = 0; i < f->n; i++) free(f->sel[i].file);
	free(f->sel);
	free(f);
}

/* FILE names the input labelled label: the label itself, or a path
 * ending in it (samples/a.pcap for the label a.pcap). */
static bool names(const char *file, const char *label)
{
	size_t fl = strlen(file), ll = strlen(label);
	return !strcmp(file, label) || (fl > ll && file[fl - ll - 1] == '/' && !strcmp(file + fl - ll, label));
}

int conn_filter_add(struct conn_filter *f, const char *spec, char *err, size_t errn)
{
	const char *colon = strrchr(spec, ':');
	const char *num = colon ? colon + 1 : spec;
	/* "u3": a UDP flow (DTLS, OpenVPN over UDP), as the conn column writes it */
	bool udp = *num == 'u';
	if (udp) num++;
	char *end;
	errno = 0;
	unsigned long long id = strtoull(num, &end, 10);
	if (!*num || *end || errno || *num == '-' || *num == '+' || (colon && colon == spec) ||
	    id >= EK_CONN_UDP) {
		snprintf(err, errn, "--conn: expected N, uN or FILE:N (N the conn column), not '%s'", spec);
		return -1;
	}
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 8;
		struct conn_sel *ns = realloc(f->sel, nc * sizeof *ns);
		if (!ns) {
			snprintf(err, errn, "out of memory");
			return -1;
		}
		f->sel = ns;
		f->cap = nc;
	}
	char *file = NULL;
	if (colon) {
		file = strndup(spec, (size_t)(colon - spec));
		if (!file) {
			snprintf(err, errn, "out of memory");
			return -1;
		}
	}
	f->sel[f->n++] = (struct conn_sel){ file, udp ? id | EK_CONN_UDP : id };
	return 0;
}

int conn_filter_check(const struct conn_filter *f, char *const *labels, size_t n_files, char *err, size_t errn)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct conn_sel *s = &f->sel[i];
		char id[EK_CONN_ID_STRLEN];
		ek_conn_id_str(s->id, id, sizeof id);
		if (!s->file) {
			if (n_files > 1) {
				snprintf(err, errn, "--conn %s: several input files: give FILE:%s", id, id);
				return -1;
			}
			continue;
		}
		bool found = false;
		for (size_t k = 0; k < n_files && !found; k++) found = names(s->file, labels[k]);
		if (!found) {
			snprintf(err, errn, "--conn %s:%s: no input file of that name (give the path, or the file column's "
				 "label)", s->file, id);
			return -1;
		}
	}
	return 0;
}

bool conn_filter_match(const struct conn_filter *f, const char *file, uint64_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->sel[i].id == id && (!f->sel[i].file || names(f->sel[i].file, file))) return true;
	return false;
}
