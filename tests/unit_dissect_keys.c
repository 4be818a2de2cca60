/* dissect/keylog.c, dissect/tls_crypt.c and the decryption in dissect/tls.c:
 * key log parsing; the TLS 1.3 key schedule and record protection against
 * RFC 8448 section 3 ("Simple 1-RTT Handshake"); the whole RFC 8448
 * connection through the dissector (handshake, ticket, application data,
 * alerts, each at every chunking); wrong keys; TLS <= 1.2 records (GCM,
 * ChaCha20-Poly1305, CBC with MAC-then-encrypt / encrypt-then-MAC, the TLS
 * 1.0 chained IV) against vectors computed by tests/keys_vectors.py with an
 * independent implementation (Python hmac/hashlib + the cryptography
 * package). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "check.h"
#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "dissect/tls_crypt.h"
#include "dissect/tls_int.h"
#include "keys_vectors.h"


/* ---- helpers ---------------------------------------------------------------- */

/* Test vectors are written in hex: decode (aborts on a typo). */
static struct buf unhex(const char *h)
{
	struct buf b = { 0 };
	size_t n = strlen(h);
	for (size_t i = 0; i + 1 < n + 1 && h[i]; i += 2) {
		unsigned v;
		if (sscanf(h + i, "%2x", &v) != 1) abort();
		put_u8(&b, v);
	}
	return b;
}

static void record(struct buf *out, uint8_t type, uint16_t ver, const struct buf *body)
{
	put_u8(out, type);
	put_u16(out, ver);
	put_u16(out, (unsigned)body->n);
	put(out, body->p, body->n);
}

/* ---- event recorder ------------------------------------------------------------- */

#define MAXEV 64
struct ev {
	enum tls_event_kind kind;
	enum tls_role sender;
	uint8_t hs_type, level, desc;
	bool enc, malformed, dec_hs;
	size_t n_certs;
	char serial[64];
	struct tls_conn_view view;
};
struct rec {
	struct ev ev[MAXEV];
	size_t n;
};

static void on_event(void *ctx, const struct tls_event *e)
{
	struct rec *r = ctx;
	if (r->n >= MAXEV) return;
	struct ev *x = &r->ev[r->n++];
	memset(x, 0, sizeof *x);
	x->kind = e->kind;
	x->sender = e->sender;
	x->view = *e->conn;
	switch (e->kind) {
	case TLS_EV_HANDSHAKE:
		x->hs_type = e->u.hs.type;
		x->malformed = e->u.hs.malformed;
		if (e->u.hs.type == TLS_HS_CERTIFICATE && !e->u.hs.malformed) {
			x->n_certs = e->u.hs.u.cert.n_certs;
			if (x->n_certs && e->u.hs.u.cert.certs[0])
				snprintf(x->serial, sizeof x->serial, "%s", e->u.hs.u.cert.certs[0]->serial_hex);
		}
		break;
	case TLS_EV_ALERT:
		x->level = e->u.alert.level;
		x->desc = e->u.alert.desc;
		x->enc = e->u.alert.encrypted;
		break;
	case TLS_EV_DECRYPT_FAILED:
		x->dec_hs = e->u.decrypt.handshake;
		CHECK(e->u.decrypt.reason != NULL);
		break;
	default:
		break;
	}
}

/* One line per event, for comparing sequences. */
static void ev_str(const struct ev *x, char *s, size_t cap)
{
	char c = x->sender == TLS_ROLE_CLIENT ? 'c' : x->sender == TLS_ROLE_SERVER ? 's' : '-';
	switch (x->kind) {
	case TLS_EV_HANDSHAKE: {
		const char *n = tls_handshake_name(x->hs_type);
		if (x->hs_type == TLS_HS_CERTIFICATE)
			snprintf(s, cap, "HS %c Certificate n=%zu", c, x->n_certs);
		else
			snprintf(s, cap, "HS %c %s%s", c, n ? n : "?", x->malformed ? " MALFORMED" : "");
		break;
	}
	case TLS_EV_ALERT:
		if (x->enc) snprintf(s, cap, "ALERT %c enc", c);
		else snprintf(s, cap, "ALERT %c %u/%u", c, x->level, x->desc);
		break;
	case TLS_EV_CCS: snprintf(s, cap, "CCS %c", c); break;
	case TLS_EV_ENCRYPTED_HANDSHAKE: snprintf(s, cap, "ENCHS %c", c); break;
	case TLS_EV_DECRYPT_FAILED: snprintf(s, cap, "DECFAIL %c%s", c, x->dec_hs ? " hs" : ""); break;
	default: s[0] = '\0'; break;
	}
}

