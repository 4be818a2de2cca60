/* Link -> IP -> TCP decoding.  Each layer works on a cursor over the bytes
 * it owns plus `cut`, the number of its bytes that the snapshot length
 * removed from the end, so the TCP layer can tell announced payload
 * length from captured payload length. */
#include "decode.h"

#include <string.h>

#include "../common/cursor.h"
#include "decode_fast.h"

/* libpcap DLT values (numeric so the meaning does not depend on the
 * platform's pcap headers: 12 is DLT_RAW on Linux, 14 elsewhere). */
enum {
	L_NULL = 0,
	L_EN10MB = 1,
	L_RAW_12 = 12,
	L_RAW_14 = 14,
	L_RAW_101 = 101, /* LINKTYPE_RAW as stored in files */
	L_LOOP = 108,
	L_LINUX_SLL = 113,
	L_IPV4 = 228,
	L_IPV6 = 229,
	L_LINUX_SLL2 = 276,
};

enum {
	ET_IPV4 = 0x0800,
	ET_IPV6 = 0x86DD,
	ET_VLAN = 0x8100,
	ET_QINQ = 0x88A8,
	ET_QINQ_OLD1 = 0x9100,
	ET_QINQ_OLD2 = 0x9200,
	ET_PPPOE_SESS = 0x8864,
	ET_MPLS = 0x8847,
	ET_MPLS_MC = 0x8848,
	ET_TEB = 0x6558, /* transparent Ethernet bridging (GRE, GENEVE) */
	ET_CISCO_MD = 0x8909, /* Cisco MetaData (SGT) */
};

/* IP protocol numbers (IANA) */
enum {
	IPP_HOPOPT = 0, IPP_IPIP = 4, IPP_TCP = 6, IPP_UDP = 17, IPP_IPV6 = 41, IPP_ROUTING = 43,
	IPP_FRAGMENT = 44, IPP_GRE = 47, IPP_AH = 51, IPP_DSTOPTS = 60, IPP_MOBILITY = 135, IPP_HIP = 139,
	IPP_SHIM6 = 140,
};

#define MAX_TAGS 8     /* VLAN / MPLS labels followed before giving up */
#define MAX_DEPTH 4    /* nested tunnels (IP-in-IP, GRE, VXLAN) */
#define VXLAN_PORT 4789
#define GENEVE_PORT 6081
#define GTPU_PORT 2152

struct dctx {
	struct dec_tcp *out;
	struct dec_frag *frag;  /* filled for DEC_FRAGMENT, when not NULL */
	int depth;
};

static enum dec_status dec_ether(struct dctx *x, struct cur *c, size_t cut);
static enum dec_status dec_ipv4(struct dctx *x, struct cur *c, size_t cut);
static enum dec_status dec_ipv6(struct dctx *x, struct cur *c, size_t cut);
static enum dec_status dec_ethertype(struct dctx *x, struct cur *c, uint16_t type, size_t cut);
static enum dec_status dec_ip_any(struct dctx *x, struct cur *c, size_t cut);

/* The n bytes a layer announces, as a sub-cursor over the part that was
 * captured.  *wire is how many of them really were on the wire: the
 * captured ones plus at most `cut` more (bytes the snapshot length
 * removed); an announced length beyond that is bogus and is not believed
 * (Wireshark does the same). */
static struct cur take_announced(struct cur *c, size_t n, size_t cut, size_t *wire)
{
	size_t have = cur_left(c);
	size_t take = n < have ? n : have;
	size_t miss = n - take;
	*wire = take + (miss < cut ? miss : cut);
	return cur_sub(c, take);
}

