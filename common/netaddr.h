/* Addresses, endpoints and packet references shared by every layer.
 * Nothing here knows about pcap, TLS or output formats. */
#ifndef EK_NETADDR_H
#define EK_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ek_time {
	int64_t sec;
	uint32_t nsec;
};

struct ek_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t a[16];  /* IPv4 in the first 4 bytes */
};

struct ek_endpoint {
	struct ek_addr addr;
	uint16_t port;
};

/* Which packet something happened in: Wireshark's frame number within
 * the input file, the packet time, and the input file's index. */
struct ek_pktref {
	uint64_t frame;
	struct ek_time ts;
	uint32_t file_index;
};

/* "10.0.0.1:443" or "[2001:db8::1]:443"; with_port=false gives the bare address. */
#define EK_ENDPOINT_STRLEN 64
void ek_endpoint_str(const struct ek_endpoint *e, bool with_port, char *buf, size_t n);

/* ISO 8601 UTC with microseconds: 2026-03-24T11:54:26.106123Z */
#define EK_TIME_STRLEN 40
void ek_time_str(struct ek_time t, char *buf, size_t n);
/* Seconds-resolution ISO 8601 UTC (certificate validity dates). */
void ek_unix_str(int64_t sec, char *buf, size_t n);

#endif
