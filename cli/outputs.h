/* Output safety, checked before any input is read: no output may name an
 * input (a capture, a --keylog file, --ca-file, --public-roots) or another
 * output, none may be empty, and the directory of every output file must
 * take the temporary file it is written to.  Files are compared by device
 * and inode, so dir/../x, symbolic and hard links are caught too. */
#ifndef EK_OUTPUTS_H
#define EK_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>

struct io_path {
	const char *opt;              /* as the user gave it: "-o", "--keylog", "" for a capture */
	const char *path;             /* "-": standard input / output */
};

/* 0 when the outputs are safe to write; else -1 with a one-line err. */
int outputs_check(const struct io_path *outs, size_t n_outs, const struct io_path *ins, size_t n_ins, char *err,
		  size_t errn);

/* Rotated evidence files (-w with -C/-G) get names during the run: each
 * is checked against the inputs and outputs given here, compared as
 * above, before it is opened. */
struct io_guard;
struct io_guard *outputs_guard_new(const struct io_path *protect, size_t n);
/* 0 when path may be written; else -1 with a one-line err. */
int outputs_guard_check(const struct io_guard *g, const char *path, char *err, size_t errn);
void outputs_guard_free(struct io_guard *g);

#endif