/* The events of kinds that matter here, ';'-joined. */
static void seq_str(const struct rec *r, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		char s[96];
		ev_str(&r->ev[i], s, sizeof s);
		if (!s[0]) continue;
		int k = snprintf(out + o, cap - o, "%s%s", o ? ";" : "", s);
		if (k < 0 || (size_t)k >= cap - o) break;
		o += (size_t)k;
	}
}

/* ---- a connection fed by scripted chunks ----------------------------------------- */

struct step {
	int dir;              /* 0 client, 1 server */
	const uint8_t *p;     /* NULL: n bytes were not captured (a hole) */
	size_t n;
};

static const uint16_t ports[] = { 443 };

/* chunk: 0 each step whole; 1 byte at a time; >1 pseudo-random sizes up to that. */
static void run(const struct tls_keylog *keys, const struct step *st, size_t n_steps, size_t chunk,
		struct rec *r, struct tls_stats *stats)
{
	memset(r, 0, sizeof *r);
	struct tls_opts o = { ports, 1, 0, 0, keys, NULL, false };
	struct tls_sink sink = { r, on_event };
	struct tls_ctx *t = tls_ctx_new(&o, &sink, NULL);
	struct tls_conn_params p;
	memset(&p, 0, sizeof p);
	p.id = 1;
	p.ep[0].addr.family = 4;
	p.ep[0].port = 40000;
	p.ep[1].addr.family = 4;
	p.ep[1].addr.a[3] = 1;
	p.ep[1].port = 443;
	p.initiator = 0;
	p.syn_seen = true;
	struct ek_pktref pk = { 1, { 0, 0 }, 0 };
	struct tls_conn *c = tls_conn_new(t, &p, &pk);
	unsigned rnd = 12345;
	for (size_t i = 0; i < n_steps; i++) {
		size_t off = 0;
		if (!st[i].p) {
			pk.frame++;
			tls_conn_gap(t, c, st[i].dir, st[i].n, &pk);
			continue;
		}
		while (off < st[i].n) {
			size_t k = st[i].n - off;
			if (chunk == 1) k = 1;
			else if (chunk > 1) {
				rnd = rnd * 1103515245u + 12345u;
				size_t want = 1 + (rnd >> 8) % chunk;
				if (want < k) k = want;
			}
			pk.frame++;
			tls_conn_data(t, c, st[i].dir, st[i].p + off, k, &pk);
			off += k;
		}
	}
	pk.frame++;
	tls_conn_end(t, c, &pk);
	if (stats) tls_get_stats(t, stats);
	tls_ctx_free(t);
}

static const struct ev *last_of(const struct rec *r, enum tls_event_kind k)
{
	for (size_t i = r->n; i-- > 0;)
		if (r->ev[i].kind == k) return &r->ev[i];
	return NULL;
}

/* ---- key log parsing ------------------------------------------------------------ */

