/* The command line: options parsed and checked into one run's settings
 * (analysis_opts), before anything is read or written. */
#ifndef EK_OPTIONS_H
#define EK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "run.h"

#define EK_EXIT_OK 0
#define EK_EXIT_USAGE 2
#define EK_EXIT_FINDINGS 3

#define OPTIONS_MAX_PORTS (12 + 64)  /* the default TLS ports and --tls-port */
#define OPTIONS_MAX_KEYLOGS 64
#define OPTIONS_MAX_CONNS 1024       /* --conn */

struct options {
	struct analysis_opts ao;
	struct cap_live_opts live;    /* -i, -s, -p, -B */
	const char *user;             /* -Z */
	int fail_on;                  /* --fail-on: enum severity, -1 none */
	unsigned jobs;                /* -j; 0: parallel_default_jobs */
	unsigned files_at_once;       /* from -j (main.c, parallel_plan) */
	bool list_ifaces;             /* -D: nothing else is checked */
	bool csv_on_stdout;           /* an output is "-": the report goes to stderr */
	const char **files;
	size_t n_files;
	/* what ao points into, freed by options_free */
	char *filter_words;           /* the trailing words joined */
	char **labels;
	struct conn_filter *conn_filter;
	uint16_t ports[OPTIONS_MAX_PORTS];
	const char *keylogs[OPTIONS_MAX_KEYLOGS];
	const char *conn_specs[OPTIONS_MAX_CONNS];
	size_t n_conn_specs;
	unsigned long max_memory_mb;
	struct progress_term term;
};

#define OPTIONS_RUN (-1)

/* Parse argv into op.  OPTIONS_RUN: go on (op->list_ifaces: only -D);
 * otherwise the exit status (help, version, or a usage error already
 * printed).  options_free in every case. */
int options_parse(struct options *op, int argc, char **argv);
void options_free(struct options *op);

#endif
