/* OpenVPN control channel -> the TLS byte stream of a tls_conn (see openvpn.h). */
#include "openvpn.h"

#include <stdlib.h>
#include <string.h>

#include "../common/cursor.h"
#include "tls_int.h"

#define HOLD 64          /* control packets held out of order per direction */
#define SID 8            /* session id */

enum {
	OP_HARD_RESET_CLIENT_V1 = 1, OP_HARD_RESET_SERVER_V1 = 2, OP_SOFT_RESET_V1 = 3, OP_CONTROL_V1 = 4,
	OP_ACK_V1 = 5, OP_DATA_V1 = 6, OP_HARD_RESET_CLIENT_V2 = 7, OP_HARD_RESET_SERVER_V2 = 8, OP_DATA_V2 = 9,
	OP_HARD_RESET_CLIENT_V3 = 10, OP_CONTROL_WKC_V1 = 11,
};

struct held {
	bool used;
	uint32_t pid;
	uint8_t *b;       /* TLS payload (NULL when empty) */
	size_t n;
};

struct odir {
	bool started;
	uint32_t next_pid;
	struct held h[HOLD];
	size_t n_held;
	/* TCP framing */
	uint8_t lb[2];
	uint8_t lhave;
	uint8_t *pb;      /* a packet that spans chunks */
	size_t pneed, phave;
	bool lost;        /* a hole in the TCP stream: packet boundaries unknown */
};

struct ovpn_conn {
	bool tcp;
	bool layout_known, crypt;
	bool not_ovpn;    /* the first hard reset fits no layout */
	size_t auth;      /* bytes between the session id and the ack count (--tls-auth HMAC + replay id) */
	struct odir d[2];
};

static bool is_hard_reset(unsigned op)
{
	return op == OP_HARD_RESET_CLIENT_V1 || op == OP_HARD_RESET_SERVER_V1 || op == OP_HARD_RESET_CLIENT_V2 ||
	       op == OP_HARD_RESET_SERVER_V2 || op == OP_HARD_RESET_CLIENT_V3;
}

static bool is_client_reset(unsigned op)
{
	return op == OP_HARD_RESET_CLIENT_V1 || op == OP_HARD_RESET_CLIENT_V2 || op == OP_HARD_RESET_CLIENT_V3;
}

/* Do the fields of hard reset b/n fit with `auth` bytes after the session id? */
static bool fits(const uint8_t *b, size_t n, size_t auth)
{
	struct cur c = cur_make(b, n);
	cur_skip(&c, 1 + SID + auth);
	uint8_t acks = cur_u8(&c);
	if (acks > 8) return false;
	cur_skip(&c, 4u * acks + (acks ? SID : 0u));
	uint32_t pid = cur_u32(&c);
	return cur_ok(&c) && pid == 0;
}

static const size_t AUTH_SIZES[] = { 0,      16 + 8, 20 + 8, 32 + 8, 48 + 8, 64 + 8,
				     16 + 4, 20 + 4, 32 + 4, 48 + 4, 64 + 4 };

/* --tls-crypt: after the session id a replay packet id (small: it counts
 * packets from 1) and a time after 2010, then a 32-byte HMAC. */
static bool crypt_layout(const uint8_t *b, size_t n)
{
	struct cur c = cur_make(b, n);
	cur_skip(&c, 1 + SID);
	uint32_t pid = cur_u32(&c), when = cur_u32(&c);
	return cur_ok(&c) && n >= 1 + SID + 8 + 32 && pid < 0x10000 && when >= 1262304000u;
}

/* -1: no layout fits; 0: --tls-crypt; else 1 and *auth */
static int layout_of(const uint8_t *b, size_t n, size_t *auth)
{
	if (n < 1 + SID + 5) return -1;
	if ((b[0] >> 3) != OP_HARD_RESET_CLIENT_V3)
		for (size_t i = 0; i < sizeof AUTH_SIZES / sizeof AUTH_SIZES[0]; i++)
			if (fits(b, n, AUTH_SIZES[i])) {
				*auth = AUTH_SIZES[i];
				return 1;
			}
	return crypt_layout(b, n) ? 0 : -1;
}

static bool plausible_reset(const uint8_t *b, size_t n)
{
	size_t auth;
	return layout_of(b, n, &auth) >= 0;
}

bool ovpn_udp_start(const uint8_t *b, size_t n, bool port1194)
{
	if (n < 1 || (b[0] & 7) != 0) return false;
	unsigned op = b[0] >> 3;
	if (!(is_client_reset(op) || (port1194 && is_hard_reset(op)))) return false;
	return plausible_reset(b, n);
}

bool ovpn_tcp_start(const uint8_t *b, size_t n)
{
	if (n < 3) return false;
	size_t len = (size_t)b[0] << 8 | b[1];
	if (len < 1 + SID + 5 || len > 1600 || (b[2] & 7) != 0 || !is_client_reset((unsigned)b[2] >> 3)) return false;
	return true;
}

struct ovpn_conn *ovpn_new(bool tcp)
{
	struct ovpn_conn *x = calloc(1, sizeof *x);
	if (x) x->tcp = tcp;
	return x;
}

static void held_free(struct held *h)
{
	free(h->b);
	memset(h, 0, sizeof *h);
}

/* The first hard reset decides the layout (or that it is --tls-crypt,
 * or that this is not OpenVPN after all). */
