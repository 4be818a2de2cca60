/* The timeline as readable lines (stdout without -o). */
#ifndef EK_TIMELINE_TEXT_H
#define EK_TIMELINE_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "row.h"

struct timeline_text {
	FILE *fp;
	bool show_file;   /* several inputs: prefix rows with the file name */
};

struct row_writer timeline_text_writer(struct timeline_text *tt);

#endif
