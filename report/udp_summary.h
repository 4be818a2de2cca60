/* The summary lines about UDP: DTLS and OpenVPN read, QUIC and other
 * TLS-looking UDP seen but not analysed (so "0 TLS connections" is never
 * silent about them). */
#ifndef EK_REPORT_UDP_SUMMARY_H
#define EK_REPORT_UDP_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "../dissect/tls.h"

struct udp_totals {
	uint64_t udp_flows, dtls_flows, openvpn_conns, openvpn_tls_crypt;
	uint64_t quic_flows, quic_packets, tls_like_flows, tls_like_packets;
};

void udp_totals_add_tls(struct udp_totals *u, const struct tls_stats *ts);
void udp_totals_add(struct udp_totals *u, const struct udp_totals *v);
/* Lines for the summary block (nothing when there is nothing to say). */
void udp_summary_print(FILE *fp, const struct udp_totals *u);

#endif