static void test_keylog(void)
{
	struct tls_keylog *k = tls_keylog_new(0);
	const char *text =
		"# SSL/TLS secrets log file\r\n"
		"\n"
		"CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
		"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f\r\n"
		"SERVER_HANDSHAKE_TRAFFIC_SECRET 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F "
		"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\n"
		"EXPORTER_SECRET 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 00112233\n"
		"CLIENT_RANDOM 0001 4041\n"                                  /* short random */
		"CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 4041\n" /* short master */
		"CLIENT_TRAFFIC_SECRET_0 zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
		"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\n" /* bad hex */
		"lower_case 00 11\n"                                          /* not a label */
		"SERVER_TRAFFIC_SECRET_0 ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff "
		"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643 extra\n" /* trailing field */
		"CLIENT_TRAFFIC_SECRET_0 ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff "
		"9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"; /* no newline at the end */
	CHECK(tls_keylog_add_text(k, text, strlen(text)) == 0);
	struct tls_keylog_stats st;
	tls_keylog_get_stats(k, &st);
	CHECK_EQ_U(st.secrets, 3);
	CHECK_EQ_U(st.ignored, 1);
	CHECK_EQ_U(st.malformed, 5);
	CHECK_EQ_U(st.entries, 2);
	CHECK_EQ_U(tls_keylog_count(k), 2);
	struct buf r1 = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	const struct tls_keylog_entry *e = tls_keylog_find(k, r1.p);
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ_U(e->have, (1u << TLS_SECRET_MASTER) | (1u << TLS_SECRET_SHTS));
		CHECK_EQ_U(e->len[TLS_SECRET_MASTER], 48);
		CHECK_EQ_U(e->secret[TLS_SECRET_MASTER][0], 0x40);
		CHECK_EQ_U(e->secret[TLS_SECRET_MASTER][47], 0x6f);
		CHECK_EQ_U(e->len[TLS_SECRET_SHTS], 32);
		CHECK_EQ_U(e->secret[TLS_SECRET_SHTS][0], 0xb6);
	}
	r1.p[31] ^= 1;
	CHECK(tls_keylog_find(k, r1.p) == NULL);
	struct buf r2 = unhex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	e = tls_keylog_find(k, r2.p);
	CHECK(e != NULL && e->have == 1u << TLS_SECRET_CATS0);

	/* an overlong line is malformed; the lines around it still count */
	struct buf big = { 0 };
	for (int i = 0; i < 3000; i++) put_u8(&big, 'A');
	put(&big, "\nSERVER_TRAFFIC_SECRET_0 ", 25);
	put(&big, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 00112233445566778899aabbccddeeff\n", 98);
	tls_keylog_add_text(k, (const char *)big.p, big.n);
	tls_keylog_get_stats(k, &st);
	CHECK_EQ_U(st.malformed, 6);
	CHECK_EQ_U(st.secrets, 4);
	e = tls_keylog_find(k, r2.p);
	CHECK(e != NULL && e->have == ((1u << TLS_SECRET_CATS0) | (1u << TLS_SECRET_SATS0)));

	/* many randoms: the table grows; a capped store drops the rest */
	struct tls_keylog *small = tls_keylog_new(100);
	struct buf lines = { 0 };
	for (unsigned i = 0; i < 5000; i++) {
		char l[200];
		int n = snprintf(l, sizeof l, "SERVER_HANDSHAKE_TRAFFIC_SECRET %056x%08x %064x\n", 0u, i, i);
		put(&lines, l, (size_t)n);
	}
	tls_keylog_add_text(k, (const char *)lines.p, lines.n);
	tls_keylog_add_text(small, (const char *)lines.p, lines.n);
	tls_keylog_get_stats(k, &st);
	CHECK_EQ_U(st.entries, 5002);
	tls_keylog_get_stats(small, &st);
	CHECK_EQ_U(st.entries, 100);
	CHECK_EQ_U(st.dropped, 4900);
	uint8_t rr[32] = { 0 };
	rr[31] = 0x39; /* 4409 = 0x1139 */
	rr[30] = 0x11;
	e = tls_keylog_find(k, rr);
	CHECK(e != NULL && e->secret[TLS_SECRET_SHTS][31] == 0x39 && e->secret[TLS_SECRET_SHTS][30] == 0x11);
	CHECK(tls_keylog_find(small, rr) == NULL);
	free(lines.p);
	free(big.p);
	free(r1.p);
	free(r2.p);
	tls_keylog_free(small);
	tls_keylog_free(k);
}

/* ---- RFC 8448 section 3 ------------------------------------------------------------ */

#define RFC_CLIENT_RANDOM "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
#define RFC_CHTS "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
#define RFC_SHTS "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define RFC_CATS "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
#define RFC_SATS "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"

static const char rfc_ch_record[] =
	"16030100c4010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d99"
	"12ec18a2ef6283024dece7000006130113031302010000910000000b00090000"
	"06736572766572ff01000100000a00140012001d001700180019010001010102"
	"0103010400230000003300260024001d002099381de560e4bd43d23d8e435a7d"
	"bafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e04"
	"0305030603020308040805080604010501060102010402050206020202002d00"
	"020101001c00024001";
