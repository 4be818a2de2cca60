/* dissect/tls.c on TLS byte streams built here: event sequences, frames,
 * splitting at every byte, fragmentation, holes, mid-stream starts,
 * SSLv2 hellos, STARTTLS, non-TLS streams, roles, TLS 1.3 and HRR. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bytebuf.h"
#include "check.h"
#include "dissect/tls.h"
#include "dissect/tls_int.h"

/* ---- byte builders ------------------------------------------------------------ */

static void putb(struct buf *b, const struct buf *o) { put(b, o->p, o->n); }
static void fill(struct buf *b, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++) put_u8(b, v);
}
static void bfree(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Handshake message: type, u24 length, body. */
static struct buf hs(uint8_t type, const struct buf *body)
{
	struct buf m = { 0 };
	put_u8(&m, type);
	put_u24(&m, (unsigned)body->n);
	putb(&m, body);
	return m;
}

/* Records of `type` carrying `body`, cut into fragments of at most frag bytes. */
static void records(struct buf *out, uint8_t type, uint16_t ver, const uint8_t *body, size_t n, size_t frag)
{
	size_t o = 0;
	do {
		size_t k = n - o < frag ? n - o : frag;
		put_u8(out, type);
		put_u16(out, ver);
		put_u16(out, (unsigned)k);
		put(out, body + o, k);
		o += k;
	} while (o < n);
}
static void record(struct buf *out, uint8_t type, uint16_t ver, const struct buf *body)
{
	records(out, type, ver, body->p, body->n, 16384);
}

struct ch_spec {
	const char *sni, *alpn; /* alpn: comma separated */
	const uint16_t *versions;
	size_t n_versions;
	size_t n_ciphers;
	uint16_t legacy;
};

static struct buf client_hello(const struct ch_spec *s)
{
	struct buf b = { 0 }, ext = { 0 };
	put_u16(&b, s->legacy ? s->legacy : 0x0303);
	for (int i = 0; i < 32; i++) put_u8(&b, (unsigned)i);
	put_u8(&b, 32);
	fill(&b, 0xaa, 32);
	put_u16(&b, (unsigned)(2 * s->n_ciphers));
	for (size_t i = 0; i < s->n_ciphers; i++) put_u16(&b, 0xc02f + (unsigned)i);
	put_u8(&b, 1);
	put_u8(&b, 0);
	if (s->sni) {
		size_t l = strlen(s->sni);
		put_u16(&ext, 0);
		put_u16(&ext, (unsigned)(l + 5));
		put_u16(&ext, (unsigned)(l + 3));
		put_u8(&ext, 0);
		put_u16(&ext, (unsigned)l);
		put(&ext, s->sni, l);
	}
	if (s->alpn) {
		struct buf list = { 0 };
		const char *p = s->alpn;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			put_u8(&list, (unsigned)l);
			put(&list, p, l);
			p += l + (e ? 1 : 0);
		}
		put_u16(&ext, 16);
		put_u16(&ext, (unsigned)(list.n + 2));
		put_u16(&ext, (unsigned)list.n);
		putb(&ext, &list);
		bfree(&list);
	}
	/* signature_algorithms: 3 */
	put_u16(&ext, 13);
	put_u16(&ext, 8);
	put_u16(&ext, 6);
	put_u16(&ext, 0x0403);
	put_u16(&ext, 0x0804);
	put_u16(&ext, 0x0401);
	if (s->n_versions) {
		put_u16(&ext, 43);
		put_u16(&ext, (unsigned)(1 + 2 * s->n_versions));
		put_u8(&ext, (unsigned)(2 * s->n_versions));
		for (size_t i = 0; i < s->n_versions; i++) put_u16(&ext, s->versions[i]);
	}
	put_u16(&b, (unsigned)ext.n);
	putb(&b, &ext);
	bfree(&ext);
	struct buf m = hs(1, &b);
	bfree(&b);
	return m;
}

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static struct buf server_hello(uint16_t selected, uint16_t cipher, bool hrr)
{
	struct buf b = { 0 };
	put_u16(&b, 0x0303);
	if (hrr) put(&b, hrr_random, 32);
	else fill(&b, 0x55, 32);
	put_u8(&b, 0);
	put_u16(&b, cipher);
	put_u8(&b, 0);
	if (selected) {
		put_u16(&b, 6);
		put_u16(&b, 43);
		put_u16(&b, 2);
		put_u16(&b, selected);
	}
	struct buf m = hs(2, &b);
	bfree(&b);
	return m;
}

static struct buf simple_hs(uint8_t type, size_t len, uint8_t fillv)
{
	struct buf b = { 0 };
	fill(&b, fillv, len);
	struct buf m = hs(type, &b);
	bfree(&b);
	return m;
}

/* ---- certificates ----------------------------------------------------------------- */

static EVP_PKEY *key;

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e) exit(2);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static struct buf make_cert(const char *serial, const char *cn, const char *eku)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	BIGNUM *bn = NULL;
	BN_hex2bn(&bn, serial);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	if (eku) add_ext(x, NID_ext_key_usage, eku);
	X509_sign(x, key, EVP_sha256());
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	X509_free(x);
	struct buf b = { 0 };
	put(&b, der, (size_t)n);
	OPENSSL_free(der);
	return b;
}

static struct buf dn_der(const char *o, const char *cn)
{
	X509_NAME *nm = X509_NAME_new();
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)o, -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	unsigned char *der = NULL;
	int n = i2d_X509_NAME(nm, &der);
	X509_NAME_free(nm);
	struct buf b = { 0 };
	put(&b, der, (size_t)n);
	OPENSSL_free(der);
	return b;
}

static struct buf cert_leaf, cert_ca, dn1, dn2;

static struct buf certificate12(const struct buf *const *certs, size_t n)
{
	struct buf b = { 0 };
	size_t total = 0;
	for (size_t i = 0; i < n; i++) total += 3 + certs[i]->n;
	put_u24(&b, (unsigned)total);
	for (size_t i = 0; i < n; i++) {
		put_u24(&b, (unsigned)certs[i]->n);
		putb(&b, certs[i]);
	}
	struct buf m = hs(11, &b);
	bfree(&b);
	return m;
}

static struct buf cert_request12(void)
{
	struct buf b = { 0 };
	put_u8(&b, 2);
	put_u8(&b, 1);
	put_u8(&b, 64);
	put_u16(&b, 4);
	put_u16(&b, 0x0403);
	put_u16(&b, 0x0804);
	put_u16(&b, (unsigned)(4 + dn1.n + dn2.n));
	put_u16(&b, (unsigned)dn1.n);
	putb(&b, &dn1);
	put_u16(&b, (unsigned)dn2.n);
	putb(&b, &dn2);
	struct buf m = hs(13, &b);
	bfree(&b);
	return m;
}

/* ---- recording sink ------------------------------------------------------------------- */

#define MAXEV 256

struct evrec {
	char s[512];
	int kind;
	uint64_t frame;
	uint64_t call_frame; /* frame of the tls_conn_* call that emitted it */
	struct tls_conn_view view; /* copy at the time of the event */
};

struct rec {
	struct evrec ev[MAXEV];
	int n;
};

static uint64_t call_frame;

static char role_ch(enum tls_role r) { return r == TLS_ROLE_CLIENT ? 'c' : r == TLS_ROLE_SERVER ? 's' : '-'; }

