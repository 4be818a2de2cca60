/* ekuscope: which certificate each side of every TLS connection presented,
 * and why handshakes failed.  The command-line front end. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis.h"
#include "findings_table.h"
#include "progress.h"

#define EK_EXIT_OK 0
#define EK_EXIT_USAGE 2
#define EK_EXIT_FINDINGS 3

static const uint16_t default_ports[] = { 443, 5061, 2222, 8443, 7001, 7002, 636, 993, 995, 465, 5223, 8444 };

static void usage(FILE *fp)
{
	fputs("Usage: ekuscope [options] FILE...\n"
	      "       ekuscope [options] -r FILE [-r FILE ...]\n"
	      "\n"
	      "Shows, for every TLS connection in pcap/pcapng captures, each handshake message\n"
	      "with the frame Wireshark numbers it, and the certificates each side presented\n"
	      "(serial, EKU, subject, issuer, validity).\n"
	      "\n"
	      "Input:\n"
	      "  -r FILE            read a capture file (pcap or pcapng; \"-\" is stdin); repeatable\n"
	      "  --tls-port N       also treat TCP port N as TLS (repeatable; other ports are\n"
	      "                     recognised by content)\n"
	      "  --max-memory MB    memory budget for connection state and out-of-order\n"
	      "                     buffers (default 256); past it the oldest connections\n"
	      "                     are evicted and counted in the summary\n"
	      "Output:\n"
	      "  -o FILE            write the timeline CSV to FILE (\"-\" for stdout)\n"
	      "  --findings FILE    write the findings CSV to FILE\n"
	      "  --certs FILE       write the certificate inventory CSV to FILE\n"
	      "  -q                 print only findings on stdout\n"
	      "Diagnosis:\n"
	      "  --ca-file PEM      verify presented chains against these CAs (chain_untrusted)\n"
	      "  --ca-path DIR      same, from an OpenSSL hashed CA directory\n"
	      "  --public-roots PEM the publicly trusted roots (default: the system bundle)\n"
	      "  --fail-on SEV      exit 3 when a finding of severity SEV (info, warning,\n"
	      "                     error) or higher exists\n"
	      "  -h, --help         this help\n"
	      "  -V, --version      version\n"
	      "\n"
	      "Without -o the timeline prints readably on stdout; the report (summary,\n"
	      "findings with explanation and remedy, failed-handshake ladders, what each\n"
	      "endpoint presented) follows.\n"
	      "Exit status: 0 analysis done, 2 usage or input error, 3 --fail-on matched.\n",
	      fp);
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535) return -1;
	*out = (uint16_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_MAX_MEMORY = 999, OPT_TLS_PORT = 1000, OPT_FINDINGS, OPT_CERTS, OPT_CA_FILE, OPT_CA_PATH, OPT_PUBLIC_ROOTS, OPT_FAIL_ON };
	static const struct option longopts[] = {
		{ "findings", required_argument, NULL, OPT_FINDINGS },
		{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
		{ "certs", required_argument, NULL, OPT_CERTS },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "ca-path", required_argument, NULL, OPT_CA_PATH },
		{ "public-roots", required_argument, NULL, OPT_PUBLIC_ROOTS },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "tls-port", required_argument, NULL, OPT_TLS_PORT },
		{ NULL, 0, NULL, 0 },
	};
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	size_t n_files = 0;
	uint16_t ports[sizeof default_ports / sizeof default_ports[0] + 64];
	size_t n_ports = sizeof default_ports / sizeof default_ports[0];
	memcpy(ports, default_ports, sizeof default_ports);
	struct analysis_opts ao;
	memset(&ao, 0, sizeof ao);
	if (!files) {
		fputs("ekuscope: out of memory\n", stderr);
		return EK_EXIT_USAGE;
	}

	int fail_on = -1;
	unsigned long max_memory_mb = 256;
	int ch;
	while ((ch = getopt_long(argc, argv, "hVr:o:q", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			free(files);
			return EK_EXIT_OK;
		case 'V':
			puts("ekuscope " EK_VERSION);
			free(files);
			return EK_EXIT_OK;
		case 'r': files[n_files++] = optarg; break;
		case 'o': ao.timeline_csv = optarg; break;
		case 'q': ao.quiet = true; break;
		case OPT_FINDINGS: ao.findings_csv = optarg; break;
		case OPT_MAX_MEMORY: {
			char *end;
			errno = 0;
			max_memory_mb = strtoul(optarg, &end, 10);
			if (errno || *end || max_memory_mb < 16 || max_memory_mb > 1048576) {
				fprintf(stderr, "ekuscope: --max-memory: expected megabytes from 16 to 1048576, not '%s'\n",
					optarg);
				free(files);
				return EK_EXIT_USAGE;
			}
			break;
		}
		case OPT_CERTS: ao.certs_csv = optarg; break;
		case OPT_CA_FILE: ao.ca_file = optarg; break;
		case OPT_CA_PATH: ao.ca_path = optarg; break;
		case OPT_PUBLIC_ROOTS: ao.public_roots = optarg; break;
		case OPT_FAIL_ON:
			fail_on = severity_parse(optarg);
			if (fail_on < 0) {
				fprintf(stderr, "ekuscope: --fail-on: expected info, warning or error, not '%s'\n", optarg);
				free(files);
				return EK_EXIT_USAGE;
			}
			break;
		case OPT_TLS_PORT: {
			uint16_t p;
			if (parse_port(optarg, &p) != 0) {
				fprintf(stderr, "ekuscope: --tls-port: not a port number: %s\n", optarg);
				free(files);
				return EK_EXIT_USAGE;
			}
			if (n_ports < sizeof ports / sizeof ports[0]) ports[n_ports++] = p;
			break;
		}
		default:
			fputs("Try 'ekuscope --help' for more information.\n", stderr);
			free(files);
			return EK_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) files[n_files++] = argv[i];
	if (!n_files) {
		fputs("ekuscope: no input: give capture files (or -r FILE)\n", stderr);
		fputs("Try 'ekuscope --help' for more information.\n", stderr);
		free(files);
		return EK_EXIT_USAGE;
	}

	/* Budget split: an eighth for out-of-order TCP data (a quarter of that per
	 * direction at most), the rest for connection state at ~2 KiB each
	 * (capture + dissect + report). */
	size_t budget = (size_t)max_memory_mb << 20;
	ao.cap.max_total_ooo_bytes = budget / 8;
	ao.cap.max_conn_ooo_bytes = budget / 32 < ((size_t)1 << 20) ? budget / 32 : ((size_t)1 << 20);
	ao.cap.max_conns = budget / 8 * 7 / 2048;
	ao.tls_ports = ports;
	ao.n_tls_ports = n_ports;
	bool csv_on_stdout = ao.timeline_csv && strcmp(ao.timeline_csv, "-") == 0;
	ao.text_timeline = !ao.timeline_csv && !ao.quiet;
	/* progress line on a terminal, unless the timeline is printing there */
	progress_enable(!ao.quiet && isatty(STDERR_FILENO) && !(ao.text_timeline && isatty(STDOUT_FILENO)));

	char err[512];
	struct analysis *a = analysis_new(&ao, err, sizeof err);
	if (!a) {
		fprintf(stderr, "ekuscope: %s\n", err);
		free(files);
		return EK_EXIT_USAGE;
	}
	int status = EK_EXIT_OK;
	for (size_t i = 0; i < n_files; i++) {
		if (analysis_file(a, files[i], err, sizeof err) != 0) {
			fprintf(stderr, "ekuscope: %s\n", err);
			status = EK_EXIT_USAGE;
		}
	}
	if (analysis_finish(a, err, sizeof err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		status = EK_EXIT_USAGE;
	}
	analysis_report(a, csv_on_stdout ? stderr : stdout, ao.quiet);
	if (status == EK_EXIT_OK && fail_on >= 0 && analysis_max_severity(a) >= fail_on) status = EK_EXIT_FINDINGS;
	analysis_free(a);
	free(files);
	return status;
}
