/* The thread budget of -j N (cli/parallel.h parallel_read_ahead): a file
 * gets a read-ahead thread only when the files analysed at once leave a
 * thread spare for each; never with -j 1. */
#include <unistd.h>

#include "../cli/parallel.h"
#include "check.h"

int main(void)
{
	CHECK(!parallel_read_ahead(1, 1, 1));  /* -j 1: one thread */
	CHECK(!parallel_read_ahead(1, 1, 5));
	CHECK(parallel_read_ahead(2, 2, 1));   /* -j 2, one file: analysis + reader */
	CHECK(!parallel_read_ahead(2, 2, 2));  /* -j 2, two files: a worker each, no reader */
	CHECK(!parallel_read_ahead(2, 2, 9));
	CHECK(parallel_read_ahead(4, 4, 2));   /* two workers, two readers */
	CHECK(!parallel_read_ahead(3, 3, 2));
	CHECK(parallel_read_ahead(2, 1, 3));   /* -j 2 but one file at a time (writers that need order) */
	/* the default: the online CPUs */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	CHECK(parallel_read_ahead(0, 1, 1) == (cpus >= 2));
	CHECK(!parallel_read_ahead(0, cpus > 1 ? (unsigned)cpus : 1, 64)); /* every CPU analyses a file */
	return check_summary();
}