static void on_event(void *ctx, const struct tls_event *ev)
{
	struct rec *r = ctx;
	if (r->n >= MAXEV) return;
	struct evrec *e = &r->ev[r->n++];
	e->kind = ev->kind;
	e->frame = ev->pkt.frame;
	e->call_frame = call_frame;
	e->view = *ev->conn;
	char *s = e->s;
	size_t cap = sizeof e->s;
	char c = role_ch(ev->sender);
	switch (ev->kind) {
	case TLS_EV_CONN_TLS: snprintf(s, cap, "TLS"); break;
	case TLS_EV_TCP_OPEN: snprintf(s, cap, "OPEN %c", c); break;
	case TLS_EV_TCP_FIN: snprintf(s, cap, "FIN %c", c); break;
	case TLS_EV_TCP_RESET: snprintf(s, cap, "RST %c", c); break;
	case TLS_EV_DATA_MISSING:
		snprintf(s, cap, "MISS %c %llu in=%d res=%d", c, (unsigned long long)ev->u.missing.bytes,
			 ev->u.missing.in_record, ev->u.missing.resumed);
		break;
	case TLS_EV_CCS: snprintf(s, cap, "CCS %c", c); break;
	case TLS_EV_ALERT:
		if (ev->u.alert.encrypted) snprintf(s, cap, "ALERT %c enc", c);
		else snprintf(s, cap, "ALERT %c %u/%u", c, ev->u.alert.level, ev->u.alert.desc);
		break;
	case TLS_EV_ENCRYPTED_HANDSHAKE: snprintf(s, cap, "ENCHS %c", c); break;
	case TLS_EV_RECORD_INCOMPLETE: snprintf(s, cap, "INC %c %s", c, ev->u.incomplete); break;
	case TLS_EV_CONN_END: snprintf(s, cap, "END tls=%d", ev->conn->is_tls); break;
	case TLS_EV_DECRYPT_FAILED: snprintf(s, cap, "DECFAIL %c", c); break;
	case TLS_EV_RETRANSMISSION:
		snprintf(s, cap, "RETX %c %u of=%llu", c, ev->u.retrans.type, (unsigned long long)ev->u.retrans.of_frame);
		break;
	case TLS_EV_HANDSHAKE: {
		const struct tls_handshake *h = &ev->u.hs;
		const char *name = tls_handshake_name(h->type);
		int k = snprintf(s, cap, "HS %c %s len=%u v=%04x", c, name ? name : "?", h->length, ev->version);
		size_t o = k > 0 ? (size_t)k : 0;
		if (h->malformed) {
			snprintf(s + o, cap - o, " MALFORMED");
			break;
		}
		if (h->type == TLS_HS_CLIENT_HELLO) {
			const struct tls_client_hello *ch = &h->u.ch;
			k = snprintf(s + o, cap - o, " lv=%04x sni=%s alpn=%s nc=%zu nsig=%zu v2=%d vers=", ch->legacy_version,
				     ch->sni ? ch->sni : "-", ch->alpn ? ch->alpn : "-", ch->n_ciphers, ch->n_sigalgs,
				     ch->sslv2);
			o += (size_t)k;
			for (size_t i = 0; i < ch->n_versions && o < cap; i++) {
				k = snprintf(s + o, cap - o, "%04x,", ch->versions[i]);
				o += (size_t)k;
			}
		} else if (h->type == TLS_HS_SERVER_HELLO || h->type == TLS_HS_HELLO_RETRY_REQUEST) {
			snprintf(s + o, cap - o, " sel=%04x cs=%04x hrr=%d", h->u.sh.selected_version, h->u.sh.cipher,
				 h->u.sh.hello_retry);
		} else if (h->type == TLS_HS_CERTIFICATE) {
			k = snprintf(s + o, cap - o, " n=%zu tr=%d l13=%d", h->u.cert.n_certs, h->u.cert.truncated,
				     h->u.cert.tls13);
			o += (size_t)k;
			for (size_t i = 0; i < h->u.cert.n_certs && o < cap; i++) {
				const struct x509_info *x = h->u.cert.certs[i];
				k = snprintf(s + o, cap - o, " [%s %s %s]", x->serial_hex, x->eku, x->subject);
				o += (size_t)k;
			}
		} else if (h->type == TLS_HS_CERTIFICATE_REQUEST) {
			const struct tls_cert_request *cr = &h->u.cr;
			k = snprintf(s + o, cap - o, " types=%zu sig=%zu cas=", cr->n_cert_types, cr->n_sigalgs);
			o += (size_t)k;
			for (size_t i = 0; i < cr->n_ca_names && o < cap; i++) {
				k = snprintf(s + o, cap - o, "[%s]", cr->ca_names[i]);
				o += (size_t)k;
			}
		}
		break;
	}
	}
}

/* ---- running scripts ------------------------------------------------------------------- */

enum { OP_DATA, OP_GAP, OP_FIN, OP_RST };

struct op {
	int type, dir;
	struct buf data;  /* OP_DATA */
	uint64_t missing; /* OP_GAP */
};

struct script {
	struct op ops[64];
	int n;
	struct tls_conn_params p;
	size_t max_hs;
};

static void sc_init(struct script *s, bool syn, uint16_t port0, uint16_t port1)
{
	memset(s, 0, sizeof *s);
	s->p.id = 7;
	s->p.ep[0].addr.family = 4;
	s->p.ep[0].addr.a[0] = 10;
	s->p.ep[0].addr.a[3] = 1;
	s->p.ep[0].port = port0;
	s->p.ep[1].addr.family = 4;
	s->p.ep[1].addr.a[0] = 10;
	s->p.ep[1].addr.a[3] = 2;
	s->p.ep[1].port = port1;
	s->p.initiator = syn ? 0 : -1;
	s->p.syn_seen = syn;
}
static void sc_data(struct script *s, int dir, const struct buf *b)
{
	struct op *o = &s->ops[s->n++];
	o->type = OP_DATA;
	o->dir = dir;
	put(&o->data, b->p, b->n);
}
static void sc_text(struct script *s, int dir, const char *t)
{
	struct buf b = { 0 };
	put(&b, t, strlen(t));
	sc_data(s, dir, &b);
	bfree(&b);
}
static void sc_gap(struct script *s, int dir, uint64_t missing)
{
	struct op *o = &s->ops[s->n++];
	o->type = OP_GAP;
	o->dir = dir;
	o->missing = missing;
}
static void sc_flag(struct script *s, int type, int dir)
{
	struct op *o = &s->ops[s->n++];
	o->type = type;
	o->dir = dir;
}
static void sc_slice(struct script *s, int dir, const struct buf *b, size_t from, size_t to)
{
	struct buf x = { 0 };
	put(&x, b->p + from, to - from);
	sc_data(s, dir, &x);
	bfree(&x);
}

static void sc_free(struct script *s)
{
	for (int i = 0; i < s->n; i++) bfree(&s->ops[i].data);
}

static const uint16_t tls_ports[] = { 443, 5061, 2222, 8443, 7001, 7002, 636, 993, 995, 465, 5223, 8444 };

#define FRAME_OPEN 900000
#define FRAME_END 900001

/* Which (op, byte) each frame number delivered, to check event frames. */
struct chunkmap {
	int op[200000];
	uint32_t start[200000], end[200000];
	uint64_t n;
};
static struct chunkmap cmap;

struct runres {
	struct rec r;
	enum tls_verdict last_verdict;
	struct tls_stats st;
};

/* chunk: 0 whole ops; 1 byte at a time; >1 pseudo-random sizes up to that. */
static void run(const struct script *s, size_t chunk, unsigned seed, struct runres *out)
{
	memset(out, 0, sizeof *out);
	struct tls_opts o = { tls_ports, sizeof tls_ports / sizeof tls_ports[0], s->max_hs, 0, NULL, NULL, false };
	struct tls_sink sink = { &out->r, on_event };
	struct tls_ctx *t = tls_ctx_new(&o, &sink, NULL);
	struct ek_pktref pk = { FRAME_OPEN, { 0, 0 }, 0 };
	call_frame = FRAME_OPEN;
	struct tls_conn *c = tls_conn_new(t, &s->p, &pk);
	cmap.n = 0;
	unsigned rnd = seed * 2654435761u + 1;
	out->last_verdict = TLS_UNDECIDED;
	for (int i = 0; i < s->n; i++) {
		const struct op *op = &s->ops[i];
		uint64_t f = ++cmap.n;
		cmap.op[f] = i;
		cmap.start[f] = cmap.end[f] = 0;
		pk.frame = f;
		call_frame = f;
		if (op->type == OP_GAP) {
			tls_conn_gap(t, c, op->dir, op->missing, &pk);
			continue;
		}
		if (op->type == OP_FIN) {
			tls_conn_fin(t, c, op->dir, &pk);
			continue;
		}
		if (op->type == OP_RST) {
			tls_conn_rst(t, c, op->dir, &pk);
			continue;
		}
		cmap.n--;
		size_t off = 0;
		while (off < op->data.n) {
			size_t k = op->data.n - off;
			if (chunk == 1) k = 1;
			else if (chunk > 1) {
				rnd = rnd * 1103515245u + 12345u;
				size_t want = 1 + (rnd >> 8) % chunk;
				if (want < k) k = want;
			}
			f = ++cmap.n;
			cmap.op[f] = i;
			cmap.start[f] = (uint32_t)off;
			cmap.end[f] = (uint32_t)(off + k);
			pk.frame = f;
			call_frame = f;
			out->last_verdict = tls_conn_data(t, c, op->dir, op->data.p + off, k, &pk);
			off += k;
		}
	}
	pk.frame = FRAME_END;
	call_frame = FRAME_END;
	tls_conn_end(t, c, &pk);
	/* Every event carries the packet of the call that emitted it (the one
	 * whose bytes completed the message), except a hole's report that was
	 * held back until the bytes after it were checked: that one carries
	 * the hole's packet. */
	int bad = 0;
	for (int i = 0; i < out->r.n; i++) {
		const struct evrec *e = &out->r.ev[i];
		if (e->frame == e->call_frame) continue;
		bool held = (e->kind == TLS_EV_DATA_MISSING || e->kind == TLS_EV_RECORD_INCOMPLETE) &&
			    e->frame < e->call_frame && e->frame <= cmap.n && s->ops[cmap.op[e->frame]].type == OP_GAP;
		/* Complete messages of a record cut short by a hole, FIN or the
		 * end: reported then, in the frame that brought their last byte. */
		bool cut = e->frame < e->call_frame &&
			   (e->call_frame == FRAME_END || s->ops[cmap.op[e->call_frame]].type != OP_DATA);
		held = held || cut;
		if (!held) {
			fprintf(stderr, "event %s: frame %llu, emitted during frame %llu\n", e->s,
				(unsigned long long)e->frame, (unsigned long long)e->call_frame);
			bad++;
		}
	}
	CHECK_EQ_U(bad, 0);
	tls_get_stats(t, &out->st);
	tls_ctx_free(t);
}

