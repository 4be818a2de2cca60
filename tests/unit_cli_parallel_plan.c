/* The thread budget of -j N (cli/parallel.h parallel_plan): every file
 * analysed gets two threads (capture apart from dissect and report, with
 * a read-ahead thread), so N/2 files at once; -j 1 is one thread. */
#include <unistd.h>

#include "../cli/parallel.h"
#include "check.h"

static void check_plan(unsigned asked, unsigned jobs, size_t n, unsigned at_once, bool two)
{
	struct parallel_plan p = parallel_plan(asked, jobs, n);
	CHECK_EQ_U(p.files_at_once, at_once);
	CHECK(p.two_threads == two);
}

int main(void)
{
	check_plan(1, 1, 1, 1, false);  /* -j 1: one thread */
	check_plan(1, 1, 5, 1, false);
	check_plan(2, 2, 1, 1, true);   /* -j 2, one file: two threads (and the reader) */
	check_plan(2, 2, 2, 1, true);   /* -j 2, two files: one at a time, on two threads */
	check_plan(2, 2, 9, 1, true);
	check_plan(4, 4, 2, 2, true);   /* two files at once, two threads each */
	check_plan(4, 4, 9, 2, true);
	check_plan(3, 3, 2, 1, true);
	check_plan(8, 8, 3, 3, true);   /* no more files at once than there are */
	check_plan(2, 1, 3, 1, true);   /* -j 2 but one file at a time (writers that need order) */
	check_plan(16, 1, 40, 1, true); /* small inputs: one at a time */
	/* the default: the online CPUs */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	check_plan(0, 1, 1, 1, cpus >= 2);
	unsigned all = cpus > 1 ? (unsigned)cpus : 1;
	check_plan(0, all, 64, all >= 2 ? all / 2 : 1, cpus >= 2);
	return check_summary();
}
