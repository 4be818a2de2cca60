/* bench/gen: deterministic benchmark captures made of real TLS handshakes.
 *
 *   gen [-s SEED] [-n CONNS] [-c CONCURRENT] [--mode handshake|bulk]
 *       [--req BYTES] [--resp BYTES] -o OUT.pcap TEMPLATE.pcap:WEIGHT ...
 *
 * Each template is a classic pcap holding one TCP connection (SYN first,
 * nothing lost or reordered): an openssl s_client <-> s_server exchange
 * from samples/ or bench/templates/.  Its TCP payloads are the real TLS
 * byte streams of both directions.  The generator replays them as CONNS
 * connections, each with its own 5-tuple (client from a pool of 4000
 * addresses, ephemeral ports; one of 16 servers; server port one of 443,
 * 5061, 8443, 2222, 7001), its own random ISNs and correct sequence and
 * acknowledgement numbers, IPv4 and TCP checksums.  Payloads are cut into
 * segments of at most 1448 bytes (MSS of a 1500-byte MTU with timestamps).
 * CONCURRENT connections are open at once: every packet comes from a
 * randomly chosen open connection, and a finished connection is replaced
 * by a new one.
 *
 * Between the handshake and the close (before the first packet that
 * follows a pause of 0.2 s or more in the template: s_client's "sleep 0.4;
 * Q"; else before the first FIN) application data is inserted: the client
 * sends one record of --req bytes, the server answers with records
 * totalling about --resp bytes (at most 2^14 + 24 per record), in full
 * segments with an ACK from the client every second segment.
 *
 * A template is picked per connection with probability WEIGHT / sum of
 * weights.  Everything comes from one splitmix64 stream seeded by SEED:
 * the same arguments give the same bytes.
 *
 * --leaf-variants N gives every certificate chain's first certificate (the
 * client's and the server's leaf) a per-connection variant: the last three
 * or four bytes of its serial number are replaced by (connection number
 * mod N), so N variants of each template leaf recur in a cycle (N >= CONNS:
 * every connection presents its own leaves).  The DER stays well-formed (the
 * serial keeps its length and sign); the signature no longer matches,
 * which parsing does not check.
 *
 * Next to OUT.pcap it writes OUT.manifest (key=value lines): connection,
 * handshake and packet counts and the number of Certificate messages and
 * certificate rows a dissector should report (counted here by walking the
 * plaintext handshake records of each template: TLS 1.3 certificates are
 * encrypted and count zero). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSS 1448u
#define MAX_TEMPLATES 32
#define MAX_RECORD_BODY (16384u + 24u)

static _Noreturn void die(const char *fmt, const char *a)
{
	fprintf(stderr, "gen: ");
	fprintf(stderr, fmt, a);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) die("%s", "out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) die("%s", "out of memory");
	return p;
}

/* ---- randomness: splitmix64 ---------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n) { return (uint32_t)((rnd() >> 32) * n >> 32); }

/* ---- templates ------------------------------------------------------------ */

enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

struct tpkt {
	uint8_t dir;     /* 0 client -> server */
	uint8_t flags;
	uint32_t off;    /* payload offset in the direction's stream */
	uint32_t len;
	double t;        /* seconds since the first packet */
};

