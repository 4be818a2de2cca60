/* common/netaddr.c: ek_unix_str and ek_time_str write what gmtime_r +
 * strftime write, for every day of years 1000-9999 (a varying time of
 * day), around the range's edges, negative seconds, leap days and the
 * 2038 boundary; values outside the fast range take the slow path; a
 * short buffer is never overrun. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "common/netaddr.h"

static int bad;

static void want_of(int64_t sec, char *want, size_t n)
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(want, n, "?");
		return;
	}
	strftime(want, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void one(int64_t sec)
{
	char got[40], want[40];
	memset(got, 'x', sizeof got);
	ek_unix_str(sec, got, sizeof got);
	want_of(sec, want, sizeof want);
	bool ok = strcmp(got, want) == 0;
	/* ek_time_str: the same seconds, then the microseconds */
	char t[48], tw[48];
	ek_time_str((struct ek_time){ .sec = sec, .nsec = 123456789u }, t, sizeof t);
	want[strlen(want) - 1] = '\0';
	snprintf(tw, sizeof tw, "%s.123456Z", want);
	ok = ok && strcmp(t, tw) == 0;
	if (!ok && bad++ < 5) fprintf(stderr, "%lld: got \"%s\" / \"%s\", want \"%sZ\" / \"%s\"\n", (long long)sec, got, t, want, tw);
}

int main(void)
{
	const int64_t lo = -30610224000LL, hi = 253402300799LL; /* 1000-01-01 .. 9999-12-31T23:59:59 */
	for (int64_t s = lo, k = 0; s <= hi; s += 86400, k++) one(s + (k * 7919) % 86400);
	for (int64_t d = -3; d <= 3; d++) {
		one(lo + d);
		one(hi + d);
		one(d);
		one(2147483647LL + d);
		one(951782400LL + 86400 + d); /* 2000-02-29 */
	}
	one(-1);
	one(-86401);
	one(INT64_C(400000000000));
	CHECK(bad == 0);
	/* too short for the date: truncated like strftime, never overrun */
	char shortb[12];
	memset(shortb, 'x', sizeof shortb);
	ek_unix_str(1700000000, shortb, 10);
	CHECK(shortb[10] == 'x' && shortb[11] == 'x');
	return check_summary();
}