static enum dec_status dec_tcp(struct dctx *x, struct cur *c, size_t wire)
{
	struct dec_tcp *o = x->out;
	o->src.port = cur_u16(c);
	o->dst.port = cur_u16(c);
	o->seq = cur_u32(c);
	o->ack = cur_u32(c);
	uint16_t off_flags = cur_u16(c);
	o->window = cur_u16(c);
	cur_skip(c, 4); /* checksum, urgent pointer */
	if (!cur_ok(c)) return DEC_MALFORMED;
	size_t hlen = (size_t)(off_flags >> 12) * 4;
	o->flags = (uint8_t)(off_flags & 0xFF);
	if (hlen < 20 || hlen > wire) return DEC_MALFORMED;
	/* Options cut by the snapshot length: the fixed header is enough (no
	 * option is used), and the whole payload counts as not captured. */
	if (!cur_skip(c, hlen - 20)) *c = cur_make(NULL, 0);
	size_t len = wire - hlen;
	size_t have = cur_left(c);
	o->len = (uint32_t)len;
	o->caplen = have < len ? have : len;
	o->payload = o->caplen ? cur_rest(c) : NULL;
	return DEC_TCP;
}

/* A datagram for the UDP flows: length from the UDP header when it is
 * sane (8 .. IP payload), else from the IP header, as Wireshark does. */
static enum dec_status dec_udp_payload(struct dctx *x, uint16_t sport, uint16_t dport, size_t ulen, struct cur *c,
				       size_t wire)
{
	struct dec_tcp *o = x->out;
	if (wire < 8) return DEC_MALFORMED;
	size_t len = ulen >= 8 && ulen <= wire ? ulen - 8 : wire - 8;
	size_t have = cur_left(c);
	o->src.port = sport;
	o->dst.port = dport;
	o->seq = o->ack = 0;
	o->flags = 0;
	o->window = 0;
	o->len = (uint32_t)len;
	o->caplen = have < len ? have : len;
	o->payload = o->caplen ? cur_rest(c) : NULL;
	return DEC_UDP;
}

/* Inner packets of a tunnel: an inner "not IP" is still "not TCP" for the
 * frame as a whole, since the outer layer was IP. */
static enum dec_status inner(enum dec_status s)
{
	return s == DEC_NOT_IP ? DEC_NOT_TCP : s;
}

/* UDP tunnels Wireshark decodes by default: VXLAN, GENEVE, GTP-U. */
static enum dec_status dec_udp(struct dctx *x, struct cur *c, size_t wire)
{
	uint16_t sport = cur_u16(c);
	uint16_t dport = cur_u16(c);
	size_t ulen = cur_u16(c);
	cur_skip(c, 2);
	if (!cur_ok(c)) return DEC_MALFORMED;
	if (x->depth >= MAX_DEPTH) return DEC_NOT_TCP;
#define PORT(p) (sport == (p) || dport == (p))
	if (PORT(VXLAN_PORT)) {
		uint8_t vflags = cur_u8(c);
		cur_skip(c, 7);
		if (!cur_ok(c)) return DEC_MALFORMED;
		if (!(vflags & 0x08)) return DEC_NOT_TCP; /* VNI not valid: not VXLAN */
		x->depth++;
		return inner(dec_ether(x, c, 0));
	}
	if (PORT(GENEVE_PORT)) {
		uint8_t vo = cur_u8(c);
		cur_skip(c, 1);
		uint16_t proto = cur_u16(c);
		cur_skip(c, 4 + (size_t)(vo & 0x3F) * 4);
		if (!cur_ok(c)) return DEC_MALFORMED;
		if (vo >> 6) return DEC_NOT_TCP;
		x->depth++;
		return inner(proto == ET_TEB ? dec_ether(x, c, 0) : dec_ethertype(x, c, proto, 0));
	}
	if (PORT(GTPU_PORT)) {
		uint8_t fl = cur_u8(c);
		uint8_t type = cur_u8(c);
		cur_skip(c, 6); /* length, TEID */
		if (!cur_ok(c)) return DEC_MALFORMED;
		if ((fl >> 5) != 1 || !(fl & 0x10) || type != 0xFF) return DEC_NOT_TCP; /* GTPv1 G-PDU only */
		if (fl & 0x07) {
			cur_skip(c, 3); /* sequence number, N-PDU number */
			uint8_t next = cur_u8(c);
			for (int n = 0; next && n < MAX_TAGS; n++) { /* extension headers */
				size_t len = (size_t)cur_u8(c) * 4;
				if (len < 4 || !cur_skip(c, len - 2)) return DEC_MALFORMED;
				next = cur_u8(c);
			}
			if (!cur_ok(c) || next) return DEC_MALFORMED;
		}
		x->depth++;
		return inner(dec_ip_any(x, c, 0));
	}
#undef PORT
	return dec_udp_payload(x, sport, dport, ulen, c, wire);
}