struct tmpl {
	char name[128];
	unsigned weight;
	struct tpkt *p;
	size_t np;
	uint8_t *stream[2];
	uint32_t slen[2];
	size_t insert_at; /* application data goes before this packet */
	bool tls13;
	unsigned cert_msgs, cert_rows, hellos;
	/* leaf serial bytes to patch per connection: up to 2 leaves x 4 bytes */
	unsigned n_patch;
	uint8_t patch_dir[2];
	uint8_t patch_n[2];       /* 3 or 4 bytes */
	uint32_t patch_off[2][4]; /* stream offsets of the serial's last bytes */
	uint64_t used;
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static void append(struct tmpl *t, int d, const uint8_t *b, uint32_t n)
{
	t->stream[d] = xrealloc(t->stream[d], (size_t)t->slen[d] + n);
	memcpy(t->stream[d] + t->slen[d], b, n);
	t->slen[d] += n;
}

/* A DER header at p (at most n bytes): its content length and header size,
 * definite lengths only (the bench templates are openssl's own DER). */
static bool der_hdr(const uint8_t *p, uint32_t n, uint8_t tag, uint32_t *len, uint32_t *hdr)
{
	if (n < 2 || p[0] != tag) return false;
	if (p[1] < 0x80) {
		*len = p[1];
		*hdr = 2;
	} else {
		uint32_t k = p[1] & 0x7fu, v = 0;
		if (k < 1 || k > 3 || n < 2 + k) return false;
		for (uint32_t i = 0; i < k; i++) v = v << 8 | p[2 + i];
		*len = v;
		*hdr = 2 + k;
	}
	return *hdr + *len <= n;
}

/* Remember where the serial number of the leaf certificate `der` (stream
 * offsets of its bytes in `where`) ends, for --leaf-variants. */
static void leaf_serial(struct tmpl *t, int d, const uint8_t *der, uint32_t n, const uint32_t *where)
{
	uint32_t len, hdr, o;
	if (t->n_patch == 2 || !der_hdr(der, n, 0x30, &len, &hdr)) return; /* Certificate */
	o = hdr;
	if (!der_hdr(der + o, n - o, 0x30, &len, &hdr)) return; /* TBSCertificate */
	o += hdr;
	if (der_hdr(der + o, n - o, 0xa0, &len, &hdr)) o += hdr + len; /* [0] version */
	if (!der_hdr(der + o, n - o, 0x02, &len, &hdr) || len < 4) return; /* serialNumber */
	/* the leading byte (and a 0x00 sign byte's successor) keep the INTEGER minimal */
	uint32_t keep = der[o + hdr] == 0 ? 2 : 1, k = len - keep < 4 ? len - keep : 4;
	if (k < 3) return;
	o += hdr + len - k;
	t->patch_dir[t->n_patch] = (uint8_t)d;
	t->patch_n[t->n_patch] = (uint8_t)k;
	for (uint32_t i = 0; i < k; i++) t->patch_off[t->n_patch][i] = where[o + i];
	t->n_patch++;
}

/* Walk the plaintext handshake records of one direction: count hellos,
 * Certificate messages and the certificates in them (TLS 1.2 layout). */
static void count_certs(struct tmpl *t, int d)
{
	const uint8_t *s = t->stream[d];
	uint32_t n = t->slen[d], pos = 0;
	uint8_t *hs = NULL;
	uint32_t hn = 0;
	uint32_t *where = NULL; /* stream offset of each handshake byte */
	while (pos + 5 <= n) {
		uint8_t type = s[pos];
		uint32_t len = be16(s + pos + 3);
		if (pos + 5 + len > n) break;
		if (type == 20 && !t->tls13) break; /* TLS <= 1.2: encrypted from here on */
		if (type == 22) { /* (1.3: only the hellos are type 22) */
			hs = xrealloc(hs, hn + len);
			where = xrealloc(where, (hn + len) * sizeof *where);
			memcpy(hs + hn, s + pos + 5, len);
			for (uint32_t k = 0; k < len; k++) where[hn + k] = pos + 5 + k;
			hn += len;
		}
		pos += 5 + len;
	}
	uint32_t q = 0;
	while (q + 4 <= hn) {
		uint8_t mt = hs[q];
		uint32_t ml = be24(hs + q + 1);
		if (q + 4 + ml > hn) break;
		const uint8_t *m = hs + q + 4;
		if (mt == 1) t->hellos++;
		if (mt == 2 && ml >= 38) {
			/* ServerHello: supported_versions says 1.3 */
			uint32_t o = 2 + 32;
			o += 1u + m[o];
			o += 2 + 1;
			if (o + 2 <= ml) {
				uint32_t el = be16(m + o), e = o + 2;
				while (e + 4 <= o + 2 + el && e + 4 <= ml) {
					uint16_t et = be16(m + e), eln = be16(m + e + 2);
					if (et == 43 && eln == 2 && be16(m + e + 4) == 0x0304) t->tls13 = true;
					e += 4u + eln;
				}
			}
		}
		if (mt == 11 && ml >= 3) {
			uint32_t ll = be24(m), o = 3, k = 0;
			while (o + 3 <= 3 + ll && o + 3 <= ml) {
				o += 3 + be24(m + o);
				k++;
			}
			t->cert_msgs++;
			t->cert_rows += k ? k : 1;
			if (k) leaf_serial(t, d, m + 6, be24(m + 3), where + (m + 6 - hs));
		}
		q += 4 + ml;
	}
	free(hs);
	free(where);
}

static void load_template(struct tmpl *t, const char *spec)
{
	char path[1024];
	snprintf(path, sizeof path, "%s", spec);
	char *colon = strrchr(path, ':');
	t->weight = 1;
	if (colon) {
		*colon = 0;
		char *end;
		unsigned long w = strtoul(colon + 1, &end, 10);
		if (*end || !w) die("bad weight in %s", spec);
		t->weight = (unsigned)w;
	}
	const char *base = strrchr(path, '/');
	snprintf(t->name, sizeof t->name, "%.100s", base ? base + 1 : path);
	char *dot = strrchr(t->name, '.');
	if (dot) *dot = 0;

	FILE *fp = fopen(path, "rb");
	if (!fp) die("cannot open %s", path);
	uint8_t gh[24];
	if (fread(gh, 1, 24, fp) != 24) die("%s: short file", path);
	uint32_t magic;
	memcpy(&magic, gh, 4);
	bool swap, nano;
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) swap = false;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) swap = true;
	else die("%s: not a classic pcap file", path);
	nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
	if (rd32(gh + 20, swap) != 1) die("%s: not Ethernet", path);

	uint32_t next_seq[2] = { 0, 0 };
	bool have_seq[2] = { false, false };
	uint8_t cli_ip[4] = { 0 };
	uint16_t cli_port = 0;
	double t0 = -1, prev_t = 0;
	size_t cap = 0;
	uint8_t rh[16];
	static uint8_t buf[262144];
	t->insert_at = (size_t)-1;
	size_t first_fin = (size_t)-1;
	while (fread(rh, 1, 16, fp) == 16) {
		uint32_t incl = rd32(rh + 8, swap), orig = rd32(rh + 12, swap);
		if (incl > sizeof buf || incl != orig) die("%s: odd record (cut or huge)", path);
		if (fread(buf, 1, incl, fp) != incl) die("%s: truncated", path);
		double ts = rd32(rh, swap) + rd32(rh + 4, swap) * (nano ? 1e-9 : 1e-6);
		if (t0 < 0) t0 = ts;
		if (incl < 14 + 20 + 20 || be16(buf + 12) != 0x0800) die("%s: not IPv4 over Ethernet", path);
		const uint8_t *ip = buf + 14;
		uint32_t ihl = (ip[0] & 15u) * 4, tot = be16(ip + 2);
		if (ip[9] != 6 || tot > incl - 14 || ihl < 20) die("%s: not TCP", path);
		const uint8_t *tcp = ip + ihl;
		uint32_t thl = (uint32_t)(tcp[12] >> 4) * 4;
		uint32_t plen = tot - ihl - thl;
		uint8_t fl = tcp[13];
		if (t->np == 0) {
			if ((fl & (F_SYN | F_ACK)) != F_SYN) die("%s: does not start with a SYN", path);
			memcpy(cli_ip, ip + 12, 4);
			cli_port = be16(tcp);
		}
		int d = (memcmp(ip + 12, cli_ip, 4) == 0 && be16(tcp) == cli_port) ? 0 : 1;
		uint32_t seq = be32(tcp + 4);
		if (fl & F_SYN) {
			next_seq[d] = seq + 1;
			have_seq[d] = true;
		} else if (!have_seq[d] || seq != next_seq[d]) {
			die("%s: retransmission or loss: use a clean capture", path);
		}
		if (t->np == cap) {
			cap = cap ? cap * 2 : 32;
			t->p = xrealloc(t->p, cap * sizeof *t->p);
		}
		struct tpkt *p = &t->p[t->np];
		p->dir = (uint8_t)d;
		p->flags = fl & (F_FIN | F_SYN | F_RST | F_PSH | F_ACK);
		p->off = t->slen[d];
		p->len = plen;
		p->t = ts - t0;
		append(t, d, tcp + thl, plen);
		next_seq[d] += plen + ((fl & F_FIN) ? 1u : 0u);
		if (t->np > 0 && t->insert_at == (size_t)-1 && ts - prev_t >= 0.2) t->insert_at = t->np;
		if ((fl & F_FIN) && first_fin == (size_t)-1) first_fin = t->np;
		prev_t = ts;
		t->np++;
	}
	fclose(fp);
	if (t->insert_at == (size_t)-1) t->insert_at = first_fin;
	if (t->insert_at == (size_t)-1) t->insert_at = t->np;
	/* the server's ServerHello says whether it is 1.3; then count both ways */
	count_certs(t, 1);
	t->cert_msgs = t->cert_rows = t->hellos = t->n_patch = 0;
	count_certs(t, 0);
	count_certs(t, 1);
}

