/* The report on stdout: the summary of what was read and what was missing,
 * then findings, ladders and endpoints (analysis_report). */
#include "run_int.h"

#include <string.h>

#include "../dissect/keylog.h"
#include "../report/findings.h"
#include "../report/inventory.h"
#include "../report/sanitize.h"
#include "../report/timeline.h"
#include "../report/udp_summary.h"

static void unread_list(const struct analysis *a, FILE *fp)
{
	if (!a->t.files_unread) return;
	fprintf(fp, "         could not be read:");
	for (uint32_t i = 0; i < a->t.files && i < MAX_FILES; i++) {
		if (!a->unread[i]) continue;
		const char *p = i < a->o.n_inputs ? a->o.inputs[i] : a->file_names[i];
		char buf[300];
		fprintf(fp, " %s", strcmp(p, "-") == 0 ? "standard input" : sanitize_str(p, buf, sizeof buf));
	}
	fputc('\n', fp);
}

void run_summary(const struct analysis *a, FILE *fp)
{
	const struct analysis_totals *t = &a->t;
	if (t->files_unread) {
		/* which files the counts cover, and which were not read at all */
		fprintf(fp, "\nSummary: %u of %u file%s analysed", t->files - t->files_unread, t->files,
			t->files == 1 ? "" : "s");
		if (!analysis_analysed(a)) {
			fputc('\n', fp);
			unread_list(a, fp);
			return;
		}
		fprintf(fp, ", ");
	} else {
		fprintf(fp, "\nSummary: %u file%s, ", t->files, t->files == 1 ? "" : "s");
	}
	fprintf(fp, "%llu packets, %llu TCP connection%s, %llu TLS connection%s\n", (unsigned long long)t->packets,
		(unsigned long long)t->tcp_conns, t->tcp_conns == 1 ? "" : "s", (unsigned long long)t->tls_conns,
		t->tls_conns == 1 ? "" : "s");
	unread_list(a, fp);
	fprintf(fp, "         handshakes: %llu completed, %llu failed or incomplete", (unsigned long long)t->handshakes_complete,
		(unsigned long long)t->handshakes_failed);
	if (t->handshakes_unknown)
		fprintf(fp, ",\n         %llu outcome not visible (TLS 1.3 without keys, or no hello seen)",
			(unsigned long long)t->handshakes_unknown);
	fputc('\n', fp);
	if (t->gaps || t->snaplen_cut)
		fprintf(fp, "         missing data: %llu holes (%llu bytes), %llu packets cut by snaplen\n",
			(unsigned long long)t->gaps, (unsigned long long)t->gap_bytes,
			(unsigned long long)t->snaplen_cut);
	if (t->rows_dropped)
		fprintf(fp, "         %llu timeline rows of TLS connections dropped (over %d rows held for "
			"connections not yet known to be TLS)\n",
			(unsigned long long)t->rows_dropped, TIMELINE_MAX_HELD);
	udp_summary_print(fp, &t->udp);
	if (t->ip_fragments)
		fprintf(fp,
			"         IP fragments: %llu, reassembled into %llu datagrams; %llu overlapping (first copy kept), "
			"%llu datagrams incomplete\n",
			(unsigned long long)t->ip_fragments, (unsigned long long)t->ip_datagrams,
			(unsigned long long)t->ip_frag_overlaps, (unsigned long long)t->ip_frag_dropped);
	if (t->malformed)
		fprintf(fp, "         %llu malformed packets skipped\n", (unsigned long long)t->malformed);
	if (t->oom_packets || t->oom_conns)
		fprintf(fp, "         out of memory: %llu packets skipped, %llu connections not analysed\n",
			(unsigned long long)t->oom_packets, (unsigned long long)t->oom_conns);
	if (t->evicted)
		fprintf(fp, "         %llu connections evicted (connection table full: see --max-memory)\n",
			(unsigned long long)t->evicted);
	if (t->have_pcap_stats) {
		fprintf(fp, "         capture: %llu packets received by filter, %llu dropped by kernel, %llu dropped by "
			"interface\n",
			(unsigned long long)t->ps_recv, (unsigned long long)t->ps_drop, (unsigned long long)t->ps_ifdrop);
		if (a->ev_current)
			fprintf(fp, "         evidence: %llu file%s written (-w), the last %s\n",
				(unsigned long long)a->ev_files, a->ev_files == 1 ? "" : "s", a->ev_current);
		if (t->ps_drop || t->ps_ifdrop)
			fprintf(fp, "\n  WARNING: %llu packets were dropped before ekuscope saw them: handshakes may be\n"
				    "  incomplete and data_missing rows are expected. Narrow the filter or raise -s only\n"
				    "  as far as needed.\n",
				(unsigned long long)(t->ps_drop + t->ps_ifdrop));
	}
	if (t->files_truncated)
		fprintf(fp, "         %u file%s truncated: read up to the cut\n", t->files_truncated,
			t->files_truncated == 1 ? "" : "s");
	struct tls_keylog_stats ks;
	tls_keylog_get_stats(a->keys, &ks);
	if (ks.secrets || ks.malformed || t->conns_keyed) {
		fprintf(fp, "         decryption: %llu secrets for %llu client randoms", (unsigned long long)ks.secrets,
			(unsigned long long)ks.entries);
		if (t->dsb_blocks) fprintf(fp, " (incl. %llu pcapng secrets blocks)", (unsigned long long)t->dsb_blocks);
		if (ks.malformed) fprintf(fp, ", %llu malformed key log lines ignored", (unsigned long long)ks.malformed);
		fprintf(fp, ";\n         %llu connection%s with keys, %llu records decrypted, %llu connection%s failed "
			"to decrypt\n",
			(unsigned long long)t->conns_keyed, t->conns_keyed == 1 ? "" : "s",
			(unsigned long long)t->records_decrypted, (unsigned long long)t->conns_decrypt_failed,
			t->conns_decrypt_failed == 1 ? "" : "s");
	}
	struct tls_stats ts;
	tls_get_stats(a->tls, &ts);
	if (ts.held)
		fprintf(fp, "         key log followed: %llu connection%s waited for secrets: %llu got them, %llu did not "
			"within 5 s or by their end, %llu passed the memory bound\n",
			(unsigned long long)ts.held, ts.held == 1 ? "" : "s", (unsigned long long)ts.held_keyed,
			(unsigned long long)ts.held_timeout, (unsigned long long)ts.held_bounds);
}

void analysis_report(const struct analysis *a, FILE *fp, bool quiet)
{
	if (!quiet) run_summary(a, fp);
	/* "No findings." only about something analysed */
	if (!analysis_analysed(a)) {
		fflush(fp);
		return;
	}
	findings_print(a->findings, fp);
	if (!quiet) {
		findings_print_ladders(a->findings, fp);
		inventory_print(a->inv, fp, a->ev_names ? a->ev_names : a->file_names, a->ev_names ? a->n_ev : a->t.files);
	}
	fflush(fp);
}