static bool learn_layout(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, const uint8_t *b, size_t n,
			 const struct ek_pktref *pkt)
{
	int l = layout_of(b, n, &x->auth);
	if (l < 0) {
		x->not_ovpn = true;
		tls_conn_openvpn_found(t, tc, false);
		return false;
	}
	x->layout_known = true;
	tls_conn_openvpn_found(t, tc, true);
	if (l == 0) {
		x->crypt = true;
		tls_conn_openvpn_crypt(t, tc, pkt);
	}
	return true;
}

static void feed(struct tls_ctx *t, struct tls_conn *tc, int d, const uint8_t *b, size_t n, const struct ek_pktref *pkt)
{
	if (n) tls_conn_data(t, tc, d, b, n, pkt);
}

void ovpn_packet(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, int d, const uint8_t *b, size_t n,
		 const struct ek_pktref *pkt)
{
	if (!x || x->not_ovpn || n < 1 + SID) return;
	unsigned op = b[0] >> 3, key = b[0] & 7;
	if (op == OP_DATA_V1 || op == OP_DATA_V2 || op == 0 || op > OP_CONTROL_WKC_V1) return; /* tunnel data */
	if (!x->layout_known) {
		if (!is_hard_reset(op)) return; /* the layout is learnt from a hard reset */
		if (!learn_layout(t, tc, x, b, n, pkt)) return;
	}
	if (x->crypt) return; /* encrypted: nothing to read, never guessed */
	if (is_client_reset(op)) tls_learn_client(tc, d);
	struct cur c = cur_make(b, n);
	cur_skip(&c, 1 + SID + x->auth);
	uint8_t acks = cur_u8(&c);
	cur_skip(&c, 4u * acks + (acks ? SID : 0u));
	if (op == OP_ACK_V1) return;
	uint32_t pid = cur_u32(&c);
	if (!cur_ok(&c) || key != 0) return; /* renegotiations (key_id > 0) are not followed */
	size_t plen = op == OP_CONTROL_V1 ? cur_left(&c) : 0; /* only P_CONTROL_V1 carries TLS */
	const uint8_t *payload = cur_rest(&c);
	struct odir *od = &x->d[d];
	if (!od->started) {
		od->started = true;
		od->next_pid = pid;
	}
	uint32_t ahead = pid - od->next_pid;
	if (ahead >= HOLD) { /* a retransmission (before next_pid), or too far ahead */
		tls_ctx_stats(t)->retransmissions++;
		return;
	}
	if (ahead == 0) {
		feed(t, tc, d, payload, plen, pkt);
		od->next_pid++;
	} else {
		struct held *h = &od->h[pid % HOLD];
		if (h->used) return; /* a copy is held already */
		h->used = true;
		h->pid = pid;
		h->n = plen;
		if (plen && !(h->b = malloc(plen))) {
			memset(h, 0, sizeof *h);
			return;
		}
		if (plen) memcpy(h->b, payload, plen);
		od->n_held++;
		return;
	}
	/* what was held for this one follows, in the frame that completed it */
	for (struct held *h; od->n_held && (h = &od->h[od->next_pid % HOLD])->used && h->pid == od->next_pid;) {
		feed(t, tc, d, h->b, h->n, pkt);
		held_free(h);
		od->n_held--;
		od->next_pid++;
	}
}

void ovpn_stream(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, int d, const uint8_t *b, size_t n,
		 const struct ek_pktref *pkt)
{
	struct odir *od = &x->d[d];
	struct cur c = cur_make(b, n);
	while (cur_left(&c) && !od->lost) {
		if (od->lhave < 2) {
			od->lb[od->lhave++] = cur_u8(&c);
			if (od->lhave < 2) continue;
			od->pneed = (size_t)od->lb[0] << 8 | od->lb[1];
			od->phave = 0;
			if (od->pneed == 0) {
				od->lhave = 0;
				continue;
			}
		}
		size_t k = cur_left(&c) < od->pneed - od->phave ? cur_left(&c) : od->pneed - od->phave;
		if (!od->pb && k == od->pneed) { /* the whole packet in this chunk */
			ovpn_packet(t, tc, x, d, cur_bytes(&c, k), k, pkt);
			od->lhave = 0;
			continue;
		}
		if (!od->pb && !(od->pb = malloc(od->pneed))) {
			od->lost = true;
			return;
		}
		cur_copy(&c, od->pb + od->phave, k);
		od->phave += k;
		if (od->phave == od->pneed) {
			ovpn_packet(t, tc, x, d, od->pb, od->pneed, pkt);
			free(od->pb);
			od->pb = NULL;
			od->lhave = 0;
		}
	}
}

void ovpn_stream_gap(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, int d, const struct ek_pktref *pkt)
{
	struct odir *od = &x->d[d];
	if (od->lost) return;
	od->lost = true;
	free(od->pb);
	od->pb = NULL;
	if (!x->crypt) tls_conn_gap(t, tc, d, 0, pkt); /* the TLS bytes after it are lost too */
}

void ovpn_end(struct tls_ctx *t, struct tls_conn *tc, struct ovpn_conn *x, const struct ek_pktref *pkt)
{
	if (!x) return;
	for (int d = 0; d < 2; d++) {
		struct odir *od = &x->d[d];
		if (od->n_held && !x->crypt && !od->lost) tls_conn_gap(t, tc, d, 0, pkt); /* a packet id never came */
		for (size_t i = 0; i < HOLD; i++) held_free(&od->h[i]);
		free(od->pb);
	}
	free(x);
}
