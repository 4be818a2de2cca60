/* capture/decode: frames built byte by byte for each link type and the
 * IP/TCP corner cases (options, extension headers, fragments, tunnels,
 * snaplen cuts, every truncation of a header). */
#include <stdio.h>
#include <string.h>

#include "../capture/decode.h"
#include "check.h"

struct buf {
	uint8_t b[2048];
	size_t n;
};

static void put(struct buf *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}
static void u8(struct buf *f, unsigned v) { f->b[f->n++] = (uint8_t)v; }
static void u16(struct buf *f, unsigned v) { u8(f, v >> 8); u8(f, v & 0xFF); }
static void u32(struct buf *f, uint32_t v) { u16(f, v >> 16); u16(f, v & 0xFFFF); }
static void u32le(struct buf *f, uint32_t v) { u8(f, v & 0xFF); u8(f, (v >> 8) & 0xFF); u8(f, (v >> 16) & 0xFF); u8(f, v >> 24); }

static const uint8_t V4A[4] = { 10, 0, 0, 1 }, V4B[4] = { 192, 168, 1, 2 };
static const uint8_t V6A[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, V6B[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const char PAYLOAD[] = "0123456789";

/* TCP header (20 + optlen bytes) + payload */
static void tcp(struct buf *f, size_t optlen, uint8_t flags, const char *data)
{
	u16(f, 40000);
	u16(f, 443);
	u32(f, 0x11223344);
	u32(f, 0x55667788);
	u16(f, (unsigned)(((20 + optlen) / 4) << 12) | flags);
	u16(f, 65535);
	u32(f, 0); /* checksum, urgent */
	for (size_t i = 0; i < optlen; i++) u8(f, 1); /* NOPs */
	put(f, data, strlen(data));
}

static size_t tcp_len(size_t optlen, const char *data) { return 20 + optlen + strlen(data); }

/* IPv4 header with optlen bytes of options; total covers inner bytes */
static void ipv4(struct buf *f, size_t optlen, unsigned proto, size_t inner, unsigned frag)
{
	u8(f, 0x40 | (unsigned)((20 + optlen) / 4));
	u8(f, 0);
	u16(f, (unsigned)(20 + optlen + inner));
	u16(f, 1);
	u16(f, frag);
	u8(f, 64);
	u8(f, proto);
	u16(f, 0);
	put(f, V4A, 4);
	put(f, V4B, 4);
	for (size_t i = 0; i < optlen; i++) u8(f, 1); /* NOP options */
}

static void ipv6(struct buf *f, unsigned nh, size_t plen)
{
	u32(f, 0x60000000);
	u16(f, (unsigned)plen);
	u8(f, nh);
	u8(f, 64);
	put(f, V6A, 16);
	put(f, V6B, 16);
}

static void eth(struct buf *f, unsigned type)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	put(f, mac, 12);
	u16(f, type);
}

/* IPv4/TCP with PAYLOAD, appended to f */
static void v4tcp(struct buf *f)
{
	ipv4(f, 0, 6, tcp_len(0, PAYLOAD), 0);
	tcp(f, 0, TCPF_ACK | TCPF_PSH, PAYLOAD);
}

static void v6tcp(struct buf *f)
{
	ipv6(f, 6, tcp_len(0, PAYLOAD));
	tcp(f, 0, TCPF_ACK | TCPF_PSH, PAYLOAD);
}

static struct dec_tcp t;

static enum dec_status run(int dlt, const struct buf *f)
{
	return dec_frame(dlt, f->b, f->n, f->n, &t);
}

/* The frame decoded to the TCP segment v4tcp()/v6tcp() build. */
static void check_tcp(int family, const char *what)
{
	int fails = check_failed;
	CHECK_EQ_U(t.src.addr.family, family);
	if (family == 4) {
		CHECK(memcmp(t.src.addr.a, V4A, 4) == 0);
		CHECK(memcmp(t.dst.addr.a, V4B, 4) == 0);
	} else {
		CHECK(memcmp(t.src.addr.a, V6A, 16) == 0);
		CHECK(memcmp(t.dst.addr.a, V6B, 16) == 0);
	}
	CHECK_EQ_U(t.src.port, 40000);
	CHECK_EQ_U(t.dst.port, 443);
	CHECK_EQ_U(t.seq, 0x11223344);
	CHECK_EQ_U(t.ack, 0x55667788);
	CHECK_EQ_U(t.flags, TCPF_ACK | TCPF_PSH);
	CHECK_EQ_U(t.len, 10);
	CHECK_EQ_U(t.caplen, 10);
	CHECK(t.payload && memcmp(t.payload, PAYLOAD, 10) == 0);
	if (check_failed != fails) fprintf(stderr, "  ... in %s\n", what);
}

/* Every strict prefix of a frame that ends inside the headers is
 * malformed (and read no byte past its end: ASan watches). */
static void check_prefixes(int dlt, const struct buf *f, size_t headers, const char *what)
{
	int bad = 0;
	for (size_t n = 0; n < headers; n++) {
		uint8_t copy[2048];
		memcpy(copy, f->b, n);
		if (dec_frame(dlt, n ? copy : NULL, n, n, &t) != DEC_MALFORMED) bad++;
		if (dec_frame(dlt, n ? copy : NULL, n, f->n, &t) != DEC_MALFORMED) bad++; /* snaplen cut */
	}
	if (bad) fprintf(stderr, "  ... prefixes of %s: %d not malformed\n", what, bad);
	CHECK_EQ_U(bad, 0);
}

static void test_ethernet(void)
{
	struct buf f = { .n = 0 };
	eth(&f, 0x0800);
	v4tcp(&f);
	CHECK_EQ_U(run(1, &f), DEC_TCP);
	check_tcp(4, "ethernet");
	check_prefixes(1, &f, 14 + 20 + 20, "ethernet/ipv4/tcp");

	/* padding after the IP packet (short frames, FCS) is not payload */
	f.b[f.n++] = 0xEE;
	f.b[f.n++] = 0xEE;
	CHECK_EQ_U(run(1, &f), DEC_TCP);
	check_tcp(4, "ethernet padding");

	/* 802.1Q, 802.1ad + 802.1Q, and the old 0x9100 QinQ, stacked */
	unsigned tags[][3] = { { 0x8100, 0, 0 }, { 0x88A8, 0x8100, 0 }, { 0x9100, 0x8100, 0x8100 } };
	for (int i = 0; i < 3; i++) {
		f.n = 0;
		eth(&f, tags[i][0]);
		for (int k = 0; k < 3 && tags[i][k]; k++) {
			u16(&f, 100 + (unsigned)k); /* TCI */
			u16(&f, k + 1 < 3 && tags[i][k + 1] ? tags[i][k + 1] : 0x86DD);
		}
		v6tcp(&f);
		CHECK_EQ_U(run(1, &f), DEC_TCP);
		check_tcp(6, "vlan");
	}

	/* PPPoE session: PPP IPv4 and IPv6 */
	for (int v6 = 0; v6 < 2; v6++) {
		f.n = 0;
		eth(&f, 0x8864);
		u8(&f, 0x11);
		u8(&f, 0);
		u16(&f, 0x1234);
		u16(&f, (unsigned)(2 + (v6 ? 40 : 20) + tcp_len(0, PAYLOAD)));
		u16(&f, v6 ? 0x0057 : 0x0021);
		if (v6) v6tcp(&f);
		else v4tcp(&f);
		CHECK_EQ_U(run(1, &f), DEC_TCP);
		check_tcp(v6 ? 6 : 4, "pppoe");
	}

	/* PPPoE carrying LCP, ARP: no IP */
	f.n = 0;
	eth(&f, 0x8864);
	u8(&f, 0x11); u8(&f, 0); u16(&f, 1); u16(&f, 6); u16(&f, 0xC021); u32(&f, 0);
	CHECK_EQ_U(run(1, &f), DEC_NOT_IP);
	f.n = 0;
	eth(&f, 0x0806);
	u32(&f, 0x00010800);
	CHECK_EQ_U(run(1, &f), DEC_NOT_IP);
}

static void test_sll_null_raw(void)
{
	struct buf f = { .n = 0 };
	/* Linux cooked v1: packet type, ARPHRD, addr len, 8 address bytes, protocol */
	u16(&f, 0); u16(&f, 1); u16(&f, 6); u32(&f, 0); u32(&f, 0); u16(&f, 0x0800);
	v4tcp(&f);
	CHECK_EQ_U(run(113, &f), DEC_TCP);
	check_tcp(4, "sll");
	check_prefixes(113, &f, 16, "sll");

	/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, address */
	f.n = 0;
	u16(&f, 0x86DD); u16(&f, 0); u32(&f, 3); u16(&f, 1); u8(&f, 0); u8(&f, 6); u32(&f, 0); u32(&f, 0);
	v6tcp(&f);
	CHECK_EQ_U(run(276, &f), DEC_TCP);
	check_tcp(6, "sll2");
	check_prefixes(276, &f, 20, "sll2");

	/* BSD loopback: the family in either byte order */
	uint32_t afs[] = { 2, 10, 24, 28, 30 };
	for (int dlt = 0; dlt <= 108; dlt += 108)
		for (int le = 0; le < 2; le++)
			for (int i = 0; i < 5; i++) {
				f.n = 0;
				if (le) u32le(&f, afs[i]);
				else u32(&f, afs[i]);
				if (afs[i] == 2) v4tcp(&f);
				else v6tcp(&f);
				CHECK_EQ_U(run(dlt, &f), DEC_TCP);
				check_tcp(afs[i] == 2 ? 4 : 6, "null/loop");
			}
	f.n = 0;
	u32le(&f, 7); /* some other family */
	v4tcp(&f);
	CHECK_EQ_U(run(0, &f), DEC_NOT_IP);

	/* raw IP: both DLT_RAW values, LINKTYPE_RAW, DLT_IPV4, DLT_IPV6 */
	int raws[] = { 12, 14, 101 };
	for (int i = 0; i < 3; i++) {
		f.n = 0;
		v4tcp(&f);
		CHECK_EQ_U(run(raws[i], &f), DEC_TCP);
		check_tcp(4, "raw v4");
		f.n = 0;
		v6tcp(&f);
		CHECK_EQ_U(run(raws[i], &f), DEC_TCP);
		check_tcp(6, "raw v6");
	}
	f.n = 0;
	v4tcp(&f);
	CHECK_EQ_U(run(228, &f), DEC_TCP);
	CHECK_EQ_U(run(229, &f), DEC_MALFORMED); /* IPv4 bytes where IPv6 is promised */
	f.n = 0;
	v6tcp(&f);
	CHECK_EQ_U(run(229, &f), DEC_TCP);
	check_tcp(6, "DLT_IPV6");
	CHECK_EQ_U(run(147, &f), DEC_NOT_IP); /* a link type we do not know */
	CHECK(!dec_linktype_known(147));
	CHECK(dec_linktype_known(276));
}

static void test_ipv4(void)
{
	struct buf f = { .n = 0 };
	/* options: IHL 6..15 */
	for (size_t opt = 4; opt <= 40; opt += 12) {
		f.n = 0;
		ipv4(&f, opt, 6, tcp_len(0, PAYLOAD), 0);
		tcp(&f, 0, TCPF_ACK | TCPF_PSH, PAYLOAD);
		CHECK_EQ_U(run(101, &f), DEC_TCP);
		check_tcp(4, "ipv4 options");
	}
	/* TCP options */
	f.n = 0;
	ipv4(&f, 0, 6, tcp_len(12, PAYLOAD), 0);
	tcp(&f, 12, TCPF_ACK | TCPF_PSH, PAYLOAD);
	CHECK_EQ_U(run(101, &f), DEC_TCP);
	check_tcp(4, "tcp options");
	check_prefixes(101, &f, 20 + 20, "ipv4 + tcp fixed header");
	/* The snapshot length cut inside the TCP options: the fixed header is
	 * enough, and the whole payload counts as not captured. */
	for (size_t n = 20 + 20; n < 20 + 32; n++) {
		CHECK_EQ_U(dec_frame(101, f.b, n, f.n, &t), DEC_TCP);
		CHECK_EQ_U(t.caplen, 0);
		CHECK_EQ_U(t.len, 10);
		CHECK_EQ_U(t.seq, 0x11223344);
		/* a short packet (not a cut) is still malformed */
		CHECK_EQ_U(dec_frame(101, f.b, n, n, &t), DEC_MALFORMED);
	}

	/* fragments: more-fragments set, or an offset */
	unsigned frags[] = { 0x2000, 0x0010, 0x2010 };
	for (int i = 0; i < 3; i++) {
		f.n = 0;
		ipv4(&f, 0, 6, tcp_len(0, PAYLOAD), frags[i]);
		tcp(&f, 0, TCPF_ACK, PAYLOAD);
		CHECK_EQ_U(run(101, &f), DEC_FRAGMENT);
	}
	f.n = 0;
	ipv4(&f, 0, 6, tcp_len(0, PAYLOAD), 0x4000); /* DF only: whole */
	tcp(&f, 0, TCPF_ACK | TCPF_PSH, PAYLOAD);
	CHECK_EQ_U(run(101, &f), DEC_TCP);

	/* bad IHL, bad version, total length shorter than the header */
	f.n = 0;
	v4tcp(&f);
	f.b[0] = 0x44;
	CHECK_EQ_U(run(101, &f), DEC_MALFORMED);
	f.b[0] = 0x45;
	f.b[3] = 10; /* total length 10 */
	CHECK_EQ_U(run(101, &f), DEC_MALFORMED);
	/* TCP data offset < 5, and past the IP payload */
	f.n = 0;
	v4tcp(&f);
	f.b[32] = 0x40;
	CHECK_EQ_U(run(101, &f), DEC_MALFORMED);
	f.b[32] = 0xF0;
	CHECK_EQ_U(run(101, &f), DEC_MALFORMED);

	/* UDP: a datagram with its ports and payload; ICMP: not TCP */
	f.n = 0;
	ipv4(&f, 0, 17, 11, 0);
	u16(&f, 5353); u16(&f, 53); u16(&f, 11); u16(&f, 0);
	u8(&f, 0x16); u8(&f, 0xfe); u8(&f, 0xfd);
	CHECK_EQ_U(run(101, &f), DEC_UDP);
	CHECK_EQ_U(t.src.port, 5353);
	CHECK_EQ_U(t.dst.port, 53);
	CHECK_EQ_U(t.len, 3);
	CHECK_EQ_U(t.caplen, 3);
	CHECK_EQ_U(t.payload[1], 0xfe);
	f.b[9] = 1;
	CHECK_EQ_U(run(101, &f), DEC_NOT_TCP);

	/* total length 0 (segmentation offload on the sending host): the frame's length counts */
	f.n = 0;
	v4tcp(&f);
	f.b[2] = f.b[3] = 0;
	CHECK_EQ_U(run(101, &f), DEC_TCP);
	check_tcp(4, "tso");
}

static void test_snaplen(void)
{
	struct buf f = { .n = 0 };
	eth(&f, 0x0800);
	v4tcp(&f);
	/* cut 6 payload bytes by the snapshot length */
	CHECK_EQ_U(dec_frame(1, f.b, f.n - 6, f.n, &t), DEC_TCP);
	CHECK_EQ_U(t.len, 10);
	CHECK_EQ_U(t.caplen, 4);
	CHECK(t.payload && memcmp(t.payload, "0123", 4) == 0);
	/* the same bytes missing without a snaplen cut: the IP length is bogus, not believed */
	CHECK_EQ_U(dec_frame(1, f.b, f.n - 6, f.n - 6, &t), DEC_TCP);
	CHECK_EQ_U(t.len, 4);
	CHECK_EQ_U(t.caplen, 4);
	/* all payload cut */
	CHECK_EQ_U(dec_frame(1, f.b, 14 + 40, f.n, &t), DEC_TCP);
	CHECK_EQ_U(t.len, 10);
	CHECK_EQ_U(t.caplen, 0);
	CHECK(t.payload == NULL);
}

static void test_ipv6_ext(void)
{
	struct buf f = { .n = 0 };
	size_t tl = tcp_len(0, PAYLOAD);
	/* hop-by-hop (8) -> routing (24) -> destination (16) -> AH (16) -> TCP */
	ipv6(&f, 0, 8 + 24 + 16 + 16 + tl);
	u8(&f, 43); u8(&f, 0); u16(&f, 0x0104); u32(&f, 0);              /* HBH: 8 bytes */
	u8(&f, 60); u8(&f, 2); u16(&f, 0); u32(&f, 0); for (int i = 0; i < 16; i++) u8(&f, 0); /* routing: 24 */
	u8(&f, 51); u8(&f, 1); u16(&f, 0); u32(&f, 0); u32(&f, 0); u32(&f, 0); /* destination: 16 */
	u8(&f, 6); u8(&f, 2); u16(&f, 0); u32(&f, 0x100); u32(&f, 1); u32(&f, 0); /* AH: (2+2)*4 = 16 */
	tcp(&f, 0, TCPF_ACK | TCPF_PSH, PAYLOAD);
	CHECK_EQ_U(run(229, &f), DEC_TCP);
	check_tcp(6, "ipv6 extension headers");
	check_prefixes(229, &f, 40 + 64 + 20, "ipv6 extension headers");

	/* fragment header: a real fragment is skipped, an atomic one is whole */
	unsigned offm[] = { 0x0001, 0x0008, 0x0000 };
	enum dec_status want[] = { DEC_FRAGMENT, DEC_FRAGMENT, DEC_TCP };
	for (int i = 0; i < 3; i++) {
		f.n = 0;
		ipv6(&f, 44, 8 + tl);
		u8(&f, 6); u8(&f, 0); u16(&f, offm[i]); u32(&f, 0xABCD);
		tcp(&f, 0, TCPF_ACK | TCPF_PSH, PAYLOAD);
		CHECK_EQ_U(run(229, &f), want[i]);
	}
	check_tcp(6, "atomic fragment");

	/* no next header, ESP: not TCP; an extension header longer than the packet: malformed */
	f.n = 0;
	ipv6(&f, 59, 0);
	CHECK_EQ_U(run(229, &f), DEC_NOT_TCP);
	f.n = 0;
	ipv6(&f, 0, 8);
	u8(&f, 6); u8(&f, 3); u16(&f, 0); u32(&f, 0);
	CHECK_EQ_U(run(229, &f), DEC_MALFORMED);
}

static void test_tunnels(void)
{
	struct buf in = { .n = 0 }, f = { .n = 0 };
	/* VXLAN: outer IPv4/UDP to 4789, then Ethernet, IPv6, TCP */
	eth(&in, 0x86DD);
	v6tcp(&in);
	uint8_t outer_a[4] = { 172, 16, 0, 1 };
	eth(&f, 0x0800);
	ipv4(&f, 0, 17, 8 + 8 + in.n, 0);
	memcpy(f.b + 14 + 12, outer_a, 4);
	u16(&f, 55555); u16(&f, 4789); u16(&f, (unsigned)(16 + in.n)); u16(&f, 0);
	u32(&f, 0x08000000); u32(&f, 0x00123400);
	put(&f, in.b, in.n);
	CHECK_EQ_U(run(1, &f), DEC_TCP);
	check_tcp(6, "vxlan");

	/* GRE (IPv4 inside), with a key */
	f.n = 0;
	in.n = 0;
	v4tcp(&in);
	ipv4(&f, 0, 47, 8 + in.n, 0);
	u16(&f, 0x2000); u16(&f, 0x0800); u32(&f, 42);
	put(&f, in.b, in.n);
	CHECK_EQ_U(run(101, &f), DEC_TCP);
	check_tcp(4, "gre");

	/* IPv6 in IPv4 */
	f.n = 0;
	in.n = 0;
	v6tcp(&in);
	ipv4(&f, 0, 41, in.n, 0);
	put(&f, in.b, in.n);
	CHECK_EQ_U(run(101, &f), DEC_TCP);
	check_tcp(6, "6in4");

	/* GTP-U G-PDU with a sequence number */
	f.n = 0;
	in.n = 0;
	v4tcp(&in);
	ipv4(&f, 0, 17, 8 + 12 + in.n, 0);
	u16(&f, 2152); u16(&f, 2152); u16(&f, (unsigned)(8 + 12 + in.n)); u16(&f, 0);
	u8(&f, 0x32); u8(&f, 0xFF); u16(&f, (unsigned)(4 + in.n)); u32(&f, 7); u16(&f, 1); u8(&f, 0); u8(&f, 0);
	put(&f, in.b, in.n);
	CHECK_EQ_U(run(101, &f), DEC_TCP);
	check_tcp(4, "gtp-u");

	/* MPLS label stack, then IPv4 */
	f.n = 0;
	eth(&f, 0x8847);
	u32(&f, 0x00010040);
	u32(&f, 0x00020140); /* bottom of stack */
	v4tcp(&f);
	CHECK_EQ_U(run(1, &f), DEC_TCP);
	check_tcp(4, "mpls");
}

int main(void)
{
	test_ethernet();
	test_sll_null_raw();
	test_ipv4();
	test_snaplen();
	test_ipv6_ext();
	test_tunnels();
	return check_summary();
}
