/* Connection ids as the outputs show them: a TCP connection is Wireshark's
 * tcp.stream ("12"), a UDP flow "u" and Wireshark's udp.stream ("u3").
 * Inside the tool both are one uint64_t; a UDP flow's has EK_CONN_UDP set,
 * so the two numberings never collide. */
#ifndef EK_CONNID_H
#define EK_CONNID_H

#include <stdint.h>
#include <stdio.h>

#define EK_CONN_UDP ((uint64_t)1 << 62)
#define EK_CONN_ID_STRLEN 24

static inline int ek_conn_id_str(uint64_t id, char *buf, size_t n)
{
	return snprintf(buf, n, "%s%llu", (id & EK_CONN_UDP) ? "u" : "",
			(unsigned long long)(id & ~EK_CONN_UDP));
}

#endif