static enum dec_status dec_gre(struct dctx *x, struct cur *c)
{
	uint16_t fl = cur_u16(c);
	uint16_t proto = cur_u16(c);
	if (!cur_ok(c)) return DEC_MALFORMED;
	if ((fl & 0x7) != 0 || x->depth >= MAX_DEPTH) return DEC_NOT_TCP; /* only GRE version 0 */
	size_t opt = ((fl & 0x8000) ? 4u : 0u) + ((fl & 0x2000) ? 4u : 0u) + ((fl & 0x1000) ? 4u : 0u);
	if (!cur_skip(c, opt)) return DEC_MALFORMED;
	x->depth++;
	switch (proto) {
	case ET_IPV4: return inner(dec_ipv4(x, c, 0));
	case ET_IPV6: return inner(dec_ipv6(x, c, 0));
	case ET_TEB: return inner(dec_ether(x, c, 0));
	default: return DEC_NOT_TCP;
	}
}

/* The transport part of an IP packet: c holds the captured bytes, wire
 * the announced length. */
static enum dec_status dec_transport(struct dctx *x, uint8_t proto, struct cur *c, size_t wire)
{
	switch (proto) {
	case IPP_TCP: return dec_tcp(x, c, wire);
	case IPP_UDP: return dec_udp(x, c, wire);
	case IPP_GRE: return dec_gre(x, c);
	case IPP_IPIP:
	case IPP_IPV6:
		if (x->depth >= MAX_DEPTH) return DEC_NOT_TCP;
		x->depth++;
		/* cut of the inner packet: announced minus captured */
		return inner(proto == IPP_IPIP ? dec_ipv4(x, c, wire - cur_left(c)) :
					  dec_ipv6(x, c, wire - cur_left(c)));
	default: return DEC_NOT_TCP;
	}
}

static void set_addrs(struct dec_tcp *o, uint8_t family, const uint8_t *s, const uint8_t *d, size_t n)
{
	memset(&o->src.addr, 0, sizeof o->src.addr);
	memset(&o->dst.addr, 0, sizeof o->dst.addr);
	o->src.addr.family = family;
	o->dst.addr.family = family;
	memcpy(o->src.addr.a, s, n);
	memcpy(o->dst.addr.a, d, n);
}

/* A fragment: described for reassembly (ipfrag.h); data is in c, len
 * the length its header announces. */
static enum dec_status fragment(struct dctx *x, uint8_t family, uint8_t proto, bool more, uint32_t id,
				uint32_t offset, const uint8_t *src, const uint8_t *dst, struct cur *c, size_t len)
{
	struct dec_frag *f = x->frag;
	if (!f) return DEC_FRAGMENT;
	memset(f, 0, sizeof *f);
	f->family = family;
	f->proto = proto;
	f->more = more;
	f->depth = (uint8_t)x->depth;
	f->id = id;
	f->offset = offset;
	memcpy(f->src, src, family == 4 ? 4 : 16);
	memcpy(f->dst, dst, family == 4 ? 4 : 16);
	f->caplen = cur_left(c);
	f->data = cur_rest(c);
	f->len = len;
	return DEC_FRAGMENT;
}

