/* DTLS records -> the TLS record stream of a tls_conn (see dtls.h). */
#include "dtls.h"

#include <stdlib.h>
#include <string.h>

#include "../common/cursor.h"
#include "tls_int.h"

#define DTLS_HDR 13          /* type, version, epoch, sequence number (48 bits), length */
#define FRAG_HDR 12          /* msg_type, length, message_seq, fragment_offset, fragment_length */
#define WINDOW 16            /* messages ahead of the next one kept for reassembly */
#define TLS_REC_MAX 16384u   /* body of one rebuilt TLS record */

enum { R_CCS = 20, R_ALERT = 21, R_HS = 22, R_APP = 23, R_HEARTBEAT = 24, R_ACK = 26 };

struct msg {
	bool used;
	uint8_t type;
	uint16_t seq;
	uint16_t ver;          /* record version of its first fragment */
	bool post_ccs;         /* after its sender's ChangeCipherSpec (decrypted with the key log, or a
				* retransmission in epoch 0): handed over as plaintext, not as a record */
	uint32_t len, have;    /* body length, bytes of it received */
	uint8_t *body, *map;   /* body and one bit per body byte received */
	struct ek_pktref pkt;  /* the datagram that brought its last new byte */
};

struct ddir {
	bool started;          /* a handshake fragment was seen: next_seq is known */
	bool enc;              /* the TLS side was told this direction is encrypted */
	bool finished;         /* its Finished was handed over: a new first message starts a renegotiation */
	uint16_t next_seq;     /* next message_seq to hand over */
	uint16_t ver;          /* last record version */
	uint64_t ccs_epochs;   /* bit e: a ChangeCipherSpec sent in epoch e was handed over */
	uint16_t rp_epoch;     /* replay window: epoch, highest sequence number, bits below it */
	uint64_t rp_top, rp_bits;
	bool rp_set;
	struct msg m[WINDOW];
	struct {               /* messages handed over, by message_seq % WINDOW: where they were reported */
		bool set;
		uint8_t type;
		uint16_t seq;
		uint64_t frame;
	} done[WINDOW];
};

struct dtls_conn {
	struct ddir d[2];
};

static bool known_version(uint16_t v)
{
	return tls_version_is_dtls(v);
}

bool dtls_record_at(const uint8_t *b, size_t n, bool handshake_only)
{
	struct cur c = cur_make(b, n);
	uint8_t type = cur_u8(&c);
	uint16_t ver = cur_u16(&c);
	cur_skip(&c, 8);
	uint16_t len = cur_u16(&c);
	if (!cur_ok(&c) || !known_version(ver) || len > cur_left(&c)) return false;
	if (handshake_only) return type == R_HS && len >= FRAG_HDR;
	return type >= R_CCS && type <= R_ACK && type != 25;
}

struct dtls_conn *dtls_new(void)
{
	return calloc(1, sizeof(struct dtls_conn));
}

static void msg_free(struct msg *m)
{
	free(m->body);
	free(m->map);
	memset(m, 0, sizeof *m);
}

/* Feed the tls_conn one record (TLS header rebuilt) whose body is b/n. */
static void feed_record(struct tls_ctx *t, struct tls_conn *tc, int d, uint8_t type, uint16_t ver, const uint8_t *b,
			size_t n, const struct ek_pktref *pkt)
{
	uint8_t h[5] = { type, (uint8_t)(ver >> 8), (uint8_t)ver, (uint8_t)(n >> 8), (uint8_t)n };
	if (n == 0) {
		tls_conn_data(t, tc, d, h, 5, pkt);
		return;
	}
	uint8_t *buf = malloc(5 + n);
	if (!buf) return;
	memcpy(buf, h, 5);
	memcpy(buf + 5, b, n);
	tls_conn_data(t, tc, d, buf, 5 + n, pkt);
	free(buf);
}

/* A DTLS ClientHello body without its cookie: the TLS layout. */
static size_t strip_cookie(const uint8_t *p, size_t n, uint8_t *out)
{
	struct cur c = cur_make(p, n);
	cur_skip(&c, 34);
	size_t sid = cur_u8(&c);
	cur_skip(&c, sid);
	size_t at = cur_pos(&c);
	size_t cookie = cur_u8(&c);
	if (!cur_skip(&c, cookie)) {
		memcpy(out, p, n); /* malformed: the TLS parser says so */
		return n;
	}
	memcpy(out, p, at);
	if (cur_left(&c)) memcpy(out + at, cur_rest(&c), cur_left(&c));
	return at + cur_left(&c);
}

