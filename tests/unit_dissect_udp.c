/* dissect/udp.c, dtls.c, openvpn.c on datagrams built here: what a flow is
 * (DTLS by port and by content, STUN passed over, QUIC and TLS-looking UDP
 * counted), DTLS fragments out of order / repeated / never completed, and
 * OpenVPN control packets out of packet-id order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "check.h"
#include "dissect/tls.h"
#include "dissect/udp.h"

static void put_u32(struct buf *b, uint32_t v)
{
	put_u16(b, v >> 16);
	put_u16(b, v & 0xFFFF);
}

/* ---- event log ---------------------------------------------------------------- */

static char evlog[4096];

static void on_event(void *ctx, const struct tls_event *ev)
{
	(void)ctx;
	char t[96] = "";
	const char *who = ev->sender == TLS_ROLE_CLIENT ? "c" : ev->sender == TLS_ROLE_SERVER ? "s" : "-";
	switch (ev->kind) {
	case TLS_EV_CONN_TLS: snprintf(t, sizeof t, "TLS "); break;
	case TLS_EV_HANDSHAKE:
		snprintf(t, sizeof t, "%s:%s@%llu ", who, tls_handshake_name(ev->u.hs.type),
			 (unsigned long long)ev->pkt.frame);
		break;
	case TLS_EV_CCS: snprintf(t, sizeof t, "%s:CCS@%llu ", who, (unsigned long long)ev->pkt.frame); break;
	case TLS_EV_ENCRYPTED_HANDSHAKE:
		snprintf(t, sizeof t, "%s:ENC@%llu ", who, (unsigned long long)ev->pkt.frame);
		break;
	case TLS_EV_DATA_MISSING: snprintf(t, sizeof t, "%s:MISSING ", who); break;
	case TLS_EV_RECORD_INCOMPLETE: snprintf(t, sizeof t, "%s:INCOMPLETE(%s) ", who, ev->u.incomplete); break;
	case TLS_EV_CONN_END:
		snprintf(t, sizeof t, "END%s%s", ev->conn->udp ? "u" : "", ev->conn->tls_crypt ? " tls-crypt" : "");
		break;
	default: break;
	}
	strncat(evlog, t, sizeof evlog - strlen(evlog) - 1);
}

static struct tls_ctx *ctx_new(void)
{
	struct tls_opts o;
	memset(&o, 0, sizeof o);
	struct tls_sink s = { NULL, on_event };
	evlog[0] = 0;
	return tls_ctx_new(&o, &s, NULL);
}

static struct udp_flow *flow(struct tls_ctx *t, uint16_t cport, uint16_t sport)
{
	struct tls_conn_params p;
	memset(&p, 0, sizeof p);
	p.id = 3;
	p.ep[0].addr.family = p.ep[1].addr.family = 4;
	p.ep[0].addr.a[3] = 1;
	p.ep[1].addr.a[3] = 2;
	p.ep[0].port = cport;
	p.ep[1].port = sport;
	p.initiator = -1;
	return udp_flow_new(t, &p);
}

static uint64_t frame_no;

static enum tls_verdict send(struct tls_ctx *t, struct udp_flow *f, int dir, const struct buf *b)
{
	struct ek_pktref p;
	memset(&p, 0, sizeof p);
	p.frame = ++frame_no;
	return udp_flow_datagram(t, f, dir, b->p, b->n, b->n, &p);
}

/* ---- DTLS builders -------------------------------------------------------------- */

static uint64_t rec_seq;

static void dtls_record(struct buf *d, uint8_t type, uint16_t epoch, const struct buf *body)
{
	put_u8(d, type);
	put_u16(d, 0xfefd);
	put_u16(d, epoch);
	put_u16(d, 0);
	put_u32(d, (uint32_t)rec_seq++);
	put_u16(d, (unsigned)body->n);
	put(d, body->p, body->n);
}

