/* libFuzzer target: the TLS record/handshake layer (dissect/tls.c) fed
 * the two byte streams of one connection through the tls_conn_* API, the
 * way report/pipeline.c drives it.
 *
 * Input format (tests/fuzz/make_seeds.py writes seeds from samples/):
 *
 *   byte 0   configuration
 *              bit 0     syn_seen (initiator 0 known)
 *              bit 1     without SYN: initiator -1 (else 0 anyway)
 *              bit 2     ep[0] port 5061 (TLS port), else 40000
 *              bit 3     ep[1] port 443 (TLS port), else 50000
 *              bit 4     small limits: max_handshake_len 1024, max_chain_len 2
 *              bits 5-6  re-chunking of data: 0 as scripted, 1 one byte,
 *                        2 seven bytes, 3 1400 bytes
 *   then ops, each one byte:
 *              bit 0     direction
 *              bits 1-3  0-3: data, u16 big-endian length + bytes
 *                        (clipped to what is left)
 *                        4: gap, u16 missing (0 = unknown), x256 when bit 4
 *                        5: FIN    6: RST
 *                        7: data, u8 length + bytes
 *
 * The sink reads every pointer of every event and checks the ordering
 * contract of dissect/tls.h (abort = crash for libFuzzer). */
#include "fuzz_common.h"

#include "common/cursor.h"

struct fz_state {
	struct fz_order order;
};

static void on_event(void *ctx, const struct tls_event *ev)
{
	struct fz_state *st = ctx;
	fz_check_event(&st->order, ev);
}

static void set_ep(struct ek_endpoint *e, uint8_t last, uint16_t port)
{
	memset(e, 0, sizeof *e);
	e->addr.family = 4;
	e->addr.a[0] = 10;
	e->addr.a[3] = last;
	e->port = port;
}

static const uint16_t ports[] = { 443, 5061, 8443 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cur in = cur_make(data, size);
	uint8_t cfg = cur_u8(&in);
	if (!cur_ok(&in)) return 0;

	struct fz_state st;
	memset(&st, 0, sizeof st);
	struct tls_opts to = { .ports = ports, .n_ports = sizeof ports / sizeof ports[0] };
	if (cfg & 0x10) {
		to.max_handshake_len = 1024;
		to.max_chain_len = 2;
	}
	st.order.id = 7;
	st.order.max_chain = to.max_chain_len ? to.max_chain_len : 64;
	struct x509_cache *xc = x509_cache_new(4);
	struct tls_sink sink = { &st, on_event };
	struct tls_ctx *t = tls_ctx_new(&to, &sink, xc);
	FZ_CHECK(xc && t);

	struct tls_conn_params p;
	memset(&p, 0, sizeof p);
	p.id = 7;
	p.file_index = 0;
	set_ep(&p.ep[0], 1, (cfg & 0x04) ? 5061 : 40000);
	set_ep(&p.ep[1], 2, (cfg & 0x08) ? 443 : 50000);
	p.syn_seen = cfg & 0x01;
	p.initiator = p.syn_seen || !(cfg & 0x02) ? 0 : -1;
	static const size_t chunk_sizes[4] = { 0, 1, 7, 1400 };
	size_t chunk = chunk_sizes[(cfg >> 5) & 3];

	struct ek_pktref pkt = { .frame = 1, .ts = { 1700000000, 0 }, .file_index = 0 };
	struct tls_conn *c = tls_conn_new(t, &p, &pkt);
	FZ_CHECK(c != NULL);

	bool not_tls = false;
	while (cur_left(&in) && !not_tls) {
		uint8_t op = cur_u8(&in);
		int dir = op & 1;
		unsigned kind = (op >> 1) & 7;
		pkt.frame++;
		pkt.ts.nsec += 1000;
		if (kind <= 3 || kind == 7) {
			size_t len = kind == 7 ? cur_u8(&in) : cur_u16(&in);
			if (!cur_ok(&in)) break;
			if (len > cur_left(&in)) len = cur_left(&in);
			const uint8_t *b = cur_bytes(&in, len);
			if (!b) break;
			size_t step = chunk ? chunk : (len ? len : 1);
			size_t off = 0;
			do {
				size_t k = len - off < step ? len - off : step;
				if (tls_conn_data(t, c, dir, b + off, k, &pkt) == TLS_NOT_TLS) {
					not_tls = true; /* the driver stops feeding it (cap_ignore) */
					break;
				}
				off += k;
			} while (off < len);
		} else if (kind == 4) {
			uint64_t missing = cur_u16(&in);
			if (!cur_ok(&in)) break;
			if (op & 0x10) missing <<= 8;
			tls_conn_gap(t, c, dir, missing, &pkt);
		} else if (kind == 5) {
			tls_conn_fin(t, c, dir, &pkt);
		} else {
			tls_conn_rst(t, c, dir, &pkt);
		}
	}
	pkt.frame++;
	tls_conn_end(t, c, &pkt);
	FZ_CHECK(st.order.ends == 1);

	struct tls_stats ts;
	tls_get_stats(t, &ts);
	FZ_CHECK(ts.conns_tls + ts.conns_not_tls == 1);
	tls_ctx_free(t);

	/* Every certificate reference was released. */
	struct x509_cache_stats cs;
	x509_cache_stats(xc, &cs);
	FZ_CHECK(cs.entries <= 4); /* only the bounded LRU of unreferenced entries is left */
	x509_cache_free(xc);
	return 0;
}
