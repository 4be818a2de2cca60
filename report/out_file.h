/* An output file written under a temporary name and renamed into place
 * when complete (as csv_out.h does for the CSVs); "-" is stdout. */
#ifndef EK_OUT_FILE_H
#define EK_OUT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct out_file {
	FILE *fp;
	char *path, *tmp;     /* tmp NULL: written in place (stdout, a device, a live run) */
};

/* atomic: temporary name + rename on commit.  -1 with err. */
int out_file_open(struct out_file *f, const char *path, bool atomic, char *err, size_t errn);
/* commit=false removes a temporary file.  -1 with err when the file could
 * not be completed. */
int out_file_close(struct out_file *f, bool commit, char *err, size_t errn);

#endif
