/* The timeline CSV (the support-case attachment). */
#ifndef EK_TIMELINE_CSV_H
#define EK_TIMELINE_CSV_H

#include "csv_out.h"
#include "row.h"

/* Writes the header and sets *rw to the writer of out's rows; false when
 * out of memory. */
bool timeline_csv_writer(struct csv_out *out, struct row_writer *rw);

#endif
