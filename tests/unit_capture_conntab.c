/* capture/conntab: tracked connections and their compact tombstones.  A
 * tombstone is found after its connection ended, from either direction,
 * with its id, file, base sequence numbers and flags; what the caller
 * changes in its copy is kept (also after ct_touch, as capture.c notes
 * the tuple after touching it); tombstones expire and are evicted in the
 * order of their last activity; one raised is the same stream again; and
 * 20 000 of them (IPv4 and IPv6: two record sizes) keep every answer
 * through index growth, deletion from the middle of bucket chains and
 * recycling. */
#include <stdlib.h>
#include <string.h>

#include "../capture/conntab.h"
#include "check.h"

static struct ek_endpoint ep4(uint32_t host, uint16_t port)
{
	struct ek_endpoint e = { { 4, { 10, (uint8_t)(host >> 16), (uint8_t)(host >> 8), (uint8_t)host } }, port };
	return e;
}

static struct ek_endpoint ep6(uint32_t host, uint16_t port)
{
	struct ek_endpoint e = { { 6, { 0x20, 0x01, 0x0d, 0xb8 } }, port };
	e.addr.a[13] = (uint8_t)(host >> 16);
	e.addr.a[14] = (uint8_t)(host >> 8);
	e.addr.a[15] = (uint8_t)host;
	return e;
}

/* Connection i of the big test: a client of its own, port 5061 or 443. */
static void tuple(uint32_t i, struct ek_endpoint *cl, struct ek_endpoint *sv)
{
	bool six = i % 4 == 3;
	*cl = six ? ep6(i, (uint16_t)(40000 + i % 20000)) : ep4(i, (uint16_t)(40000 + i % 20000));
	*sv = six ? ep6(0xffffff, 5061) : ep4(0xffffff, i % 2 ? 5061 : 443);
}

/* A tracked connection with its numbering set as capture.c sets it. */
static struct ct_conn *open_conn(struct conntab *t, const struct ek_endpoint *a, const struct ek_endpoint *b,
				 uint64_t id, int64_t now)
{
	struct ct_conn *c = ct_add(t, a, b, now);
	CHECK(c != NULL);
	if (!c) return NULL;
	c->k.pub.id = id;
	c->k.pub.file_index = 3;
	c->k.pub.initiator = 0;
	c->k.base_seq[0] = (uint32_t)(1000 + id);
	c->k.base_set[0] = true;
	c->k.pub.user = &c->k; /* anything: a tombstone must not keep it */
	return c;
}

static void basics(void)
{
	struct conntab *t = ct_new();
	struct ek_endpoint c = ep4(1, 50000), s = ep4(2, 443), other = ep4(1, 50001);
	struct ct_conn *cn = open_conn(t, &c, &s, 7, 100);
	int dir = -1;
	CHECK(ct_lookup(t, &s, &c, &dir) == &cn->k && dir == 1);

	/* buried: found from both directions, with its numbering */
	struct ct_key *k = ct_bury(t, cn, 110);
	CHECK(k && k->state == CT_TOMB);
	CHECK_EQ_U(ct_size(t), 1);
	CHECK_EQ_U(ct_count(t, CT_TOMB), 1);
	CHECK_EQ_U(ct_count(t, CT_OPEN), 0);
	k = ct_lookup(t, &c, &s, &dir);
	CHECK(k && k->state == CT_TOMB && dir == 0);
	k = ct_lookup(t, &s, &c, &dir);
	CHECK(k && k->state == CT_TOMB && dir == 1);
	if (!k) return;
	CHECK_EQ_U(k->pub.id, 7);
	CHECK_EQ_U(k->pub.file_index, 3);
	CHECK(!k->pub.udp && k->pub.initiator == 0 && k->pub.user == NULL);
	CHECK(k->base_set[0] && !k->base_set[1] && !k->dropped);
	CHECK_EQ_U(k->base_seq[0], 1007);
	CHECK_EQ_U(k->last_seen, 110);
	CHECK(ct_lookup(t, &other, &s, &dir) == NULL);

	/* a late packet: touched, then its numbering noted (capture.c's order) */
	ct_touch(t, k, 120);
	k->base_seq[1] = 5555;
	k->base_set[1] = true;
	/* another connection's tombstone in between */
	struct ct_conn *c2 = open_conn(t, &other, &s, 8, 121);
	struct ct_key *k2 = ct_bury(t, c2, 122);
	CHECK(k2 && k2->pub.id == 8 && k2->last_seen == 122);
	k = ct_lookup(t, &c, &s, &dir);
	CHECK(k && k->base_set[1] && k->base_seq[1] == 5555 && k->last_seen == 120 && k->pub.id == 7);

	/* oldest first: 7 (120), then 8 (122); a touch moves 7 behind 8 */
	k = ct_oldest(t, CT_TOMB);
	CHECK(k && k->pub.id == 7);
	ct_touch(t, k, 130);
	k = ct_oldest(t, CT_TOMB);
	CHECK(k && k->pub.id == 8 && k->last_seen == 122);

	/* raised (a retried SYN): the same stream, tracked again */
	k = ct_lookup(t, &c, &s, &dir);
	struct ct_conn *r = ct_raise(t, k, 140);
	CHECK(r && r->k.state == CT_OPEN && r->k.pub.id == 7 && r->k.base_seq[1] == 5555 && r->k.base_set[1]);
	CHECK(r && r->k.pub.user == NULL && r->k.last_seen == 140 && r->k.pub.file_index == 3);
	CHECK(ct_lookup(t, &s, &c, &dir) == &r->k && dir == 1);
	CHECK_EQ_U(ct_count(t, CT_TOMB), 1);
	CHECK_EQ_U(ct_count(t, CT_OPEN), 1);
	CHECK_EQ_U(ct_size(t), 2);

	/* an ignored flow's tombstone says so; UDP tables' say UDP */
	r->k.dropped = true;
	r->k.pub.udp = true;
	r->k.pub.initiator = -1;
	k = ct_bury(t, r, 150);
	k = ct_lookup(t, &c, &s, &dir);
	CHECK(k && k->dropped && k->pub.udp && k->pub.initiator == -1);

	/* expiry as capture.c does it: every tombstone idle too long (at 250,
	 * 60 s: 8 at 122 goes first, then 7 at 150) */
	int gone = 0;
	while ((k = ct_oldest(t, CT_TOMB)) && 250 - k->last_seen > 60) {
		ct_del(t, k);
		gone++;
	}
	CHECK_EQ_U(gone, 2);
	CHECK_EQ_U(ct_size(t), 0);
	CHECK(ct_lookup(t, &c, &s, &dir) == NULL && ct_lookup(t, &other, &s, &dir) == NULL);

	/* IPv4 addresses with bytes after the fourth (not decode.c's): kept
	 * in full, told apart from the plain ones */
	struct ek_endpoint odd = c;
	odd.addr.a[9] = 1;
	struct ct_conn *oc = open_conn(t, &odd, &s, 10, 260);
	k = oc ? ct_bury(t, oc, 261) : NULL;
	CHECK(ct_lookup(t, &c, &s, &dir) == NULL);
	k = ct_lookup(t, &s, &odd, &dir);
	CHECK(k && k->pub.id == 10 && dir == 1 && k->pub.ep[0].addr.a[9] == 1);
	if (k) ct_del(t, k);
	CHECK_EQ_U(ct_size(t), 0);

	/* the tuple again (port reuse): a new connection */
	struct ct_conn *again = open_conn(t, &s, &c, 9, 300);
	CHECK(again && ct_lookup(t, &c, &s, &dir) == &again->k && dir == 1);
	ct_destroy(t);
}