static enum dec_status dec_ipv4(struct dctx *x, struct cur *c, size_t cut)
{
	uint8_t vihl = cur_u8(c);
	cur_skip(c, 1);
	size_t total = cur_u16(c);
	uint16_t id = cur_u16(c);
	uint16_t frag = cur_u16(c);
	cur_skip(c, 1);
	uint8_t proto = cur_u8(c);
	cur_skip(c, 2);
	const uint8_t *src = cur_bytes(c, 4);
	const uint8_t *dst = cur_bytes(c, 4);
	if (!cur_ok(c) || (vihl >> 4) != 4) return DEC_MALFORMED;
	size_t ihl = (size_t)(vihl & 0x0F) * 4;
	if (ihl < 20 || !cur_skip(c, ihl - 20)) return DEC_MALFORMED;
	/* Total length 0 is what TCP segmentation offload leaves in packets
	 * captured on the sending host: use what the frame holds. */
	if (total == 0) total = ihl + cur_left(c) + cut;
	if (total < ihl) return DEC_MALFORMED;
	size_t wire;
	struct cur p = take_announced(c, total - ihl, cut, &wire); /* also drops link-layer padding */
	if ((frag & 0x2000) || (frag & 0x1FFF))
		return fragment(x, 4, proto, (frag & 0x2000) != 0, id, (uint32_t)(frag & 0x1FFF) * 8, src, dst, &p,
				total - ihl);
	set_addrs(x->out, 4, src, dst, 4);
	return dec_transport(x, proto, &p, wire);
}

static enum dec_status dec_ipv6(struct dctx *x, struct cur *c, size_t cut)
{
	uint32_t vtc = cur_u32(c);
	size_t plen = cur_u16(c);
	uint8_t nh = cur_u8(c);
	cur_skip(c, 1);
	const uint8_t *src = cur_bytes(c, 16);
	const uint8_t *dst = cur_bytes(c, 16);
	if (!cur_ok(c) || (vtc >> 28) != 6) return DEC_MALFORMED;
	/* 0 means a jumbogram (or offload): the frame tells the length */
	if (plen == 0) plen = cur_left(c) + cut;
	size_t wire;
	struct cur p = take_announced(c, plen, cut, &wire);
	for (int n = 0; n < 16; n++) {
		size_t hlen, used = 2;
		uint8_t next;
		switch (nh) {
		case IPP_HOPOPT:
		case IPP_ROUTING:
		case IPP_DSTOPTS:
		case IPP_MOBILITY:
		case IPP_HIP:
		case IPP_SHIM6:
			next = cur_u8(&p);
			hlen = ((size_t)cur_u8(&p) + 1) * 8;
			break;
		case IPP_AH: /* length in 4-byte units, minus 2 */
			next = cur_u8(&p);
			hlen = ((size_t)cur_u8(&p) + 2) * 4;
			break;
		case IPP_FRAGMENT: {
			next = cur_u8(&p);
			cur_skip(&p, 1);
			uint16_t offm = cur_u16(&p);
			uint32_t id = cur_u32(&p);
			if (!cur_ok(&p) || wire < 8) return DEC_MALFORMED;
			if ((offm >> 3) != 0 || (offm & 1))
				return fragment(x, 6, next, (offm & 1) != 0, id, (uint32_t)(offm >> 3) * 8, src, dst, &p,
						wire - 8);
			used = 8;
			hlen = 8; /* atomic fragment: the payload is whole */
			break;
		}
		default:
			set_addrs(x->out, 6, src, dst, 16);
			return dec_transport(x, nh, &p, wire);
		}
		if (!cur_ok(&p) || hlen > wire || !cur_skip(&p, hlen - used)) return DEC_MALFORMED;
		wire -= hlen;
		nh = next;
	}
	return DEC_MALFORMED; /* absurd extension header chain */
}

