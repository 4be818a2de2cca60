/* --conn N / FILE:N: the connections every output is restricted to. */
#ifndef EK_CONN_FILTER_H
#define EK_CONN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn_filter;

struct conn_filter *conn_filter_new(void);
void conn_filter_free(struct conn_filter *f);
/* Add "N" or "FILE:N" (N: the conn id the timeline shows); -1 with a
 * one-line reason in err when it is not of that form. */
int conn_filter_add(struct conn_filter *f, const char *spec, char *err, size_t errn);
/* After the inputs are known: a bare N needs a single input, and every
 * FILE must name one: its `file` label (labels.h), or a path that ends in
 * it.  -1 with err otherwise. */
int conn_filter_check(const struct conn_filter *f, char *const *labels, size_t n_files, char *err, size_t errn);
/* Is connection id of the input labelled file selected? */
bool conn_filter_match(const struct conn_filter *f, const char *file, uint64_t id);

#endif