static const char rfc_sh_record[] =
	"160303005a020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb"
	"1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095"
	"fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";
/* EncryptedExtensions, Certificate, CertificateVerify, Finished under the
 * server handshake keys */
static const char rfc_server_flight[] =
	"17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e"
	"df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78"
	"b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b"
	"d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9"
	"d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e"
	"d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092"
	"8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694"
	"5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368"
	"4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f"
	"4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26"
	"f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531"
	"7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e"
	"1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da"
	"8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4"
	"61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe"
	"5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb"
	"992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859"
	"77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038"
	"ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84"
	"5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5"
	"d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e"
	"750edc53370d2b";
/* the same flight in clear (TLSInnerPlaintext content, 657 bytes) */
static const char rfc_server_flight_plain[] =
	"080000240022000a00140012001d00170018001901000101010201030104001c"
	"00024001000000000b0001b9000001b50001b0308201ac30820115a003020102"
	"020102300d06092a864886f70d01010b0500300e310c300a0603550403130372"
	"7361301e170d3136303733303031323335395a170d3236303733303031323335"
	"395a300e310c300a0603550403130372736130819f300d06092a864886f70d01"
	"0101050003818d0030818902818100b4bb498f8279303d980836399b36c6988c"
	"0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19e"
	"aa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e2"
	"2a5fda430846748030530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a"
	"8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d1304"
	"023000300b0603551d0f0404030205a0300d06092a864886f70d01010b050003"
	"81810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594"
	"365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd"
	"335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb"
	"2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b4"
	"2b4de100000f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f82"
	"4cd484145ab3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6bef78"
	"0c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671"
	"459e46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda"
	"65cdf5aea20d53dfacd42f74f3140000209b9b141d906337fbd2cbdce71df4de"
	"da4ab42c309572cb7fffee5454b78f0718";
static const char rfc_client_fin[] =
	"170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc"
	"44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546";
static const char rfc_ticket[] =
	"17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d4"
	"1d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a3"
	"8efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e0"
	"9c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406"
	"f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c8651"
	"9d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74"
	"bc2697687e248746d6df353005f3bce18696129c8153556b3b6c6779b37bf159"
	"85684f";
static const char rfc_client_app[] =
	"1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f"
	"2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae6"
	"3aeebb21694915e4";
static const char rfc_server_app[] =
	"17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36"
	"e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf33254"
	"0dd032e167c2955d";
static const char rfc_client_alert[] = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3";
static const char rfc_server_alert[] = "1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9";

static void check_key(const char *secret, const char *key, const char *iv)
{
	struct tls_suite s;
	CHECK(tls_suite_get(0x1301, 0x0304, &s));
	struct tls_crypto *x = tls_crypto_new();
	struct buf sec = unhex(secret), k = unhex(key), v = unhex(iv);
	struct tls_rkey rk;
	CHECK(tls_crypto_tls13_key(x, &s, sec.p, sec.n, &rk) == 0);
	CHECK(k.n == 16 && memcmp(rk.key, k.p, 16) == 0);
	CHECK(v.n == 12 && memcmp(rk.iv, v.p, 12) == 0);
	free(sec.p);
	free(k.p);
	free(v.p);
	tls_crypto_free(x);
}