static bool same_events(const struct rec *a, const struct rec *b)
{
	if (a->n != b->n) return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->ev[i].s, b->ev[i].s) != 0) {
			fprintf(stderr, "event %d differs:\n  %s\n  %s\n", i, a->ev[i].s, b->ev[i].s);
			return false;
		}
	return true;
}

static void dump(const struct rec *r)
{
	for (int i = 0; i < r->n; i++) fprintf(stderr, "  [%llu] %s\n", (unsigned long long)r->ev[i].frame, r->ev[i].s);
}

/* Byte-at-a-time gives each event the position of its last byte; the
 * other splits must give the chunk containing that byte, and the same
 * events.  Returns the whole-chunk run for further checks. */
struct pos {
	int op;
	uint32_t byte;
};

static void run_all_splits(const struct script *s, struct runres *whole)
{
	static struct runres one, other;
	run(s, 1, 0, &one);
	struct pos at[MAXEV];
	for (int i = 0; i < one.r.n; i++) {
		uint64_t f = one.r.ev[i].frame;
		if (f >= FRAME_OPEN) {
			at[i].op = -1;
			continue;
		}
		at[i].op = cmap.op[f];
		at[i].byte = cmap.start[f]; /* one-byte chunks: the byte itself */
	}
	run(s, 0, 0, whole);
	if (!same_events(&one.r, &whole->r)) {
		fprintf(stderr, "byte-at-a-time:\n");
		dump(&one.r);
		fprintf(stderr, "whole:\n");
		dump(&whole->r);
	}
	CHECK(same_events(&one.r, &whole->r));
	size_t sizes[] = { 0, 2, 3, 7, 64, 1000 };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		for (unsigned seed = 0; seed < (sizes[si] ? 4u : 1u); seed++) {
			run(s, sizes[si], seed, &other);
			bool same = same_events(&one.r, &other.r);
			CHECK(same);
			if (!same) continue;
			int bad = 0;
			for (int i = 0; i < other.r.n; i++) {
				uint64_t f = other.r.ev[i].frame;
				if (at[i].op < 0) {
					bad += f < FRAME_OPEN;
					continue;
				}
				bool in = f >= 1 && f <= cmap.n && cmap.op[f] == at[i].op &&
					  (cmap.start[f] == cmap.end[f] ? cmap.start[f] == at[i].byte
									: cmap.start[f] <= at[i].byte && at[i].byte < cmap.end[f]);
				if (!in) {
					fprintf(stderr, "split %zu/%u: event %d (%s) frame %llu not the chunk with its last byte\n",
						sizes[si], seed, i, other.r.ev[i].s, (unsigned long long)f);
					bad++;
				}
			}
			CHECK_EQ_U(bad, 0);
		}
	}
}

static int find(const struct rec *r, const char *prefix)
{
	for (int i = 0; i < r->n; i++)
		if (strncmp(r->ev[i].s, prefix, strlen(prefix)) == 0) return i;
	return -1;
}

static bool seq(const struct rec *r, const char *const *want, size_t n)
{
	bool ok = (size_t)r->n == n;
	for (size_t i = 0; ok && i < n; i++)
		ok = strncmp(r->ev[i].s, want[i], strlen(want[i])) == 0;
	if (!ok) {
		fprintf(stderr, "event sequence mismatch; got:\n");
		dump(r);
		fprintf(stderr, "want:\n");
		for (size_t i = 0; i < n; i++) fprintf(stderr, "  %s\n", want[i]);
	}
	return ok;
}
#define SEQ(r, ...)                                                        \
	do {                                                               \
		static const char *const w_[] = { __VA_ARGS__ };           \
		CHECK(seq(r, w_, sizeof w_ / sizeof w_[0]));               \
	} while (0)

/* ---- scenarios --------------------------------------------------------------------------- */

static struct runres R;

/* TLS 1.2 mutual authentication where the client has no certificate:
 * the server flight in one record, the client's empty Certificate, the
 * server's fatal alert. */
static void test_tls12_mtls(void)
{
	struct script s;
	sc_init(&s, true, 50123, 443);
	struct ch_spec cs = { .sni = "api.example.com", .alpn = "h2,http/1.1", .n_ciphers = 5, .legacy = 0x0303 };
	struct buf ch = client_hello(&cs), rec1 = { 0 };
	records(&rec1, 22, 0x0301, ch.p, ch.n, 16384);
	sc_data(&s, 0, &rec1);

	struct buf sh = server_hello(0, 0xc02f, false);
	const struct buf *chain[] = { &cert_leaf, &cert_ca };
	struct buf cert = certificate12(chain, 2), cr = cert_request12(), shd = simple_hs(14, 0, 0);
	struct buf flight = { 0 }, rec2 = { 0 };
	putb(&flight, &sh);
	putb(&flight, &cert);
	putb(&flight, &cr);
	putb(&flight, &shd);
	records(&rec2, 22, 0x0303, flight.p, flight.n, 16384);
	sc_data(&s, 1, &rec2);

	const struct buf *none[] = { NULL };
	struct buf ccert = certificate12(none, 0), cke = simple_hs(16, 66, 0x42), cflight = { 0 }, rec3 = { 0 };
	putb(&cflight, &ccert);
	putb(&cflight, &cke);
	records(&rec3, 22, 0x0303, cflight.p, cflight.n, 16384);
	struct buf ccs = { 0 };
	put_u8(&ccs, 1);
	record(&rec3, 20, 0x0303, &ccs);
	struct buf fin = { 0 };
	fill(&fin, 0x99, 40);
	record(&rec3, 22, 0x0303, &fin);
	sc_data(&s, 0, &rec3);

	struct buf al = { 0 }, rec4 = { 0 };
	put_u8(&al, 2);
	put_u8(&al, 116);
	record(&rec4, 21, 0x0303, &al);
	sc_data(&s, 1, &rec4);
	sc_flag(&s, OP_FIN, 1);
	sc_flag(&s, OP_FIN, 0);

	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS",
	    "HS c ClientHello len=", "HS s ServerHello", "HS s Certificate", "HS s CertificateRequest",
	    "HS s ServerHelloDone len=0", "HS c Certificate len=3 v=0303 n=0", "HS c ClientKeyExchange len=66",
	    "CCS c", "ENCHS c", "ALERT s 2/116", "FIN s", "FIN c", "END tls=1");
	int i = find(&R.r, "HS c ClientHello");
	if (i >= 0) {
		CHECK(strstr(R.r.ev[i].s, "v=0301 lv=0303 sni=api.example.com alpn=h2,http/1.1 nc=5 nsig=3 v2=0 vers=") !=
		      NULL);
	}
	i = find(&R.r, "HS s ServerHello");
	if (i >= 0) {
		CHECK(strstr(R.r.ev[i].s, "v=0303 sel=0303 cs=c02f hrr=0") != NULL);
		CHECK(R.r.ev[i].view.roles_known);
		CHECK_EQ_U(R.r.ev[i].view.version, 0x0303);
	}
	i = find(&R.r, "HS s Certificate");
	if (i >= 0) {
		CHECK(strstr(R.r.ev[i].s, "n=2 tr=0 l13=0 [2f0000004c869c77c8981becde00000000004c serverAuth CN=leaf.example]"
					  " [01 absent CN=Example CA]") != NULL);
		CHECK(strstr(R.r.ev[i].s, "v=0303") != NULL);
	}
	i = find(&R.r, "HS s CertificateRequest");
	if (i >= 0) {
		CHECK(strstr(R.r.ev[i].s, "types=2 sig=2 cas=[CN=Client CA 1,O=Org One][CN=Client CA 2,O=Org Two]") != NULL);
		CHECK(R.r.ev[i].view.cert_requested);
	}
	i = find(&R.r, "ENCHS c");
	if (i >= 0) {
		CHECK(R.r.ev[i].view.client_finished);
		CHECK(!R.r.ev[i].view.server_finished);
	}
	i = find(&R.r, "END");
	if (i >= 0) {
		const struct tls_conn_view *v = &R.r.ev[i].view;
		CHECK(v->is_tls && v->client_sent_hello && v->server_sent_hello && !v->tls13);
		CHECK_EQ_U(v->client.port, 50123);
		CHECK_EQ_U(v->server.port, 443);
	}
	CHECK_EQ_U(R.st.conns_tls, 1);
	CHECK_EQ_U(R.st.certificates, 2);
	CHECK_EQ_U(R.st.alerts, 1);
	CHECK_EQ_U(R.st.handshake_msgs, 7);
	CHECK_EQ_U(R.st.records, 6);
	/* Frames: whole-op feeding gives each message the frame of its op. */
	CHECK_EQ_U(R.r.ev[2].frame, 1);
	CHECK_EQ_U(R.r.ev[3].frame, 2);
	CHECK_EQ_U(R.r.ev[9].frame, 3);
	CHECK_EQ_U(R.r.ev[11].frame, 4);
	bfree(&ch), bfree(&rec1), bfree(&sh), bfree(&cert), bfree(&cr), bfree(&shd), bfree(&flight), bfree(&rec2);
	bfree(&ccert), bfree(&cke), bfree(&cflight), bfree(&rec3), bfree(&ccs), bfree(&fin), bfree(&al), bfree(&rec4);
	sc_free(&s);
}