/* ---- scripts: a template's packets with application data ------------------- */

enum src { S_NONE, S_TMPL, S_APP };

struct spkt {
	uint8_t dir, flags, src;
	uint32_t off, len;   /* in the template stream or the app stream of dir */
	uint32_t seq, ack;   /* relative: ISN = 0 */
};

struct script {
	struct spkt *p;
	size_t np, cap;
	uint8_t *app[2];     /* application-data record streams */
	uint32_t applen[2];
	uint32_t rel[2];     /* sequence space used so far */
	uint64_t wire_payload;
};

static void sp_add(struct script *s, int dir, uint8_t flags, uint8_t src, uint32_t off, uint32_t len)
{
	if (s->np == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->p = xrealloc(s->p, s->cap * sizeof *s->p);
	}
	struct spkt *p = &s->p[s->np++];
	p->dir = (uint8_t)dir;
	p->flags = flags;
	p->src = src;
	p->off = off;
	p->len = len;
	p->seq = s->rel[dir];
	p->ack = (flags & F_ACK) ? s->rel[1 - dir] : 0;
	s->rel[dir] += len + ((flags & (F_SYN | F_FIN)) ? 1u : 0u);
	s->wire_payload += len;
}

/* Payload [off, off+len) of dir as full segments; the receiver ACKs every
 * second one (and the last, when ack_last). */