/* One handshake fragment record: message type/len/seq, bytes [off, off+n) of body. */
static void dtls_fragment(struct buf *d, uint8_t type, uint16_t mseq, const struct buf *msg, size_t off, size_t n)
{
	struct buf f = { 0 };
	put_u8(&f, type);
	put_u24(&f, (unsigned)msg->n);
	put_u16(&f, mseq);
	put_u24(&f, (unsigned)off);
	put_u24(&f, (unsigned)n);
	put(&f, msg->p + off, n);
	dtls_record(d, 22, 0, &f);
	free(f.p);
}

static struct buf client_hello_body(void)
{
	struct buf b = { 0 };
	put_u16(&b, 0xfefd);
	for (int i = 0; i < 32; i++) put_u8(&b, (unsigned)i);
	put_u8(&b, 0);          /* session id */
	put_u8(&b, 4);          /* cookie: 4 bytes, which TLS has not */
	put_u32(&b, 0xC00C1E5u);
	put_u16(&b, 2);
	put_u16(&b, 0xc02b);
	put_u8(&b, 1);
	put_u8(&b, 0);
	put_u16(&b, 0);         /* no extensions */
	return b;
}

static struct buf server_hello_body(void)
{
	struct buf b = { 0 };
	put_u16(&b, 0xfefd);
	for (int i = 0; i < 32; i++) put_u8(&b, 0x40u + (unsigned)i);
	put_u8(&b, 0);
	put_u16(&b, 0xc02b);
	put_u8(&b, 0);
	return b;
}

static void test_dtls(void)
{
	struct tls_ctx *t = ctx_new();
	frame_no = 0;
	rec_seq = 0;
	/* a flow on a port no table knows, STUN first: found by its DTLS handshake record */
	struct udp_flow *f = flow(t, 50000, 40000);
	struct buf stun = { 0 }, d = { 0 };
	put_u16(&stun, 0x0001);
	put_u16(&stun, 0);
	put_u32(&stun, 0x2112A442u);
	for (int i = 0; i < 12; i++) put_u8(&stun, 7);
	CHECK(send(t, f, 0, &stun) == TLS_UNDECIDED); /* frame 1 */
	/* the ClientHello in three fragments: the last one first, the first one twice */
	struct buf ch = client_hello_body();
	dtls_fragment(&d, 1, 0, &ch, 40, ch.n - 40);
	send(t, f, 0, &d); /* frame 2 */
	d.n = 0;
	dtls_fragment(&d, 1, 0, &ch, 0, 20);
	send(t, f, 0, &d); /* frame 3 */
	send(t, f, 0, &d); /* frame 4: a copy */
	d.n = 0;
	dtls_fragment(&d, 1, 0, &ch, 20, 20);
	send(t, f, 0, &stun); /* frame 5: STUN in between, passed over */
	send(t, f, 0, &d); /* frame 6 completes the ClientHello */
	/* the server: ServerHello whole, then the first half of a Certificate that never completes */
	struct buf sh = server_hello_body(), cert = { 0 };
	for (int i = 0; i < 300; i++) put_u8(&cert, 0xAB);
	d.n = 0;
	dtls_fragment(&d, 2, 0, &sh, 0, sh.n);
	dtls_fragment(&d, 11, 1, &cert, 0, 150);
	send(t, f, 1, &d); /* frame 7 */
	/* the ClientHello retransmitted (new record numbers): reported once */
	d.n = 0;
	dtls_fragment(&d, 1, 0, &ch, 0, ch.n);
	send(t, f, 0, &d); /* frame 8 */
	struct ek_pktref end = { .frame = 9 };
	udp_flow_end(t, f, &end);
	CHECK_STR(evlog, "TLS c:ClientHello@6 s:ServerHello@7 s:MISSING s:INCOMPLETE(Certificate) ENDu");

	struct tls_stats st;
	tls_get_stats(t, &st);
	CHECK_EQ_U(st.dtls_flows, 1);
	CHECK(st.retransmissions >= 2);
	free(ch.p), free(sh.p), free(cert.p), free(stun.p), free(d.p);
	tls_ctx_free(t);
}

/* A whole message lost (message_seq 1 never comes): one hole, then the
 * messages after it, when the sender moves on to its ChangeCipherSpec. */