/* The server flight fragmented over small records (messages span
 * records; several messages per record), then the server finishes:
 * CCS, encrypted Finished, application data, encrypted alert. */
static void test_fragmented(void)
{
	struct script s;
	sc_init(&s, true, 50124, 8443);
	struct ch_spec cs = { .sni = "x.example", .n_ciphers = 2 };
	struct buf ch = client_hello(&cs), r = { 0 };
	records(&r, 22, 0x0301, ch.p, ch.n, 50); /* ClientHello over several records */
	sc_data(&s, 0, &r);
	struct buf sh = server_hello(0, 0x009c, false);
	const struct buf *chain[] = { &cert_leaf, &cert_ca };
	struct buf cert = certificate12(chain, 2), shd = simple_hs(14, 0, 0), flight = { 0 }, r2 = { 0 };
	putb(&flight, &sh);
	putb(&flight, &cert);
	putb(&flight, &shd);
	records(&r2, 22, 0x0303, flight.p, flight.n, 333);
	sc_data(&s, 1, &r2);
	struct buf cke = simple_hs(16, 130, 1), r3 = { 0 }, one = { 0 }, fin = { 0 }, app = { 0 };
	record(&r3, 22, 0x0303, &cke);
	put_u8(&one, 1);
	record(&r3, 20, 0x0303, &one);
	fill(&fin, 7, 40);
	record(&r3, 22, 0x0303, &fin);
	sc_data(&s, 0, &r3);
	struct buf r4 = { 0 };
	record(&r4, 20, 0x0303, &one);
	record(&r4, 22, 0x0303, &fin);
	fill(&app, 3, 700);
	record(&r4, 23, 0x0303, &app);
	record(&r4, 23, 0x0303, &app);
	struct buf encal = { 0 };
	fill(&encal, 0x5a, 26);
	record(&r4, 21, 0x0303, &encal); /* encrypted close_notify */
	sc_data(&s, 1, &r4);
	sc_flag(&s, OP_RST, 0);

	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "HS s Certificate len=", "HS s ServerHelloDone",
	    "HS c ClientKeyExchange", "CCS c", "ENCHS c", "CCS s", "ENCHS s", "ALERT s enc", "RST c", "END tls=1");
	int i = find(&R.r, "HS s Certificate");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "n=2 tr=0") != NULL);
	i = find(&R.r, "END");
	if (i >= 0) {
		CHECK(R.r.ev[i].view.client_finished && R.r.ev[i].view.server_finished);
		CHECK_EQ_U(R.r.ev[i].view.server_app_bytes, 1400);
		CHECK_EQ_U(R.r.ev[i].view.client_app_bytes, 0);
	}
	CHECK_EQ_U(R.st.app_records, 2);
	bfree(&ch), bfree(&r), bfree(&sh), bfree(&cert), bfree(&shd), bfree(&flight), bfree(&r2), bfree(&cke);
	bfree(&r3), bfree(&one), bfree(&fin), bfree(&app), bfree(&r4), bfree(&encal);
	sc_free(&s);
}

static void client_part(struct script *s)
{
	struct ch_spec cs = { .sni = "h.example", .n_ciphers = 1 };
	struct buf ch = client_hello(&cs), r = { 0 };
	records(&r, 22, 0x0303, ch.p, ch.n, 16384);
	sc_data(s, 0, &r);
	bfree(&ch), bfree(&r);
}

/* A message is reported in the frame that completes its record (as
 * Wireshark shows it), even when the message itself ended earlier. */
static void test_record_frames(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	client_part(&s);
	struct buf sh = server_hello(0, 0xc02f, false), shd = simple_hs(14, 0, 0), body = { 0 }, r = { 0 };
	putb(&body, &sh);
	putb(&body, &shd);
	record(&r, 22, 0x0303, &body);
	struct buf cke = simple_hs(16, 300, 2), r2 = { 0 };
	records(&r2, 22, 0x0303, cke.p, cke.n, 100); /* message over 4 records */
	sc_slice(&s, 1, &r, 0, 5 + sh.n);         /* frame 2: ServerHello's last byte */
	sc_slice(&s, 1, &r, 5 + sh.n, r.n);       /* frame 3: the record's last byte */
	sc_slice(&s, 0, &r2, 0, 150);             /* frame 4 */
	sc_slice(&s, 0, &r2, 150, r2.n);          /* frame 5 */
	struct buf r3 = { 0 };
	record(&r3, 22, 0x0303, &shd);
	sc_slice(&s, 1, &r3, 0, 3);               /* frame 6: then FIN inside the header */
	sc_flag(&s, OP_FIN, 1);                   /* frame 7 */
	run(&s, 0, 0, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "HS s ServerHelloDone",
	    "HS c ClientKeyExchange len=300", "FIN s", "INC s record", "END tls=1");
	if (R.r.n == 9) {
		CHECK_EQ_U(R.r.ev[3].frame, 3);
		CHECK_EQ_U(R.r.ev[4].frame, 3);
		CHECK_EQ_U(R.r.ev[5].frame, 5);
		CHECK_EQ_U(R.r.ev[7].frame, FRAME_END);
	}
	/* A record cut by a hole: the complete ServerHello before the hole is
	 * reported at the hole, with the frame that brought its last byte. */
	sc_free(&s);
	sc_init(&s, true, 50000, 443);
	client_part(&s);
	sc_slice(&s, 1, &r, 0, 5 + sh.n + 1); /* frame 2 */
	sc_gap(&s, 1, 2);                     /* frame 3 */
	sc_slice(&s, 1, &r, 5 + sh.n + 3, r.n);
	run(&s, 0, 0, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s 2 in=1 res=1",
	    "INC s ServerHelloDone", "END tls=1");
	if (R.r.n == 7) {
		CHECK_EQ_U(R.r.ev[3].frame, 2);
		CHECK_EQ_U(R.r.ev[4].frame, 3);
	}
	bfree(&sh), bfree(&shd), bfree(&body), bfree(&r), bfree(&cke), bfree(&r2), bfree(&r3);
	sc_free(&s);
}

/* Builds the server record [SH][Certificate + CertificateRequest + SHD]
 * and returns the offset of the Certificate message within it. */
static struct buf server_flight(size_t *cert_off, size_t *cert_len)
{
	struct buf sh = server_hello(0, 0xc030, false), out = { 0 }, body = { 0 };
	record(&out, 22, 0x0303, &sh);
	const struct buf *chain[] = { &cert_leaf, &cert_ca };
	struct buf cert = certificate12(chain, 2), cr = cert_request12(), shd = simple_hs(14, 0, 0);
	*cert_off = out.n + 5;
	*cert_len = cert.n;
	putb(&body, &cert);
	putb(&body, &cr);
	putb(&body, &shd);
	record(&out, 22, 0x0303, &body);
	struct buf al = { 0 };
	put_u8(&al, 2);
	put_u8(&al, 40);
	record(&out, 21, 0x0303, &al);
	bfree(&sh), bfree(&body), bfree(&cert), bfree(&cr), bfree(&shd), bfree(&al);
	return out;
}



/* A hole inside the Certificate (record header seen, known size): the
 * Certificate is incomplete, CertificateRequest and ServerHelloDone after
 * it in the same record are still parsed, and so is the next record. */
