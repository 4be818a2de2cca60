#include "labels.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ent {
	const char *path, *base;  /* base: the last component (a trailing slash kept) */
	size_t i;                 /* position on the command line */
};

static const char *path_of(const char *p)
{
	return strcmp(p, "-") == 0 ? LABEL_STDIN : p;
}

/* The start of the trailing part of p from component k (0: last). */
static const char *suffix_from(const char *p, size_t k)
{
	const char *e = p + strlen(p);
	while (e > p && e[-1] == '/') e--; /* a trailing slash belongs to the last component */
	const char *s = e;
	for (size_t i = 0; i <= k; i++) {
		if (i) {
			if (s == p) return p;
			s--; /* the slash before */
			while (s > p && s[-1] == '/') s--;
		}
		while (s > p && s[-1] != '/') s--;
	}
	return s;
}

/* p ends with s, and s starts at a component boundary of p */
static bool ends_with(const char *p, const char *s)
{
	size_t lp = strlen(p), ls = strlen(s);
	if (ls > lp || strcmp(p + lp - ls, s) != 0) return false;
	return ls == lp || p[lp - ls - 1] == '/' || s[0] == '/';
}

/* by base name, then path, then position: inputs that can share a label
 * are neighbours, a repeated path in command-line order */
static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = strcmp(x->base, y->base);
	if (!c) c = strcmp(x->path, y->path);
	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

char **labels_make(const char *const *paths, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof *v);
	struct ent *e = calloc(n ? n : 1, sizeof *e);
	if (!v || !e) {
		free(v);
		free(e);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		e[i].path = path_of(paths[i]);
		e[i].base = suffix_from(e[i].path, 0);
		e[i].i = i;
	}
	qsort(e, n, sizeof *e, cmp_ent);
	for (size_t g = 0, g1; g < n; g = g1) {
		/* only paths with the same base name can end with the same suffix */
		for (g1 = g + 1; g1 < n && strcmp(e[g1].base, e[g].base) == 0; g1++) {}
		for (size_t a = g; a < g1; a++) {
			const char *p = e[a].path, *label = p;
			for (size_t k = 0;; k++) {
				const char *s = suffix_from(p, k);
				bool unique = true;
				for (size_t b = g; b < g1 && unique; b++)
					if (b != a && ends_with(e[b].path, s)) unique = false;
				if (unique || s == p) {
					label = unique ? s : p;
					break;
				}
			}
			size_t again = 1; /* the same path given before */
			while (a >= g + again && strcmp(e[a - again].path, p) == 0) again++;
			size_t len = strlen(label) + 24;
			char *l = malloc(len);
			if (!l) {
				labels_free(v, n);
				free(e);
				return NULL;
			}
			if (again > 1) snprintf(l, len, "%s#%zu", label, again);
			else snprintf(l, len, "%s", label);
			v[e[a].i] = l;
		}
	}
	free(e);
	return v;
}

void labels_free(char **labels, size_t n)
{
	if (!labels) return;
	for (size_t i = 0; i < n; i++) free(labels[i]);
	free(labels);
}