static void test_dtls_lost_message(void)
{
	struct tls_ctx *t = ctx_new();
	frame_no = 0;
	rec_seq = 0;
	struct udp_flow *f = flow(t, 50001, 4433);
	struct buf d = { 0 }, empty = { 0 }, ccs = { 0 };
	struct buf ch = client_hello_body(), sh = server_hello_body();
	dtls_fragment(&d, 1, 0, &ch, 0, ch.n);
	send(t, f, 0, &d); /* 1 */
	d.n = 0;
	dtls_fragment(&d, 2, 0, &sh, 0, sh.n);
	send(t, f, 1, &d); /* 2 */
	d.n = 0;
	dtls_fragment(&d, 14, 3, &empty, 0, 0); /* ServerHelloDone: 1 and 2 lost */
	send(t, f, 1, &d); /* 3: held */
	d.n = 0;
	put_u8(&ccs, 1);
	dtls_record(&d, 20, 0, &ccs);
	send(t, f, 1, &d); /* 4 */
	udp_flow_end(t, f, &(struct ek_pktref){ .frame = 5 });
	CHECK_STR(evlog, "TLS c:ClientHello@1 s:ServerHello@2 s:MISSING s:ServerHelloDone@3 s:CCS@4 ENDu");
	free(d.p), free(ccs.p), free(ch.p), free(sh.p);
	tls_ctx_free(t);
}

/* CAPWAP: the 4-byte preamble before the DTLS record; epoch 1 after the CCS. */
static void test_capwap(void)
{
	struct tls_ctx *t = ctx_new();
	frame_no = 0;
	rec_seq = 0;
	struct udp_flow *f = flow(t, 12379, 5246);
	struct buf d = { 0 }, ccs = { 0 }, fin = { 0 };
	put_u32(&d, 0x01000000u);
	struct buf ch = client_hello_body();
	dtls_fragment(&d, 1, 0, &ch, 0, ch.n);
	send(t, f, 0, &d);
	d.n = 0;
	put_u32(&d, 0x01000000u);
	put_u8(&ccs, 1);
	for (int i = 0; i < 40; i++) put_u8(&fin, 0x5A);
	dtls_record(&d, 20, 0, &ccs);
	dtls_record(&d, 22, 1, &fin);
	send(t, f, 0, &d);
	send(t, f, 0, &d); /* the same datagram again: the CCS and the record are replays */
	udp_flow_end(t, f, &(struct ek_pktref){ .frame = 4 });
	CHECK_STR(evlog, "TLS c:ClientHello@1 c:CCS@2 c:ENC@2 ENDu");
	free(d.p), free(ccs.p), free(fin.p), free(ch.p);
	tls_ctx_free(t);
}

/* QUIC and TLS-looking UDP are counted, not read; other UDP is given up. */
static void test_kinds(void)
{
	struct tls_ctx *t = ctx_new();
	struct buf q = { 0 }, tl = { 0 }, dns = { 0 };
	put_u8(&q, 0xc3);
	put_u32(&q, 1);
	for (int i = 0; i < 40; i++) put_u8(&q, 9);
	struct udp_flow *f = flow(t, 51000, 443);
	send(t, f, 0, &q);
	send(t, f, 1, &q);
	udp_flow_end(t, f, NULL);
	put_u8(&tl, 0x16);
	put_u16(&tl, 0x0303);
	put_u16(&tl, 40);
	for (int i = 0; i < 40; i++) put_u8(&tl, 1);
	f = flow(t, 51001, 9999);
	send(t, f, 0, &tl);
	udp_flow_end(t, f, NULL);
	for (int i = 0; i < 30; i++) put_u8(&dns, 0x55);
	f = flow(t, 51002, 53);
	enum tls_verdict v = TLS_UNDECIDED;
	for (int i = 0; i < 20 && v != TLS_NOT_TLS; i++) v = send(t, f, i & 1, &dns);
	CHECK(v == TLS_NOT_TLS);
	udp_flow_end(t, f, NULL);
	struct tls_stats st;
	tls_get_stats(t, &st);
	CHECK_EQ_U(st.quic_flows, 1);
	CHECK_EQ_U(st.quic_packets, 2);
	CHECK_EQ_U(st.udp_tls_like_flows, 1);
	CHECK_EQ_U(st.dtls_flows, 0);
	CHECK_STR(evlog, ""); /* no connection of them is TLS */
	free(q.p), free(tl.p), free(dns.p);
	tls_ctx_free(t);
}