static void sp_data(struct script *s, int dir, uint8_t src, uint32_t off, uint32_t len, uint8_t flags, bool ack_last)
{
	unsigned k = 0;
	while (len) {
		uint32_t n = len < MSS ? len : MSS;
		len -= n;
		sp_add(s, dir, (uint8_t)(flags | (len ? 0 : F_PSH)), src, off, n);
		off += n;
		if (++k % 2 == 0 && len) sp_add(s, 1 - dir, F_ACK, S_NONE, 0, 0);
	}
	if (ack_last) sp_add(s, 1 - dir, F_ACK, S_NONE, 0, 0);
}

/* Records of type 23 carrying `total` body bytes, each body at most max. */
static void app_records(struct script *s, int dir, uint32_t total, uint32_t max)
{
	while (total) {
		uint32_t n = total < max ? total : max;
		total -= n;
		uint32_t at = s->applen[dir];
		s->applen[dir] += 5 + n;
		s->app[dir] = xrealloc(s->app[dir], s->applen[dir]);
		uint8_t *r = s->app[dir] + at;
		r[0] = 23;
		r[1] = 3;
		r[2] = 3;
		r[3] = (uint8_t)(n >> 8);
		r[4] = (uint8_t)n;
		for (uint32_t i = 0; i < n; i += 8) {
			uint64_t v = rnd();
			memcpy(r + 5 + i, &v, n - i < 8 ? n - i : 8);
		}
	}
}

static void build_script(struct script *s, const struct tmpl *t, uint32_t req, uint32_t resp)
{
	memset(s, 0, sizeof *s);
	uint32_t rec_max = t->tls13 ? 16384u + 17u : MAX_RECORD_BODY;
	for (size_t i = 0; i < t->np; i++) {
		if (i == t->insert_at && (req || resp)) {
			uint32_t a0 = s->applen[0];
			app_records(s, 0, req, rec_max);
			sp_data(s, 0, S_APP, a0, s->applen[0] - a0, F_ACK, true);
			uint32_t a1 = s->applen[1];
			app_records(s, 1, resp, rec_max);
			sp_data(s, 1, S_APP, a1, s->applen[1] - a1, F_ACK, true);
		}
		const struct tpkt *p = &t->p[i];
		if (p->len == 0) sp_add(s, p->dir, p->flags, S_NONE, 0, 0);
		else sp_data(s, p->dir, S_TMPL, p->off, p->len, (uint8_t)(p->flags & ~F_PSH), false);
	}
}

