/* The timeline CSV (the support-case attachment). */
#ifndef EK_TIMELINE_CSV_H
#define EK_TIMELINE_CSV_H

#include "csv_out.h"
#include "row.h"

/* Writes the header and returns a writer whose ctx is out. */
struct row_writer timeline_csv_writer(struct csv_out *out);

#endif
