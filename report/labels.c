#include "labels.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path_of(const char *p)
{
	return strcmp(p, "-") == 0 ? LABEL_STDIN : p;
}

/* p ends with the suffix s that starts at a component boundary of p */
static bool ends_with(const char *p, const char *s)
{
	size_t lp = strlen(p), ls = strlen(s);
	if (ls > lp || strcmp(p + lp - ls, s) != 0) return false;
	return ls == lp || p[lp - ls - 1] == '/' || s[0] == '/';
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

char **labels_make(const char *const *paths, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof *v);
	if (!v) return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *p = path_of(paths[i]), *label = p;
		for (size_t k = 0;; k++) {
			const char *s = suffix_from(p, k);
			bool unique = true;
			for (size_t j = 0; j < n && unique; j++)
				if (j != i && ends_with(path_of(paths[j]), s)) unique = false;
			if (unique || s == p) {
				label = unique ? s : p;
				break;
			}
		}
		size_t again = 1; /* the same path given before */
		for (size_t j = 0; j < i; j++)
			if (strcmp(path_of(paths[j]), p) == 0) again++;
		size_t len = strlen(label) + 24;
		if (!(v[i] = malloc(len))) {
			labels_free(v, i);
			return NULL;
		}
		if (again > 1) snprintf(v[i], len, "%s#%zu", label, again);
		else snprintf(v[i], len, "%s", label);
	}
	return v;
}

void labels_free(char **labels, size_t n)
{
	if (!labels) return;
	for (size_t i = 0; i < n; i++) free(labels[i]);
	free(labels);
}
