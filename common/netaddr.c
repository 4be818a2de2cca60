#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "decimal.h"

/* "0" .. "255": three characters (NUL-padded), the length in the fourth. */
static const char octet_dec[256][5] = {
	"0\0\0\1", "1\0\0\1", "2\0\0\1", "3\0\0\1", "4\0\0\1", "5\0\0\1", "6\0\0\1", "7\0\0\1",
	"8\0\0\1", "9\0\0\1", "10\0\2", "11\0\2", "12\0\2", "13\0\2", "14\0\2", "15\0\2",
	"16\0\2", "17\0\2", "18\0\2", "19\0\2", "20\0\2", "21\0\2", "22\0\2", "23\0\2",
	"24\0\2", "25\0\2", "26\0\2", "27\0\2", "28\0\2", "29\0\2", "30\0\2", "31\0\2",
	"32\0\2", "33\0\2", "34\0\2", "35\0\2", "36\0\2", "37\0\2", "38\0\2", "39\0\2",
	"40\0\2", "41\0\2", "42\0\2", "43\0\2", "44\0\2", "45\0\2", "46\0\2", "47\0\2",
	"48\0\2", "49\0\2", "50\0\2", "51\0\2", "52\0\2", "53\0\2", "54\0\2", "55\0\2",
	"56\0\2", "57\0\2", "58\0\2", "59\0\2", "60\0\2", "61\0\2", "62\0\2", "63\0\2",
	"64\0\2", "65\0\2", "66\0\2", "67\0\2", "68\0\2", "69\0\2", "70\0\2", "71\0\2",
	"72\0\2", "73\0\2", "74\0\2", "75\0\2", "76\0\2", "77\0\2", "78\0\2", "79\0\2",
	"80\0\2", "81\0\2", "82\0\2", "83\0\2", "84\0\2", "85\0\2", "86\0\2", "87\0\2",
	"88\0\2", "89\0\2", "90\0\2", "91\0\2", "92\0\2", "93\0\2", "94\0\2", "95\0\2",
	"96\0\2", "97\0\2", "98\0\2", "99\0\2", "100\3", "101\3", "102\3", "103\3",
	"104\3", "105\3", "106\3", "107\3", "108\3", "109\3", "110\3", "111\3",
	"112\3", "113\3", "114\3", "115\3", "116\3", "117\3", "118\3", "119\3",
	"120\3", "121\3", "122\3", "123\3", "124\3", "125\3", "126\3", "127\3",
	"128\3", "129\3", "130\3", "131\3", "132\3", "133\3", "134\3", "135\3",
	"136\3", "137\3", "138\3", "139\3", "140\3", "141\3", "142\3", "143\3",
	"144\3", "145\3", "146\3", "147\3", "148\3", "149\3", "150\3", "151\3",
	"152\3", "153\3", "154\3", "155\3", "156\3", "157\3", "158\3", "159\3",
	"160\3", "161\3", "162\3", "163\3", "164\3", "165\3", "166\3", "167\3",
	"168\3", "169\3", "170\3", "171\3", "172\3", "173\3", "174\3", "175\3",
	"176\3", "177\3", "178\3", "179\3", "180\3", "181\3", "182\3", "183\3",
	"184\3", "185\3", "186\3", "187\3", "188\3", "189\3", "190\3", "191\3",
	"192\3", "193\3", "194\3", "195\3", "196\3", "197\3", "198\3", "199\3",
	"200\3", "201\3", "202\3", "203\3", "204\3", "205\3", "206\3", "207\3",
	"208\3", "209\3", "210\3", "211\3", "212\3", "213\3", "214\3", "215\3",
	"216\3", "217\3", "218\3", "219\3", "220\3", "221\3", "222\3", "223\3",
	"224\3", "225\3", "226\3", "227\3", "228\3", "229\3", "230\3", "231\3",
	"232\3", "233\3", "234\3", "235\3", "236\3", "237\3", "238\3", "239\3",
	"240\3", "241\3", "242\3", "243\3", "244\3", "245\3", "246\3", "247\3",
	"248\3", "249\3", "250\3", "251\3", "252\3", "253\3", "254\3", "255\3",
};