static void many(void)
{
	enum { N = 20000 };
	struct conntab *t = ct_new();
	struct ek_endpoint cl, sv;
	for (uint32_t i = 0; i < N; i++) {
		tuple(i, &cl, &sv);
		struct ct_conn *c = open_conn(t, &cl, &sv, i, i / 100);
		/* about 50 open at a time, as a capture with short connections */
		if (c && i >= 50) {
			tuple(i - 50, &cl, &sv);
			int d;
			struct ct_key *k = ct_lookup(t, &cl, &sv, &d);
			CHECK(k && k->state == CT_OPEN);
			if (k && k->state == CT_OPEN) ct_bury(t, ct_conn_of(k), i / 100);
		}
	}
	CHECK_EQ_U(ct_count(t, CT_TOMB), N - 50);
	CHECK_EQ_U(ct_count(t, CT_OPEN), 50);
	/* every one found, by its id, from the server's side */
	unsigned ok = 0;
	for (uint32_t i = 0; i < N; i++) {
		tuple(i, &cl, &sv);
		int d;
		struct ct_key *k = ct_lookup(t, &sv, &cl, &d);
		ok += k && k->pub.id == i && d == 1 && (k->state == CT_TOMB) == (i < N - 50) && k->base_seq[0] == 1000 + i;
	}
	CHECK_EQ_U(ok, N);
	/* never seen: a client port off by one */
	unsigned none = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		tuple(i, &cl, &sv);
		cl.port = (uint16_t)(cl.port + 20000);
		int d;
		none += ct_lookup(t, &cl, &sv, &d) == NULL;
	}
	CHECK_EQ_U(none, 1000);
	/* every third tombstone goes; the others stay found */
	for (uint32_t i = 0; i < N - 50; i += 3) {
		tuple(i, &cl, &sv);
		int d;
		struct ct_key *k = ct_lookup(t, &cl, &sv, &d);
		CHECK(k && k->pub.id == i);
		if (k) ct_del(t, k);
	}
	ok = 0;
	for (uint32_t i = 0; i < N; i++) {
		tuple(i, &cl, &sv);
		int d;
		struct ct_key *k = ct_lookup(t, &cl, &sv, &d);
		ok += (i % 3 == 0 && i < N - 50) ? k == NULL : k && k->pub.id == i;
	}
	CHECK_EQ_U(ok, N);
	/* recycled room: 5 000 more connections, buried at once */
	for (uint32_t i = N; i < N + 5000; i++) {
		tuple(i, &cl, &sv);
		struct ct_conn *c = open_conn(t, &cl, &sv, i, 1000);
		if (c) ct_bury(t, c, 1000);
	}
	ok = 0;
	for (uint32_t i = 0; i < N + 5000; i++) {
		tuple(i, &cl, &sv);
		int d;
		struct ct_key *k = ct_lookup(t, &cl, &sv, &d);
		ok += (i % 3 == 0 && i < N - 50) ? k == NULL : k && k->pub.id == i && d == 0;
	}
	CHECK_EQ_U(ok, N + 5000);
	/* oldest first, in order of last activity, down to the last one */
	int64_t last = -1;
	size_t n = 0;
	bool ordered = true;
	struct ct_key *k;
	while ((k = ct_oldest(t, CT_TOMB))) {
		ordered = ordered && k->last_seen >= last;
		last = k->last_seen;
		ct_del(t, k);
		n++;
	}
	CHECK(ordered);
	CHECK_EQ_U(n, N - 50 - (N - 50 + 2) / 3 + 5000);
	CHECK_EQ_U(ct_size(t), 50);
	ct_destroy(t);
}

int main(void)
{
	basics();
	many();
	return check_summary();
}
