/* The command line (options.h): every option parsed and checked, the
 * output paths checked against the inputs, before anything is opened. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/filter_check.h"
#include "../report/findings_table.h"
#include "evidence_opts.h"
#include "labels.h"
#include "outputs.h"

enum {
	OPT_DURATION = 998, OPT_MAX_MEMORY = 999, OPT_TLS_PORT = 1000, OPT_FINDINGS, OPT_CERTS, OPT_CA_FILE,
	OPT_CA_PATH, OPT_PUBLIC_ROOTS, OPT_FAIL_ON, OPT_KEYLOG, OPT_CONNS, OPT_JSON, OPT_EXPORT_CERTS, OPT_CONN,
	OPT_HTML
};

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
	      "  -j N, --jobs N     N threads (default: the number of CPUs): each file\n"
	      "                     analysed gets two (capture, then dissect and report),\n"
	      "                     so up to N/2 files at once (one at a time for less\n"
	      "                     than 32 MB of files); -j 1: one file at a time on\n"
	      "                     one thread.  The output is the same as with -j 1;\n"
	      "                     --max-memory applies to each file\n"
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
	      "  --conn N           only connection N (the conn column: 12, or u3 for UDP;\n"
	      "                     FILE:N with several files); repeatable; restricts\n"
	      "                     every output\n"
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

/* A usage error: the message on stderr, exit status 2. */
static int usage_error(const char *msg)
{
	fprintf(stderr, "ekuscope: %s\n", msg);
	return EK_EXIT_USAGE;
}

/* One option of argv (getopt's ch with its optarg); OPTIONS_RUN or the
 * exit status. */
static int take_option(struct options *op, int ch, char *arg)
{
	struct analysis_opts *ao = &op->ao;
	char e[160];
	switch (ch) {
	case 'h':
		usage(stdout);
		return EK_EXIT_OK;
	case 'V':
		puts("ekuscope " EK_VERSION);
		return EK_EXIT_OK;
	case 'r': op->files[op->n_files++] = arg; break;
	case 'o': ao->timeline_csv = arg; break;
	case 'q': ao->quiet = true; break;
	case 'i': op->live.iface = arg; break;
	case 'f': ao->bpf = arg; break;
	case 'p': op->live.promisc = false; break;
	case 'w': ao->write_to = arg; break;
	case 'Z': op->user = arg; break;
	case 'C':
	case 'W':
	case 'G':
		if (evidence_opt(ch, arg, ao, e, sizeof e) != 0) return usage_error(e);
		break;
	case 'D': op->list_ifaces = true; break;
	case 's':
	case 'c':
	case 'B':
	case OPT_DURATION: {
		unsigned long long v;
		if (parse_count(arg, &v) != 0 || (ch == 's' && (v < 64 || v > CAP_MAX_SNAPLEN)) ||
		    (ch == 'B' && v > 2097152)) {
			fprintf(stderr, "ekuscope: -%s: not a valid number: %s\n",
				ch == OPT_DURATION ? "-duration" : ch == 's' ? "s" : ch == 'B' ? "B" : "c", arg);
			return EK_EXIT_USAGE;
		}
		if (ch == 's') op->live.snaplen = (int)v;
		else if (ch == 'B') op->live.buffer_kib = (int)v;
		else if (ch == 'c') ao->max_packets = v;
		else ao->max_seconds = v;
		break;
	}
	case 'j': {
		unsigned long long v;
		if (parse_count(arg, &v) != 0 || v > 1024) {
			fprintf(stderr, "ekuscope: -j: expected a number of jobs from 1 to 1024, not '%s'\n", arg);
			return EK_EXIT_USAGE;
		}
		op->jobs = (unsigned)v;
		break;
	}
	case OPT_FINDINGS: ao->findings_csv = arg; break;
	case OPT_KEYLOG:
		if (ao->n_keylog_files == OPTIONS_MAX_KEYLOGS) return usage_error("--keylog: at most 64 key log files");
		op->keylogs[ao->n_keylog_files++] = arg;
		ao->keylog_files = op->keylogs;
		break;
	case OPT_MAX_MEMORY: {
		char *end;
		errno = 0;
		op->max_memory_mb = strtoul(arg, &end, 10);
		if (errno || *end || op->max_memory_mb < 16 || op->max_memory_mb > 1048576) {
			fprintf(stderr, "ekuscope: --max-memory: expected megabytes from 16 to 1048576, not '%s'\n", arg);
			return EK_EXIT_USAGE;
		}
		break;
	}
	case OPT_CERTS: ao->certs_csv = arg; break;
	case OPT_CONNS: ao->out.conns_csv = arg; break;
	case OPT_JSON: ao->out.json = arg; break;
	case OPT_EXPORT_CERTS: ao->out.export_certs = arg; break;
	case OPT_HTML: ao->out.html = arg; break;
	case OPT_CONN:
		if (op->n_conn_specs == OPTIONS_MAX_CONNS) return usage_error("--conn: at most 1024 connections");
		op->conn_specs[op->n_conn_specs++] = arg;
		break;
	case OPT_CA_FILE: ao->ca_file = arg; break;
	case OPT_CA_PATH: ao->ca_path = arg; break;
	case OPT_PUBLIC_ROOTS: ao->public_roots = arg; break;
	case OPT_FAIL_ON:
		op->fail_on = severity_parse(arg);
		if (op->fail_on < 0) {
			fprintf(stderr, "ekuscope: --fail-on: expected info, warning or error, not '%s'\n", arg);
			return EK_EXIT_USAGE;
		}
		break;
	case OPT_TLS_PORT: {
		uint16_t p;
		if (parse_port(arg, &p) != 0) {
			fprintf(stderr, "ekuscope: --tls-port: not a port number: %s\n", arg);
			return EK_EXIT_USAGE;
		}
		if (op->ao.n_tls_ports < OPTIONS_MAX_PORTS) op->ports[op->ao.n_tls_ports++] = p;
		break;
	}
	default:
		fputs("Try 'ekuscope --help' for more information.\n", stderr);
		return EK_EXIT_USAGE;
	}
	return OPTIONS_RUN;
}

