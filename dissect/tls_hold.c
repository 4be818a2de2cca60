#include "tls_hold.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t tls_hold_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tls_hold *tls_hold_new(const uint8_t *random, bool early_data)
{
	struct tls_hold *h = calloc(1, sizeof *h);
	if (!h) return NULL;
	memcpy(h->random, random, sizeof h->random);
	h->early_data = early_data;
	h->since_ms = tls_hold_now_ms();
	h->tail = &h->head;
	return h;
}

int tls_hold_push(struct tls_hold *h, size_t *total, enum hold_kind kind, int dir, const uint8_t *b, size_t n,
		  uint64_t missing, const struct ek_pktref *pkt)
{
	size_t cost = sizeof(struct hold_item) + n;
	if (h->bytes + cost > TLS_HOLD_MAX_CONN || *total + cost > TLS_HOLD_MAX_TOTAL) return -1;
	struct hold_item *it = malloc(cost);
	if (!it) return -1;
	it->next = NULL;
	it->kind = (uint8_t)kind;
	it->dir = (uint8_t)dir;
	it->missing = missing;
	it->pkt = *pkt;
	it->n = n;
	if (n) memcpy(it->bytes, b, n);
	*h->tail = it;
	h->tail = &it->next;
	h->bytes += cost;
	*total += cost;
	return 0;
}

struct hold_item *tls_hold_take(struct tls_hold *h, size_t *total)
{
	struct hold_item *it = h->head;
	if (!it) return NULL;
	h->head = it->next;
	if (!h->head) h->tail = &h->head;
	size_t cost = sizeof *it + it->n;
	h->bytes -= cost;
	*total -= cost;
	return it;
}

bool tls_hold_expired(const struct tls_hold *h, int64_t now_ms)
{
	return now_ms - h->since_ms >= TLS_HOLD_TIMEOUT_MS;
}

void tls_hold_free(struct tls_hold *h, size_t *total)
{
	if (!h) return;
	struct hold_item *it;
	while ((it = tls_hold_take(h, total))) free(it);
	free(h);
}
