/* libFuzzer target: a whole capture file through capture -> dissect ->
 * report, the code path of the CLI (cli/main.c): analysis_new,
 * analysis_file, analysis_finish, analysis_report.
 *
 * The input is written to a memfd and opened by path (/proc/self/fd/N),
 * as the CLI opens a file; an odd-sized input is given twice (two input
 * files, as `ekuscope a.pcap b.pcap`).  Every output is on: the readable timeline (on
 * stdout, which is sent to /dev/null), the timeline, findings and
 * certificate CSVs (into a private temporary directory; never /dev/null:
 * the CSV writers commit by renaming a temporary file over the target),
 * chain verification against the sample PKI, and the report.
 *
 * Output oracle (report/sanitize.h, report/csv_out.c): after each input,
 * stdout and every CSV must be valid UTF-8 without control characters
 * (other than line ends) or C1 controls, and no CSV cell may start with a
 * spreadsheet formula character (= + - @ TAB CR) unless neutralised with a
 * leading apostrophe. */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "cli/run.h"

#ifndef EK_FUZZ_SRC_DIR
#define EK_FUZZ_SRC_DIR "."
#endif

static int mem_fd = -1;
static char in_path[64];
static char dir[64];
static char timeline_csv[128], findings_csv[128], certs_csv[128];
static char public_roots[1024], ca_file[1024];
static FILE *devnull;
static char out_path[128];

static const uint16_t ports[] = { 443, 5061, 2222, 8443, 7001, 7002, 636, 993, 995, 465, 5223, 8444 };

static void remove_dir(void)
{
	unlink(timeline_csv);
	unlink(findings_csv);
	unlink(certs_csv);
	unlink(out_path);
	rmdir(dir);
}

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
	/* The readable timeline goes to stdout: a file checked after each input. */
	snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
	FZ_CHECK(freopen(out_path, "w", stdout) != NULL);
	atexit(remove_dir);
	return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid,
 * overlong, a surrogate or a C1 control. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
	else return 0;
	if (n < len) return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f)) return 0;
	return len;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	*n = 0;
	FILE *fp = fopen(path, "rb");
	if (!fp) return NULL;
	size_t cap = 1 << 16, len = 0;
	uint8_t *b = malloc(cap);
	FZ_CHECK(b != NULL);
	size_t k;
	while ((k = fread(b + len, 1, cap - len, fp)) > 0) {
		len += k;
		if (len == cap) {
			cap *= 2;
			b = realloc(b, cap);
			FZ_CHECK(b != NULL);
		}
	}
	fclose(fp);
	*n = len;
	return b;
}

static void check_text(const char *what, const uint8_t *b, size_t n, bool csv)
{
	for (size_t i = 0; i < n;) {
		if (b[i] == '\n') { i++; continue; }
		if (b[i] < 0x20 || b[i] == 0x7f) {
			fprintf(stderr, "fuzz_capture: control byte 0x%02x at offset %zu of %s\n", b[i], i, what);
			FZ_CHECK(0 && "raw control character in output");
		}
		size_t l = utf8_seq(b + i, n - i);
		if (!l) {
			fprintf(stderr, "fuzz_capture: invalid UTF-8 / C1 at offset %zu of %s\n", i, what);
			FZ_CHECK(0 && "invalid UTF-8 in output");
		}
		i += l;
	}
	if (!csv) return;
	/* Cells: at line start or after a comma; a quoted cell's first character follows the quote. */
	bool in_quotes = false, cell_start = true;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];
		if (cell_start) {
			cell_start = false;
			size_t j = i;
			if (c == '"') j++;
			if (j < n && strchr("=+-@", b[j]) && b[j]) {
				fprintf(stderr, "fuzz_capture: CSV cell starting with '%c' at offset %zu of %s\n", b[j], j, what);
				FZ_CHECK(0 && "CSV cell not neutralised");
			}
		}
		if (in_quotes) {
			if (c == '"') {
				if (i + 1 < n && b[i + 1] == '"') i++;
				else in_quotes = false;
			}
			continue;
		}
		if (c == '"') in_quotes = true;
		else if (c == ',' || c == '\n') cell_start = true;
	}
}

static void check_file(const char *path, bool csv)
{
	size_t n;
	uint8_t *b = slurp(path, &n);
	if (!b) return;
	check_text(path, b, n, csv);
	free(b);
}

static void cleanup_outputs(void)
{
	unlink(timeline_csv);
	unlink(findings_csv);
	unlink(certs_csv);
	fflush(stdout);
	FZ_CHECK(ftruncate(fileno(stdout), 0) == 0);
	rewind(stdout);
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
	/* Odd-sized inputs are read twice, as two input files (file index 1). */
	unsigned files = size & 1 ? 2 : 1;
	for (unsigned i = 0; i < files; i++) {
		err[0] = '\0';
		if (analysis_file(a, in_path, err, sizeof err) != 0) FZ_CHECK(err[0] != '\0' && !strchr(err, '\n'));
	}
	err[0] = '\0';
	if (analysis_finish(a, err, sizeof err) != 0) FZ_CHECK(err[0] != '\0');
	analysis_report(a, stdout, false);
	analysis_report(a, devnull, true);
	(void)analysis_max_severity(a);
	const struct analysis_totals *t = analysis_totals(a);
	FZ_CHECK(t->files == files);
	FZ_CHECK(t->tls_conns + t->not_tls_conns <= t->tcp_conns + t->udp.udp_flows); /* DTLS, OpenVPN: UDP flows */
	analysis_free(a);
	fflush(stdout);
	check_file(out_path, false);
	check_file(timeline_csv, true);
	check_file(findings_csv, true);
	check_file(certs_csv, true);
	cleanup_outputs();
	return 0;
}
