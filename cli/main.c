/* ekuscope: which certificate each side of every TLS connection presented,
 * and why handshakes failed.  The command-line front end. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/filter_check.h"
#include "analysis.h"
#include "../report/findings_table.h"
#include "heap.h"
#include "evidence_opts.h"
#include "labels.h"
#include "outputs.h"
#include "parallel.h"
#include "progress.h"

#define EK_EXIT_OK 0
#define EK_EXIT_USAGE 2
#define EK_EXIT_FINDINGS 3

static const uint16_t default_ports[] = { 443, 5061, 2222, 8443, 7001, 7002, 636, 993, 995, 465, 5223, 8444 };

static void usage(FILE *fp)
{
	fputs("Usage: ekuscope [options] FILE...\n"
	      "       ekuscope [options] -r FILE [-r FILE ...] [BPF expression]\n"
	      "       ekuscope [options] -i IFACE [BPF expression]\n"
	      "\n"
	      "Shows, for every TLS connection in pcap/pcapng captures, each handshake message\n"
	      "with the frame Wireshark numbers it, and the certificates each side presented\n"
	      "(serial, EKU, subject, issuer, validity).\n"
	      "\n"
	      "Input:\n"
	      "  -r FILE            read a capture file (pcap or pcapng; \"-\" is stdin); repeatable;\n"
	      "                     with -r (or -i) trailing arguments are a BPF filter\n"
	      "  -i IFACE           capture live on IFACE (\"any\" for all); rows appear as\n"
	      "                     handshakes happen; Ctrl-C ends the run cleanly\n"
	      "  -f EXPR            BPF filter (libpcap syntax); on files frames keep the\n"
	      "                     numbers Wireshark shows for the whole file\n"
	      "  -s SNAPLEN         live snapshot length (default 262144: whole packets)\n"
	      "  -p                 live: do not put the interface in promiscuous mode\n"
	      "  -B KIB             live: kernel capture buffer in KiB (default 32768); a\n"
	      "                     bigger one rides out longer bursts without drops\n"
	      "  -w FILE            live: also save the captured packets (pcap) as evidence\n"
	      "  -C MB              live: a new -w file after MB million bytes (FILE1, FILE2 ...)\n"
	      "  -W N               with -C: a ring of N files; with -G: stop after N files\n"
	      "  -G SEC             live: a new -w file every SEC seconds, FILE through strftime\n"
	      "  -c N               stop after N packets\n"
	      "  --duration SEC     live: stop after SEC seconds\n"
	      "  -Z USER            live: drop root privileges to USER once the interface\n"
	      "                     is open (default when started as root: nobody)\n"
	      "  -D                 list the interfaces live capture can use\n"
	      "  --tls-port N       also treat TCP port N as TLS (repeatable; other ports are\n"
	      "                     recognised by content)\n"
	      "  --keylog FILE      TLS secrets in the NSS key log format (SSLKEYLOGFILE),\n"
	      "                     repeatable: TLS 1.3 certificates and alerts, TLS 1.2\n"
	      "                     alerts and renegotiations are decrypted (pcapng\n"
	      "                     Decryption Secrets Blocks are read without it)\n"
	      "  --max-memory MB    memory budget for connection state and out-of-order\n"
	      "                     buffers (default 256); past it the oldest connections\n"
	      "                     are evicted and counted in the summary\n"
	      "  -j N, --jobs N     analyse up to N capture files at once (default: the\n"
	      "                     number of CPUs, 1 for less than 32 MB of files); the\n"
	      "                     output is the same as with -j 1; --max-memory\n"
	      "                     applies to each\n"
	      "Output:\n"
	      "  -o FILE            write the timeline CSV to FILE (\"-\" for stdout)\n"
	      "  --findings FILE    write the findings CSV to FILE\n"
	      "  --certs FILE       write the certificate inventory CSV to FILE\n"
	      "  -q                 print only findings on stdout\n"
	      "  --conns FILE       write one CSV row per TLS connection to FILE\n"
	      "  --json FILE        write JSON Lines (Elastic Common Schema names) to FILE\n"
	      "                     (\"-\" for stdout): events, findings, connections, summary\n"
	      "  --export-certs DIR write each distinct certificate and chain as PEM into DIR\n"
	      "  --html FILE        write a self-contained HTML case report to FILE\n"
	      "  --conn N           only connection N (the conn column; FILE:N with several\n"
	      "                     files); repeatable; restricts every output\n"
	      "Diagnosis:\n"
	      "  --ca-file PEM      verify presented chains against these CAs (chain_untrusted)\n"
	      "  --ca-path DIR      same, from a directory (*.pem, *.crt, *.cer, openssl\n"
	      "                     rehash links)\n"
	      "  --public-roots PEM the publicly trusted roots (default: the system bundle)\n"
	      "  --fail-on SEV      exit 3 when a finding of severity SEV (info, warning,\n"
	      "                     error) or higher exists\n"
	      "  -h, --help         this help\n"
	      "  -V, --version      version\n"
	      "\n"
	      "Without -o the timeline prints readably on stdout; the report (summary,\n"
	      "findings with explanation and remedy, failed-handshake ladders, what each\n"
	      "endpoint presented) follows.\n"
	      "Exit status: 0 analysis done, 2 usage or input error (wins over 3), 3 --fail-on\n"
	      "matched.  No output may name an input or another output; when no input could\n"
	      "be read, output files keep what they had.\n",
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

static int parse_count(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || !*s || *s == '-' || v == 0) return -1;
	*out = v;
	return 0;
}

static char *join_args(int n, char **v)
{
	size_t len = 1;
	for (int i = 0; i < n; i++) len += strlen(v[i]) + 1;
	char *s = malloc(len);
	if (!s) return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i) strcat(s, " ");
		strcat(s, v[i]);
	}
	return s;
}

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

/* ekuscope parses hostile traffic: once the interface is open it needs no
 * privilege, so (as tcpdump does) a run started as root continues as USER
 * (default nobody).  Output files were opened before. */
