/* libFuzzer target: certificate handling in dissect/.
 *
 * Input: byte 0 selects what the rest is (tests/fuzz/make_seeds.py
 * writes seeds from samples/pki):
 *
 *   bits 0-1  0: DER given to x509_get directly (twice: parse, then cache hit);
 *                its parse (our template) must accept exactly what d2i_X509
 *                accepts, with the same fields (x509_parse_reference)
 *             1: the body of a CertificateRequest, as is
 *             2: one DER DistinguishedName, wrapped in a well-formed
 *                CertificateRequest (certificate_authorities)
 *             3: one DER certificate, wrapped twice in a well-formed
 *                Certificate message (the second is a cache hit)
 *   bits 2-3  the version the ServerHello before it selects (modes 1-3):
 *             0 no ServerHello (layout guessed), 1 TLS 1.1, 2 TLS 1.2, 3 TLS 1.3
 *
 * Modes 1-3 go through the tls_conn_* API (server direction of a
 * connection whose SYN was seen), so the handshake layer frames them. */
#include "fuzz_common.h"

#include "dissect/x509_internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n) cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		FZ_CHECK(q != NULL);
		b->p = q;
		b->cap = cap;
	}
	if (n) memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put8(struct buf *b, size_t v)
{
	uint8_t x = (uint8_t)v;
	put(b, &x, 1);
}

static void put16(struct buf *b, size_t v)
{
	put8(b, (v >> 8) & 0xff);
	put8(b, v & 0xff);
}

static void put24(struct buf *b, size_t v)
{
	put8(b, (v >> 16) & 0xff);
	put16(b, v & 0xffff);
}

/* Handshake message `type` with body m, as TLS records of at most 16 KiB. */
static void hs_records(struct buf *out, uint8_t type, const struct buf *m)
{
	struct buf h = { 0 };
	put8(&h, type);
	put24(&h, (unsigned)m->n);
	put(&h, m->p, m->n);
	size_t off = 0;
	do {
		size_t k = h.n - off < 16384 ? h.n - off : 16384;
		put8(out, 22);
		put16(out, 0x0303);
		put16(out, (unsigned)k);
		put(out, h.p + off, k);
		off += k;
	} while (off < h.n);
	free(h.p);
}

static void server_hello(struct buf *out, uint16_t version)
{
	struct buf m = { 0 };
	put16(&m, version == 0x0304 ? 0x0303 : version);
	for (unsigned i = 0; i < 32; i++) put8(&m, i + 1); /* not the HRR random */
	put8(&m, 0);                                        /* session id */
	put16(&m, version == 0x0304 ? 0x1301 : 0xc02b);
	put8(&m, 0);
	if (version == 0x0304) {
		put16(&m, 6);
		put16(&m, 43); /* supported_versions */
		put16(&m, 2);
		put16(&m, 0x0304);
	}
	hs_records(out, TLS_HS_SERVER_HELLO, &m);
	free(m.p);
}

struct fz_state {
	struct fz_order order;
	unsigned handshakes;
};

static void on_event(void *ctx, const struct tls_event *ev)
{
	struct fz_state *st = ctx;
	fz_check_event(&st->order, ev);
	if (ev->kind == TLS_EV_HANDSHAKE) st->handshakes++;
}

