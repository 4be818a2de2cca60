/* Where TLS starts in a byte stream (tls.c's opening comment:
 * Recognition): the patterns tested at each position, read through the
 * cursor. */
#include "tls.h"
#include "tls_conn.h"

/* Each pattern test reads w, a cursor on a copy of the stream at the
 * tested position (its own copy of the cursor: nothing is consumed), and
 * returns 1 match, 0 no match, -1 needs more bytes.  need(w, n) is the
 * "more bytes" test before n more bytes are read. */
static inline bool need(const struct cur *w, size_t n) { return !cur_has(w, n); }

/* A record header: type in [lo, hi], 03 0x (x <= 4, or == ver's when ver
 * is set), length 1..TLS_MAX_RECORD (*len).  w is left after it. */
static int pat_hdr(struct cur *w, uint8_t lo, uint8_t hi, uint16_t ver, unsigned *len)
{
	if (need(w, 1)) return -1;
	uint8_t type = cur_u8(w);
	if (type < lo || type > hi) return 0;
	if (need(w, 1)) return -1;
	if (cur_u8(w) != 3) return 0;
	if (need(w, 1)) return -1;
	uint8_t minor = cur_u8(w);
	if (minor > 4 || (ver && minor != (ver & 0xff))) return 0;
	if (need(w, 2)) return -1;
	*len = cur_u16(w);
	return *len >= 1 && *len <= TLS_MAX_RECORD;
}

static int pat_record(struct cur w, uint8_t lo, uint8_t hi, uint16_t ver)
{
	unsigned len;
	return pat_hdr(&w, lo, hi, ver, &len);
}

/* A handshake record starting with a hello of a type in `mask` (bit per type). */
static int pat_hs_start(struct cur w, unsigned mask)
{
	unsigned rl;
	int r = pat_hdr(&w, REC_HANDSHAKE, REC_HANDSHAKE, 0, &rl);
	if (r <= 0) return r;
	if (rl < 42) return 0;
	if (need(&w, 1)) return -1;
	uint8_t type = cur_u8(&w);
	if (type > 7 || !(mask & (1u << type))) return 0;
	if (need(&w, 3)) return -1;
	uint32_t hl = cur_u24(&w);
	if (hl < 38 || hl > 0x20000) return 0;
	if (hl + 4 > rl && rl < 512) return 0;
	if (need(&w, 2)) return -1;
	uint8_t major = cur_u8(&w), minor = cur_u8(&w); /* the hello's version */
	return major == 3 && minor <= 4;
}

/* A plaintext alert record: 15 03 0x 00 02 level desc. */
static int pat_alert(struct cur w)
{
	unsigned len;
	int r = pat_hdr(&w, REC_ALERT, REC_ALERT, 0, &len);
	if (r <= 0) return r;
	if (len != 2) return 0;
	if (need(&w, 2)) return -1;
	uint8_t level = cur_u8(&w), desc = cur_u8(&w);
	return (level == 1 || level == 2) && tls_alert_name(desc) != NULL;
}

/* SSLv2-compatible ClientHello (RFC 5246 E.2). */
static int pat_sslv2(struct cur w)
{
	if (need(&w, 1)) return -1;
	uint8_t len_hi = cur_u8(&w);
	if (!(len_hi & 0x80)) return 0;
	if (need(&w, 2)) return -1;
	unsigned len = ((unsigned)len_hi & 0x7f) << 8 | cur_u8(&w);
	if (cur_u8(&w) != 1) return 0; /* msg_type CLIENT-HELLO */
	if (need(&w, 2)) return -1;
	uint16_t ver = cur_u16(&w);
	if (!((ver >= 0x0300 && ver <= 0x0304) || ver == 0x0002)) return 0; /* or SSL 2.0 itself */
	if (need(&w, 6)) return -1;
	unsigned csl = cur_u16(&w), sidl = cur_u16(&w), chl = cur_u16(&w);
	if (csl == 0 || csl % 3 || (sidl != 0 && sidl != 16) || chl < 16 || chl > 32) return 0;
	return 9 + csl + sidl + chl == len;
}

/* OpenVPN over TCP: the first packet is a u16 length and a hard-reset
 * opcode (P_CONTROL_HARD_RESET_CLIENT_V2/V3, _SERVER_V2, key id 0).  Its
 * TLS records are cut into P_CONTROL packets with OpenVPN headers in
 * between, so they cannot be parsed as a record stream; without this the
 * hello scan would lock onto a fragment and report garbage. */