static void test_rfc8448_schedule(void)
{
	/* traffic keys and ivs, RFC 8448 section 3 */
	check_key(RFC_SHTS, "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30");
	check_key(RFC_CHTS, "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f");
	check_key(RFC_SATS, "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984");
	check_key(RFC_CATS, "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9");

	/* the server's handshake record decrypts to the RFC's plaintext */
	struct tls_suite s;
	tls_suite_get(0x1301, 0x0304, &s);
	struct tls_crypto *x = tls_crypto_new();
	struct buf sec = unhex(RFC_SHTS), rec = unhex(rfc_server_flight), plain = unhex(rfc_server_flight_plain);
	struct tls_rkey rk;
	CHECK(tls_crypto_tls13_key(x, &s, sec.p, sec.n, &rk) == 0);
	uint8_t out[1024];
	size_t len = 0;
	CHECK_EQ_U(rec.n, 679);
	CHECK(tls_crypto_open(x, &rk, rec.p[0], 0x0303, rec.p + 5, rec.n - 5, out, &len) == 0);
	CHECK_EQ_U(len, plain.n + 1);
	CHECK(memcmp(out, plain.p, plain.n) == 0);
	CHECK_EQ_U(out[plain.n], 22); /* inner content type: handshake */
	/* the wrong sequence number, a changed byte, a changed header: no plaintext */
	rk.seq = 1;
	CHECK(tls_crypto_open(x, &rk, rec.p[0], 0x0303, rec.p + 5, rec.n - 5, out, &len) != 0);
	rk.seq = 0;
	rec.p[100] ^= 0x80;
	CHECK(tls_crypto_open(x, &rk, rec.p[0], 0x0303, rec.p + 5, rec.n - 5, out, &len) != 0);
	rec.p[100] ^= 0x80;
	CHECK(tls_crypto_open(x, &rk, rec.p[0], 0x0301, rec.p + 5, rec.n - 5, out, &len) != 0);
	CHECK(tls_crypto_open(x, &rk, rec.p[0], 0x0303, rec.p + 5, 10, out, &len) != 0);

	/* KeyUpdate: the next generation of the server application secret
	 * (HKDF-Expand-Label(secret, "traffic upd", "", 32), value computed by
	 * tests/keys_vectors.py) */
	struct buf sats = unhex(RFC_SATS), upd = unhex(RFC_SATS_UPD);
	CHECK(tls_crypto_tls13_update(x, &s, sats.p, sats.n) == 0);
	CHECK(memcmp(sats.p, upd.p, 32) == 0);

	/* other suites: parameters */
	CHECK(tls_suite_get(0x1302, 0x0304, &s) && s.key_len == 32 && s.hash_len == 48);
	CHECK(tls_suite_get(0x1303, 0x0304, &s) && s.bulk == TB_CHACHA);
	CHECK(tls_suite_get(0x1304, 0x0304, &s) && s.bulk == TB_CCM && s.tag_len == 16);
	CHECK(tls_suite_get(0x1305, 0x0304, &s) && s.bulk == TB_CCM && s.tag_len == 8);
	CHECK(!tls_suite_get(0x1306, 0x0304, &s));
	CHECK(!tls_suite_get(0x0005, 0x0303, &s));  /* RC4 */
	CHECK(!tls_suite_get(0xc02f, 0x0300, &s));  /* SSL 3.0 */
	CHECK(!tls_suite_get(0xc02f, 0x0302, &s));  /* GCM before TLS 1.2 */
	CHECK(tls_suite_get(0x002f, 0x0301, &s) && s.bulk == TB_CBC && strcmp(s.prf, "MD5-SHA1") == 0);
	free(sats.p);
	free(upd.p);
	free(sec.p);
	free(rec.p);
	free(plain.p);
	tls_crypto_free(x);
}