static void direct(const uint8_t *der, size_t n)
{
	struct x509_cache *xc = x509_cache_new(1);
	FZ_CHECK(xc != NULL);
	struct x509_info *a = x509_get(xc, der, n);
	struct x509_info *b = x509_get(xc, der, n);
	FZ_CHECK(a && a == b && a->refs == 2 && a->der_len == n);
	fz_touch_cert(a);
	/* the same decision as the full decoder, whose object x509_object gives */
	const unsigned char *q = der;
	X509 *full = n && n <= 0x7fffffff ? d2i_X509(NULL, &q, (long)n) : NULL;
	ERR_clear_error();
	FZ_CHECK((full != NULL) == a->parsed);
	FZ_CHECK((x509_object(xc, a) != NULL) == a->parsed);
	X509_free(full);
	/* and the same fields as d2i_X509's object gives */
	struct x509_info ref;
	memset(&ref, 0, sizeof ref);
	FZ_CHECK(x509_parse_reference(xc, &ref, der, n) && ref.parsed == a->parsed);
	if (a->parsed) {
		FZ_CHECK(!strcmp(ref.serial_hex, a->serial_hex) && !strcmp(ref.subject, a->subject) &&
			 !strcmp(ref.issuer, a->issuer) && !strcmp(ref.san, a->san) && !strcmp(ref.eku, a->eku) &&
			 !strcmp(ref.key_usage, a->key_usage));
		FZ_CHECK(ref.eku_flags == a->eku_flags && ref.is_ca == a->is_ca && ref.self_issued == a->self_issued &&
			 ref.have_validity == a->have_validity && ref.not_before == a->not_before &&
			 ref.not_after == a->not_after);
	}
	x509_info_release(xc, &ref);
	x509_unref(xc, a);
	x509_unref(xc, b);
	/* A different DER (a 1-byte budget; the last lookups are kept). */
	uint8_t other = 0x30;
	struct x509_info *c = x509_get(xc, &other, 1);
	FZ_CHECK(c && !c->parsed);
	fz_touch_cert(c);
	x509_unref(xc, c);
	x509_cache_free(xc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) return 0;
	unsigned mode = data[0] & 3, vsel = (data[0] >> 2) & 3;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (mode == 0) {
		direct(p, n);
		return 0;
	}
	if (n > 0xfff0) n = 0xfff0; /* one u16 DN / a sane message */
	static const uint16_t versions[4] = { 0, 0x0302, 0x0303, 0x0304 };
	uint16_t version = versions[vsel];

	struct buf s = { 0 }, m = { 0 };
	if (version) server_hello(&s, version);
	uint8_t type = TLS_HS_CERTIFICATE_REQUEST;
	if (mode == 1) {
		put(&m, p, n);
	} else if (mode == 2) {
		if (version == 0x0304) {
			put8(&m, 0);              /* certificate_request_context */
			put16(&m, 10 + 4 + n);    /* extensions */
			put16(&m, 13);            /* signature_algorithms */
			put16(&m, 6);
			put16(&m, 4);
			put16(&m, 0x0403);
			put16(&m, 0x0804);
			put16(&m, 47);            /* certificate_authorities */
			put16(&m, 4 + n);
			put16(&m, 2 + n);
			put16(&m, n);
			put(&m, p, n);
		} else {
			put8(&m, 2);
			put8(&m, 1);
			put8(&m, 64);
			if (version != 0x0302) {
				put16(&m, 4);
				put16(&m, 0x0403);
				put16(&m, 0x0804);
			}
			put16(&m, 2 + n);
			put16(&m, n);
			put(&m, p, n);
		}
	} else {
		type = TLS_HS_CERTIFICATE;
		bool l13 = version == 0x0304;
		if (l13) put8(&m, 0);
		put24(&m, 2 * (3 + n + (l13 ? 2u : 0u)));
		for (int i = 0; i < 2; i++) {
			put24(&m, n);
			put(&m, p, n);
			if (l13) put16(&m, 0);
		}
	}
	hs_records(&s, type, &m);

	struct fz_state st;
	memset(&st, 0, sizeof st);
	st.order.id = 1;
	st.order.max_chain = 64;
	static const uint16_t ports[] = { 443 };
	struct tls_opts to = { .ports = ports, .n_ports = 1 };
	struct x509_cache *xc = x509_cache_new(2);
	struct tls_sink sink = { &st, on_event };
	struct tls_ctx *t = tls_ctx_new(&to, &sink, xc);
	FZ_CHECK(xc && t);
	struct tls_conn_params cp;
	memset(&cp, 0, sizeof cp);
	cp.id = 1;
	fz_set_ep(&cp.ep[0], 1, 40000);
	fz_set_ep(&cp.ep[1], 2, 443);
	cp.initiator = 0;
	cp.syn_seen = true;
	struct ek_pktref pkt = { .frame = 1, .ts = { 1700000000, 0 }, .file_index = 0 };
	struct tls_conn *c = tls_conn_new(t, &cp, &pkt);
	FZ_CHECK(c != NULL);
	pkt.frame++;
	tls_conn_data(t, c, 1, s.p, s.n, &pkt);
	pkt.frame++;
	tls_conn_end(t, c, &pkt);
	FZ_CHECK(st.order.ends == 1);
	/* The message is framed correctly: it is always reported. */
	FZ_CHECK(st.handshakes == (version ? 2u : 1u));
	tls_ctx_free(t);
	struct x509_cache_stats cs;
	x509_cache_stats(xc, &cs);
	FZ_CHECK(cs.entries <= 2); /* every reference was released */
	x509_cache_free(xc);
	free(s.p);
	free(m.p);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
