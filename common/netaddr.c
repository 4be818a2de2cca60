#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Decimal digits of v at p; returns the end. */
static char *put_dec(char *p, unsigned v)
{
	char t[10];
	int k = 0;
	do {
		t[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k) *p++ = t[--k];
	return p;
}

void ek_endpoint_str(const struct ek_endpoint *e, bool with_port, char *buf, size_t n)
{
	if (e->addr.family != 6) {
		/* IPv4 by hand: inet_ntop + snprintf cost more than the rest of a
		 * timeline row.  Same text ("10.0.0.1:443"). */
		char t[32], *p = t;
		for (int i = 0; i < 4; i++) {
			if (i) *p++ = '.';
			p = put_dec(p, e->addr.a[i]);
		}
		if (with_port) {
			*p++ = ':';
			p = put_dec(p, e->port);
		}
		size_t len = (size_t)(p - t);
		if (len < n) {
			memcpy(buf, t, len);
			buf[len] = '\0';
			return;
		}
	}
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

/* The last few seconds formatted by ek_unix_str / ek_time_str: rows of
 * one capture share their seconds, certificates their validity dates.
 * Per thread, so files may be analysed in parallel. */
#define TCACHE 32 /* power of two */
struct tcache_ent {
	int64_t sec;
	bool valid;
	char s[32];
};
static _Thread_local struct tcache_ent unix_cache[TCACHE], time_cache[TCACHE];

static struct tcache_ent *tcache_slot(struct tcache_ent *c, int64_t sec)
{
	/* hashed: validity dates are often midnights, multiples of 86400 */
	return &c[(((uint64_t)sec * 0x9E3779B97F4A7C15ULL) >> 32) % TCACHE];
}

static void ek_unix_str_slow(int64_t sec, char *buf, size_t n)
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, n, "?");
		return;
	}
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ek_unix_str(int64_t sec, char *buf, size_t n)
{
	struct tcache_ent *c = tcache_slot(unix_cache, sec);
	if (!c->valid || c->sec != sec) {
		ek_unix_str_slow(sec, c->s, sizeof c->s);
		c->sec = sec;
		c->valid = true;
	}
	size_t len = strlen(c->s);
	if (len < n) memcpy(buf, c->s, len + 1);
	else ek_unix_str_slow(sec, buf, n);
}

static void ek_time_str_slow(struct ek_time t, char *buf, size_t n)
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

void ek_time_str(struct ek_time t, char *buf, size_t n)
{
	uint32_t us = t.nsec / 1000u;
	struct tcache_ent *c = tcache_slot(time_cache, t.sec);
	if (us <= 999999u) {
		if (!c->valid || c->sec != t.sec) {
			/* the seconds part, as the slow path prints it */
			struct tm tm;
			time_t s = (time_t)t.sec;
			c->valid = false;
			if (gmtime_r(&s, &tm) && strftime(c->s, sizeof c->s, "%Y-%m-%dT%H:%M:%S", &tm) > 0) {
				c->sec = t.sec;
				c->valid = true;
			}
		}
		size_t len = c->valid ? strlen(c->s) : 0;
		if (c->valid && len + 9 < n) {
			memcpy(buf, c->s, len);
			char *p = buf + len;
			*p++ = '.';
			for (int i = 5; i >= 0; i--) {
				p[i] = (char)('0' + us % 10);
				us /= 10;
			}
			p[6] = 'Z';
			p[7] = '\0';
			return;
		}
	}
	ek_time_str_slow(t, buf, n);
}
