/* libFuzzer target: a whole capture file through capture -> dissect ->
 * report, the code path of the CLI (report/main.c): analysis_new,
 * analysis_file, analysis_finish, analysis_report.
 *
 * The input is written to a memfd and opened by path (/proc/self/fd/N),
 * as the CLI opens a file.  Every output is on: the readable timeline (on
 * stdout, which is sent to /dev/null), the timeline, findings and
 * certificate CSVs (into a private temporary directory; never /dev/null:
 * the CSV writers commit by renaming a temporary file over the target),
 * chain verification against the sample PKI, and the report. */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "report/analysis.h"

#ifndef EK_FUZZ_SRC_DIR
#define EK_FUZZ_SRC_DIR "."
#endif

static int mem_fd = -1;
static char in_path[64];
static char dir[64];
static char timeline_csv[128], findings_csv[128], certs_csv[128];
static char public_roots[1024], ca_file[1024];
static FILE *devnull;

static const uint16_t ports[] = { 443, 5061, 2222, 8443, 7001, 7002, 636, 993, 995, 465, 5223, 8444 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mem_fd = memfd_create("ekfuzz-capture", 0);
	FZ_CHECK(mem_fd >= 0);
	snprintf(in_path, sizeof in_path, "/proc/self/fd/%d", mem_fd);
	snprintf(dir, sizeof dir, "/tmp/ekfuzz-capture-XXXXXX");
	FZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(timeline_csv, sizeof timeline_csv, "%s/timeline.csv", dir);
	snprintf(findings_csv, sizeof findings_csv, "%s/findings.csv", dir);
	snprintf(certs_csv, sizeof certs_csv, "%s/certs.csv", dir);
	const char *src = getenv("EK_SRC");
	if (!src) src = EK_FUZZ_SRC_DIR;
	snprintf(public_roots, sizeof public_roots, "%s/samples/pki/public-root-ca.crt", src);
	snprintf(ca_file, sizeof ca_file, "%s/samples/pki/all-roots.pem", src);
	if (access(public_roots, R_OK) != 0 || access(ca_file, R_OK) != 0) {
		fprintf(stderr, "fuzz_capture: %s or %s missing; set EK_SRC\n", public_roots, ca_file);
		exit(1);
	}
	devnull = fopen("/dev/null", "w");
	FZ_CHECK(devnull != NULL);
	/* The readable timeline goes to stdout. */
	FZ_CHECK(freopen("/dev/null", "w", stdout) != NULL);
	return 0;
}

static void cleanup_outputs(void)
{
	unlink(timeline_csv);
	unlink(findings_csv);
	unlink(certs_csv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FZ_CHECK(ftruncate(mem_fd, 0) == 0);
	size_t off = 0;
	while (off < size) {
		ssize_t w = pwrite(mem_fd, data + off, size - off, (off_t)off);
		FZ_CHECK(w > 0);
		off += (size_t)w;
	}

	struct analysis_opts o;
	memset(&o, 0, sizeof o);
	o.timeline_csv = timeline_csv;
	o.findings_csv = findings_csv;
	o.certs_csv = certs_csv;
	o.text_timeline = true;
	o.public_roots = public_roots;
	o.ca_file = ca_file;
	o.tls_ports = ports;
	o.n_tls_ports = sizeof ports / sizeof ports[0];

	char err[512];
	struct analysis *a = analysis_new(&o, err, sizeof err);
	FZ_CHECK(a != NULL);
	err[0] = '\0';
	if (analysis_file(a, in_path, err, sizeof err) != 0) FZ_CHECK(err[0] != '\0' && !strchr(err, '\n'));
	err[0] = '\0';
	if (analysis_finish(a, err, sizeof err) != 0) FZ_CHECK(err[0] != '\0');
	analysis_report(a, devnull, false);
	analysis_report(a, devnull, true);
	(void)analysis_max_severity(a);
	const struct analysis_totals *t = analysis_totals(a);
	FZ_CHECK(t->files == 1);
	FZ_CHECK(t->tls_conns + t->not_tls_conns <= t->tcp_conns);
	analysis_free(a);
	cleanup_outputs();
	return 0;
}