static void test_hole_in_record(void)
{
	size_t co, cl;
	struct buf f = server_flight(&co, &cl);
	struct script s;
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	size_t hole_at = co + 200, hole = 300;
	sc_slice(&s, 1, &f, 0, hole_at);
	sc_gap(&s, 1, hole);
	sc_slice(&s, 1, &f, hole_at + hole, f.n);
	sc_flag(&s, OP_FIN, 1);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s 300 in=1 res=1",
	    "INC s Certificate", "HS s CertificateRequest", "HS s ServerHelloDone", "ALERT s 2/40", "FIN s", "END tls=1");
	/* The incomplete event is at the packet after the hole. */
	int i = find(&R.r, "INC s");
	if (i >= 0) CHECK_EQ_U(R.r.ev[i].frame, R.r.ev[i - 1].frame);

	/* A hole that also swallows the next message header: the rest of the
	 * record is skipped, parsing resumes at the next record (the alert). */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	hole_at = co + cl - 10;
	hole = 30;
	sc_slice(&s, 1, &f, 0, hole_at);
	sc_gap(&s, 1, hole);
	sc_slice(&s, 1, &f, hole_at + hole, f.n);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s 30 in=1 res=1", "INC s Certificate",
	    "ALERT s 2/40", "END tls=1");

	/* A hole that ends exactly at the end of the Certificate. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	hole_at = co + 100;
	hole = cl - 100;
	sc_slice(&s, 1, &f, 0, hole_at);
	sc_gap(&s, 1, hole);
	sc_slice(&s, 1, &f, hole_at + hole, f.n);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s", "INC s Certificate",
	    "HS s CertificateRequest", "HS s ServerHelloDone", "ALERT s 2/40", "END tls=1");

	/* Unknown amount missing: this direction stops; the other goes on. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	sc_slice(&s, 1, &f, 0, co + 200);
	sc_gap(&s, 1, 0);
	sc_slice(&s, 1, &f, co + 500, f.n);
	struct buf al = { 0 }, r = { 0 };
	put_u8(&al, 1);
	put_u8(&al, 0);
	record(&r, 21, 0x0303, &al);
	sc_data(&s, 0, &r);
	sc_flag(&s, OP_FIN, 1);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s 0 in=1 res=0", "INC s Certificate",
	    "ALERT c 1/0", "FIN s", "END tls=1");

	/* A hole in a record header: the direction stops. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	sc_slice(&s, 1, &f, 0, co - 3);
	sc_gap(&s, 1, 10);
	sc_slice(&s, 1, &f, co + 7, f.n);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s 10 in=1 res=0", "INC s record",
	    "END tls=1");
	CHECK_EQ_U(R.st.dirs_stopped, 1);
	bfree(&f), bfree(&al), bfree(&r);
	sc_free(&s);
}

/* A hole of known size between records: the next bytes are accepted only
 * as a plausible record header. */
static void test_hole_between_records(void)
{
	size_t co, cl;
	struct buf f = server_flight(&co, &cl);
	size_t second = co - 5; /* start of the second record */
	struct script s;

	/* The hole covers exactly the second record: next is the alert record. */
	size_t third = f.n - 7; /* start of the alert record */
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	sc_slice(&s, 1, &f, 0, second);
	sc_gap(&s, 1, third - second);
	sc_slice(&s, 1, &f, third, f.n);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s", "ALERT s 2/40", "END tls=1");
	int i = find(&R.r, "MISS s");
	if (i >= 0) {
		CHECK(strstr(R.r.ev[i].s, "in=0 res=1") != NULL);
		CHECK_EQ_U(R.r.ev[i].frame, 3); /* the gap's packet, although reported later */
	}

	/* Client: hello record 0x0301, hole of a whole record, then 0x0303. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	{
		struct ch_spec cs = { .n_ciphers = 1 };
		struct buf ch = client_hello(&cs), c = { 0 }, cke = simple_hs(16, 20, 1), al = { 0 };
		record(&c, 22, 0x0301, &ch);
		size_t hole_from = c.n;
		record(&c, 22, 0x0303, &cke);
		size_t hole_to = c.n;
		put_u8(&al, 1);
		put_u8(&al, 0);
		record(&c, 21, 0x0303, &al);
		sc_slice(&s, 0, &c, 0, hole_from);
		sc_gap(&s, 0, hole_to - hole_from);
		sc_slice(&s, 0, &c, hole_to, c.n);
		run_all_splits(&s, &R);
		SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "MISS c 29 in=0 res=1", "ALERT c 1/0", "END tls=1");
		bfree(&ch), bfree(&c), bfree(&cke), bfree(&al);
	}

	/* The hole ends inside a record: garbage follows, the direction stops. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	sc_slice(&s, 1, &f, 0, second);
	sc_gap(&s, 1, 100);
	sc_slice(&s, 1, &f, second + 100, f.n);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s 100 in=0 res=0", "END tls=1");

	/* A hole running from inside the Certificate record past its end:
	 * the Certificate is incomplete, the alert record after it is found. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	sc_slice(&s, 1, &f, 0, co + 50);
	sc_gap(&s, 1, third - (co + 50));
	sc_slice(&s, 1, &f, third, f.n);
	sc_flag(&s, OP_FIN, 1);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "MISS s", "INC s Certificate", "ALERT s 2/40",
	    "FIN s", "END tls=1");
	i = find(&R.r, "MISS s");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "in=1 res=1") != NULL);
	bfree(&f);
	sc_free(&s);
}

/* FIN in the middle of a message. */
static void test_fin_inside(void)
{
	size_t co, cl;
	struct buf f = server_flight(&co, &cl);
	struct script s;
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	sc_slice(&s, 1, &f, 0, co + 400);
	sc_flag(&s, OP_FIN, 1);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "FIN s", "INC s Certificate", "END tls=1");
	/* Connection end inside an application data record. */
	sc_free(&s);
	sc_init(&s, true, 40000, 443);
	client_part(&s);
	struct buf a = { 0 };
	put_u8(&a, 23);
	put_u16(&a, 0x0303);
	put_u16(&a, 1000);
	fill(&a, 1, 300);
	sc_data(&s, 0, &a);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "INC c ApplicationData", "END tls=1");
	bfree(&f), bfree(&a);
	sc_free(&s);
}

/* Mid-stream: no SYN, the first bytes are the tail of a record. */
static void test_midstream(void)
{
	struct script s;
	sc_init(&s, false, 443, 51000);
	struct buf b = { 0 }, app = { 0 }, encal = { 0 };
	fill(&b, 0x37, 30); /* tail of some record */
	fill(&app, 0xee, 90);
	record(&b, 23, 0x0303, &app);
	record(&b, 23, 0x0303, &app);
	fill(&encal, 0x11, 26);
	record(&b, 21, 0x0303, &encal);
	sc_data(&s, 0, &b);
	sc_flag(&s, OP_FIN, 0);
	run_all_splits(&s, &R);
	SEQ(&R.r, "TLS", "ALERT s enc", "FIN s", "END tls=1");
	int i = find(&R.r, "END");
	if (i >= 0) {
		CHECK(!R.r.ev[i].view.roles_known);
		CHECK_EQ_U(R.r.ev[i].view.server.port, 443); /* the TLS port serves */
		CHECK_EQ_U(R.r.ev[i].view.server_app_bytes, 90);
	}

	/* The capture starts at an encrypted alert (26 bytes, no CCS seen). */
	sc_free(&s);
	sc_init(&s, false, 51000, 443);
	struct buf a2 = { 0 };
	record(&a2, 21, 0x0303, &encal);
	sc_data(&s, 1, &a2);
	struct buf pa = { 0 }, a3 = { 0 };
	put_u8(&pa, 1);
	put_u8(&pa, 0);
	record(&a3, 21, 0x0303, &pa); /* a 2-byte alert mid-stream stays plaintext */
	sc_data(&s, 0, &a3);
	run_all_splits(&s, &R);
	SEQ(&R.r, "TLS", "ALERT s enc", "ALERT c 1/0", "END tls=1");
	bfree(&a2), bfree(&pa), bfree(&a3);

	/* Not a TLS port, no handshake: mid-stream data is not recognised. */
	sc_free(&s);
	sc_init(&s, false, 4000, 51000);
	sc_data(&s, 0, &b);
	run(&s, 0, 0, &R);
	SEQ(&R.r, "END tls=0");
	bfree(&b), bfree(&app), bfree(&encal);
	sc_free(&s);
}

/* A spurious RST does not stop the parsing: data after it is parsed. */
static void test_rst_then_data(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	sc_flag(&s, OP_RST, 0);
	client_part(&s);
	struct buf sh = server_hello(0, 0xc02f, false), r = { 0 };
	record(&r, 22, 0x0303, &sh);
	sc_data(&s, 1, &r);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "RST c", "TLS", "HS c ClientHello", "HS s ServerHello", "END tls=1");
	bfree(&sh), bfree(&r);
	sc_free(&s);
}

/* Without a SYN the first ServerHello decides: ep[0] is the server
 * although its port is the higher one. */
