#include "tls_resume.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"

struct resume_entry {
	uint64_t id;               /* 0: empty */
	uint64_t origin;
	uint32_t file;
	uint16_t cipher;
	uint8_t kind, master_len;
	uint8_t master[RESUME_MAX_MASTER];
};

struct tls_resume {
	struct resume_entry e[RESUME_SLOTS];
};

void tls_resume_free(struct tls_resume *r)
{
	if (!r) return;
	OPENSSL_cleanse(r, sizeof *r);
	free(r);
}

/* The common byte hash (common/hash.h): called for every ClientHello and
 * ServerHello, so no cryptographic digest.  A collision
 * only links the wrong session: its master secret then fails to
 * authenticate the first record, which is reported (decrypt_failed). */
uint64_t tls_resume_digest(const uint8_t *p, size_t n)
{
	if (!p || !n) return 0;
	uint64_t h = ek_hash_bytes(p, n, 0);
	return h ? h : 1;
}

static size_t slot_of(enum resume_kind kind, uint64_t id) { return (size_t)((id ^ (uint64_t)kind) % RESUME_SLOTS); }

bool tls_resume_note(struct tls_resume **rp, enum resume_kind kind, uint64_t id, uint32_t file, uint64_t origin,
		     uint16_t cipher, const uint8_t *master, size_t master_len)
{
	if (!id || !origin) return true;
	if (!*rp && !(*rp = calloc(1, sizeof **rp))) return false;
	struct resume_entry *e = &(*rp)->e[slot_of(kind, id)];
	if (e->master_len) OPENSSL_cleanse(e, sizeof *e);
	else memset(e, 0, sizeof *e);
	e->id = id;
	e->kind = (uint8_t)kind;
	e->file = file;
	e->origin = origin;
	e->cipher = cipher;
	if (master && master_len && master_len <= RESUME_MAX_MASTER) {
		memcpy(e->master, master, master_len);
		e->master_len = (uint8_t)master_len;
	}
	return true;
}

bool tls_resume_find(const struct tls_resume *r, enum resume_kind kind, uint64_t id, uint32_t file,
		     struct tls_resume_hit *out)
{
	if (!r || !id) return false;
	const struct resume_entry *e = &r->e[slot_of(kind, id)];
	if (e->id != id || e->kind != kind || e->file != file) return false;
	out->origin = e->origin;
	out->cipher = e->cipher;
	out->master_len = e->master_len;
	memcpy(out->master, e->master, e->master_len);
	return true;
}
