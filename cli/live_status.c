#include "live_status.h"

#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void live_status_draw(struct live_status *s, const struct live_counts *c)
{
	double t = now();
	if (s->shown && t - s->last < 0.5) return;
	s->last = t;
	const char *ev = c->evidence ? strrchr(c->evidence, '/') : NULL;
	ev = ev ? ev + 1 : c->evidence;
	fprintf(s->fp, "\r%.40s: %llu packets, %llu dropped, %llu TLS conns, %llu findings%s%.60s\033[K", c->iface,
		(unsigned long long)c->packets, (unsigned long long)c->drops, (unsigned long long)c->tls_conns,
		(unsigned long long)c->findings, ev ? ", writing " : "", ev ? ev : "");
	fflush(s->fp);
	s->shown = true;
}

void live_status_clear(struct live_status *s)
{
	if (!s->shown) return;
	fputs("\r\033[K", s->fp);
	fflush(s->fp);
	s->shown = false;
}
