/* The `file` label of each input: what rows, findings and the report name
 * it by.  The shortest trailing part of its path, in whole components,
 * that no other input's path ends with (node1/capture.pcap and
 * node2/capture.pcap, the base name when that is unique), else the whole
 * path; a path given again gets "#N" (its N-th time).  Standard input is
 * "(stdin)": no spreadsheet formula, and not what a path given as "-"
 * would print. */
#ifndef EK_LABELS_H
#define EK_LABELS_H

#include <stddef.h>

#define LABEL_STDIN "(stdin)"

/* n labels (free with labels_free); NULL when out of memory. */
char **labels_make(const char *const *paths, size_t n);
void labels_free(char **labels, size_t n);

#endif