static struct tls_keylog *rfc_keys(bool chts, bool shts, bool cats, bool sats, bool break_shts)
{
	struct tls_keylog *k = tls_keylog_new(0);
	char text[2048];
	size_t o = 0;
	const struct {
		bool on;
		const char *label, *secret;
	} l[] = {
		{ chts, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", RFC_CHTS },
		{ shts, "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		  break_shts ? "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad39" : RFC_SHTS },
		{ cats, "CLIENT_TRAFFIC_SECRET_0", RFC_CATS },
		{ sats, "SERVER_TRAFFIC_SECRET_0", RFC_SATS },
	};
	for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
		if (l[i].on)
			o += (size_t)snprintf(text + o, sizeof text - o, "%s %s %s\n", l[i].label, RFC_CLIENT_RANDOM,
					      l[i].secret);
	tls_keylog_add_text(k, text, o);
	return k;
}

static void test_rfc8448_connection(void)
{
	struct buf r[9];
	const char *hexes[9] = { rfc_ch_record, rfc_sh_record, rfc_server_flight, rfc_client_fin, rfc_ticket,
				 rfc_client_app, rfc_server_app, rfc_client_alert, rfc_server_alert };
	const int dirs[9] = { 0, 1, 1, 0, 1, 0, 1, 0, 1 };
	struct step st[9];
	for (int i = 0; i < 9; i++) {
		r[i] = unhex(hexes[i]);
		st[i] = (struct step){ dirs[i], r[i].p, r[i].n };
	}
	const char *want =
		"HS c ClientHello;HS s ServerHello;HS s EncryptedExtensions;HS s Certificate n=1;"
		"HS s CertificateVerify;HS s Finished;HS c Finished;HS s NewSessionTicket;"
		"ALERT c 1/0;ALERT s 1/0";
	struct tls_keylog *k = rfc_keys(true, true, true, true, false);
	size_t chunks[] = { 0, 1, 7, 300 };
	for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
		struct rec rr;
		struct tls_stats ts;
		run(k, st, 9, chunks[ci], &rr, &ts);
		char got[2048];
		seq_str(&rr, got, sizeof got);
		CHECK_STR(got, want);
		const struct ev *e = last_of(&rr, TLS_EV_CONN_END);
		CHECK(e && e->view.keys && e->view.client_finished && e->view.server_finished &&
		      !e->view.decrypt_failed && !e->view.aborted_after_finished);
		CHECK(e && e->view.client_app_bytes == 50 && e->view.server_app_bytes == 50);
		CHECK_EQ_U(ts.records_decrypted, 7);
		CHECK_EQ_U(ts.conns_keyed, 1);
		CHECK_EQ_U(ts.decrypt_failed, 0);
		for (size_t i = 0; i < rr.n; i++)
			if (rr.ev[i].kind == TLS_EV_HANDSHAKE && rr.ev[i].hs_type == TLS_HS_CERTIFICATE)
				CHECK_STR(rr.ev[i].serial, "02");
		/* the ServerHello already knows that keys exist (certs_encrypted) */
		for (size_t i = 0; i < rr.n; i++)
			if (rr.ev[i].kind == TLS_EV_HANDSHAKE && rr.ev[i].hs_type == TLS_HS_SERVER_HELLO)
				CHECK(rr.ev[i].view.keys);
	}
	tls_keylog_free(k);

	/* without the application secrets: the handshake, no alerts */
	k = rfc_keys(true, true, false, false, false);
	struct rec rr;
	run(k, st, 9, 0, &rr, NULL);
	char got[2048];
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;HS s EncryptedExtensions;HS s Certificate n=1;"
		       "HS s CertificateVerify;HS s Finished;HS c Finished");
	tls_keylog_free(k);

	/* a wrong server secret: one decrypt_failed row, then the record as
	 * without keys; the client side still decrypts */
	k = rfc_keys(true, true, true, true, true);
	struct tls_stats ts;
	run(k, st, 9, 0, &rr, &ts);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;DECFAIL s hs;ENCHS s;HS c Finished;ALERT c 1/0");
	const struct ev *e = last_of(&rr, TLS_EV_CONN_END);
	CHECK(e && e->view.keys && e->view.decrypt_failed && !e->view.server_finished);
	CHECK_EQ_U(ts.decrypt_failed, 1);
	tls_keylog_free(k);

	/* no key for this random: as before (no decryption at all) */
	k = tls_keylog_new(0);
	const char *other = "SERVER_HANDSHAKE_TRAFFIC_SECRET "
			    "0000000000000000000000000000000000000000000000000000000000000000 " RFC_SHTS "\n";
	tls_keylog_add_text(k, other, strlen(other));
	run(k, st, 9, 0, &rr, &ts);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;ENCHS s;ENCHS c");
	e = last_of(&rr, TLS_EV_CONN_END);
	CHECK(e && !e->view.keys && !e->view.decrypt_failed);
	CHECK_EQ_U(ts.conns_keyed, 0);
	run(NULL, st, 9, 0, &rr, &ts);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;ENCHS s;ENCHS c");
	tls_keylog_free(k);

	/* a capture that lost a record of the server: sequence numbers are
	 * unknown after the hole, decryption of that direction stops quietly */
	k = rfc_keys(true, true, true, true, false);
	for (int i = 0; i < 9; i++) free(r[i].p);
	(void)e;
	tls_keylog_free(k);
}

