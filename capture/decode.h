/* capture/ internal: one captured frame -> the TCP segment or UDP datagram inside it.
 *
 * Link layer (by libpcap DLT value), IPv4/IPv6 (options, extension
 * headers, a few tunnels), TCP header.  Pure function of the bytes: no
 * state, no allocation; every read goes through common/cursor.h. */
#ifndef EK_CAPTURE_DECODE_H
#define EK_CAPTURE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/netaddr.h"

/* TCP flag bits as in the header's flags byte. */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

enum dec_status {
	DEC_TCP,        /* *out is filled */
	DEC_NOT_IP,     /* no IPv4/IPv6 (ARP, LLDP, unsupported link type ...) */
	DEC_UDP,        /* a UDP datagram (not a tunnel Wireshark decodes): *out has its
			 * endpoints, payload and lengths; seq, ack, flags are 0 */
	DEC_NOT_TCP,    /* IP, but neither TCP nor UDP inside (ICMP, ESP ...) */
	DEC_FRAGMENT,   /* an IPv4/IPv6 fragment: described in *frag (dec_frame_frag) */
	DEC_MALFORMED,  /* a header is short or inconsistent */
};

struct dec_tcp {
	struct ek_endpoint src, dst; /* innermost IP + TCP ports; unused address bytes are 0 */
	uint32_t seq, ack;
	uint8_t flags;               /* TCPF_* */
	uint16_t window;
	const uint8_t *payload;      /* captured payload (NULL when caplen is 0) */
	size_t caplen;               /* payload bytes present in the frame */
	uint32_t len;                /* payload length the IP header announces (>= caplen) */
};

/* One IP fragment: what reassembly needs (ipfrag.h). */
struct dec_frag {
	uint8_t family;              /* 4 or 6 */
	uint8_t proto;               /* protocol of the datagram (IPv6: the fragment header's next header) */
	bool more;                   /* more fragments follow */
	uint8_t depth;               /* tunnels around it */
	uint32_t id;                 /* identification (IPv4: 16 bits) */
	uint32_t offset;             /* of data, in bytes */
	uint8_t src[16], dst[16];    /* IPv4: first 4 bytes */
	const uint8_t *data;         /* captured fragment data */
	size_t caplen;               /* bytes at data */
	size_t len;                  /* fragment data length the header announces (> caplen: cut) */
};

/* Decode a frame of link type dlt (pcap_datalink value).  caplen bytes
 * are at frame; wirelen is the original length (pcap_pkthdr.len), used to
 * tell a snaplen cut from a short packet.  dec_frame_frag also describes a
 * fragment in *frag (when not NULL). */
enum dec_status dec_frame_frag(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
			       struct dec_tcp *out, struct dec_frag *frag);
static inline enum dec_status dec_frame(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
					struct dec_tcp *out)
{
	return dec_frame_frag(dlt, frame, caplen, wirelen, out, NULL);
}

/* The transport part of a reassembled datagram (len bytes at b) of the
 * fragments f described. */
enum dec_status dec_reassembled(const struct dec_frag *f, const uint8_t *b, size_t len, struct dec_tcp *out);

/* True when dec_frame knows the link type. */
bool dec_linktype_known(int dlt);

#endif
