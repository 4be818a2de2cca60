/* -w evidence rotation on the command line: -C MB, -W N, -G SECONDS as
 * tcpdump(8) takes them, and the rotated names checked against the run's
 * inputs and outputs (outputs.h). */
#ifndef EK_EVIDENCE_OPTS_H
#define EK_EVIDENCE_OPTS_H

#include <stddef.h>

#include "run.h"
#include "outputs.h"

/* -C, -W or -G (ch) with its argument into o.  -1 with err. */
int evidence_opt(int ch, const char *arg, struct analysis_opts *o, char *err, size_t errn);
/* After all options: the combination is valid, and no evidence name that
 * can be known now (the ring's, the first ones of -C) is one of the
 * protected files; o->write_guard then checks each name the run makes.
 * -1 with err. */
int evidence_check(struct analysis_opts *o, const struct io_path *protect, size_t n, char *err, size_t errn);
void evidence_done(struct analysis_opts *o);

#endif