static void test_rfc8448_keyupdate_and_gap(void)
{
	/* server: ticket (0), application data (1), KeyUpdate (2), then
	 * close_notify under the next generation (0) */
	const char *hexes[] = { rfc_ch_record, rfc_sh_record, rfc_server_flight, rfc_client_fin, rfc_ticket,
				rfc_client_app, rfc_server_app, rfc_server_keyupdate, rfc_server_alert_upd };
	const int dirs[] = { 0, 1, 1, 0, 1, 0, 1, 1, 1 };
	enum { N = sizeof dirs / sizeof dirs[0] };
	struct buf r[N];
	struct step st[N];
	for (int i = 0; i < N; i++) {
		r[i] = unhex(hexes[i]);
		st[i] = (struct step){ dirs[i], r[i].p, r[i].n };
	}
	struct tls_keylog *k = rfc_keys(true, true, true, true, false);
	struct rec rr;
	char got[2048];
	run(k, st, N, 0, &rr, NULL);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;HS s EncryptedExtensions;HS s Certificate n=1;"
		       "HS s CertificateVerify;HS s Finished;HS c Finished;HS s NewSessionTicket;HS s KeyUpdate;"
		       "ALERT s 1/0");
	run(k, st, N, 1, &rr, NULL);
	char got1[2048];
	seq_str(&rr, got1, sizeof got1);
	CHECK_STR(got1, got);

	/* a fatal alert under the server's handshake keys after its Finished
	 * (both Finished seen, no application data yet): decrypted with the
	 * handshake keys, and the handshake counts as not completed */
	struct buf ahs = unhex(rfc_server_alert_hs);
	struct step st4[] = { st[0], st[1], st[2], st[3], { 1, ahs.p, ahs.n } };
	run(k, st4, 5, 0, &rr, NULL);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;HS s EncryptedExtensions;HS s Certificate n=1;"
		       "HS s CertificateVerify;HS s Finished;HS c Finished;ALERT s 2/42");
	const struct ev *ea = last_of(&rr, TLS_EV_CONN_END);
	CHECK(ea && ea->view.client_finished && ea->view.server_finished && ea->view.aborted_after_finished);
	free(ahs.p);

	/* the ticket record was not captured: the server's sequence numbers
	 * are lost, its direction is not decrypted any more (no failure row);
	 * the client's still is */
	st[4].p = NULL;
	run(k, st, N, 0, &rr, NULL);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;HS s EncryptedExtensions;HS s Certificate n=1;"
		       "HS s CertificateVerify;HS s Finished;HS c Finished");
	const struct ev *e = last_of(&rr, TLS_EV_CONN_END);
	CHECK(e && !e->view.decrypt_failed && e->view.client_app_bytes == 50);

	/* a hole inside the ticket record (its end captured): the record is
	 * lost but counted, the next ones decrypt */
	struct step st3[N + 2] = {
		{ 0, r[0].p, r[0].n }, { 1, r[1].p, r[1].n }, { 1, r[2].p, r[2].n }, { 0, r[3].p, r[3].n },
		{ 1, r[4].p, 100 }, { 1, NULL, 27 }, { 1, r[4].p + 127, r[4].n - 127 }, { 0, r[5].p, r[5].n },
		{ 1, r[6].p, r[6].n }, { 1, r[7].p, r[7].n }, { 1, r[8].p, r[8].n },
	};
	run(k, st3, N + 2, 0, &rr, NULL);
	seq_str(&rr, got, sizeof got);
	CHECK_STR(got, "HS c ClientHello;HS s ServerHello;HS s EncryptedExtensions;HS s Certificate n=1;"
		       "HS s CertificateVerify;HS s Finished;HS c Finished;HS s KeyUpdate;ALERT s 1/0");
	tls_keylog_free(k);
	for (int i = 0; i < N; i++) free(r[i].p);
}

/* ---- TLS <= 1.2 --------------------------------------------------------------- */



static struct buf hello12(uint8_t type, uint16_t ver, const uint8_t *random, uint16_t cipher, bool etm)
{
	struct buf b = { 0 }, m = { 0 }, rec = { 0 };
	put_u16(&b, ver);
	put(&b, random, 32);
	put_u8(&b, 0); /* session id */
	if (type == TLS_HS_CLIENT_HELLO) {
		put_u16(&b, 2);
		put_u16(&b, cipher);
		put_u8(&b, 1);
		put_u8(&b, 0);
		put_u16(&b, etm ? 4 : 0);
		if (etm) {
			put_u16(&b, 22);
			put_u16(&b, 0);
		}
	} else {
		put_u16(&b, cipher);
		put_u8(&b, 0);
		put_u16(&b, etm ? 4 : 0);
		if (etm) {
			put_u16(&b, 22);
			put_u16(&b, 0);
		}
	}
	put_u8(&m, type);
	put_u24(&m, (unsigned)b.n);
	put(&m, b.p, b.n);
	record(&rec, 22, ver, &m);
	free(b.p);
	free(m.p);
	return rec;
}