static enum dec_status dec_ethertype(struct dctx *x, struct cur *c, uint16_t type, size_t cut)
{
	for (int n = 0; n < MAX_TAGS; n++) {
		switch (type) {
		case ET_IPV4: return dec_ipv4(x, c, cut);
		case ET_IPV6: return dec_ipv6(x, c, cut);
		case ET_VLAN:
		case ET_QINQ:
		case ET_QINQ_OLD1:
		case ET_QINQ_OLD2:
			cur_skip(c, 2); /* TCI */
			type = cur_u16(c);
			if (!cur_ok(c)) return DEC_MALFORMED;
			continue;
		case ET_CISCO_MD: /* version, length, option type, SGT, then an Ethertype */
			cur_skip(c, 6);
			type = cur_u16(c);
			if (!cur_ok(c)) return DEC_MALFORMED;
			continue;
		case ET_PPPOE_SESS: {
			cur_skip(c, 4); /* version/type, code, session id */
			size_t plen = cur_u16(c);
			if (!cur_ok(c) || plen < 2) return DEC_MALFORMED;
			size_t wire;
			struct cur p = take_announced(c, plen, cut, &wire);
			uint16_t ppp = cur_u16(&p);
			if (!cur_ok(&p)) return DEC_MALFORMED;
			if (ppp == 0x0021) return dec_ipv4(x, &p, wire - 2 - cur_left(&p));
			if (ppp == 0x0057) return dec_ipv6(x, &p, wire - 2 - cur_left(&p));
			return DEC_NOT_IP;
		}
		case ET_MPLS:
		case ET_MPLS_MC: {
			uint32_t lbl = 0;
			int i = 0;
			do lbl = cur_u32(c);
			while (cur_ok(c) && !(lbl & 0x100) && ++i < MAX_TAGS);
			if (!cur_ok(c)) return DEC_MALFORMED;
			if (!(lbl & 0x100)) return DEC_NOT_IP;
			/* no type field after the label stack: guess from the version nibble */
			return dec_ip_any(x, c, cut);
		}
		default:
			if (type <= 1500) { /* 802.3 length: only LLC/SNAP carries an Ethertype */
				if (cur_peek_u8(c, 0) != 0xAA || cur_peek_u8(c, 1) != 0xAA || cur_peek_u8(c, 2) != 0x03)
					return DEC_NOT_IP;
				cur_skip(c, 6);
				type = cur_u16(c);
				if (!cur_ok(c)) return DEC_MALFORMED;
				continue;
			}
			return DEC_NOT_IP;
		}
	}
	return DEC_NOT_IP;
}

static enum dec_status dec_ether(struct dctx *x, struct cur *c, size_t cut)
{
	cur_skip(c, 12);
	uint16_t type = cur_u16(c);
	if (!cur_ok(c)) return DEC_MALFORMED;
	return dec_ethertype(x, c, type, cut);
}

/* BSD loopback: the address family in the byte order of the capturing
 * host, so accept both. */
static enum dec_status dec_null(struct dctx *x, struct cur *c, size_t cut)
{
	struct cur peek = *c;
	uint32_t be = cur_u32(&peek);
	uint32_t le = cur_u32le(c);
	if (!cur_ok(c)) return DEC_MALFORMED;
	uint32_t af = be <= 0xFFFF ? be : le;
	switch (af) {
	case 2: return dec_ipv4(x, c, cut);
	case 10: case 24: case 28: case 30: return dec_ipv6(x, c, cut);
	default: return DEC_NOT_IP;
	}
}

/* IPv4 or IPv6 by the version nibble (raw IP, MPLS, GTP-U payloads). */
static enum dec_status dec_ip_any(struct dctx *x, struct cur *c, size_t cut)
{
	if (!cur_has(c, 1)) return DEC_MALFORMED;
	uint8_t v = (uint8_t)(cur_peek_u8(c, 0) >> 4);
	if (v == 4) return dec_ipv4(x, c, cut);
	if (v == 6) return dec_ipv6(x, c, cut);
	return DEC_NOT_IP;
}

