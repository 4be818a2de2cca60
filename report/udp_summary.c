#include "udp_summary.h"

void udp_totals_add_tls(struct udp_totals *u, const struct tls_stats *ts)
{
	const struct udp_totals v = { ts->udp_flows, ts->dtls_flows, ts->openvpn_conns, ts->openvpn_tls_crypt,
				      ts->quic_flows, ts->quic_packets, ts->udp_tls_like_flows,
				      ts->udp_tls_like_packets };
	udp_totals_add(u, &v);
}

void udp_totals_add(struct udp_totals *u, const struct udp_totals *v)
{
	u->udp_flows += v->udp_flows;
	u->dtls_flows += v->dtls_flows;
	u->openvpn_conns += v->openvpn_conns;
	u->openvpn_tls_crypt += v->openvpn_tls_crypt;
	u->quic_flows += v->quic_flows;
	u->quic_packets += v->quic_packets;
	u->tls_like_flows += v->tls_like_flows;
	u->tls_like_packets += v->tls_like_packets;
}

static const char *s(uint64_t n)
{
	return n == 1 ? "" : "s";
}

void udp_summary_print(FILE *fp, const struct udp_totals *u)
{
	if (u->dtls_flows || u->openvpn_conns)
		fprintf(fp, "         UDP: %llu flow%s, %llu read as DTLS; OpenVPN control channels (UDP and TCP): %llu\n",
			(unsigned long long)u->udp_flows, s(u->udp_flows), (unsigned long long)u->dtls_flows,
			(unsigned long long)u->openvpn_conns);
	if (u->openvpn_tls_crypt)
		fprintf(fp, "         OpenVPN --tls-crypt: %llu connection%s with an encrypted control channel: "
			"certificates not visible\n",
			(unsigned long long)u->openvpn_tls_crypt, s(u->openvpn_tls_crypt));
	if (u->quic_flows)
		fprintf(fp, "         QUIC seen, not analysed (TLS 1.3 inside, certificates encrypted): %llu flow%s, "
			"%llu packet%s\n",
			(unsigned long long)u->quic_flows, s(u->quic_flows), (unsigned long long)u->quic_packets,
			s(u->quic_packets));
	if (u->tls_like_flows)
		fprintf(fp, "         UDP with TLS-looking content seen, not analysed: %llu flow%s, %llu packet%s\n",
			(unsigned long long)u->tls_like_flows, s(u->tls_like_flows),
			(unsigned long long)u->tls_like_packets, s(u->tls_like_packets));
}