static int drop_privileges(const char *user, const char *evidence, char *err, size_t errn)
{
	if (geteuid() != 0) return 0;
	if (!user) user = "nobody";
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errn, "-Z %s: no such user", user);
		return -1;
	}
	/* as tcpdump: USER may reopen the -w file (a -W ring) and lose nothing else */
	if (evidence && chown(evidence, pw->pw_uid, pw->pw_gid) != 0) {
		snprintf(err, errn, "-w %s: cannot give it to %s: %s", evidence, user, strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errn, "-Z %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errn, "-Z %s: privileges could not be dropped", user);
		return -1;
	}
	return 0;
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

/* Before anything is read: no output names an input or another output,
 * and each output's directory takes its file (outputs.h). */
static int check_paths(struct analysis_opts *o, const char *const *files, size_t n_files, char *err,
		       size_t errn)
{
	size_t n_ins = n_files + o->n_keylog_files + 2 + 8, n_outs = 0, n = 0;
	struct io_path *ins = calloc(n_ins, sizeof *ins), outs[8];
	if (!ins) {
		snprintf(err, errn, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n_files; i++) ins[n++] = (struct io_path){ "", files[i] };
	for (size_t i = 0; i < o->n_keylog_files; i++) ins[n++] = (struct io_path){ "--keylog", o->keylog_files[i] };
	if (o->ca_file) ins[n++] = (struct io_path){ "--ca-file", o->ca_file };
	if (o->public_roots) ins[n++] = (struct io_path){ "--public-roots", o->public_roots };
	if (o->timeline_csv) outs[n_outs++] = (struct io_path){ "-o", o->timeline_csv };
	if (o->findings_csv) outs[n_outs++] = (struct io_path){ "--findings", o->findings_csv };
	if (o->certs_csv) outs[n_outs++] = (struct io_path){ "--certs", o->certs_csv };
	if (o->write_to) outs[n_outs++] = (struct io_path){ "-w", o->write_to };
	if (o->out.conns_csv) outs[n_outs++] = (struct io_path){ "--conns", o->out.conns_csv };
	if (o->out.json) outs[n_outs++] = (struct io_path){ "--json", o->out.json };
	if (o->out.html) outs[n_outs++] = (struct io_path){ "--html", o->out.html };
	/* the report (or the timeline) on stdout: `>> in.pcap` would append to the capture */
	outs[n_outs++] = (struct io_path){ ">", "-" };
	int rc = outputs_check(outs, n_outs, ins, n, err, errn);
	/* rotated -w names: not an input, not another output */
	size_t np = n;
	for (size_t i = 0; rc == 0 && i < n_outs - 1; i++)
		if (outs[i].path != o->write_to) ins[np++] = outs[i];
	if (rc == 0) rc = evidence_check(o, ins, np, err, errn);
	free(ins);
	return rc;
}

/* With -r the trailing words are a filter: when it does not parse and a
 * word is an existing file, the user most likely meant several files. */
static int filter_names_file(const char *filter, int n, char **words)
{
	char why[512];
	if (cap_filter_check(filter, why, sizeof why) == 0) return 0;
	for (int i = 0; i < n; i++) {
		struct stat sb;
		if (stat(words[i], &sb) != 0 || S_ISDIR(sb.st_mode)) continue;
		fprintf(stderr,
			"ekuscope: filter '%s': %s; '%s' is a file: after -r the trailing words are a BPF filter, "
			"so give several files as -r A -r B, or without -r (ekuscope A B)\n",
			filter, why, words[i]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_DURATION = 998, OPT_MAX_MEMORY = 999, OPT_TLS_PORT = 1000, OPT_FINDINGS, OPT_CERTS, OPT_CA_FILE, OPT_CA_PATH, OPT_PUBLIC_ROOTS, OPT_FAIL_ON, OPT_KEYLOG,
	       OPT_CONNS, OPT_JSON, OPT_EXPORT_CERTS, OPT_CONN, OPT_HTML };
	static const struct option longopts[] = {
		{ "findings", required_argument, NULL, OPT_FINDINGS },
		{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "jobs", required_argument, NULL, 'j' },
		{ "certs", required_argument, NULL, OPT_CERTS },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "ca-path", required_argument, NULL, OPT_CA_PATH },
		{ "public-roots", required_argument, NULL, OPT_PUBLIC_ROOTS },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "tls-port", required_argument, NULL, OPT_TLS_PORT },
		{ "keylog", required_argument, NULL, OPT_KEYLOG },
		{ "conns", required_argument, NULL, OPT_CONNS },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "export-certs", required_argument, NULL, OPT_EXPORT_CERTS },
		{ "conn", required_argument, NULL, OPT_CONN },
		{ "html", required_argument, NULL, OPT_HTML },
		{ NULL, 0, NULL, 0 },
	};
	/* getopt's own messages name the program by argv[0]: "ekuscope:" */
	static char prog[] = "ekuscope";
	argv[0] = prog;
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
	static const char *keylogs[64];
	struct cap_live_opts live = { NULL, 0, true, 0 };
	const char *filter = NULL, *user = NULL;
	bool list_ifaces = false;
	unsigned long max_memory_mb = 256;
	unsigned jobs = 0; /* -j; 0: parallel_default_jobs */
	static const char *conn_specs[1024];
	size_t n_conn_specs = 0;
	char err[512];
	int ch;
	while ((ch = getopt_long(argc, argv, "hVr:o:qi:f:s:pw:c:Z:Dj:B:C:W:G:", longopts, NULL)) != -1) {
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
		case 'i': live.iface = optarg; break;
		case 'f': filter = optarg; break;
		case 'p': live.promisc = false; break;
		case 'w': ao.write_to = optarg; break;
		case 'Z': user = optarg; break;
		case 'C':
		case 'W':
		case 'G': {
			char e[160];
			if (evidence_opt(ch, optarg, &ao, e, sizeof e) != 0) {
				fprintf(stderr, "ekuscope: %s\n", e);
				free(files);
				return EK_EXIT_USAGE;
			}
			break;
		}
		case 'D': list_ifaces = true; break;
		case 's':
		case 'c':
		case 'B':
		case OPT_DURATION: {
			unsigned long long v;
			if (parse_count(optarg, &v) != 0 || (ch == 's' && (v < 64 || v > CAP_MAX_SNAPLEN)) ||
			    (ch == 'B' && v > 2097152)) {
				fprintf(stderr, "ekuscope: -%s: not a valid number: %s\n",
					ch == OPT_DURATION ? "-duration" : ch == 's' ? "s" : ch == 'B' ? "B" : "c", optarg);
				free(files);
				return EK_EXIT_USAGE;
			}
			if (ch == 's') live.snaplen = (int)v;
			else if (ch == 'B') live.buffer_kib = (int)v;
			else if (ch == 'c') ao.max_packets = v;
			else ao.max_seconds = v;
			break;
		}
		case 'j': {
			unsigned long long v;
			if (parse_count(optarg, &v) != 0 || v > 1024) {
				fprintf(stderr, "ekuscope: -j: expected a number of jobs from 1 to 1024, not '%s'\n", optarg);
				free(files);
				return EK_EXIT_USAGE;
			}
			jobs = (unsigned)v;
			break;
		}
		case OPT_FINDINGS: ao.findings_csv = optarg; break;
		case OPT_KEYLOG:
			if (ao.n_keylog_files == sizeof keylogs / sizeof keylogs[0]) {
				fputs("ekuscope: --keylog: at most 64 key log files\n", stderr);
				free(files);
				return EK_EXIT_USAGE;
			}
			keylogs[ao.n_keylog_files++] = optarg;
			ao.keylog_files = keylogs;
			break;
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
		case OPT_CONNS: ao.out.conns_csv = optarg; break;
		case OPT_JSON: ao.out.json = optarg; break;
		case OPT_EXPORT_CERTS: ao.out.export_certs = optarg; break;
		case OPT_HTML: ao.out.html = optarg; break;
		case OPT_CONN:
			if (n_conn_specs == sizeof conn_specs / sizeof conn_specs[0]) {
				fputs("ekuscope: --conn: at most 1024 connections\n", stderr);
				free(files);
				return EK_EXIT_USAGE;
			}
			conn_specs[n_conn_specs++] = optarg;
			break;
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
	if (list_ifaces) {
		free(files);
		return list_interfaces();
	}
	/* tcpdump's convention: with -i or -r the trailing words are the filter */
	char *joined = NULL;
	if ((live.iface || n_files) && optind < argc) {
		if (filter) {
			fputs("ekuscope: give the filter either with -f or as trailing arguments\n", stderr);
			free(files);
			return EK_EXIT_USAGE;
		}
		filter = joined = join_args(argc - optind, argv + optind);
	} else {
		for (int i = optind; i < argc; i++) files[n_files++] = argv[i];
	}
	ao.bpf = filter;
	if (joined && filter_names_file(joined, argc - optind, argv + optind) != 0) {
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	if (live.iface && n_files) {
		fputs("ekuscope: give either -i IFACE or capture files, not both\n", stderr);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	if (!live.iface && (ao.write_to || ao.max_seconds || live.buffer_kib)) {
		fputs("ekuscope: -w, -B and --duration go with -i (live capture)\n", stderr);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	ao.live = live.iface != NULL;
	if (!n_files && !live.iface) {
		fputs("ekuscope: no input: give capture files (or -r FILE)\n", stderr);
		fputs("Try 'ekuscope --help' for more information.\n", stderr);
		free(files);
		return EK_EXIT_USAGE;
	}

	if (check_paths(&ao, files, n_files, err, sizeof err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	char **labels = labels_make(files, n_files);
	if (!labels) {
		fputs("ekuscope: out of memory\n", stderr);
		evidence_done(&ao);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	ao.inputs = files;
	ao.labels = labels;
	ao.n_inputs = n_files;
	struct conn_filter *conn_filter = n_conn_specs ? conn_filter_new() : NULL;
	bool conn_bad = n_conn_specs && !conn_filter;
	snprintf(err, sizeof err, "out of memory");
	for (size_t i = 0; conn_filter && !conn_bad && i < n_conn_specs; i++)
		conn_bad = conn_filter_add(conn_filter, conn_specs[i], err, sizeof err) != 0;
	if (conn_bad || (conn_filter && conn_filter_check(conn_filter, labels, n_files, err, sizeof err) != 0)) {
		fprintf(stderr, "ekuscope: %s\n", err);
		conn_filter_free(conn_filter);
		labels_free(labels, n_files);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	ao.conn_filter = conn_filter;
	ao.out.all_ladders = conn_filter != NULL;

	/* Budget split: an eighth for out-of-order TCP data (a quarter of that per
	 * direction at most), the rest for connection state at ~2 KiB each
	 * (capture + dissect + report). */
	size_t budget = (size_t)max_memory_mb << 20;
	heap_use_huge_pages(budget < ((size_t)64 << 20) ? budget : ((size_t)64 << 20));
	ao.cap.max_total_ooo_bytes = budget / 8;
	ao.cert_cache_bytes = budget / 32; /* 8 MiB by default: ~7 000 certificates */
	ao.cap.max_conn_ooo_bytes = budget / 32 < ((size_t)1 << 20) ? budget / 32 : ((size_t)1 << 20);
	ao.cap.max_conns = budget / 8 * 7 / 2048;
	ao.tls_ports = ports;
	ao.n_tls_ports = n_ports;
	/* a file on stdout keeps stdout to itself: the report goes to stderr */
	const char *to_stdout[] = { ao.timeline_csv, ao.out.conns_csv, ao.out.json };
	int n_stdout = 0;
	for (size_t i = 0; i < sizeof to_stdout / sizeof to_stdout[0]; i++)
		n_stdout += to_stdout[i] && strcmp(to_stdout[i], "-") == 0;
	if (n_stdout > 1) {
		fputs("ekuscope: only one of -o, --conns and --json can be \"-\" (stdout)\n", stderr);
		conn_filter_free(conn_filter);
		labels_free(labels, n_files);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	bool csv_on_stdout = n_stdout > 0;
	ao.text_timeline = !ao.timeline_csv && !ao.quiet && !csv_on_stdout;
	/* progress line on a terminal (also with -q: it is on stderr), unless
	 * the timeline is printing there */
	struct progress_term term = PROGRESS_TERM_INIT(stderr);
	if (isatty(STDERR_FILENO) && !(ao.text_timeline && isatty(STDOUT_FILENO))) ao.progress = &term;

	struct analysis *a = analysis_new(&ao, err, sizeof err);
	if (!a) {
		fprintf(stderr, "ekuscope: %s\n", err);
		conn_filter_free(conn_filter);
		labels_free(labels, n_files);
		evidence_done(&ao);
		free(files);
		free(joined);
		return EK_EXIT_USAGE;
	}
	int status = EK_EXIT_OK;
	if (live.iface) {
		if (analysis_live_open(a, &live, err, sizeof err) != 0 ||
		    drop_privileges(user, analysis_evidence_file(a), err, sizeof err) != 0) {
			fprintf(stderr, "ekuscope: %s\n", err);
			analysis_free(a);
			conn_filter_free(conn_filter);
			labels_free(labels, n_files);
			evidence_done(&ao);
			free(files);
			free(joined);
			return EK_EXIT_USAGE;
		}
		live_analysis = a;
		catch_signals();
		if (analysis_live_run(a, err, sizeof err) != 0) {
			fprintf(stderr, "ekuscope: %s\n", err);
			status = EK_EXIT_USAGE;
		}
		live_analysis = NULL;
	}
	if (!jobs) jobs = parallel_default_jobs(files, n_files);
	if (writers_wanted(&ao.out)) jobs = 1; /* those writers see one run's events in order */
	if (jobs > 1 && n_files > 1) {
		if (parallel_run(a, &ao, files, n_files, jobs) != 0) status = EK_EXIT_USAGE;
	} else {
		for (size_t i = 0; i < n_files; i++) {
			if (analysis_file(a, files[i], err, sizeof err) != 0) {
				fprintf(stderr, "ekuscope: %s\n", err);
				status = EK_EXIT_USAGE;
			}
		}
	}
	if (analysis_finish(a, err, sizeof err) != 0) {
		fprintf(stderr, "ekuscope: %s\n", err);
		status = EK_EXIT_USAGE;
	}
	analysis_report(a, csv_on_stdout ? stderr : stdout, ao.quiet);
	if (status == EK_EXIT_OK && fail_on >= 0 && analysis_max_severity(a) >= fail_on) status = EK_EXIT_FINDINGS;
	analysis_free(a);
	conn_filter_free(conn_filter);
	labels_free(labels, n_files);
	evidence_done(&ao);
	free(files);
	free(joined);
	return status;
}
