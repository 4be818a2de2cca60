#include "evidence_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* -C names known up front beyond a ring: enough for a run's first hours */
#define AHEAD 1000

int evidence_opt(int ch, const char *arg, struct analysis_opts *o, char *err, size_t errn)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	/* -C counts millions of bytes, as tcpdump's */
	unsigned long long max = ch == 'C' ? 1000000ULL : ch == 'W' ? 1000000ULL : 31622400ULL;
	if (errno || end == arg || *end || *arg == '-' || v == 0 || v > max) {
		snprintf(err, errn, "-%c: expected a number from 1 to %llu, not '%s'", ch, max, arg);
		return -1;
	}
	if (ch == 'C') o->write_max_bytes = v * 1000000ULL;
	else if (ch == 'W') o->write_ring = (uint32_t)v;
	else o->write_seconds = (uint32_t)v;
	return 0;
}

int evidence_check(struct analysis_opts *o, const struct io_path *protect, size_t n, char *err, size_t errn)
{
	bool rotating = o->write_max_bytes || o->write_seconds;
	if (!o->write_to) {
		if (!rotating && !o->write_ring) return 0;
		snprintf(err, errn, "-C, -W and -G rotate the -w file: give -w FILE");
		return -1;
	}
	if (o->write_ring && !rotating) {
		snprintf(err, errn, "-W goes with -C or -G");
		return -1;
	}
	if (o->write_ring && o->write_max_bytes && o->write_seconds) {
		snprintf(err, errn, "-G with both -C and -W is not supported: use -C with -W, or -G with -C or -W");
		return -1;
	}
	struct io_guard *g = outputs_guard_new(protect, n);
	if (!g) {
		snprintf(err, errn, "out of memory");
		return -1;
	}
	/* -G names depend on the time: each is checked when it is made */
	uint32_t ahead = o->write_seconds || !o->write_max_bytes ? 0 : o->write_ring ? o->write_ring : AHEAD;
	struct cap_evidence ev = { o->write_to, o->write_max_bytes, o->write_ring, o->write_seconds, NULL, NULL };
	char name[4096];
	for (uint32_t k = 0; k < ahead; k++) {
		if (cap_evidence_name(&ev, k, 0, name, sizeof name) != 0) {
			snprintf(err, errn, "-w %s: file name too long", o->write_to);
			outputs_guard_free(g);
			return -1;
		}
		if (outputs_guard_check(g, name, err, errn) != 0) {
			outputs_guard_free(g);
			return -1;
		}
	}
	o->write_guard = g;
	return 0;
}

void evidence_done(struct analysis_opts *o)
{
	outputs_guard_free((struct io_guard *)o->write_guard);
	o->write_guard = NULL;
}