/* The inputs: files, or trailing words as the filter (tcpdump's
 * convention: with -i or -r they are the filter). */
static int take_operands(struct options *op, int argc, char **argv)
{
	if ((op->live.iface || op->n_files) && optind < argc) {
		if (op->ao.bpf) return usage_error("give the filter either with -f or as trailing arguments");
		op->ao.bpf = op->filter_words = join_args(argc - optind, argv + optind);
		if (!op->filter_words) return usage_error("out of memory"); /* not a run without the filter */
		if (filter_names_file(op->filter_words, argc - optind, argv + optind) != 0) return EK_EXIT_USAGE;
	} else {
		for (int i = optind; i < argc; i++) op->files[op->n_files++] = argv[i];
	}
	if (op->live.iface && op->n_files) return usage_error("give either -i IFACE or capture files, not both");
	if (!op->live.iface && (op->ao.write_to || op->ao.max_seconds || op->live.buffer_kib))
		return usage_error("-w, -B and --duration go with -i (live capture)");
	op->ao.live = op->live.iface != NULL;
	if (!op->n_files && !op->live.iface) {
		fputs("ekuscope: no input: give capture files (or -r FILE)\n", stderr);
		fputs("Try 'ekuscope --help' for more information.\n", stderr);
		return EK_EXIT_USAGE;
	}
	return OPTIONS_RUN;
}

/* --conn: the connections named, checked against the inputs' labels. */
static int take_conn_filter(struct options *op)
{
	if (!op->n_conn_specs) return OPTIONS_RUN;
	char err[512];
	op->conn_filter = conn_filter_new();
	bool bad = !op->conn_filter;
	snprintf(err, sizeof err, "out of memory");
	for (size_t i = 0; !bad && i < op->n_conn_specs; i++)
		bad = conn_filter_add(op->conn_filter, op->conn_specs[i], err, sizeof err) != 0;
	if (bad || conn_filter_check(op->conn_filter, op->labels, op->n_files, err, sizeof err) != 0)
		return usage_error(err);
	op->ao.conn_filter = op->conn_filter;
	op->ao.out.all_ladders = true;
	return OPTIONS_RUN;
}

/* Budget split: an eighth for out-of-order TCP data (a quarter of that per
 * direction at most), the rest for connection state at ~2 KiB each
 * (capture + dissect + report). */
