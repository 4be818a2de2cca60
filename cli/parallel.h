/* -j N: several capture files analysed at once, with the output of a
 * serial run ("map per file, reduce in file order").
 *
 * N - 1 worker threads take the files in order, each analysing one file
 * alone (analysis_new_worker: own certificate cache, findings, inventory;
 * the thread's key log and trust store) into spool files.  The calling
 * thread merges file k as soon as files 0..k are done: spools appended to
 * the outputs, totals, findings and inventory added, stderr lines printed
 * where a serial run prints them.  A file whose result depends on earlier
 * files (inventory_merge_conflict) it analyses again itself, after those
 * files, as a serial run does.  It also analyses itself, straight into
 * the outputs, every file that is next in order and not yet taken (file 0
 * always), and while it waits it works as the N-th worker. */
#ifndef EK_PARALLEL_H
#define EK_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>

#include "run.h"

/* What `for each file: analysis_file(a, ...)`, printing "ekuscope: ERR"
 * for each failure, does, with up to jobs threads.  o: the options a was
 * made with.  Runs that loop itself when the inputs or outputs do not
 * allow more (standard input, pipes, two outputs on stdout).  Returns the
 * number of files that failed. */
/* The default -j: the online CPUs (at most 256), or 1 when the input
 * files come to less than PARALLEL_MIN_BYTES: starting threads (each
 * loads its own trust store) then costs more than it saves. */
#define PARALLEL_MIN_BYTES ((unsigned long long)32 << 20)
unsigned parallel_default_jobs(const char *const *files, size_t n);

/* -j N counts threads, and every file analysed gets two of them: its
 * capture on one (with a read-ahead thread for the input while the
 * capture's is the busy one, capture/readahead.h), dissect and report on
 * the other (handoff.h).  One
 * file on two threads ran 1.45x faster than on one, in the same memory;
 * two files on a thread each 1.15-1.6x, in twice the memory (recurring-
 * and unique-certs x2, docs/performance.md).  So up to N/2 files at once,
 * of the jobs (the default -j, or 1 for small inputs and for writers that
 * need one run's order) of n files.  asked: -j (0: the default, the online
 * CPUs).  -j 1: one file at a time on one thread. */
struct parallel_plan {
	unsigned files_at_once;
	bool two_threads;             /* read ahead, capture and dissect apart */
};
struct parallel_plan parallel_plan(unsigned asked, unsigned jobs, size_t n);

size_t parallel_run(struct analysis *a, const struct analysis_opts *o, const char *const *files, size_t n,
		    unsigned jobs);

#endif
