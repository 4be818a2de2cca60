/* libFuzzer target: the TLS record/handshake layer (dissect/tls.c) fed
 * the two byte streams of one connection through the tls_conn_* API, the
 * way cli/pipeline.c drives it.
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
 *              bit 7     TLS secrets: a u16 length and that much NSS key
 *                        log text follow (tls_opts.keys; make_seeds.py
 *                        takes samples/F.keylog for samples/F.pcap)
 *   then ops, each one byte:
 *              bit 0     direction
 *              bits 1-3  0-3: data, u16 big-endian length + bytes
 *                        (clipped to what is left)
 *                        4: gap, u16 missing (0 = unknown), x256 when bit 4
 *                        5: FIN    6: RST
 *                        7: data, u8 length + bytes
 *
 * The sink reads every pointer of every event and checks the ordering
 * contract of dissect/tls.h (abort = crash for libFuzzer).
 *
 * Differential check: the same script is run a second time with every
 * data op cut into 1-byte chunks (or, when the configuration already asks
 * for 1-byte chunks, in whole ops).  TCP segmentation must not change what
 * is reported: both runs must emit the same events (kind, sender, frame,
 * message type/length, certificates, alerts, holes) in the same order. */
#include "fuzz_common.h"

#include "common/cursor.h"

/* One event as both runs must agree on it. */
struct ev_rec {
	uint8_t kind, sender, hs_type, malformed, truncated, level, desc, enc, in_record, resumed;
	uint16_t version;
	uint32_t length;
	uint64_t frame, missing;
	size_t n_certs, n_ca;
	uint8_t leaf[32];
	char incomplete[24], sni[24];
};

struct fz_state {
	struct fz_order order;
	struct ev_rec *log;
	size_t n, cap;
};

static void copy_str(char *dst, size_t n, const char *s)
{
	if (!s) s = "";
	size_t l = strlen(s);
	if (l >= n) l = n - 1;
	memcpy(dst, s, l);
	dst[l] = '\0';
}

static void on_event(void *ctx, const struct tls_event *ev)
{
	struct fz_state *st = ctx;
	fz_check_event(&st->order, ev);
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct ev_rec *l = realloc(st->log, cap * sizeof *l);
		FZ_CHECK(l != NULL);
		st->log = l;
		st->cap = cap;
	}
	struct ev_rec *r = &st->log[st->n++];
	memset(r, 0, sizeof *r);
	r->kind = (uint8_t)ev->kind;
	r->sender = (uint8_t)ev->sender;
	r->version = ev->version;
	r->frame = ev->pkt.frame;
	switch (ev->kind) {
	case TLS_EV_HANDSHAKE:
		r->hs_type = ev->u.hs.type;
		r->length = ev->u.hs.length;
		r->malformed = ev->u.hs.malformed;
		if (ev->u.hs.malformed) break;
		if (ev->u.hs.type == TLS_HS_CERTIFICATE) {
			r->n_certs = ev->u.hs.u.cert.n_certs;
			r->truncated = ev->u.hs.u.cert.truncated;
			if (r->n_certs) memcpy(r->leaf, ev->u.hs.u.cert.certs[0]->sha256, 32);
		} else if (ev->u.hs.type == TLS_HS_CERTIFICATE_REQUEST) {
			r->n_ca = ev->u.hs.u.cr.n_ca_names;
		} else if (ev->u.hs.type == TLS_HS_CLIENT_HELLO) {
			copy_str(r->sni, sizeof r->sni, ev->u.hs.u.ch.sni);
		}
		break;
	case TLS_EV_ALERT:
		r->level = ev->u.alert.level;
		r->desc = ev->u.alert.desc;
		r->enc = ev->u.alert.encrypted;
		break;
	case TLS_EV_DATA_MISSING:
		r->missing = ev->u.missing.bytes;
		r->in_record = ev->u.missing.in_record;
		r->resumed = ev->u.missing.resumed;
		break;
	case TLS_EV_RECORD_INCOMPLETE:
		copy_str(r->incomplete, sizeof r->incomplete, ev->u.incomplete);
		break;
	default:
		break;
	}
}

static const char *const kind_names[] = {
	"CONN_TLS", "TCP_OPEN", "TCP_FIN", "TCP_RESET", "DATA_MISSING", "HANDSHAKE", "CCS", "ALERT",
	"ENCRYPTED_HANDSHAKE", "RECORD_INCOMPLETE", "CONN_END", "DECRYPT_FAILED",
};