static int pat_openvpn(struct cur w)
{
	if (need(&w, 3)) return -1;
	unsigned len = cur_u16(&w);
	uint8_t op = cur_u8(&w);
	return len >= 10 && len <= 1600 && (op == 0x38 || op == 0x40 || op == 0x50);
}

static bool resync_ok(const struct tls_conn *c, const struct tls_dir *ds)
{
	return ds->pos_unknown && (c->tls_port || c->view.is_tls);
}

static enum pat test_pos(const struct tls_conn *c, int d, const uint8_t *bytes, size_t a)
{
	struct cur w = cur_make(bytes, a);
	const struct tls_dir *ds = &c->d[d];
	bool more = false;
	int r;
	if (ds->rs_active) {
		r = pat_record(w, REC_CCS, REC_HEARTBEAT, ds->rs_ver);
		return r > 0 ? PAT_VERIFIED : r < 0 ? PAT_MORE : PAT_NO;
	}
	if (ds->first_pending) {
		if (!c->view.is_tls) {
			r = pat_openvpn(w);
			if (r > 0) return PAT_OPAQUE;
			more |= r < 0;
		}
		r = pat_sslv2(w);
		if (r > 0) return PAT_SSLV2;
		more |= r < 0;
		bool any = c->tls_port || c->view.is_tls;
		r = pat_record(w, any ? REC_CCS : REC_HANDSHAKE, any ? REC_HEARTBEAT : REC_HANDSHAKE, 0);
		if (r > 0) return PAT_FIRST;
		more |= r < 0;
	}
	unsigned mask = (1u << TLS_HS_CLIENT_HELLO) | (1u << TLS_HS_SERVER_HELLO);
	if (c->view.roles_known)
		mask = d == c->client_dir ? 1u << TLS_HS_CLIENT_HELLO : 1u << TLS_HS_SERVER_HELLO;
	r = pat_hs_start(w, mask);
	if (r > 0) return PAT_HS;
	more |= r < 0;
	if (c->view.is_tls) {
		r = pat_alert(w);
		if (r > 0) return more ? PAT_MORE : PAT_ALERT;
		more |= r < 0;
	}
	if (resync_ok(c, ds)) {
		r = pat_record(w, REC_CCS, REC_HEARTBEAT, 0);
		if (r > 0 && !more) return PAT_RESYNC;
		more |= r < 0;
	}
	return more ? PAT_MORE : PAT_NO;
}

/* First bytes that can start a pattern at all. */
static bool candidate_byte(const struct tls_conn *c, const struct tls_dir *ds, uint8_t b)
{
	if (b == REC_HANDSHAKE) return true;
	if (b == REC_ALERT && c->view.is_tls) return true;
	return b >= REC_CCS && b <= REC_HEARTBEAT && resync_ok(c, ds);
}

/* Start parsing records at the current scan position: the carry first,
 * then whatever is left of `in` (the caller's loop feeds it). */
static void scan_commit(struct tls_ctx *t, struct tls_conn *c, int d, enum pat p)
{
	struct tls_dir *ds = &c->d[d];
	uint8_t carry[WIN];
	size_t n = ds->win_n;
	memcpy(carry, ds->win, n);
	ds->win_n = 0;
	ds->mode = DM_RECORDS;
	ds->rec_have = 0;
	ds->rec_need = p == PAT_SSLV2 ? 2 : 5;
	ds->rs_active = false;
	/* Where the first bytes were not the start of the stream, a
	 * handshake record need not start with a message header. */
	ds->hs_assumed = p == PAT_VERIFIED || p == PAT_RESYNC || (p == PAT_FIRST && ds->pos_unknown);
	ds->midstream = ds->hs_assumed;
	mark_tls(t, c);
	struct cur cc = cur_make(carry, n);
	rec_feed(t, c, d, &cc);
}

