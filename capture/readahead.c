/* Read-ahead ring: the producer thread fills block `tail` while fewer than
 * n blocks are ready or held; the consumer holds block `head` from one
 * ra_next to the next, so what it handed out stays in place until then.
 * When the ring is empty and the producer is not filling (another process
 * has its core and it was not scheduled yet), the consumer fills the next
 * block itself rather than wait: `filling` keeps the fill function to one
 * thread at a time.  Paused (ra_pause), the producer waits and the
 * consumer always fills for itself. */
#include "readahead.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct ra {
	ra_fill_fn fill;
	void *ctx;
	size_t size;
	unsigned n;
	uint8_t **blk;
	size_t *len;
	bool thread;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t filled, freed;
	unsigned head, tail, count; /* the consumer's next (or held) block; the next to fill; blocks ready or held */
	bool held, filling, done, stop, paused;
};

/* With mu held, no fill running and a block free: fill the next block
 * (mu released meanwhile) and publish it; returns with mu held. */
static void fill_one(struct ra *r)
{
	unsigned slot = r->tail;
	r->filling = true;
	pthread_mutex_unlock(&r->mu);
	size_t len = 0;
	bool more = r->fill(r->ctx, r->blk[slot], r->size, &len);
	pthread_mutex_lock(&r->mu);
	r->filling = false;
	if (len) {
		r->len[slot] = len;
		r->count++;
		r->tail = (slot + 1) % r->n;
	}
	if (!more) r->done = true;
	pthread_cond_signal(&r->filled);
	if (!r->paused) pthread_cond_signal(&r->freed); /* the producer, if it waited for this fill */
}

static void *producer(void *arg)
{
	struct ra *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !r->done && (r->count == r->n || r->filling || r->paused))
			pthread_cond_wait(&r->freed, &r->mu);
		if (r->stop || r->done) break;
		fill_one(r);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void ring_free(struct ra *r)
{
	for (unsigned i = 0; r->blk && i < r->n; i++) free(r->blk[i]);
	free(r->blk);
	free(r->len);
	free(r);
}

struct ra *ra_open(ra_fill_fn fill, void *ctx, size_t size, unsigned n, bool thread)
{
	struct ra *r = calloc(1, sizeof *r);
	if (!r) return NULL;
	r->fill = fill;
	r->ctx = ctx;
	r->size = size;
	r->n = thread ? (n < 2 ? 2 : n) : 1;
	r->blk = calloc(r->n, sizeof *r->blk);
	r->len = calloc(r->n, sizeof *r->len);
	bool ok = r->blk && r->len;
	for (unsigned i = 0; ok && i < r->n; i++) ok = (r->blk[i] = malloc(size)) != NULL;
	if (!ok) {
		ring_free(r);
		errno = ENOMEM;
		return NULL;
	}
	if (!thread) return r;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->filled, NULL);
	pthread_cond_init(&r->freed, NULL);
	int e = pthread_create(&r->th, NULL, producer, r);
	if (e) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->filled);
		pthread_cond_destroy(&r->freed);
		ring_free(r);
		errno = e;
		return NULL;
	}
	r->thread = true;
	return r;
}

size_t ra_next(struct ra *r, const uint8_t **p)
{
	if (!r->thread) {
		/* one block, refilled in place: what was handed out is done with */
		size_t len = 0;
		while (!r->done && !len) r->done = !r->fill(r->ctx, r->blk[0], r->size, &len);
		*p = r->blk[0];
		return len;
	}
	pthread_mutex_lock(&r->mu);
	if (r->held) {
		r->held = false;
		r->head = (r->head + 1) % r->n;
		/* a producer waiting on a full ring is woken once half of it is
		 * free, to fill that half in one go: a wake-up (two context
		 * switches) per block cost the consumer more than the read */
		if (--r->count == r->n / 2) pthread_cond_signal(&r->freed);
		/* paused: refill the block just read, still in this core's cache */
		if (r->paused && !r->count && !r->filling) r->head = r->tail = (r->head + r->n - 1) % r->n;
	}
	while (!r->count && !r->done) {
		if (r->filling) pthread_cond_wait(&r->filled, &r->mu);
		else fill_one(r); /* the producer is late: read here, as without it */
	}
	size_t len = 0;
	if (r->count) {
		r->held = true;
		len = r->len[r->head];
		*p = r->blk[r->head];
	}
	pthread_mutex_unlock(&r->mu);
	return len;
}

void ra_pause(struct ra *r, bool pause)
{
	if (!r || !r->thread || r->paused == pause) return;
	pthread_mutex_lock(&r->mu);
	r->paused = pause;
	if (!pause) pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->mu);
}

void ra_close(struct ra *r)
{
	if (!r) return;
	if (r->thread) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_signal(&r->freed);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->th, NULL);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->filled);
		pthread_cond_destroy(&r->freed);
	}
	ring_free(r);
}
