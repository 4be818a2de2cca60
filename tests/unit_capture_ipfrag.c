/* capture/ipfrag.c: IP fragment reassembly rules. */
#include <string.h>

#include "../capture/ipfrag.h"
#include "check.h"

static uint8_t payload[200];

static struct dec_frag fr(uint32_t id, uint32_t off, uint32_t len, bool more)
{
	struct dec_frag f;
	memset(&f, 0, sizeof f);
	f.family = 4;
	f.proto = 6;
	f.id = id;
	f.offset = off;
	f.more = more;
	f.src[0] = 10;
	f.dst[0] = 11;
	f.data = payload + off;
	f.caplen = f.len = len;
	return f;
}

static const uint8_t *add(struct ipfrag *t, struct dec_frag f, int64_t now, size_t *n)
{
	return ipfrag_add(t, &f, now, n);
}

int main(void)
{
	for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)i;
	size_t n = 0;
	const uint8_t *d;

	/* out of order: the last fragment first, completed by the middle one */
	struct ipfrag *t = ipfrag_new(1 << 20);
	CHECK(!add(t, fr(1, 96, 40, false), 0, &n));
	CHECK(!add(t, fr(1, 0, 48, true), 0, &n));
	d = add(t, fr(1, 48, 48, true), 0, &n);
	CHECK(d && n == 136 && !memcmp(d, payload, 136));
	CHECK_EQ_U(ipfrag_stats(t)->datagrams, 1);

	/* overlap: the first copy wins, and is counted */
	static uint8_t junk[200];
	memset(junk, 0xEE, sizeof junk);
	CHECK(!add(t, fr(2, 0, 64, true), 0, &n));
	struct dec_frag o = fr(2, 32, 64, true); /* bytes 32..63 again, then new ones */
	memcpy(junk + 64, payload + 64, 32);
	o.data = junk + 32;
	CHECK(!add(t, o, 0, &n));
	d = add(t, fr(2, 96, 8, false), 0, &n);
	CHECK(d && n == 104 && !memcmp(d, payload, 104));
	CHECK_EQ_U(ipfrag_stats(t)->overlaps, 1);

	/* another source, same id: another datagram */
	struct dec_frag other = fr(3, 0, 8, true);
	other.src[0] = 99;
	CHECK(!add(t, other, 0, &n));
	CHECK(!add(t, fr(3, 8, 8, false), 0, &n)); /* not other's end */

	/* timeout: pending ones go after IPFRAG_TIMEOUT seconds */
	CHECK(!add(t, fr(4, 0, 8, true), IPFRAG_TIMEOUT + 1, &n));
	CHECK_EQ_U(ipfrag_stats(t)->dropped, 2);
	CHECK(!add(t, fr(3, 0, 8, true), IPFRAG_TIMEOUT + 1, &n)); /* its start came too late */

	/* a fragment cut by the snapshot length spoils its datagram */
	struct dec_frag cut = fr(5, 0, 16, true);
	cut.caplen = 10;
	CHECK(!add(t, cut, 40, &n));
	CHECK(!add(t, fr(5, 16, 8, false), 40, &n));
	/* inconsistent: data past the announced end */
	CHECK(!add(t, fr(6, 8, 8, false), 40, &n));
	CHECK(!add(t, fr(6, 16, 8, true), 40, &n));
	CHECK(!add(t, fr(6, 0, 8, true), 40, &n));
	ipfrag_flush(t);
	CHECK_EQ_U(ipfrag_stats(t)->dropped, 6); /* 1, 3 (again), 4, 5, 6 and other */
	ipfrag_free(t);

	/* the memory bound: the oldest pending datagram makes room */
	t = ipfrag_new(600); /* room for two of these */
	CHECK(!add(t, fr(7, 0, 136, true), 0, &n));
	CHECK(!add(t, fr(8, 0, 136, true), 0, &n));
	CHECK(!add(t, fr(9, 0, 136, true), 0, &n));
	CHECK(ipfrag_stats(t)->dropped >= 1);
	d = add(t, fr(9, 136, 8, false), 0, &n);
	CHECK(d && n == 144 && !memcmp(d, payload, 144));
	ipfrag_free(t);
	return check_summary();
}
