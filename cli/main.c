/* ekuscope: which certificate each side of every TLS connection presented,
 * and why handshakes failed.  The command-line front end: the options
 * (options.c), one run over the inputs (run.c), live or files (-j:
 * parallel.c), then the report. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "options.h"
#include "parallel.h"
#include "privileges.h"
#include "run.h"

static void print_iface(void *ctx, const char *name, const char *desc)
{
	int *n = ctx;
	printf("%d.%s%s%s%s\n", ++*n, name, *desc ? " (" : "", desc, *desc ? ")" : "");
}

static int list_interfaces(void)
{
	char err[CAP_ERRBUF_SIZE];
	int n = 0;
	if (cap_list_interfaces(print_iface, &n, err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		return EK_EXIT_USAGE;
	}
	return EK_EXIT_OK;
}

static struct analysis *volatile live_analysis;

static void on_signal(int sig)
{
	if (sig == SIGUSR1) analysis_request_summary(live_analysis);
	else analysis_stop(live_analysis);
}

/* SIGINT, SIGTERM and SIGHUP end a live run cleanly: outputs flushed and
 * closed, summary printed.  SIGUSR1 prints the summary so far. */
static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* the summary so far, without stopping */
}

/* Live: open the interface, give up root, run until stopped.  -1 when
 * the capture could not start (no report then), else the exit status. */
static int run_live(struct analysis *a, const struct options *op)
{
	char err[512];
	if (analysis_live_open(a, &op->live, err, sizeof err) != 0 ||
	    drop_privileges(op->user, analysis_evidence_file(a), err, sizeof err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		return -1;
	}
	live_analysis = a;
	catch_signals();
	int status = EK_EXIT_OK;
	if (analysis_live_run(a, err, sizeof err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		status = EK_EXIT_USAGE;
	}
	live_analysis = NULL;
	return status;
}

/* -j, or fewer when more threads do not pay. */
static unsigned file_jobs(const struct options *op)
{
	unsigned jobs = op->jobs ? op->jobs : parallel_default_jobs(op->files, op->n_files);
	if (writers_wanted(&op->ao.out)) jobs = 1; /* those writers see one run's events in order */
	return jobs;
}

/* The files, in order: in -j workers when that pays. */
static int run_files(struct analysis *a, const struct options *op)
{
	unsigned jobs = op->files_at_once;
	if (jobs > 1 && op->n_files > 1)
		return parallel_run(a, &op->ao, op->files, op->n_files, jobs) != 0 ? EK_EXIT_USAGE : EK_EXIT_OK;
	int status = EK_EXIT_OK;
	char err[512];
	for (size_t i = 0; i < op->n_files; i++) {
		if (analysis_file(a, op->files[i], err, sizeof err) != 0) {
			fprintf(stderr, "ekuscope: %s\n", err);
			status = EK_EXIT_USAGE;
		}
	}
	return status;
}

static int run(const struct options *op)
{
	char err[512];
	size_t budget = (size_t)op->max_memory_mb << 20;
	heap_use_huge_pages(budget < ((size_t)64 << 20) ? budget : ((size_t)64 << 20));
	struct analysis *a = analysis_new(&op->ao, err, sizeof err);
	if (!a) {
		fprintf(stderr, "ekuscope: %s\n", err);
		return EK_EXIT_USAGE;
	}
	int status = op->live.iface ? run_live(a, op) : run_files(a, op);
	if (status < 0) {
		analysis_free(a);
		return EK_EXIT_USAGE;
	}
	if (analysis_finish(a, err, sizeof err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		status = EK_EXIT_USAGE;
	}
	analysis_report(a, op->csv_on_stdout ? stderr : stdout, op->ao.quiet);
	if (status == EK_EXIT_OK && op->fail_on >= 0 && analysis_max_severity(a) >= op->fail_on)
		status = EK_EXIT_FINDINGS;
	analysis_free(a);
	return status;
}

int main(int argc, char **argv)
{
	static struct options op; /* the analysis points into it until the end */
	int status = options_parse(&op, argc, argv);
	if (status == OPTIONS_RUN && !op.live.iface) {
		struct parallel_plan plan = parallel_plan(op.jobs, file_jobs(&op), op.n_files);
		op.files_at_once = plan.files_at_once;
		op.ao.two_threads = plan.two_threads;
	}
	if (status == OPTIONS_RUN) status = op.list_ifaces ? list_interfaces() : run(&op);
	options_free(&op);
	return status;
}