/* OpenVPN over UDP without --tls-auth: P_CONTROL_V1 packets out of order and
 * repeated; the TLS inside is a ClientHello split over two packets. */
static void ovpn_control(struct buf *d, unsigned op, uint32_t pid, const uint8_t *p, size_t n)
{
	put_u8(d, op << 3);
	put_u32(d, 0x11111111u); /* session id */
	put_u32(d, 0x22222222u);
	put_u8(d, 0);            /* no acks */
	put_u32(d, pid);
	put(d, p, n);
}

static void test_openvpn(void)
{
	struct tls_ctx *t = ctx_new();
	frame_no = 0;
	struct udp_flow *f = flow(t, 40002, 1194);
	struct buf d = { 0 }, rec = { 0 }, body = { 0 };
	ovpn_control(&d, 7, 0, NULL, 0); /* P_CONTROL_HARD_RESET_CLIENT_V2 */
	send(t, f, 0, &d);               /* 1 */
	/* a TLS ClientHello record (TLS layout: no cookie) */
	put_u16(&body, 0x0303);
	for (int i = 0; i < 32; i++) put_u8(&body, 3);
	put_u8(&body, 0);
	put_u16(&body, 2);
	put_u16(&body, 0xc02b);
	put_u8(&body, 1);
	put_u8(&body, 0);
	put_u8(&rec, 22);
	put_u16(&rec, 0x0301);
	put_u16(&rec, (unsigned)body.n + 4);
	put_u8(&rec, 1);
	put_u24(&rec, (unsigned)body.n);
	put(&rec, body.p, body.n);
	size_t half = rec.n / 2;
	d.n = 0;
	ovpn_control(&d, 4, 2, rec.p + half, rec.n - half); /* second half first */
	send(t, f, 0, &d);                                  /* 2 */
	send(t, f, 0, &d);                                  /* 3: repeated */
	d.n = 0;
	ovpn_control(&d, 4, 1, rec.p, half);
	send(t, f, 0, &d);                                  /* 4: completes it */
	udp_flow_end(t, f, NULL);
	CHECK_STR(evlog, "TLS c:ClientHello@4 ENDu");
	struct tls_stats st;
	tls_get_stats(t, &st);
	CHECK_EQ_U(st.openvpn_conns, 1);
	free(d.p), free(rec.p), free(body.p);
	tls_ctx_free(t);
}

/* --tls-crypt: after the session id a small replay id, a time, a 32-byte
 * HMAC, then ciphertext: said so, nothing parsed. */
static void test_openvpn_tls_crypt(void)
{
	struct tls_ctx *t = ctx_new();
	struct udp_flow *f = flow(t, 40003, 1194);
	struct buf d = { 0 };
	put_u8(&d, 7 << 3);
	put_u32(&d, 0x33333333u);
	put_u32(&d, 0x44444444u);
	put_u32(&d, 1);           /* replay packet id */
	put_u32(&d, 1764849600u); /* net time: 2025-12-04 */
	for (int i = 0; i < 32 + 20; i++) put_u8(&d, (unsigned)(0x91 + i * 7));
	send(t, f, 0, &d);
	send(t, f, 1, &d);
	udp_flow_end(t, f, NULL);
	CHECK_STR(evlog, "TLS ENDu tls-crypt");
	struct tls_stats st;
	tls_get_stats(t, &st);
	CHECK_EQ_U(st.openvpn_tls_crypt, 1);
	free(d.p);
	tls_ctx_free(t);
}

int main(void)
{
	test_dtls();
	test_dtls_lost_message();
	test_capwap();
	test_kinds();
	test_openvpn();
	test_openvpn_tls_crypt();
	return check_summary();
}