static void split_memory(struct options *op)
{
	size_t budget = (size_t)op->max_memory_mb << 20;
	op->ao.cap.max_total_ooo_bytes = budget / 8;
	op->ao.cert_cache_bytes = budget / 32; /* 8 MiB by default: ~7 000 certificates */
	op->ao.cap.max_conn_ooo_bytes = budget / 32 < ((size_t)1 << 20) ? budget / 32 : ((size_t)1 << 20);
	op->ao.cap.max_conns = budget / 8 * 7 / 2048;
}

/* Where the timeline and the report go: a file on stdout keeps stdout to
 * itself (the report goes to stderr); the progress line on a terminal
 * (also with -q: it is on stderr), unless the timeline is printing there. */
static int take_stdout(struct options *op)
{
	struct analysis_opts *ao = &op->ao;
	const char *to_stdout[] = { ao->timeline_csv, ao->out.conns_csv, ao->out.json };
	int n_stdout = 0;
	for (size_t i = 0; i < sizeof to_stdout / sizeof to_stdout[0]; i++)
		n_stdout += to_stdout[i] && strcmp(to_stdout[i], "-") == 0;
	if (n_stdout > 1) return usage_error("only one of -o, --conns and --json can be \"-\" (stdout)");
	op->csv_on_stdout = n_stdout > 0;
	ao->text_timeline = !ao->timeline_csv && !ao->quiet && !op->csv_on_stdout;
	op->term = (struct progress_term)PROGRESS_TERM_INIT(stderr);
	if (isatty(STDERR_FILENO) && !(ao->text_timeline && isatty(STDOUT_FILENO))) ao->progress = &op->term;
	return OPTIONS_RUN;
}

int options_parse(struct options *op, int argc, char **argv)
{
#define ARG(name, val) { name, required_argument, NULL, val }
	static const struct option longopts[] = {
		ARG("findings", OPT_FINDINGS), ARG("max-memory", OPT_MAX_MEMORY), ARG("duration", OPT_DURATION),
		ARG("jobs", 'j'), ARG("certs", OPT_CERTS), ARG("ca-file", OPT_CA_FILE), ARG("ca-path", OPT_CA_PATH),
		ARG("public-roots", OPT_PUBLIC_ROOTS), ARG("fail-on", OPT_FAIL_ON), ARG("tls-port", OPT_TLS_PORT),
		ARG("keylog", OPT_KEYLOG), ARG("conns", OPT_CONNS), ARG("json", OPT_JSON),
		ARG("export-certs", OPT_EXPORT_CERTS), ARG("conn", OPT_CONN), ARG("html", OPT_HTML),
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
#undef ARG
	/* getopt's own messages name the program by argv[0]: "ekuscope:" */
	static char prog[] = "ekuscope";
	argv[0] = prog;
	memset(op, 0, sizeof *op);
	op->fail_on = -1;
	op->live.promisc = true;
	op->max_memory_mb = 256;
	memcpy(op->ports, default_ports, sizeof default_ports);
	op->ao.tls_ports = op->ports;
	op->ao.n_tls_ports = sizeof default_ports / sizeof default_ports[0];
	op->files = calloc((size_t)argc + 1, sizeof *op->files);
	if (!op->files) return usage_error("out of memory");

	int ch, rc;
	while ((ch = getopt_long(argc, argv, "hVr:o:qi:f:s:pw:c:Z:Dj:B:C:W:G:", longopts, NULL)) != -1)
		if ((rc = take_option(op, ch, optarg)) != OPTIONS_RUN) return rc;
	if (op->list_ifaces) return OPTIONS_RUN;
	if ((rc = take_operands(op, argc, argv)) != OPTIONS_RUN) return rc;

	char err[512];
	if (check_paths(&op->ao, op->files, op->n_files, err, sizeof err) != 0) return usage_error(err);
	op->labels = labels_make(op->files, op->n_files);
	if (!op->labels) return usage_error("out of memory");
	op->ao.inputs = op->files;
	op->ao.labels = op->labels;
	op->ao.n_inputs = op->n_files;
	if ((rc = take_conn_filter(op)) != OPTIONS_RUN) return rc;
	split_memory(op);
	return take_stdout(op);
}

void options_free(struct options *op)
{
	conn_filter_free(op->conn_filter);
	if (op->labels) labels_free(op->labels, op->n_files);
	evidence_done(&op->ao);
	free(op->files);
	free(op->filter_words);
	memset(op, 0, sizeof *op);
}