static void run12(const struct v12 *v, const char *name, bool wrong_master)
{
	struct buf ch = hello12(TLS_HS_CLIENT_HELLO, v->version, (const uint8_t *)v->client_random, v->cipher, v->etm);
	struct buf sh = hello12(TLS_HS_SERVER_HELLO, v->version, (const uint8_t *)v->server_random, v->cipher, v->etm);
	struct buf ccs = { 0 }, one = { 0 };
	put_u8(&one, 1);
	record(&ccs, 20, v->version, &one);
	struct step st[] = {
		{ 0, ch.p, ch.n },
		{ 1, sh.p, sh.n },
		{ 0, ccs.p, ccs.n },
		{ 0, (const uint8_t *)v->rec[0].p, v->rec[0].n },
		{ 1, ccs.p, ccs.n },
		{ 1, (const uint8_t *)v->rec[1].p, v->rec[1].n },
		{ 0, (const uint8_t *)v->rec[2].p, v->rec[2].n },
		{ 1, (const uint8_t *)v->rec[3].p, v->rec[3].n },
		{ 0, (const uint8_t *)v->rec[4].p, v->rec[4].n },
		{ 1, (const uint8_t *)v->rec[5].p, v->rec[5].n },
	};
	struct tls_keylog *k = tls_keylog_new(0);
	char line[512];
	int o = snprintf(line, sizeof line, "CLIENT_RANDOM ");
	for (int i = 0; i < 32; i++) o += snprintf(line + o, sizeof line - (size_t)o, "%02x", (uint8_t)v->client_random[i]);
	o += snprintf(line + o, sizeof line - (size_t)o, " ");
	for (int i = 0; i < 48; i++)
		o += snprintf(line + o, sizeof line - (size_t)o, "%02x",
			      (uint8_t)(v->master[i] ^ (wrong_master && i == 7 ? 1 : 0)));
	tls_keylog_add_text(k, line, (size_t)o);
	size_t chunks[] = { 0, 1, 5 };
	for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
		struct rec rr;
		struct tls_stats ts;
		run(k, st, sizeof st / sizeof st[0], chunks[ci], &rr, &ts);
		char got[2048];
		seq_str(&rr, got, sizeof got);
		const char *want = wrong_master ? "HS c ClientHello;HS s ServerHello;CCS c;DECFAIL c;ENCHS c;CCS s;"
						  "DECFAIL s;ENCHS s;ALERT c enc;ALERT s enc" :
						  "HS c ClientHello;HS s ServerHello;CCS c;HS c Finished;CCS s;"
						  "HS s Finished;ALERT c 2/40;ALERT s 1/0";
		if (strcmp(got, want) != 0) fprintf(stderr, "%s (chunk %zu):\n", name, chunks[ci]);
		CHECK_STR(got, want);
		CHECK_EQ_U(ts.records_decrypted, wrong_master ? 0 : 4);
		const struct ev *e = last_of(&rr, TLS_EV_CONN_END);
		CHECK(e && e->view.keys && e->view.client_finished && e->view.server_finished);
		CHECK(e && e->view.client_app_bytes > 0 && e->view.server_app_bytes > 0);
	}
	tls_keylog_free(k);
	free(ch.p);
	free(sh.p);
	free(ccs.p);
	free(one.p);
}

static void test_tls12(void)
{
	for (size_t i = 0; i < sizeof v12_all / sizeof v12_all[0]; i++) {
		run12(v12_all[i], v12_names[i], false);
		run12(v12_all[i], v12_names[i], true);
	}
}

int main(void)
{
	test_keylog();
	test_rfc8448_schedule();
	test_rfc8448_connection();
	test_rfc8448_keyupdate_and_gap();
	test_tls12();
	return check_summary();
}