/* A whole handshake message, as TLS records of at most 2^14 bytes. */
static void hand_over(struct tls_ctx *t, struct tls_conn *tc, int d, struct msg *m)
{
	const uint8_t *body = m->body;
	size_t len = m->len;
	uint8_t *tmp = NULL;
	if (m->type == TLS_HS_CLIENT_HELLO && len) {
		tls_learn_client(tc, d); /* the first ClientHello's sender is the client */
		if ((tmp = malloc(len))) {
			len = strip_cookie(m->body, m->len, tmp);
			body = tmp;
		}
	}
	size_t total = 4 + len, nrec = total / TLS_REC_MAX + 1;
	uint8_t *out = malloc(total + 5 * nrec);
	if (out && m->post_ccs) {
		/* after the ChangeCipherSpec: plaintext the TLS side cannot get as records */
		out[0] = m->type;
		out[1] = (uint8_t)(len >> 16);
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		if (len) memcpy(out + 4, body, len);
		tls_conn_dtls_plain(t, tc, d, R_HS, m->ver, out, total, &m->pkt);
	} else if (out) {
		uint8_t *o = out;
		size_t done = 0;
		while (done < total) {
			size_t k = total - done < TLS_REC_MAX ? total - done : TLS_REC_MAX;
			*o++ = R_HS;
			*o++ = (uint8_t)(m->ver >> 8);
			*o++ = (uint8_t)m->ver;
			*o++ = (uint8_t)(k >> 8);
			*o++ = (uint8_t)k;
			for (size_t i = 0; i < k; i++, done++) {
				if (done < 4) {
					static const unsigned shift[4] = { 0, 16, 8, 0 };
					*o++ = (uint8_t)(done == 0 ? m->type : len >> shift[done]);
				} else {
					*o++ = body[done - 4];
				}
			}
		}
		tls_conn_data(t, tc, d, out, (size_t)(o - out), &m->pkt);
	}
	free(out);
	free(tmp);
}

/* Hand over the messages complete in message_seq order; with `force`,
 * also skip those that are not (reported missing): the direction moved
 * on without them. */
static void deliver(struct tls_ctx *t, struct tls_conn *tc, int d, struct ddir *ds, bool force,
		    const struct ek_pktref *pkt)
{
	if (!ds->started) return;
	for (;;) {
		struct msg *m = &ds->m[ds->next_seq % WINDOW];
		if (m->used && m->seq == ds->next_seq && m->have == m->len) {
			if (m->type == TLS_HS_FINISHED) ds->finished = true;
			ds->done[m->seq % WINDOW].set = true;
			ds->done[m->seq % WINDOW].type = m->type;
			ds->done[m->seq % WINDOW].seq = m->seq;
			ds->done[m->seq % WINDOW].frame = m->pkt.frame;
			hand_over(t, tc, d, m);
			msg_free(m);
			ds->next_seq++;
			continue;
		}
		if (!force) return;
		/* anything pending further on? */
		bool later = false;
		for (int i = 0; i < WINDOW; i++)
			if (ds->m[i].used) later = true;
		if (!later) return;
		if (m->used && m->seq == ds->next_seq) {
			/* part of it came: the message is named */
			tls_conn_missing(t, tc, d, m->len - m->have, tls_handshake_name(m->type), pkt);
			msg_free(m);
			ds->next_seq++;
			continue;
		}
		/* whole messages never came: one hole up to the next one held */
		tls_conn_missing(t, tc, d, 0, NULL, pkt);
		while (!(ds->m[ds->next_seq % WINDOW].used && ds->m[ds->next_seq % WINDOW].seq == ds->next_seq))
			ds->next_seq++;
	}
}

static void dir_encrypted(struct tls_ctx *t, struct tls_conn *tc, int d, struct ddir *ds, const struct ek_pktref *pkt)
{
	if (ds->enc) return;
	deliver(t, tc, d, ds, true, pkt);
	tls_conn_dir_encrypted(t, tc, d);
	ds->enc = true;
}

