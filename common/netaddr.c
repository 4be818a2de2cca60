#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void ek_endpoint_str(const struct ek_endpoint *e, bool with_port, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(e->addr.family == 6 ? AF_INET6 : AF_INET, e->addr.a, a, sizeof a);
	if (!with_port)
		snprintf(buf, n, "%s", a);
	else if (e->addr.family == 6)
		snprintf(buf, n, "[%s]:%u", a, e->port);
	else
		snprintf(buf, n, "%s:%u", a, e->port);
}

bool ek_addr_eq(const struct ek_addr *a, const struct ek_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, a->family == 6 ? 16 : 4) == 0;
}

bool ek_endpoint_eq(const struct ek_endpoint *a, const struct ek_endpoint *b)
{
	return a->port == b->port && ek_addr_eq(&a->addr, &b->addr);
}

void ek_unix_str(int64_t sec, char *buf, size_t n)
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, n, "?");
		return;
	}
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ek_time_str(struct ek_time t, char *buf, size_t n)
{
	struct tm tm;
	time_t s = (time_t)t.sec;
	if (!gmtime_r(&s, &tm)) {
		snprintf(buf, n, "?");
		return;
	}
	char d[32];
	strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%06uZ", d, t.nsec / 1000u);
}
