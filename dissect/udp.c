/* What a UDP flow carries (see udp.h), and the DTLS / OpenVPN inside. */
#include "udp.h"

#include <stdlib.h>
#include <string.h>

#include "../common/connid.h"
#include "../common/cursor.h"
#include "dtls.h"
#include "openvpn.h"
#include "tls_int.h"

#define UNDECIDED_MAX 16 /* datagrams looked at before a flow is given up */

enum kind { K_UNDECIDED, K_DTLS, K_OPENVPN, K_QUIC, K_TLS_LIKE, K_OTHER };

struct udp_flow {
	struct tls_conn_params p;
	enum kind kind;
	bool capwap;            /* UDP 5246/5247: datagrams may start with the CAPWAP preamble */
	uint8_t looked;
	struct tls_conn *tc;    /* DTLS, OpenVPN */
	struct dtls_conn *dtls;
	struct ovpn_conn *ovpn;
};

static bool on_port(const struct udp_flow *f, uint16_t a)
{
	return f->p.ep[0].port == a || f->p.ep[1].port == a;
}

static bool dtls_port(const struct udp_flow *f)
{
	return on_port(f, 443) || on_port(f, 4433) || f->capwap || on_port(f, 5684);
}

struct udp_flow *udp_flow_new(struct tls_ctx *t, const struct tls_conn_params *p)
{
	struct udp_flow *f = calloc(1, sizeof *f);
	if (!f) return NULL;
	f->p = *p;
	f->p.id |= EK_CONN_UDP;
	f->p.syn_seen = false;
	f->p.initiator = -1;
	f->capwap = on_port(f, 5246) || on_port(f, 5247);
	tls_ctx_stats(t)->udp_flows++;
	return f;
}

/* RFC 7983: STUN, ZRTP, TURN channel, RTP/RTCP share a port with DTLS. */
static bool demux_other(uint8_t b)
{
	return b <= 3 || (b >= 16 && b <= 19) || (b >= 64 && b <= 79) || (b >= 128 && b <= 191);
}

/* CAPWAP: DTLS datagrams start with a 4-byte preamble (version 0, type 1);
 * type 0 is plain CAPWAP.  Returns false for a datagram with no DTLS. */
static bool capwap_strip(const struct udp_flow *f, const uint8_t **b, size_t *n)
{
	if (!f->capwap || *n < 1) return true;
	if ((*b)[0] == 0x01 && *n >= 4) {
		*b += 4;
		*n -= 4;
		return true;
	}
	return (*b)[0] != 0x00;
}

static bool is_quic(const uint8_t *b, size_t n)
{
	struct cur c = cur_make(b, n);
	uint8_t first = cur_u8(&c);
	uint32_t ver = cur_u32(&c);
	if (!cur_ok(&c) || (first & 0xc0) != 0xc0 || n < 20) return false;
	return ver == 1 || ver == 0x6b3343cf || (ver & 0xffffff00) == 0xff000000 ||
	       (ver & 0xffffff00) == 0x51303000; /* Google QUIC "Q0xx" */
}

static bool tls_like(const uint8_t *b, size_t n)
{
	return n >= 5 && (b[0] == 0x16 || b[0] == 0x15) && b[1] == 0x03 && b[2] <= 0x04;
}

static struct tls_conn *make_conn(struct tls_ctx *t, struct udp_flow *f, const struct ek_pktref *pkt, bool openvpn)
{
	struct tls_conn *c = tls_conn_new(t, &f->p, pkt);
	if (c) tls_conn_as_dtls(t, c, openvpn);
	return c;
}

static enum kind decide(struct tls_ctx *t, struct udp_flow *f, const uint8_t *b, size_t n, const struct ek_pktref *pkt)
{
	if (f->looked++ >= UNDECIDED_MAX) return K_OTHER;
	if (ovpn_udp_start(b, n, on_port(f, 1194))) {
		f->tc = make_conn(t, f, pkt, true);
		f->ovpn = ovpn_new(false);
		if (!f->tc || !f->ovpn) return K_OTHER;
		tls_ctx_stats(t)->openvpn_conns++;
		return K_OPENVPN;
	}
	if (is_quic(b, n)) {
		tls_ctx_stats(t)->quic_flows++;
		return K_QUIC;
	}
	const uint8_t *d = b;
	size_t dn = n;
	if (capwap_strip(f, &d, &dn) && dn && !demux_other(d[0]) && dtls_record_at(d, dn, !dtls_port(f))) {
		f->tc = make_conn(t, f, pkt, false);
		f->dtls = dtls_new();
		if (!f->tc || !f->dtls) return K_OTHER;
		tls_ctx_stats(t)->dtls_flows++;
		return K_DTLS;
	}
	if (f->looked == 1 && tls_like(b, n)) {
		tls_ctx_stats(t)->udp_tls_like_flows++;
		return K_TLS_LIKE;
	}
	return K_UNDECIDED;
}

enum tls_verdict udp_flow_datagram(struct tls_ctx *t, struct udp_flow *f, int dir, const uint8_t *b, size_t caplen,
				   size_t len, const struct ek_pktref *pkt)
{
	if (!f || dir < 0 || dir > 1) return TLS_UNDECIDED;
	bool fresh = f->kind == K_UNDECIDED;
	if (fresh) f->kind = decide(t, f, b, caplen, pkt);
	switch (f->kind) {
	case K_DTLS: {
		const uint8_t *d = b;
		size_t dn = caplen;
		if (!capwap_strip(f, &d, &dn) || !dn || demux_other(d[0])) break;
		dtls_datagram(t, f->tc, f->dtls, dir, d, dn, caplen < len, pkt);
		break;
	}
	case K_OPENVPN:
		ovpn_packet(t, f->tc, f->ovpn, dir, b, caplen, pkt);
		break;
	case K_QUIC: tls_ctx_stats(t)->quic_packets++; break;
	case K_TLS_LIKE: tls_ctx_stats(t)->udp_tls_like_packets++; break;
	case K_OTHER: return TLS_NOT_TLS;
	case K_UNDECIDED: break;
	}
	return TLS_UNDECIDED;
}

void udp_flow_end(struct tls_ctx *t, struct udp_flow *f, const struct ek_pktref *pkt)
{
	if (!f) return;
	if (f->dtls) dtls_end(t, f->tc, f->dtls, pkt);
	if (f->ovpn) ovpn_end(t, f->tc, f->ovpn, pkt);
	if (f->tc) tls_conn_end(t, f->tc, pkt);
	free(f);
}
