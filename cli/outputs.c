#include "outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a path names: the file when it exists, else its directory and its
 * last component (two spellings of a file not yet written). */
struct ident {
	bool exists, regular;
	dev_t dev;
	ino_t ino;
	char base[256];
};

static int ident_of(const char *path, bool is_input, struct ident *id, char *err, size_t errn)
{
	struct stat sb;
	memset(id, 0, sizeof *id);
	int rc = strcmp(path, "-") == 0 ? fstat(is_input ? STDIN_FILENO : STDOUT_FILENO, &sb) : stat(path, &sb);
	if (rc == 0) {
		id->exists = true;
		id->regular = S_ISREG(sb.st_mode);
		id->dev = sb.st_dev;
		id->ino = sb.st_ino;
		return 0;
	}
	if (is_input) return 0; /* reading it reports why */
	char *d = strdup(path), *b = strdup(path);
	int out = 0;
	if (!d || !b) {
		snprintf(err, errn, "out of memory");
		out = -1;
	} else if (stat(dirname(d), &sb) != 0) {
		snprintf(err, errn, "%s: cannot write: directory %s: %s", path, d, strerror(errno));
		out = -1;
	} else if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errn, "%s: cannot write: %s is not a directory", path, d);
		out = -1;
	} else {
		id->dev = sb.st_dev;
		id->ino = sb.st_ino;
		snprintf(id->base, sizeof id->base, "%s", basename(b));
	}
	free(d);
	free(b);
	return out;
}

static bool same(const struct ident *a, const struct ident *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && strcmp(a->base, b->base) == 0;
}

/* An output file is written to PATH.tmp.PID and renamed (csv_out.c): make
 * and remove that file now, so a directory that does not take it fails
 * before the analysis rather than after. */
static int probe_dir(const char *path, char *err, size_t errn)
{
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp) {
		snprintf(err, errn, "out of memory");
		return -1;
	}
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	} else if (errno != EEXIST) {
		snprintf(err, errn, "%s: cannot write: %s", path, strerror(errno));
		rc = -1;
	}
	free(tmp);
	return rc;
}

static const char *name_of(const struct io_path *p, char *buf, size_t n)
{
	if (strcmp(p->path, "-") == 0 && *p->opt) snprintf(buf, n, "standard output");
	else if (*p->opt) snprintf(buf, n, "%s %s", p->opt, p->path);
	else snprintf(buf, n, "%s", strcmp(p->path, "-") == 0 ? "standard input" : p->path);
	return buf;
}

int outputs_check(const struct io_path *outs, size_t n_outs, const struct io_path *ins, size_t n_ins, char *err,
		  size_t errn)
{
	char e[600], x[300], y[300];
	for (size_t i = 0; i < n_ins; i++) {
		struct stat sb;
		if (!*ins[i].path) {
			snprintf(err, errn, "%s: empty file name", *ins[i].opt ? ins[i].opt : "input");
			return -1;
		}
		/* a capture that is a directory is reported with the others */
		if (*ins[i].opt && stat(ins[i].path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			snprintf(err, errn, "%s %s: is a directory", ins[i].opt, ins[i].path);
			return -1;
		}
	}
	struct ident *in = calloc(n_ins + 1, sizeof *in), *out = calloc(n_outs + 1, sizeof *out);
	int rc = in && out ? 0 : -1;
	if (rc) snprintf(err, errn, "out of memory");
	for (size_t i = 0; rc == 0 && i < n_ins; i++) rc = ident_of(ins[i].path, true, &in[i], err, errn);
	for (size_t i = 0; rc == 0 && i < n_outs; i++) {
		const struct io_path *o = &outs[i];
		if (!*o->path) {
			snprintf(err, errn, "%s: empty file name", o->opt);
			rc = -1;
			break;
		}
		if (ident_of(o->path, false, &out[i], e, sizeof e) != 0) {
			snprintf(err, errn, "%s %s", o->opt, e);
			rc = -1;
			break;
		}
		struct stat sb;
		if (strcmp(o->path, "-") != 0 && stat(o->path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			snprintf(err, errn, "%s %s: is a directory", o->opt, o->path);
			rc = -1;
			break;
		}
		/* only a regular file (or one to be made) can be destroyed:
		 * a device or a pipe is written in place */
		bool file = !out[i].exists || out[i].regular;
		for (size_t k = 0; file && k < n_ins && rc == 0; k++) {
			if (!in[k].exists || !same(&out[i], &in[k])) continue;
			snprintf(err, errn, "%s is the input %s: refusing to overwrite it (nothing was read or written)",
				 name_of(o, x, sizeof x), name_of(&ins[k], y, sizeof y));
			rc = -1;
		}
		for (size_t k = 0; file && k < i && rc == 0; k++) {
			if (strcmp(outs[k].path, "-") == 0 || !same(&out[i], &out[k])) continue;
			snprintf(err, errn, "%s and %s name the same file: give each output its own",
				 name_of(&outs[k], x, sizeof x), name_of(o, y, sizeof y));
			rc = -1;
		}
		if (rc == 0 && file && strcmp(o->path, "-") != 0 && probe_dir(o->path, e, sizeof e) != 0) {
			snprintf(err, errn, "%s %s", o->opt, e);
			rc = -1;
		}
	}
	free(in);
	free(out);
	return rc;
}

/* The paths are looked at again at every check: an output may have been
 * created (or an input replaced) since the start. */
struct io_guard {
	size_t n;
	struct io_path *p;
};

struct io_guard *outputs_guard_new(const struct io_path *protect, size_t n)
{
	struct io_guard *g = calloc(1, sizeof *g);
	if (!g || !(g->p = calloc(n + 1, sizeof *g->p))) {
		free(g);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(protect[i].path, "-") == 0) continue;
		char *o = strdup(protect[i].opt), *path = strdup(protect[i].path);
		if (!o || !path) {
			free(o);
			free(path);
			outputs_guard_free(g);
			return NULL;
		}
		g->p[g->n++] = (struct io_path){ o, path };
	}
	return g;
}

int outputs_guard_check(const struct io_guard *g, const char *path, char *err, size_t errn)
{
	struct ident id, other;
	char e[600], buf[300];
	if (ident_of(path, false, &id, e, sizeof e) != 0) {
		snprintf(err, errn, "-w %s", e);
		return -1;
	}
	for (size_t i = 0; g && i < g->n; i++) {
		if (ident_of(g->p[i].path, false, &other, e, sizeof e) != 0 || !same(&id, &other)) continue;
		snprintf(err, errn, "-w: evidence file %s would be %s: refusing to overwrite it", path,
			 name_of(&g->p[i], buf, sizeof buf));
		return -1;
	}
	return 0;
}

void outputs_guard_free(struct io_guard *g)
{
	if (!g) return;
	for (size_t i = 0; i < g->n; i++) {
		free((char *)g->p[i].opt);
		free((char *)g->p[i].path);
	}
	free(g->p);
	free(g);
}
