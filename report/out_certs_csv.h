/* The certificate inventory CSV (--certs): one row per endpoint, role and
 * leaf certificate, in order of first sight. */
#ifndef EK_OUT_CERTS_CSV_H
#define EK_OUT_CERTS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "inventory.h"

struct csv_out;

/* Writes inv to path (atomically); file_names maps file index -> name
 * (frames are prefixed with the file name when several files were read).
 * 0, or -1 with a one-line reason in err. */
int certs_csv_write(const struct inventory *inv, const char *path, char *const *file_names, uint32_t n_files,
		    char *err, size_t errn);

/* The same into o, opened earlier (csv_out_open; a live run opens it
 * before dropping root), and closes o.  0, or -1 with a reason in err. */
int certs_csv_write_to(struct csv_out *o, const struct inventory *inv, char *const *file_names, uint32_t n_files,
		       char *err, size_t errn);

#endif
