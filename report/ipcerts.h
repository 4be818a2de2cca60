/* The last certificate each IP address presented (as client or server),
 * for messages that name it elsewhere: client_cert_empty says what the
 * client's address showed on another connection (a client that withholds
 * a certificate lacking clientAuth sends an empty Certificate).  Bounded:
 * past IPCERTS_MAX addresses new ones are not kept. */
#ifndef EK_IPCERTS_H
#define EK_IPCERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/netaddr.h"

#define IPCERTS_MAX 4096

struct ipcert {
	struct ek_addr addr;
	bool client;               /* presented as TLS client (else as server) */
	uint32_t file_index;       /* where (-j reads files apart: only the same file is asked) */
	uint64_t conn, frame;
	unsigned eku_flags;        /* x509_info's */
	char serial[48];           /* truncated copies of x509_info's serial_hex and eku */
	char eku[64];
};

struct ipcerts;

struct ipcerts *ipcerts_new(void);
void ipcerts_free(struct ipcerts *t);
/* Remember that addr presented a leaf (serial, EKU) now; false when out of
 * room or memory (nothing kept). */
bool ipcerts_note(struct ipcerts *t, const struct ek_addr *addr, bool client, const struct ek_pktref *at,
		  uint64_t conn, const char *serial, const char *eku, unsigned eku_flags);
/* The last certificate addr presented, or NULL. */
const struct ipcert *ipcerts_get(const struct ipcerts *t, const struct ek_addr *addr);

#endif
