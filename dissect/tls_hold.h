/* dissect/ internal: the calls about a connection whose ClientHello random
 * has no secret in the key log yet (live capture with a key log that the
 * client is still writing).  They are queued, bytes copied, in arrival
 * order, and replayed with their original packets once the secret is
 * there or the wait is over (tls.c). */
#ifndef EK_TLS_HOLD_H
#define EK_TLS_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/netaddr.h"

#define TLS_HOLD_MAX_CONN ((size_t)256 << 10)   /* bytes held per connection */
#define TLS_HOLD_MAX_TOTAL ((size_t)16 << 20)   /* bytes held across connections */
#define TLS_HOLD_TIMEOUT_MS 5000                /* wait for a secret at most this long */

enum hold_kind { HOLD_DATA, HOLD_GAP, HOLD_FIN, HOLD_RST, HOLD_END };

struct hold_item {
	struct hold_item *next;
	uint8_t kind, dir;
	uint64_t missing;          /* HOLD_GAP */
	struct ek_pktref pkt;
	size_t n;                  /* HOLD_DATA: bytes[] */
	uint8_t bytes[];
};

struct tls_hold {
	uint8_t random[32];        /* the ClientHello's */
	bool early_data;
	int64_t since_ms;          /* monotonic */
	size_t bytes;
	struct hold_item *head, **tail;
};

struct tls_hold *tls_hold_new(const uint8_t *random, bool early_data);
/* Queue a call.  -1 (nothing queued) when it would pass a bound (*total:
 * bytes held across connections) or memory ran out. */
int tls_hold_push(struct tls_hold *h, size_t *total, enum hold_kind kind, int dir, const uint8_t *b, size_t n,
		  uint64_t missing, const struct ek_pktref *pkt);
/* The oldest queued call (free() it), NULL when none are left. */
struct hold_item *tls_hold_take(struct tls_hold *h, size_t *total);
bool tls_hold_expired(const struct tls_hold *h, int64_t now_ms);
int64_t tls_hold_now_ms(void);
void tls_hold_free(struct tls_hold *h, size_t *total);

#endif