static void print_rec(const char *label, size_t i, const struct ev_rec *r)
{
	fprintf(stderr, "  %s[%zu]: %s sender=%u frame=%llu ver=%04x hs=%u len=%u malformed=%u certs=%zu trunc=%u "
		"cas=%zu alert=%u/%u enc=%u missing=%llu in_record=%u resumed=%u incomplete=%s sni=%s\n",
		label, i, r->kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[r->kind] : "?", r->sender, (unsigned long long)r->frame, r->version,
		r->hs_type, r->length, r->malformed, r->n_certs, r->truncated, r->n_ca, r->level, r->desc, r->enc,
		(unsigned long long)r->missing, r->in_record, r->resumed, r->incomplete, r->sni);
}

static const uint16_t ports[] = { 443, 5061, 8443 };

/* Run the script with data ops cut into `chunk`-byte pieces (0: whole). */
static void run_once(const uint8_t *data, size_t size, size_t chunk, struct fz_state *st)
{
	struct cur in = cur_make(data, size);
	uint8_t cfg = cur_u8(&in);

	struct tls_opts to = { .ports = ports, .n_ports = sizeof ports / sizeof ports[0] };
	struct tls_keylog *keys = NULL;
	if (cfg & 0x80) {
		size_t kn = cur_u16(&in);
		if (kn > cur_left(&in)) kn = cur_left(&in);
		const uint8_t *kt = cur_bytes(&in, kn);
		keys = tls_keylog_new(64);
		FZ_CHECK(keys != NULL);
		if (kt) tls_keylog_add_text(keys, (const char *)kt, kn);
		to.keys = keys;
	}
	if (cfg & 0x10) {
		to.max_handshake_len = 1024;
		to.max_chain_len = 2;
	}
	st->order.id = 7;
	st->order.max_chain = to.max_chain_len ? to.max_chain_len : 64;
	struct x509_cache *xc = x509_cache_new(4); /* bytes: almost nothing kept */
	struct tls_sink sink = { st, on_event };
	struct tls_ctx *t = tls_ctx_new(&to, &sink, xc);
	FZ_CHECK(xc && t);

	struct tls_conn_params p;
	memset(&p, 0, sizeof p);
	p.id = 7;
	p.file_index = 0;
	fz_set_ep(&p.ep[0], 1, (cfg & 0x04) ? 5061 : 40000);
	fz_set_ep(&p.ep[1], 2, (cfg & 0x08) ? 443 : 50000);
	p.syn_seen = cfg & 0x01;
	p.initiator = p.syn_seen || !(cfg & 0x02) ? 0 : -1;

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
	FZ_CHECK(st->order.ends == 1);

	struct tls_stats ts;
	tls_get_stats(t, &ts);
	FZ_CHECK(ts.conns_tls + ts.conns_not_tls == 1);
	tls_ctx_free(t);
	tls_keylog_free(keys);

	/* Every certificate reference was released. */
	struct x509_cache_stats cs;
	x509_cache_stats(xc, &cs);
	/* nobody holds a certificate any more: only records with a DER slot are
	 * left, the slots within the budget and the protected last lookups */
	FZ_CHECK(cs.entries <= cs.slots);
	FZ_CHECK(cs.slots <= 256); /* X509_PROTECT */
	x509_cache_free(xc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) return 0;
	static const size_t chunk_sizes[4] = { 0, 1, 7, 1400 };
	size_t chunk = chunk_sizes[(data[0] >> 5) & 3];
	struct fz_state a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	run_once(data, size, chunk, &a);
	if (!getenv("EK_FUZZ_NO_DIFF")) {
		run_once(data, size, chunk == 1 ? 0 : 1, &b);
		size_t i = 0;
		while (i < a.n && i < b.n && memcmp(&a.log[i], &b.log[i], sizeof a.log[i]) == 0) i++;
		if (i < a.n || i < b.n) {
			fprintf(stderr, "fuzz_tls: events differ with the segmentation (chunk %zu vs %zu) at event %zu "
				"(%zu vs %zu events):\n", chunk, chunk == 1 ? (size_t)0 : (size_t)1, i, a.n, b.n);
			for (size_t k = i > 2 ? i - 2 : 0; k < i + 2; k++) {
				if (k < a.n) print_rec("A", k, &a.log[k]);
				if (k < b.n) print_rec("B", k, &b.log[k]);
			}
			FZ_CHECK(0 && "segmentation changed the events");
		}
	}
	free(a.log);
	free(b.log);
	return 0;
}