static void test_roles(void)
{
	struct script s;
	sc_init(&s, false, 40001, 30000);
	struct buf sh = server_hello(0, 0xc02f, false), r = { 0 };
	record(&r, 22, 0x0303, &sh);
	sc_data(&s, 0, &r);
	run_all_splits(&s, &R);
	SEQ(&R.r, "TLS", "HS s ServerHello", "END tls=1");
	int i = find(&R.r, "HS s ServerHello");
	if (i >= 0) {
		CHECK(R.r.ev[i].view.roles_known);
		CHECK_EQ_U(R.r.ev[i].view.server.port, 40001);
		CHECK_EQ_U(R.r.ev[i].view.client.port, 30000);
	}
	/* The sender of the first ClientHello is the client (here ep[1], the lower port). */
	sc_free(&s);
	sc_init(&s, false, 40001, 30000);
	struct ch_spec cs = { .n_ciphers = 1 };
	struct buf ch = client_hello(&cs), r2 = { 0 };
	record(&r2, 22, 0x0301, &ch);
	sc_data(&s, 1, &r2);
	run(&s, 0, 0, &R);
	SEQ(&R.r, "TLS", "HS c ClientHello", "END tls=1");
	i = find(&R.r, "HS c");
	if (i >= 0) CHECK(R.r.ev[i].view.roles_known && R.r.ev[i].view.client.port == 30000);
	/* Nothing decides: the higher port is the client. */
	sc_free(&s);
	sc_init(&s, false, 40001, 30000);
	struct buf cke = simple_hs(16, 10, 0), r3 = { 0 };
	record(&r3, 22, 0x0303, &cke);
	sc_data(&s, 1, &r3);
	run(&s, 0, 0, &R);
	SEQ(&R.r, "TLS", "HS s ClientKeyExchange", "END tls=1");
	i = find(&R.r, "END");
	if (i >= 0) CHECK(!R.r.ev[i].view.roles_known && R.r.ev[i].view.client.port == 40001);
	bfree(&sh), bfree(&r), bfree(&ch), bfree(&r2), bfree(&cke), bfree(&r3);
	sc_free(&s);
}

static void test_sslv2(void)
{
	struct script s;
	sc_init(&s, true, 50000, 4433); /* not a TLS port: recognised by content */
	struct buf b = { 0 };
	size_t csl = 3 * 4, chl = 16;
	put_u16(&b, 0x8000u | (unsigned)(9 + csl + chl));
	put_u8(&b, 1);
	put_u16(&b, 0x0301);
	put_u16(&b, (unsigned)csl);
	put_u16(&b, 0);
	put_u16(&b, (unsigned)chl);
	for (size_t i = 0; i < csl; i++) put_u8(&b, (unsigned)i);
	for (size_t i = 0; i < chl; i++) put_u8(&b, 0xc0 + (unsigned)i);
	sc_data(&s, 0, &b);
	struct buf sh = server_hello(0, 0x002f, false), r = { 0 };
	record(&r, 22, 0x0301, &sh);
	sc_data(&s, 1, &r);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello len=37 v=0002 lv=0301 sni=- alpn=- nc=4 nsig=0 v2=1",
	    "HS s ServerHello len=38 v=0303", "END tls=1");
	/* SSL 2.0 itself (version 0x0002): the hello is still reported. */
	sc_free(&s);
	sc_init(&s, true, 50000, 443);
	struct buf b2 = { 0 };
	put_u16(&b2, 0x8000u | (unsigned)(9 + 3 + 16));
	put_u8(&b2, 1);
	put_u16(&b2, 0x0002);
	put_u16(&b2, 3);
	put_u16(&b2, 0);
	put_u16(&b2, 16);
	put_u8(&b2, 1), put_u8(&b2, 0), put_u8(&b2, 0x80);
	fill(&b2, 0x42, 16);
	sc_data(&s, 0, &b2);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello len=28 v=0002 lv=0002 sni=- alpn=- nc=1 nsig=0 v2=1", "END tls=1");
	bfree(&b), bfree(&b2), bfree(&sh), bfree(&r);
	sc_free(&s);
}

static void test_not_tls(void)
{
	struct script s;
	sc_init(&s, true, 50000, 80);
	sc_text(&s, 0, "GET / HTTP/1.1\r\nHost: example\r\n\r\n");
	struct buf body = { 0 };
	put(&body, "HTTP/1.1 200 OK\r\n\r\n", 19);
	fill(&body, 'x', 20000);
	sc_data(&s, 1, &body);
	sc_text(&s, 0, "GET /2 HTTP/1.1\r\nHost: example\r\n\r\n");
	struct buf more = { 0 };
	fill(&more, 'y', 17000);
	sc_data(&s, 0, &more);
	run(&s, 0, 0, &R);
	CHECK(R.last_verdict == TLS_NOT_TLS);
	SEQ(&R.r, "OPEN c", "END tls=0");
	CHECK_EQ_U(R.st.conns_not_tls, 1);
	CHECK_EQ_U(R.st.conns_tls, 0);
	run(&s, 1, 0, &R);
	CHECK(R.last_verdict == TLS_NOT_TLS);
	SEQ(&R.r, "OPEN c", "END tls=0");

	/* Short HTTP exchange: undecided until the end, then not TLS. */
	sc_free(&s);
	sc_init(&s, true, 50000, 80);
	sc_text(&s, 0, "GET / HTTP/1.1\r\n\r\n");
	sc_text(&s, 1, "HTTP/1.1 204 No Content\r\n\r\n");
	sc_flag(&s, OP_FIN, 0);
	sc_flag(&s, OP_FIN, 1);
	run(&s, 7, 1, &R);
	SEQ(&R.r, "OPEN c", "FIN c", "FIN s", "END tls=0");
	CHECK_EQ_U(R.st.conns_not_tls, 1);

	/* Bytes 0x16 0x03 inside text that do not form a hello do not count. */
	sc_free(&s);
	sc_init(&s, true, 50000, 9999);
	struct buf odd = { 0 };
	put(&odd, "abc", 3);
	put_u8(&odd, 22);
	put_u8(&odd, 3);
	put_u8(&odd, 1);
	put_u16(&odd, 100);
	put_u8(&odd, 1);
	put_u24(&odd, 5000); /* hello longer than its record */
	fill(&odd, 'z', 17000);
	sc_data(&s, 0, &odd);
	sc_data(&s, 1, &odd);
	run(&s, 0, 0, &R);
	CHECK(R.last_verdict == TLS_NOT_TLS);
	/* OpenVPN over TCP on port 443, with a real hello record inside its
	 * framing: not TLS (the records are not a record stream). */
	sc_free(&s);
	sc_init(&s, true, 50000, 443);
	struct ch_spec cs = { .sni = "vpn.example", .n_ciphers = 2 };
	struct buf ch = client_hello(&cs), ovpn = { 0 }, rec = { 0 };
	records(&rec, 22, 0x0301, ch.p, ch.n, 16384);
	put_u16(&ovpn, 42);
	put_u8(&ovpn, 0x38);
	fill(&ovpn, 0x11, 41);
	put_u16(&ovpn, (unsigned)(14 + 60));
	put_u8(&ovpn, 0x20);
	fill(&ovpn, 0x22, 13);
	put(&ovpn, rec.p, 60);
	sc_data(&s, 0, &ovpn);
	struct buf sovpn = { 0 };
	put_u16(&sovpn, 54);
	put_u8(&sovpn, 0x40);
	fill(&sovpn, 0x33, 53);
	sc_data(&s, 1, &sovpn);
	run(&s, 1, 0, &R);
	CHECK(R.last_verdict == TLS_NOT_TLS);
	SEQ(&R.r, "OPEN c", "END tls=0");
	bfree(&body), bfree(&more), bfree(&odd), bfree(&ch), bfree(&ovpn), bfree(&rec), bfree(&sovpn);
	sc_free(&s);
}

/* SMTP STARTTLS on port 25: text, then the TLS handshake. */
static void test_starttls(void)
{
	struct script s;
	sc_init(&s, true, 50000, 25);
	sc_text(&s, 1, "220 mail.example ESMTP ready\r\n");
	sc_text(&s, 0, "EHLO client.example\r\n");
	sc_text(&s, 1, "250-mail.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
	struct ch_spec cs = { .sni = "mail.example", .n_ciphers = 3 };
	struct buf ch = client_hello(&cs), c1 = { 0 };
	put(&c1, "STARTTLS\r\n", 10);
	records(&c1, 22, 0x0301, ch.p, ch.n, 16384);
	sc_data(&s, 0, &c1);
	size_t co, cl;
	struct buf f = server_flight(&co, &cl), s1 = { 0 };
	put(&s1, "220 2.0.0 Ready to start TLS\r\n", 30);
	putb(&s1, &f);
	sc_data(&s, 1, &s1);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "HS s Certificate", "HS s CertificateRequest",
	    "HS s ServerHelloDone", "ALERT s 2/40", "END tls=1");
	int i = find(&R.r, "HS c ClientHello");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "sni=mail.example") != NULL);
	CHECK(R.last_verdict == TLS_IS_TLS);

	/* Server refuses the hello with a plaintext alert after text. */
	sc_free(&s);
	sc_init(&s, true, 50000, 143);
	sc_text(&s, 1, "* OK IMAP4rev1\r\n");
	sc_text(&s, 0, "a001 STARTTLS\r\n");
	sc_text(&s, 1, "a001 OK Begin TLS negotiation now\r\n");
	struct buf c2 = { 0 };
	records(&c2, 22, 0x0301, ch.p, ch.n, 16384);
	sc_data(&s, 0, &c2);
	struct buf al = { 0 }, s2 = { 0 };
	put_u8(&al, 2);
	put_u8(&al, 70);
	put(&s2, "junk\r\n", 6);
	record(&s2, 21, 0x0301, &al);
	sc_data(&s, 1, &s2);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "ALERT s 2/70", "END tls=1");
	bfree(&ch), bfree(&c1), bfree(&f), bfree(&s1), bfree(&c2), bfree(&al), bfree(&s2);
	sc_free(&s);
}