/* ---- pcap output ------------------------------------------------------------ */

static FILE *out;
static uint64_t n_packets, n_bytes;

static void put(const void *b, size_t n)
{
	if (fwrite(b, 1, n, out) != n) die("write: %s", strerror(errno));
	n_bytes += n;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *b, size_t n)
{
	size_t i = 0;
	for (; i + 1 < n; i += 2) sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (i < n) sum += (uint32_t)(b[i] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void w16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void w32(uint8_t *p, uint32_t v)
{
	w16(p, v >> 16);
	w16(p + 2, v & 0xffff);
}

struct conn {
	const struct tmpl *t;
	const struct script *s;
	size_t next;
	uint32_t isn[2];
	uint8_t ip[2][4];
	uint16_t port[2];
	uint16_t ipid[2];
	bool vary;        /* --leaf-variants: patch the leaves' serials */
	uint32_t variant;
};

static void emit_packet(struct conn *c, uint64_t ts_us)
{
	const struct spkt *p = &c->s->p[c->next++];
	int d = p->dir;
	const uint8_t *pl = NULL;
	if (p->src == S_TMPL) pl = c->t->stream[d] + p->off;
	else if (p->src == S_APP) pl = c->s->app[d] + p->off;
	static uint8_t patched[MSS];
	if (c->vary && p->src == S_TMPL) {
		for (unsigned l = 0; l < c->t->n_patch; l++) {
			if (c->t->patch_dir[l] != d) continue;
			unsigned k = c->t->patch_n[l];
			for (unsigned i = 0; i < k; i++) {
				uint32_t at = c->t->patch_off[l][i];
				if (at < p->off || at >= p->off + p->len) continue;
				if (pl != patched) {
					memcpy(patched, pl, p->len);
					pl = patched;
				}
				patched[at - p->off] = (uint8_t)(c->variant >> (8 * (k - 1 - i)));
			}
		}
	}
	uint8_t h[16 + 14 + 20 + 24];
	bool syn = p->flags & F_SYN;
	uint32_t thl = syn ? 24 : 20;
	uint32_t caplen = 14 + 20 + thl + p->len;
	uint32_t sec = (uint32_t)(ts_us / 1000000), usec = (uint32_t)(ts_us % 1000000);
	memcpy(h, &sec, 4); /* record header in host order, as the file header */
	memcpy(h + 4, &usec, 4);
	memcpy(h + 8, &caplen, 4);
	memcpy(h + 12, &caplen, 4);
	uint8_t *e = h + 16;
	static const uint8_t mac[2][6] = { { 0x02, 0, 0, 0, 0, 0x01 }, { 0x02, 0, 0, 0, 0, 0x02 } };
	memcpy(e, mac[1 - d], 6);
	memcpy(e + 6, mac[d], 6);
	w16(e + 12, 0x0800);
	uint8_t *ip = e + 14;
	ip[0] = 0x45;
	ip[1] = 0;
	w16(ip + 2, 20 + thl + p->len);
	w16(ip + 4, c->ipid[d]++);
	w16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6;
	w16(ip + 10, 0);
	memcpy(ip + 12, c->ip[d], 4);
	memcpy(ip + 16, c->ip[1 - d], 4);
	w16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	uint8_t *tcp = ip + 20;
	w16(tcp, c->port[d]);
	w16(tcp + 2, c->port[1 - d]);
	w32(tcp + 4, c->isn[d] + p->seq);
	w32(tcp + 8, (p->flags & F_ACK) ? c->isn[1 - d] + p->ack : 0);
	tcp[12] = (uint8_t)((thl / 4) << 4);
	tcp[13] = p->flags;
	w16(tcp + 14, 0xffff);
	w16(tcp + 16, 0);
	w16(tcp + 18, 0);
	if (syn) { /* MSS option */
		tcp[20] = 2;
		tcp[21] = 4;
		w16(tcp + 22, MSS + 12);
	}
	uint32_t sum = csum_add(0, ip + 12, 8);
	sum += 6 + thl + p->len;
	sum = csum_add(sum, tcp, thl);
	if (p->len) sum = csum_add(sum, pl, p->len);
	w16(tcp + 16, csum_fold(sum));
	put(h, 16 + 14 + 20 + thl);
	if (p->len) put(pl, p->len);
	n_packets++;
}

/* ---- main ------------------------------------------------------------------- */

static const uint16_t server_ports[] = { 443, 5061, 8443, 2222, 7001 };
#define N_CLIENT_IPS 4000u
#define N_SERVERS 16u

static void usage(void)
{
	fputs("usage: gen [-s SEED] [-n CONNS] [-c CONCURRENT] [--req BYTES] [--resp BYTES]\n"
	      "           [--usec-per-packet US] [--leaf-variants N] -o OUT.pcap TEMPLATE.pcap[:WEIGHT] ...\n",
	      stderr);
	exit(2);
}

static unsigned long num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end) die("not a number: %s", s);
	return v;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	unsigned long n_conns = 1000, conc = 1000, req = 0, resp = 0, usec_pp = 100, variants = 0;
	const char *outpath = NULL;
	static struct tmpl T[MAX_TEMPLATES];
	size_t nt = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "-s") && more) seed = num(argv[++i]);
		else if (!strcmp(a, "-n") && more) n_conns = num(argv[++i]);
		else if (!strcmp(a, "-c") && more) conc = num(argv[++i]);
		else if (!strcmp(a, "--req") && more) req = num(argv[++i]);
		else if (!strcmp(a, "--resp") && more) resp = num(argv[++i]);
		else if (!strcmp(a, "--usec-per-packet") && more) usec_pp = num(argv[++i]);
		else if (!strcmp(a, "--leaf-variants") && more) variants = num(argv[++i]);
		else if (!strcmp(a, "-o") && more) outpath = argv[++i];
		else if (a[0] == '-') usage();
		else {
			if (nt == MAX_TEMPLATES) die("%s", "too many templates");
			load_template(&T[nt++], a);
		}
	}
	if (!outpath || !nt || !conc || !n_conns || req > (1u << 24) || resp > (1u << 28)) usage();
	rng_state = seed;

	static struct script S[MAX_TEMPLATES];
	unsigned wsum = 0;
	for (size_t i = 0; i < nt; i++) {
		build_script(&S[i], &T[i], (uint32_t)req, (uint32_t)resp);
		wsum += T[i].weight;
	}

	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", outpath);
	out = fopen(tmp, "wb");
	if (!out) die("cannot create %s", tmp);
	static char obuf[1 << 20];
	setvbuf(out, obuf, _IOFBF, sizeof obuf);
	uint8_t gh[24];
	uint32_t v32 = 0xa1b2c3d4, snap = 65535, link = 1;
	uint16_t vmaj = 2, vmin = 4;
	memcpy(gh, &v32, 4);
	memcpy(gh + 4, &vmaj, 2);
	memcpy(gh + 6, &vmin, 2);
	memset(gh + 8, 0, 8);
	memcpy(gh + 16, &snap, 4);
	memcpy(gh + 20, &link, 4);
	put(gh, 24);

	struct conn *open = xmalloc(conc * sizeof *open);
	static uint16_t next_port[N_CLIENT_IPS];
	size_t n_open = 0;
	unsigned long started = 0;
	uint64_t ts = (uint64_t)1774353266 * 1000000u; /* 2026-03-24T11:54:26Z, the samples' date */
	uint64_t cert_msgs = 0, cert_rows = 0, hellos = 0, app_payload = 0, tls13 = 0, leaves = 0;
	for (;;) {
		while (n_open < conc && started < n_conns) {
			unsigned r = rnd_below(wsum), k = 0;
			while (r >= T[k].weight) r -= T[k++].weight;
			struct conn *c = &open[n_open++];
			memset(c, 0, sizeof *c);
			c->t = &T[k];
			c->s = &S[k];
			T[k].used++;
			uint32_t ci = rnd_below(N_CLIENT_IPS), si = rnd_below(N_SERVERS);
			c->ip[0][0] = 10;
			c->ip[0][1] = 64;
			c->ip[0][2] = (uint8_t)(ci / 250);
			c->ip[0][3] = (uint8_t)(1 + ci % 250);
			c->port[0] = (uint16_t)(32768 + next_port[ci]++ % 28000);
			c->ip[1][0] = 10;
			c->ip[1][1] = 106;
			c->ip[1][2] = 80;
			c->ip[1][3] = (uint8_t)(16 + si);
			c->port[1] = server_ports[rnd_below(sizeof server_ports / sizeof server_ports[0])];
			c->isn[0] = (uint32_t)rnd();
			c->isn[1] = (uint32_t)rnd();
			c->ipid[0] = (uint16_t)rnd();
			c->ipid[1] = (uint16_t)rnd();
			c->vary = variants != 0;
			c->variant = variants ? (uint32_t)(started % variants) : 0;
			if (c->vary) leaves += T[k].n_patch;
			started++;
			cert_msgs += T[k].cert_msgs;
			cert_rows += T[k].cert_rows;
			hellos += T[k].hellos;
			tls13 += T[k].tls13;
			app_payload += (uint64_t)S[k].applen[0] + S[k].applen[1];
		}
		if (!n_open) break;
		size_t i = rnd_below((uint32_t)n_open);
		ts += rnd_below((uint32_t)(2 * usec_pp + 1));
		emit_packet(&open[i], ts);
		if (open[i].next == open[i].s->np) open[i] = open[--n_open];
	}
	free(open);
	if (fflush(out) != 0 || ferror(out) || fclose(out) != 0) die("write %s failed", tmp);
	if (rename(tmp, outpath) != 0) die("cannot rename to %s", outpath);

	char mpath[4096];
	snprintf(mpath, sizeof mpath, "%.*s.manifest",
		 (int)(strlen(outpath) > 5 && !strcmp(outpath + strlen(outpath) - 5, ".pcap") ? strlen(outpath) - 5 : strlen(outpath)),
		 outpath);
	FILE *m = fopen(mpath, "w");
	if (!m) die("cannot create %s", mpath);
	const char *fname = strrchr(outpath, '/');
	fprintf(m, "# written by bench/gen; counts a TLS dissector should report for this file\n");
	fprintf(m, "file=%s\nseed=%llu\nconnections=%lu\nconcurrent=%lu\n", fname ? fname + 1 : outpath,
		(unsigned long long)seed, n_conns, conc);
	fprintf(m, "packets=%llu\nbytes=%llu\n", (unsigned long long)n_packets, (unsigned long long)n_bytes);
	fprintf(m, "handshakes=%llu\ntls13_connections=%llu\n", (unsigned long long)hellos,
		(unsigned long long)tls13);
	fprintf(m, "certificate_messages=%llu\ncertificate_rows=%llu\n", (unsigned long long)cert_msgs,
		(unsigned long long)cert_rows);
	fprintf(m, "app_data_bytes=%llu\nrequest_bytes=%lu\nresponse_bytes=%lu\nduration_s=%.3f\n",
		(unsigned long long)app_payload, req, resp,
		(double)(ts - (uint64_t)1774353266 * 1000000u) / 1e6);
	fprintf(m, "leaf_variants=%lu\nvaried_leaves=%llu\n", variants, (unsigned long long)leaves);
	for (size_t i = 0; i < nt; i++)
		fprintf(m, "template.%s=%llu weight=%u tls13=%d cert_msgs=%u cert_rows=%u packets=%zu leaves=%u\n",
			T[i].name, (unsigned long long)T[i].used, T[i].weight, T[i].tls13, T[i].cert_msgs,
			T[i].cert_rows, S[i].np, T[i].n_patch);
	if (fclose(m) != 0) die("write %s failed", mpath);
	fprintf(stderr, "gen: %s: %llu connections, %llu packets, %.1f MB, %llu certificate rows\n", outpath,
		(unsigned long long)n_conns, (unsigned long long)n_packets, (double)n_bytes / 1e6,
		(unsigned long long)cert_rows);
	return 0;
}
