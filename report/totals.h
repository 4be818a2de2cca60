/* The counts of one run that the summary, the HTML and the JSON report
 * print (cli/run.c fills them). */
#ifndef EK_TOTALS_H
#define EK_TOTALS_H

#include <stdbool.h>
#include <stdint.h>

#include "udp_summary.h"

struct analysis_totals {
	uint32_t files, files_failed;
	uint32_t files_unread;        /* could not be opened: nothing of them analysed */
	uint64_t packets, bytes, tcp_conns, tls_conns, not_tls_conns;
	uint64_t handshakes_complete, handshakes_failed, handshakes_unknown;
	uint64_t rows;
	uint64_t rows_dropped;        /* of TLS connections, held past TIMELINE_MAX_HELD */
	uint64_t gaps, gap_bytes, snaplen_cut, ip_fragments, malformed, evicted;
	uint64_t oom_packets, oom_conns; /* skipped for lack of memory */
	uint64_t ip_datagrams, ip_frag_overlaps, ip_frag_dropped;
	uint32_t files_truncated;
	/* decryption (--keylog, pcapng Decryption Secrets Blocks) */
	uint64_t dsb_blocks, conns_keyed, conns_decrypt_failed, records_decrypted;
	struct udp_totals udp;        /* DTLS, OpenVPN, QUIC and other UDP (udp_summary.h) */
	bool have_pcap_stats;         /* live: what libpcap counted */
	uint64_t ps_recv, ps_drop, ps_ifdrop;
};

#endif