bool dec_linktype_known(int dlt)
{
	switch (dlt) {
	case L_NULL: case L_EN10MB: case L_RAW_12: case L_RAW_14: case L_RAW_101: case L_LOOP:
	case L_LINUX_SLL: case L_IPV4: case L_IPV6: case L_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* The common frame, Ethernet / IPv4 without options / TCP with its header
 * captured, in straight-line code: exactly what the general decoder gives
 * for it (DEC_TCP).  Returns false for anything else, which the general
 * decoder then takes (VLANs, options, fragments, short or odd headers).
 * The one place that reads packet bytes without the cursor: every read is
 * within the 54 bytes the first test requires, except the TCP header's
 * options and payload, which hlen <= take keeps inside the frame.
 * tests/unit_capture_decode_fast.c holds it to dec_frame_general on every
 * frame of the samples, each cut short at every length and with its
 * header bytes changed, in every build (ASan: exact-size copies). */
static inline bool fast_ether_ipv4_tcp(const uint8_t *f, size_t caplen, size_t cut, struct dec_tcp *o)
{
	if (caplen < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00) return false;
	const uint8_t *ip = f + 14;
	size_t total = be16(ip + 2);
	if (ip[0] != 0x45 || ip[9] != IPP_TCP || total < 20 || (be16(ip + 6) & 0x3FFF)) return false;
	size_t have = caplen - 14 - 20;           /* captured after the IP header */
	size_t announced = total - 20;
	size_t take = announced < have ? announced : have;
	size_t miss = announced - take;
	size_t wire = take + (miss < cut ? miss : cut);
	const uint8_t *t = ip + 20;
	size_t hlen = (size_t)(t[12] >> 4) * 4;
	if (take < 20 || hlen < 20 || hlen > wire || hlen > take) return false;
	memset(o, 0, sizeof *o);
	o->src.addr.family = 4;
	o->dst.addr.family = 4;
	memcpy(o->src.addr.a, ip + 12, 4);
	memcpy(o->dst.addr.a, ip + 16, 4);
	o->src.port = be16(t);
	o->dst.port = be16(t + 2);
	o->seq = be32(t + 4);
	o->ack = be32(t + 8);
	o->flags = t[13];
	o->window = be16(t + 14);
	size_t len = wire - hlen, got = take - hlen;
	o->len = (uint32_t)len;
	o->caplen = got < len ? got : len;
	o->payload = o->caplen ? t + hlen : NULL;
	return true;
}

bool dec_fast_ether_ipv4_tcp(const uint8_t *f, size_t caplen, size_t cut, struct dec_tcp *o)
{
	return fast_ether_ipv4_tcp(f, caplen, cut, o);
}

enum dec_status dec_reassembled(const struct dec_frag *f, const uint8_t *b, size_t len, struct dec_tcp *out)
{
	struct dctx x = { out, NULL, f->depth };
	struct cur c = cur_make(b, len);
	memset(out, 0, sizeof *out);
	set_addrs(out, f->family, f->src, f->dst, f->family == 4 ? 4 : 16);
	return dec_transport(&x, f->proto, &c, len);
}

enum dec_status dec_frame_frag(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
			       struct dec_tcp *out, struct dec_frag *frag)
{
	/* inline: a call here would keep the arguments for the general path
	 * across it, every packet */
	if (dlt == L_EN10MB && frame && fast_ether_ipv4_tcp(frame, caplen, wirelen > caplen ? wirelen - caplen : 0, out))
		return DEC_TCP;
	return dec_frame_general(dlt, frame, caplen, wirelen, out, frag);
}

enum dec_status dec_frame_general(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen, struct dec_tcp *out,
				  struct dec_frag *frag)
{
	struct dctx x = { out, frag, 0 };
	struct cur c = cur_make(frame, caplen);
	size_t cut = wirelen > caplen ? wirelen - caplen : 0;
	memset(out, 0, sizeof *out);
	switch (dlt) {
	case L_EN10MB:
		return dec_ether(&x, &c, cut);
	case L_LINUX_SLL: {
		cur_skip(&c, 14); /* packet type, ARPHRD type, address length, address */
		uint16_t proto = cur_u16(&c);
		if (!cur_ok(&c)) return DEC_MALFORMED;
		return dec_ethertype(&x, &c, proto, cut);
	}
	case L_LINUX_SLL2: {
		uint16_t proto = cur_u16(&c);
		cur_skip(&c, 18); /* reserved, ifindex, ARPHRD type, packet type, address length, address */
		if (!cur_ok(&c)) return DEC_MALFORMED;
		return dec_ethertype(&x, &c, proto, cut);
	}
	case L_NULL:
	case L_LOOP:
		return dec_null(&x, &c, cut);
	case L_RAW_12:
	case L_RAW_14:
	case L_RAW_101:
		return dec_ip_any(&x, &c, cut);
	case L_IPV4:
		return dec_ipv4(&x, &c, cut);
	case L_IPV6:
		return dec_ipv6(&x, &c, cut);
	default:
		return DEC_NOT_IP;
	}
}
