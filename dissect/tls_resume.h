/* TLS session resumption: which connection issued the session ID, TLS 1.2
 * ticket or TLS 1.3 ticket (PSK identity) that a later connection resumes,
 * and, when the key log gave that connection's TLS 1.2 master secret, the
 * secret itself: a resumed TLS 1.2 connection has no CLIENT_RANDOM line of
 * its own, and is decrypted with it (as Wireshark does).  Links stay inside
 * one input file (connection ids are per file; -j reads files apart).
 * Bounded: RESUME_SLOTS entries, direct-mapped; a newer session replaces
 * the one in its slot. */
#ifndef EK_TLS_RESUME_H
#define EK_TLS_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESUME_SLOTS 8192u
#define RESUME_MAX_MASTER 48

enum resume_kind { RESUME_SID = 1, RESUME_TICKET = 2, RESUME_PSK = 3 };

/* What a ClientHello offered to resume: 64-bit digests (tls_resume_digest),
 * 0 for none.  Kept in the connection until its ServerHello. */
struct tls_resume_offer {
	uint64_t sid, ticket, psk;
};

struct tls_resume_hit {
	uint64_t origin;           /* id + 1 of the connection with the full handshake */
	uint16_t cipher;
	uint8_t master_len;        /* 0: no secret known */
	uint8_t master[RESUME_MAX_MASTER];
};

struct tls_resume;

void tls_resume_free(struct tls_resume *r);
/* The digest of an identifier (0 when n == 0). */
uint64_t tls_resume_digest(const uint8_t *p, size_t n);
/* Remember that the connection `origin` (id + 1) of file issued id
 * (kind), with the TLS 1.2 master secret when known (len 0: none).  *rp
 * is created on first use; false when out of memory. */
bool tls_resume_note(struct tls_resume **rp, enum resume_kind kind, uint64_t id, uint32_t file, uint64_t origin,
		     uint16_t cipher, const uint8_t *master, size_t master_len);
/* Look id (kind) up in file; false when unknown. */
bool tls_resume_find(const struct tls_resume *r, enum resume_kind kind, uint64_t id, uint32_t file,
		     struct tls_resume_hit *out);

#endif
