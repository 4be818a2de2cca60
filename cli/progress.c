#include "progress.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../report/sanitize.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(struct progress *p, struct progress_term *term, const char *name)
{
	memset(p, 0, sizeof *p);
	p->term = term;
	p->fp = term->fp;
	const char *slash = strrchr(name, '/');
	sanitize_str(slash ? slash + 1 : name, p->name, sizeof p->name);
	p->t0 = p->last = now();
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, uint64_t tls_conns)
{
	if (!total || total < PROGRESS_MIN_BYTES || done > total) return;
	double t = now();
	if (t - p->last < 0.5 || t - p->t0 < 0.5) return;
	struct progress *none = NULL;
	/* with -j several files are read at once: one line shows one of them
	 * (the first to need it) until it ends */
	if (atomic_load(&p->term->owner) != p && !atomic_compare_exchange_strong(&p->term->owner, &none, p)) return;
	p->last = t;
	double el = t - p->t0, rate = (double)done / el; /* bytes/s */
	double left = rate > 0 ? (double)(total - done) / rate : 0;
	unsigned eta = left < 359999 ? (unsigned)(left + 0.5) : 359999;
	char etas[32];
	if (eta >= 3600) snprintf(etas, sizeof etas, "%u:%02u:%02u", eta / 3600, eta / 60 % 60, eta % 60);
	else snprintf(etas, sizeof etas, "%u:%02u", eta / 60, eta % 60);
	fprintf(p->fp, "\r%.60s: %llu / %llu MB (%u%%)  %.0f MB/s  ETA %s  %llu TLS conns\033[K", p->name,
		(unsigned long long)(done / 1000000), (unsigned long long)(total / 1000000),
		(unsigned)((double)done * 100 / (double)total), rate / 1e6, etas, (unsigned long long)tls_conns);
	fflush(p->fp);
	p->shown = true;
}

void progress_end(struct progress *p)
{
	if (atomic_load(&p->term->owner) != p) return;
	if (p->shown) {
		fputs("\r\033[K", p->fp);
		fflush(p->fp);
		p->shown = false;
	}
	atomic_store(&p->term->owner, NULL);
}
