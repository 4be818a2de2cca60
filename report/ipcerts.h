/* The last certificate each IP address presented (as client or server),
 * for messages that name it elsewhere: client_cert_empty says what the
 * client's address showed on another connection (a client that withholds
 * a certificate lacking clientAuth sends an empty Certificate).  It holds
 * one file's addresses (a note from another file starts it afresh: the
 * messages only name the same file's connections).  Bounded: past
 * IPCERTS_MAX addresses of a file new ones are not kept.  The table grows with
 * the addresses it keeps (48 bytes an address and 8 of index): it holds a
 * reference to the leaf's record, which the inventory holds anyway, rather
 * than copies of its texts. */
#ifndef EK_IPCERTS_H
#define EK_IPCERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/netaddr.h"
#include "../dissect/x509.h"

#define IPCERTS_MAX 4096

/* The texts a note kept were cut to these sizes (with the NUL): the
 * messages that quote them still are (ipcert_serial, ipcert_eku). */
#define IPCERT_SERIAL_LEN 48
#define IPCERT_EKU_LEN 64

struct ipcert {
	struct ek_addr addr;
	bool client;               /* presented as TLS client (else as server) */
	uint32_t file_index;       /* where (the table holds one file's) */
	uint64_t conn, frame;
	struct x509_info *leaf;    /* referenced (parsed) */
};

struct ipcerts;

/* Leaf references are released to cache. */
struct ipcerts *ipcerts_new(struct x509_cache *cache);
void ipcerts_free(struct ipcerts *t);
/* Remember that addr presented leaf (a parsed record) now; false when out
 * of room or memory (nothing kept). */
bool ipcerts_note(struct ipcerts *t, const struct ek_addr *addr, bool client, const struct ek_pktref *at,
		  uint64_t conn, struct x509_info *leaf);
/* The last certificate addr presented, or NULL (valid until the next
 * ipcerts_note). */
const struct ipcert *ipcerts_get(const struct ipcerts *t, const struct ek_addr *addr);
/* Its leaf's serial and EKU as the messages quote them (cut to
 * IPCERT_SERIAL_LEN - 1 and IPCERT_EKU_LEN - 1 bytes). */
void ipcert_serial(const struct ipcert *c, char out[IPCERT_SERIAL_LEN]);
void ipcert_eku(const struct ipcert *c, char out[IPCERT_EKU_LEN]);

#endif