/* TLS 1.3 with a HelloRetryRequest and compatibility CCS. */
static void test_tls13_hrr(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	uint16_t vers[] = { 0x0304, 0x0303 };
	struct ch_spec cs = { .sni = "t13.example", .alpn = "h2", .versions = vers, .n_versions = 2, .n_ciphers = 3 };
	struct buf ch = client_hello(&cs), r = { 0 };
	record(&r, 22, 0x0301, &ch);
	sc_data(&s, 0, &r);
	struct buf hrr = server_hello(0x0304, 0x1301, true), r2 = { 0 }, one = { 0 };
	record(&r2, 22, 0x0303, &hrr);
	put_u8(&one, 1);
	record(&r2, 20, 0x0303, &one);
	sc_data(&s, 1, &r2);
	struct buf r3 = { 0 };
	record(&r3, 20, 0x0303, &one); /* compat CCS, then the second hello in plaintext */
	record(&r3, 22, 0x0303, &ch);
	sc_data(&s, 0, &r3);
	struct buf sh = server_hello(0x0304, 0x1301, false), r4 = { 0 }, enc = { 0 };
	record(&r4, 22, 0x0303, &sh);
	record(&r4, 20, 0x0303, &one);
	fill(&enc, 0x77, 2000);
	record(&r4, 23, 0x0303, &enc);
	record(&r4, 23, 0x0303, &enc);
	sc_data(&s, 1, &r4);
	struct buf r5 = { 0 }, cfin = { 0 }, al = { 0 };
	fill(&cfin, 0x66, 53);
	record(&r5, 23, 0x0303, &cfin);
	record(&r5, 23, 0x0303, &cfin);
	put_u8(&al, 2);
	put_u8(&al, 116);
	sc_data(&s, 0, &r5);
	struct buf r6 = { 0 };
	record(&r6, 21, 0x0303, &al); /* a plaintext alert type 21 in 1.3 */
	sc_data(&s, 1, &r6);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello len=", "HS s HelloRetryRequest", "CCS s", "CCS c",
	    "HS c ClientHello", "HS s ServerHello", "CCS s", "ENCHS s", "ENCHS c", "ALERT s 2/116", "END tls=1");
	int i = find(&R.r, "HS c ClientHello");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "v=0301 lv=0303 sni=t13.example alpn=h2 nc=3 nsig=3 v2=0 vers=0304,0303,"));
	i = find(&R.r, "HS s HelloRetryRequest");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "v=0304 sel=0304 cs=1301 hrr=1") != NULL);
	i = find(&R.r, "HS s ServerHello");
	if (i >= 0) CHECK(R.r.ev[i].view.tls13 && R.r.ev[i].view.version == 0x0304);
	i = find(&R.r, "END");
	if (i >= 0) {
		const struct tls_conn_view *v = &R.r.ev[i].view;
		CHECK(v->tls13);
		CHECK_EQ_U(v->server_app_bytes, 2000);
		CHECK_EQ_U(v->client_app_bytes, 53);
	}
	/* All later events carry the negotiated version. */
	i = find(&R.r, "ALERT s");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "2/116") != NULL);
	bfree(&ch), bfree(&r), bfree(&hrr), bfree(&r2), bfree(&one), bfree(&r3), bfree(&sh), bfree(&r4), bfree(&enc);
	bfree(&r5), bfree(&cfin), bfree(&al), bfree(&r6);
	sc_free(&s);
}

/* The client's compatibility CCS right after its first hello, before
 * the HelloRetryRequest arrives: the second hello is still plaintext. */
static void test_tls13_early_ccs(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	uint16_t vers[] = { 0x0304 };
	struct ch_spec cs = { .sni = "e.example", .versions = vers, .n_versions = 1, .n_ciphers = 1 };
	struct buf ch = client_hello(&cs), r = { 0 }, one = { 0 };
	put_u8(&one, 1);
	record(&r, 22, 0x0301, &ch);
	record(&r, 20, 0x0303, &one);
	sc_data(&s, 0, &r);
	struct buf hrr = server_hello(0x0304, 0x1302, true), r2 = { 0 };
	record(&r2, 22, 0x0303, &hrr);
	sc_data(&s, 1, &r2);
	struct buf r3 = { 0 };
	record(&r3, 22, 0x0303, &ch);
	sc_data(&s, 0, &r3);
	struct buf sh = server_hello(0x0304, 0x1302, false), r4 = { 0 }, enc = { 0 };
	record(&r4, 22, 0x0303, &sh);
	fill(&enc, 9, 100);
	record(&r4, 23, 0x0303, &enc);
	sc_data(&s, 1, &r4);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "CCS c", "HS s HelloRetryRequest", "HS c ClientHello",
	    "HS s ServerHello", "ENCHS s", "END tls=1");
	bfree(&ch), bfree(&r), bfree(&one), bfree(&hrr), bfree(&r2), bfree(&r3), bfree(&sh), bfree(&r4), bfree(&enc);
	sc_free(&s);
}

/* A NULL-encryption suite: after the CCS the Finished is plaintext plus
 * a MAC (SHA-256: 32 bytes), and is reported as Finished, like Wireshark. */
static void test_null_cipher(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	client_part(&s);
	struct buf sh = server_hello(0, 0x003b, false), shd = simple_hs(14, 0, 0), body = { 0 }, r = { 0 };
	putb(&body, &sh);
	putb(&body, &shd);
	record(&r, 22, 0x0303, &body);
	sc_data(&s, 1, &r);
	struct buf cke = simple_hs(16, 40, 1), one = { 0 }, fin = simple_hs(20, 12, 0xf1), r2 = { 0 }, fm = { 0 };
	record(&r2, 22, 0x0303, &cke);
	put_u8(&one, 1);
	record(&r2, 20, 0x0303, &one);
	putb(&fm, &fin);
	fill(&fm, 0xee, 32); /* HMAC-SHA256 */
	record(&r2, 22, 0x0303, &fm);
	struct buf al = { 0 };
	put_u8(&al, 1);
	put_u8(&al, 0);
	fill(&al, 0xdd, 32);
	record(&r2, 21, 0x0303, &al); /* close_notify + MAC */
	sc_data(&s, 0, &r2);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "HS s ServerHelloDone", "HS c ClientKeyExchange",
	    "CCS c", "HS c Finished len=12", "ALERT c 1/0", "END tls=1");
	int i = find(&R.r, "END");
	if (i >= 0) CHECK(R.r.ev[i].view.client_finished);
	bfree(&sh), bfree(&shd), bfree(&body), bfree(&r), bfree(&cke), bfree(&one), bfree(&fin), bfree(&r2);
	bfree(&fm), bfree(&al);
	sc_free(&s);
}

/* A message longer than max_handshake_len is reported malformed and skipped. */
static void test_too_large(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	s.max_hs = 500;
	client_part(&s);
	struct buf sh = server_hello(0, 0xc02f, false), big = simple_hs(11, 3000, 0x30), shd = simple_hs(14, 0, 0);
	struct buf body = { 0 }, r = { 0 };
	putb(&body, &sh);
	putb(&body, &big);
	putb(&body, &shd);
	records(&r, 22, 0x0303, body.p, body.n, 1000);
	sc_data(&s, 1, &r);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello", "HS s Certificate len=3000 v=0303 MALFORMED",
	    "HS s ServerHelloDone", "END tls=1");
	CHECK_EQ_U(R.st.handshake_malformed, 1);
	bfree(&sh), bfree(&big), bfree(&shd), bfree(&body), bfree(&r);
	sc_free(&s);
}

