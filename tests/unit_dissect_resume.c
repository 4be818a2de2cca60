/* The resumption store (dissect/tls_resume.c): links within one file,
 * by kind, bounded by replacement, the master secret copied. */
#include <string.h>

#include "../dissect/tls_resume.h"
#include "check.h"

int main(void)
{
	struct tls_resume *r = NULL;
	struct tls_resume_hit h;
	uint8_t sid[32], master[48];
	for (int i = 0; i < 32; i++) sid[i] = (uint8_t)i;
	for (int i = 0; i < 48; i++) master[i] = (uint8_t)(0xa0 + i);

	CHECK_EQ_U(tls_resume_digest(NULL, 0), 0);
	uint64_t id = tls_resume_digest(sid, sizeof sid);
	CHECK(id != 0);
	CHECK(id == tls_resume_digest(sid, sizeof sid));
	sid[31] ^= 1;
	CHECK(id != tls_resume_digest(sid, sizeof sid));

	/* nothing stored: nothing found, no store made for an unknown origin */
	CHECK(!tls_resume_find(r, RESUME_SID, id, 0, &h));
	CHECK(tls_resume_note(&r, RESUME_SID, id, 0, 0, 0xc02b, NULL, 0));
	CHECK(r == NULL);

	CHECK(tls_resume_note(&r, RESUME_SID, id, 3, 5, 0xc02b, master, sizeof master));
	CHECK(r != NULL);
	memset(&h, 0, sizeof h);
	CHECK(tls_resume_find(r, RESUME_SID, id, 3, &h));
	CHECK_EQ_U(h.origin, 5);
	CHECK_EQ_U(h.cipher, 0xc02b);
	CHECK_EQ_U(h.master_len, 48);
	CHECK(memcmp(h.master, master, 48) == 0);
	/* another file, another kind: not linked */
	CHECK(!tls_resume_find(r, RESUME_SID, id, 4, &h));
	CHECK(!tls_resume_find(r, RESUME_TICKET, id, 3, &h));

	/* a ticket without a secret */
	CHECK(tls_resume_note(&r, RESUME_PSK, 77, 3, 9, 0x1301, NULL, 0));
	CHECK(tls_resume_find(r, RESUME_PSK, 77, 3, &h));
	CHECK_EQ_U(h.origin, 9);
	CHECK_EQ_U(h.master_len, 0);

	/* bounded: a newer id in the same slot replaces the older one */
	CHECK(tls_resume_note(&r, RESUME_PSK, 77 + RESUME_SLOTS, 3, 11, 0x1301, NULL, 0));
	CHECK(!tls_resume_find(r, RESUME_PSK, 77, 3, &h));
	CHECK(tls_resume_find(r, RESUME_PSK, 77 + RESUME_SLOTS, 3, &h));
	CHECK_EQ_U(h.origin, 11);

	tls_resume_free(r);
	return check_summary();
}