void ek_endpoint_str(const struct ek_endpoint *e, bool with_port, char *buf, size_t n)
{
	if (e->addr.family != 6) {
		/* IPv4 by hand: inet_ntop + snprintf cost more than the rest of a
		 * timeline row.  Same text ("10.0.0.1:443"). */
		char t[32], *p = t;
		for (int i = 0; i < 4; i++) {
			const char *d = octet_dec[e->addr.a[i]];
			if (i) *p++ = '.';
			*p = d[0];
			p[1] = d[1];
			p[2] = d[2];
			p += d[3];
		}
		if (with_port) {
			*p++ = ':';
			p = ek_put_u64(p, e->port);
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

/* The last few seconds formatted by ek_time_str: rows of one capture
 * share their seconds.
 * Per thread, so files may be analysed in parallel. */
#define TCACHE 32 /* power of two */
struct tcache_ent {
	int64_t sec;
	bool valid;
	char s[32];
};
static _Thread_local struct tcache_ent time_cache[TCACHE];

static struct tcache_ent *tcache_slot(struct tcache_ent *c, int64_t sec)
{
	/* hashed: any run of seconds spreads over the slots */
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

/* Years 1000-9999, where gmtime_r + strftime("%Y-%m-%dT%H:%M:%S") give
 * exactly 19 characters: certificate validity is always in it (UTCTime
 * 1950-2049; GeneralizedTime four digits). */
#define CIVIL_MIN (-30610224000LL) /* 1000-01-01T00:00:00Z */
#define CIVIL_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

/* sec as "YYYY-MM-DDTHH:MM:SS" at o (19 bytes, no NUL) when it is in
 * [CIVIL_MIN, CIVIL_MAX]; false otherwise.  Days to a proleptic Gregorian
 * date by H. Hinnant's days_from_civil inverse (eras of 400 years): the
 * certificate columns print two dates a row, and gmtime_r + strftime cost
 * ~230 instructions each. */
static bool civil_put(int64_t sec, char *o)
{
	if (sec < CIVIL_MIN || sec > CIVIL_MAX) return false;
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	uint32_t doe = (uint32_t)(z - era * 146097);                         /* [0, 146096] */
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	uint32_t mp = (5 * doy + 2) / 153;                                    /* [0, 11], from March */
	uint32_t day = doy - (153 * mp + 2) / 5 + 1;
	uint32_t month = mp < 10 ? mp + 3 : mp - 9;
	uint32_t year = (uint32_t)(yoe + era * 400 + (month <= 2));
	uint32_t hms = (uint32_t)rem;
	memcpy(o, ek_digits2 + 2 * (year / 100), 2);
	memcpy(o + 2, ek_digits2 + 2 * (year % 100), 2);
	o[4] = '-';
	memcpy(o + 5, ek_digits2 + 2 * month, 2);
	o[7] = '-';
	memcpy(o + 8, ek_digits2 + 2 * day, 2);
	o[10] = 'T';
	memcpy(o + 11, ek_digits2 + 2 * (hms / 3600), 2);
	o[13] = ':';
	memcpy(o + 14, ek_digits2 + 2 * (hms / 60 % 60), 2);
	o[16] = ':';
	memcpy(o + 17, ek_digits2 + 2 * (hms % 60), 2);
	return true;
}

void ek_unix_str(int64_t sec, char *buf, size_t n)
{
	if (n >= 21 && civil_put(sec, buf)) {
		buf[19] = 'Z';
		buf[20] = '\0';
		return;
	}
	ek_unix_str_slow(sec, buf, n);
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
			c->valid = civil_put(t.sec, c->s);
			c->s[19] = '\0';
			c->sec = t.sec;
		}
		size_t len = c->valid ? strlen(c->s) : 0;
		if (c->valid && len + 9 < n) {
			memcpy(buf, c->s, len);
			char *p = buf + len;
			*p++ = '.';
			p = ek_put_6digits(p, (uint32_t)us);
			p[0] = 'Z';
			p[1] = '\0';
			return;
		}
	}
	ek_time_str_slow(t, buf, n);
}