/* One handshake fragment of an epoch-0 record, or of a decrypted one. */
static void fragment(struct tls_ctx *t, struct tls_conn *tc, int d, struct ddir *ds, uint16_t ver, bool post_ccs,
		     struct cur *c, const struct ek_pktref *pkt)
{
	uint8_t type = cur_u8(c);
	uint32_t len = cur_u24(c);
	uint16_t seq = cur_u16(c);
	uint32_t off = cur_u24(c);
	uint32_t flen = cur_u24(c);
	const uint8_t *fb = cur_bytes(c, flen);
	if (!cur_ok(c) || (uint64_t)off + flen > len || len > TLS_DEFAULT_MAX_HANDSHAKE) {
		cur_skip(c, cur_left(c)); /* not a fragment we can place */
		return;
	}
	if (!ds->started) {
		ds->started = true;
		ds->next_seq = seq;
	}
	if (post_ccs && ds->finished && seq == 0 && off == 0 &&
	    (type == TLS_HS_HELLO_REQUEST || type == TLS_HS_CLIENT_HELLO || type == TLS_HS_SERVER_HELLO)) {
		/* a renegotiation: each side's first message of a handshake has
		 * message_seq 0 (RFC 6347 4.2.2) */
		for (int i = 0; i < WINDOW; i++) msg_free(&ds->m[i]);
		memset(ds->done, 0, sizeof ds->done);
		ds->next_seq = 0;
		ds->finished = false;
	}
	if ((uint16_t)(seq - ds->next_seq) >= WINDOW) { /* before next_seq: a retransmission */
		tls_ctx_stats(t)->retransmissions++;
		/* a message reported before, sent again (its first fragment): the
		 * peer's answer had not come; a timeline row, nothing else */
		if (off == 0 && ds->done[seq % WINDOW].set && ds->done[seq % WINDOW].seq == seq &&
		    ds->done[seq % WINDOW].type == type)
			tls_conn_retransmission(t, tc, d, type, ds->done[seq % WINDOW].frame, pkt);
		return;
	}
	struct msg *m = &ds->m[seq % WINDOW];
	if (!m->used) {
		m->body = malloc(len ? len : 1);
		m->map = calloc((len + 7) / 8 + 1, 1);
		if (!m->body || !m->map) {
			msg_free(m);
			return;
		}
		m->used = true;
		m->seq = seq;
		m->type = type;
		m->len = len;
		m->ver = ver;
		m->post_ccs = post_ccs;
		m->pkt = *pkt;
	} else if (m->type != type || m->len != len) {
		return; /* inconsistent with what was seen: keep the first */
	}
	bool added = false;
	for (uint32_t i = 0; i < flen; i++) {
		uint32_t at = off + i;
		if (m->map[at / 8] & (1u << (at % 8))) continue;
		m->map[at / 8] |= (uint8_t)(1u << (at % 8));
		m->body[at] = fb[i];
		m->have++;
		added = true;
	}
	if (added) m->pkt = *pkt;
	else if (len) tls_ctx_stats(t)->retransmissions++;
	deliver(t, tc, d, ds, false, pkt);
}

/* Replay check of an encrypted record (retransmitted datagrams carry the
 * same numbers; retransmitted flights new ones, found by message_seq or
 * the ChangeCipherSpec's epoch). */
static bool replayed(struct ddir *ds, uint16_t epoch, uint64_t seq)
{
	if (!ds->rp_set || epoch > ds->rp_epoch) {
		ds->rp_set = true;
		ds->rp_epoch = epoch;
		ds->rp_top = seq;
		ds->rp_bits = 1;
		return false;
	}
	if (epoch < ds->rp_epoch) return false;
	if (seq > ds->rp_top) {
		uint64_t sh = seq - ds->rp_top;
		ds->rp_bits = sh >= 64 ? 1 : (ds->rp_bits << sh) | 1;
		ds->rp_top = seq;
		return false;
	}
	uint64_t back = ds->rp_top - seq;
	if (back >= 64) return false;
	if (ds->rp_bits & ((uint64_t)1 << back)) return true;
	ds->rp_bits |= (uint64_t)1 << back;
	return false;
}

/* An epoch > 0 record decrypted with the key log and handed over as
 * plaintext; false: fed as it is (no keys, or it did not authenticate). */