void scan_feed(struct tls_ctx *t, struct tls_conn *c, int d, struct cur *in)
{
	struct tls_dir *ds = &c->d[d];
	while (ds->mode == DM_SCAN && (cur_left(in) || ds->win_n)) {
		if (ds->rs_active && ds->rs_skip) {
			/* Skipping the body of a resync candidate record. */
			size_t k = ds->win_n < ds->rs_skip ? ds->win_n : ds->rs_skip;
			memmove(ds->win, ds->win + k, ds->win_n - k);
			ds->win_n = (uint8_t)(ds->win_n - k);
			size_t k2 = ds->rs_skip - k;
			if (k2 > cur_left(in)) k2 = cur_left(in);
			cur_skip(in, k2);
			ds->rs_skip -= (uint32_t)(k + k2);
			ds->scan_bytes += (uint32_t)(k + k2);
			if (ds->rs_skip) return;
			continue;
		}
		if (!ds->rs_active && ds->scan_bytes >= TLS_SCAN_LIMIT) {
			stop_dir(t, ds, DM_EXHAUSTED);
			return;
		}
		if (ds->win_n == 0 && !ds->first_pending && !ds->rs_active) {
			/* Fast path: jump to the next byte that can start a pattern. */
			size_t lim = cur_left(in);
			size_t budget = TLS_SCAN_LIMIT - ds->scan_bytes;
			if (lim > budget) lim = budget;
			size_t skip = lim;
			const uint8_t *r = cur_rest(in);
			if (r && lim) {
				if (resync_ok(c, ds)) {
					struct cur s = cur_make(r, lim);
					skip = 0;
					while (cur_left(&s) && !candidate_byte(c, ds, cur_u8(&s))) skip++;
				} else {
					const uint8_t *h = memchr(r, REC_HANDSHAKE, lim);
					if (h) skip = (size_t)(h - r);
					if (c->view.is_tls) {
						const uint8_t *al = memchr(r, REC_ALERT, skip);
						if (al) skip = (size_t)(al - r);
					}
				}
			}
			cur_skip(in, skip);
			ds->scan_bytes += (uint32_t)skip;
			if (!cur_left(in) || ds->scan_bytes >= TLS_SCAN_LIMIT) continue;
		}
		/* Test this position: carry plus a peek at the chunk. */
		uint8_t w[WIN];
		size_t a = ds->win_n;
		memcpy(w, ds->win, a);
		struct cur peek = *in;
		while (a < WIN && cur_left(&peek)) w[a++] = cur_u8(&peek);
		enum pat p = test_pos(c, d, w, a);
		if (p == PAT_MORE) {
			/* Keep the bytes from this position on (fewer than WIN). */
			while (ds->win_n < a) ds->win[ds->win_n++] = cur_u8(in);
			return;
		}
		if (p == PAT_NO) {
			if (ds->rs_active) {
				ds->rs_active = false; /* second header missing: scan on from here */
				continue;
			}
			if (ds->win_n) {
				memmove(ds->win, ds->win + 1, ds->win_n - 1u);
				ds->win_n--;
			} else {
				cur_skip(in, 1);
			}
			ds->scan_bytes++;
			ds->first_pending = false;
			continue;
		}
		ds->first_pending = false;
		if (p == PAT_OPAQUE) {
			/* OpenVPN over TCP wraps TLS in its own packets: openvpn.c
			 * takes the stream apart and feeds the TLS back here. */
			uint8_t carry[WIN];
			size_t n = ds->win_n;
			memcpy(carry, ds->win, n);
			ds->win_n = 0;
			if (!(c->ovpn = ovpn_new(true))) {
				stop_dir(t, &c->d[0], DM_EXHAUSTED);
				stop_dir(t, &c->d[1], DM_EXHAUSTED);
				return;
			}
			t->st.openvpn_conns++;
			tls_conn_as_dtls(t, c, true);
			c->ovpn_busy = true;
			ovpn_stream(t, c, c->ovpn, d, carry, n, c->pkt);
			ovpn_stream(t, c, c->ovpn, d, cur_rest(in), cur_left(in), c->pkt);
			c->ovpn_busy = false;
			cur_skip(in, cur_left(in));
			return;
		}
		if (p == PAT_RESYNC) {
			/* Candidate header: its length must lead to another one. */
			ds->rs_active = true;
			ds->rs_ver = (uint16_t)(w[1] << 8 | w[2]);
			ds->rs_skip = 5u + ((unsigned)w[3] << 8 | w[4]);
			continue;
		}
		scan_commit(t, c, d, p);
		return;
	}
}