/* Malformed bodies: only type and length. */
static void test_malformed_and_truncated(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	client_part(&s);
	struct buf bad = { 0 }, m, r = { 0 };
	put_u16(&bad, 0x0303);
	fill(&bad, 1, 10); /* random cut short */
	m = hs(2, &bad);
	record(&r, 22, 0x0303, &m);
	/* A Certificate whose list claims more than it holds. */
	struct buf cb = { 0 };
	put_u24(&cb, (unsigned)(3 + cert_leaf.n + 500));
	put_u24(&cb, (unsigned)cert_leaf.n);
	putb(&cb, &cert_leaf);
	struct buf cm = hs(11, &cb);
	record(&r, 22, 0x0303, &cm);
	sc_data(&s, 1, &r);
	run(&s, 0, 0, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "HS s ServerHello len=12 v=0303 MALFORMED",
	    "HS s Certificate", "END tls=1");
	int i = find(&R.r, "HS s Certificate");
	if (i >= 0) CHECK(strstr(R.r.ev[i].s, "n=1 tr=1") != NULL);
	bfree(&bad), bfree(&m), bfree(&r), bfree(&cb), bfree(&cm);
	sc_free(&s);
}

/* Garbage where a record header should be stops the direction silently. */
static void test_invalid_header(void)
{
	struct script s;
	sc_init(&s, true, 50000, 443);
	client_part(&s);
	sc_text(&s, 0, "this is not a record");
	struct buf al = { 0 }, r = { 0 };
	put_u8(&al, 2);
	put_u8(&al, 40);
	record(&r, 21, 0x0303, &al);
	sc_data(&s, 0, &r);
	run_all_splits(&s, &R);
	SEQ(&R.r, "OPEN c", "TLS", "HS c ClientHello", "END tls=1");
	CHECK_EQ_U(R.st.bad_records, 1);
	bfree(&al), bfree(&r);
	sc_free(&s);
}

/* The TLS 1.3 Certificate and CertificateRequest layouts (needed once
 * records can be decrypted) through the message parsers directly. */
static void test_tls13_layouts(void)
{
	struct tls_scratch sc;
	memset(&sc, 0, sizeof sc);
	sc.max_certs = 8;
	sc.certs = calloc(sc.max_certs, sizeof *sc.certs);
	struct x509_cache *xc = x509_cache_new(0);
	struct buf b = { 0 };
	put_u8(&b, 0); /* empty request context */
	put_u24(&b, (unsigned)(3 + cert_leaf.n + 2 + 3 + cert_ca.n + 2 + 4));
	put_u24(&b, (unsigned)cert_leaf.n);
	putb(&b, &cert_leaf);
	put_u16(&b, 0);
	put_u24(&b, (unsigned)cert_ca.n);
	putb(&b, &cert_ca);
	put_u16(&b, 4); /* one empty extension */
	put_u16(&b, 5);
	put_u16(&b, 0);
	struct tls_certificate cert;
	CHECK(tls_msg_certificate(&sc, xc, b.p, b.n, TLS_LAYOUT_13, &cert) == 0);
	CHECK_EQ_U(cert.n_certs, 2);
	CHECK(cert.tls13 && !cert.truncated);
	if (cert.n_certs == 2) {
		CHECK_STR(cert.certs[0]->serial_hex, "2f0000004c869c77c8981becde00000000004c");
		CHECK_STR(cert.certs[1]->subject, "CN=Example CA");
	}
	tls_msg_certificate_release(xc, &cert);
	/* Layout unknown: recognised from the structure. */
	CHECK(tls_msg_certificate(&sc, xc, b.p, b.n, TLS_LAYOUT_UNKNOWN, &cert) == 0);
	CHECK(cert.tls13 && cert.n_certs == 2);
	tls_msg_certificate_release(xc, &cert);

	struct buf cr = { 0 };
	put_u8(&cr, 2);
	put_u16(&cr, 0xabcd);
	put_u16(&cr, (unsigned)(4 + 6 + 4 + 2 + 2 + dn1.n));
	put_u16(&cr, 13);
	put_u16(&cr, 6);
	put_u16(&cr, 4);
	put_u16(&cr, 0x0804);
	put_u16(&cr, 0x0403);
	put_u16(&cr, 47);
	put_u16(&cr, (unsigned)(2 + 2 + dn1.n));
	put_u16(&cr, (unsigned)(2 + dn1.n));
	put_u16(&cr, (unsigned)dn1.n);
	putb(&cr, &dn1);
	struct tls_cert_request req;
	CHECK(tls_msg_cert_request(&sc, cr.p, cr.n, TLS_LAYOUT_13, &req) == 0);
	CHECK_EQ_U(req.n_sigalgs, 2);
	CHECK_EQ_U(req.n_ca_names, 1);
	if (req.n_ca_names == 1) CHECK_STR(req.ca_names[0], "CN=Client CA 1,O=Org One");
	if (req.n_sigalgs == 2) CHECK_STR(tls_sigalg_name(req.sigalgs[0]), "rsa_pss_rsae_sha256");
	/* TLS 1.1 CertificateRequest (no signature algorithms), layout unknown. */
	struct buf cr11 = { 0 };
	put_u8(&cr11, 1);
	put_u8(&cr11, 1);
	put_u16(&cr11, (unsigned)(2 + dn2.n));
	put_u16(&cr11, (unsigned)dn2.n);
	putb(&cr11, &dn2);
	CHECK(tls_msg_cert_request(&sc, cr11.p, cr11.n, TLS_LAYOUT_UNKNOWN, &req) == 0);
	CHECK(req.n_cert_types == 1 && req.n_sigalgs == 0 && req.n_ca_names == 1);
	if (req.n_ca_names == 1) CHECK_STR(req.ca_names[0], "CN=Client CA 2,O=Org Two");
	tls_scratch_free(&sc);
	x509_cache_free(xc);
	bfree(&b), bfree(&cr), bfree(&cr11);
}

static void test_names(void)
{
	CHECK_STR(tls_version_name(0x0303), "TLS1.2");
	CHECK_STR(tls_version_name(0x0304), "TLS1.3");
	CHECK_STR(tls_version_name(0x0300), "SSL3.0");
	CHECK_STR(tls_version_name(0x1a1a), "GREASE");
	CHECK(tls_version_name(0x0305) == NULL);
	CHECK_STR(tls_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
	CHECK_STR(tls_cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	CHECK_STR(tls_alert_name(116), "certificate_required");
	CHECK_STR(tls_alert_name(43), "unsupported_certificate");
	CHECK(tls_alert_name(200) == NULL);
	CHECK_STR(tls_handshake_name(13), "CertificateRequest");
	CHECK_STR(tls_handshake_name(6), "HelloRetryRequest");
	CHECK_STR(tls_sigalg_name(0x0804), "rsa_pss_rsae_sha256");
	CHECK_STR(tls_cert_type_name(64), "ecdsa_sign");
}

/* Random bytes in every split must never crash or read out of bounds
 * (run under ASan/UBSan). */
static void test_fuzzish(void)
{
	unsigned x = 12345;
	for (int iter = 0; iter < 300; iter++) {
		struct script s;
		sc_init(&s, iter % 2 == 0, 50000, (uint16_t)(iter % 3 == 0 ? 443 : 9000));
		for (int k = 0; k < 6; k++) {
			struct buf b = { 0 };
			size_t len = 0;
			x = x * 1103515245u + 12345u;
			len = (x >> 8) % 3000;
			/* Start with something TLS-like half of the time. */
			if (x & 1) {
				put_u8(&b, 22);
				put_u16(&b, 0x0303);
				put_u16(&b, (unsigned)((x >> 4) % 2000));
				put_u8(&b, (x >> 12) % 16);
				put_u24(&b, (x >> 3) % 3000);
			}
			for (size_t i = 0; i < len; i++) {
				x = x * 1103515245u + 12345u;
				put_u8(&b, x >> 16);
			}
			sc_data(&s, k % 2, &b);
			bfree(&b);
			if (k == 3) sc_gap(&s, 0, (x >> 5) % 700);
		}
		run(&s, (size_t)(iter % 5) * 13, (unsigned)iter, &R);
		CHECK(R.r.n >= 1 && R.r.ev[R.r.n - 1].kind == TLS_EV_CONN_END);
		sc_free(&s);
	}
}

int main(void)
{
	key = EVP_EC_gen("P-256");
	if (!key) return 2;
	cert_leaf = make_cert("2F0000004C869C77C8981BECDE00000000004C", "leaf.example", "serverAuth");
	cert_ca = make_cert("01", "Example CA", NULL);
	dn1 = dn_der("Org One", "Client CA 1");
	dn2 = dn_der("Org Two", "Client CA 2");

	test_names();
	test_tls12_mtls();
	test_fragmented();
	test_record_frames();
	test_hole_in_record();
	test_hole_between_records();
	test_fin_inside();
	test_midstream();
	test_roles();
	test_rst_then_data();
	test_sslv2();
	test_not_tls();
	test_starttls();
	test_tls13_hrr();
	test_tls13_early_ccs();
	test_null_cipher();
	test_too_large();
	test_malformed_and_truncated();
	test_invalid_header();
	test_tls13_layouts();
	test_fuzzish();

	bfree(&cert_leaf), bfree(&cert_ca), bfree(&dn1), bfree(&dn2);
	EVP_PKEY_free(key);
	return check_summary();
}