static bool decrypted(struct tls_ctx *t, struct tls_conn *tc, struct ddir *ds, int d, uint8_t type, uint16_t ver,
		      uint64_t seq, const uint8_t *body, size_t n, const struct ek_pktref *pkt)
{
	const uint8_t *pt;
	size_t len;
	if (tls_conn_dtls_open(t, tc, d, type, ver, seq, body, n, pkt, &pt, &len) <= 0) return false;
	struct cur p = cur_make(pt, len);
	if (type == R_ALERT) tls_conn_dtls_plain(t, tc, d, type, ver, pt, len, pkt);
	else
		while (cur_left(&p)) fragment(t, tc, d, ds, ver, true, &p, pkt);
	return true;
}

void dtls_datagram(struct tls_ctx *t, struct tls_conn *tc, struct dtls_conn *x, int d, const uint8_t *b, size_t n,
		   bool cut, const struct ek_pktref *pkt)
{
	(void)cut; /* a record cut short is not parsed: its message stays incomplete */
	struct ddir *ds = &x->d[d];
	struct cur c = cur_make(b, n);
	while (cur_left(&c)) {
		uint8_t first = cur_peek_u8(&c, 0);
		if ((first & 0xe0) == 0x20) {
			/* DTLS 1.3 unified header (RFC 9147 4): 001CSLEE */
			cur_skip(&c, 1);
			if (first & 0x10) return; /* connection id of unknown length */
			cur_skip(&c, (first & 0x08) ? 2 : 1);
			size_t len = (first & 0x04) ? cur_u16(&c) : cur_left(&c);
			const uint8_t *body = cur_bytes(&c, len);
			if (!body) return;
			dir_encrypted(t, tc, d, ds, pkt);
			feed_record(t, tc, d, R_APP, 0xfefd, body, len, pkt);
			continue;
		}
		uint8_t type = cur_u8(&c);
		uint16_t ver = cur_u16(&c);
		uint16_t epoch = cur_u16(&c);
		uint64_t seq = (uint64_t)cur_u16(&c) << 32;
		seq |= cur_u32(&c);
		uint16_t len = cur_u16(&c);
		const uint8_t *body = cur_bytes(&c, len);
		if (!body || !known_version(ver)) return; /* cut short, or not a record: the rest is lost */
		ds->ver = ver;
		if (epoch > 0 && replayed(ds, epoch, seq)) {
			tls_ctx_stats(t)->retransmissions++;
			continue;
		}
		if (epoch > 0 && decrypted(t, tc, ds, d, type, ver, (uint64_t)epoch << 48 | seq, body, len, pkt)) continue;
		switch (type) {
		case R_HS:
			if (epoch == 0) {
				/* plaintext, also after the ChangeCipherSpec (a flight sent again) */
				struct cur f = cur_make(body, len);
				while (cur_left(&f)) fragment(t, tc, d, ds, ver, ds->enc, &f, pkt);
			} else {
				dir_encrypted(t, tc, d, ds, pkt);
				feed_record(t, tc, d, R_HS, ver, body, len, pkt);
			}
			break;
		case R_CCS:
			if (epoch < 64 && (ds->ccs_epochs & ((uint64_t)1 << epoch))) {
				tls_ctx_stats(t)->retransmissions++;
				break;
			}
			if (epoch < 64) ds->ccs_epochs |= (uint64_t)1 << epoch;
			deliver(t, tc, d, ds, true, pkt);
			feed_record(t, tc, d, R_CCS, ver, body, len, pkt);
			ds->enc = true;
			break;
		case R_ALERT:
		case R_APP:
		case R_HEARTBEAT:
			if (epoch > 0) dir_encrypted(t, tc, d, ds, pkt);
			feed_record(t, tc, d, type, ver, body, len, pkt);
			break;
		default:
			break; /* ACK (1.3), unknown: nothing to show */
		}
	}
}

void dtls_end(struct tls_ctx *t, struct tls_conn *tc, struct dtls_conn *x, const struct ek_pktref *pkt)
{
	if (!x) return;
	for (int d = 0; d < 2; d++) {
		deliver(t, tc, d, &x->d[d], true, pkt);
		for (int i = 0; i < WINDOW; i++) msg_free(&x->d[d].m[i]);
	}
	free(x);
}
