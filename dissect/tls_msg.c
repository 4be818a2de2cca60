/* Handshake message bodies (RFC 5246, RFC 8446, RFC 6101 appendix E for
 * the SSLv2-compatible ClientHello).  Every read goes through the cursor;
 * a length that does not fit the enclosing structure makes the message
 * malformed.  Distinguished names and certificates are decoded by
 * OpenSSL only. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "../common/cursor.h"
#include "../common/hash.h"
#include "dn_text.h"
#include "tls_int.h"

/* RFC 8446 4.1.3: the ServerHello random of a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

enum {
	EXT_SERVER_NAME = 0,
	EXT_SIGNATURE_ALGORITHMS = 13,
	EXT_ALPN = 16,
	EXT_ENCRYPT_THEN_MAC = 22,
	EXT_SESSION_TICKET = 35,
	EXT_PRE_SHARED_KEY = 41,
	EXT_EARLY_DATA = 42,
	EXT_SUPPORTED_VERSIONS = 43,
	EXT_CERTIFICATE_AUTHORITIES = 47,
};

bool tls_version_is_dtls(uint16_t v)
{
	return v == 0xfeff || v == 0xfefd || v == 0xfefc || v == 0x0100; /* 0x0100: OpenSSL's DTLS1_BAD_VER */
}

bool tls_version_is_13(uint16_t v)
{
	return v == 0x0304 || v == 0xfefc || (v & 0xff00) == 0x7f00; /* DTLS 1.3; 0x7fxx: TLS 1.3 drafts */
}

/* A u16 list prefixed by a u16 byte length, into dst (at most cap kept). */
static size_t read_u16_list(struct cur *e, uint16_t *dst, size_t cap)
{
	uint16_t len = cur_u16(e);
	if (len % 2) {
		cur_fail(e);
		return 0;
	}
	struct cur l = cur_sub(e, len);
	size_t n = 0;
	while (cur_left(&l)) {
		uint16_t v = cur_u16(&l);
		if (n < cap) dst[n++] = v;
	}
	if (!cur_ok(&l)) cur_fail(e);
	return n;
}

static void parse_sni(struct tls_scratch *s, struct cur *e, struct tls_client_hello *ch)
{
	uint16_t len = cur_u16(e);
	struct cur l = cur_sub(e, len);
	while (cur_left(&l)) {
		uint8_t type = cur_u8(&l);
		uint16_t nl = cur_u16(&l);
		const uint8_t *name = cur_bytes(&l, nl);
		if (!name) break;
		if (type == 0 && !ch->sni) {
			size_t k = nl < sizeof s->sni - 1 ? nl : sizeof s->sni - 1;
			memcpy(s->sni, name, k);
			s->sni[k] = '\0';
			ch->sni = s->sni;
		}
	}
	if (!cur_ok(&l)) cur_fail(e);
}

static void parse_alpn(struct tls_scratch *s, struct cur *e, struct tls_client_hello *ch)
{
	uint16_t len = cur_u16(e);
	struct cur l = cur_sub(e, len);
	size_t o = 0;
	while (cur_left(&l)) {
		uint8_t pl = cur_u8(&l);
		const uint8_t *proto = cur_bytes(&l, pl);
		if (!proto) break;
		/* Keep whole protocol names only. */
		if (o + (o ? 1 : 0) + pl + 1 > sizeof s->alpn) continue;
		if (o) s->alpn[o++] = ',';
		memcpy(s->alpn + o, proto, pl);
		o += pl;
	}
	if (!cur_ok(&l)) {
		cur_fail(e);
		return;
	}
	s->alpn[o] = '\0';
	ch->alpn = s->alpn;
}

/* An extensions block: a u16 length, then (type, u16 length, body)
 * entries. */
struct ext_iter {
	struct cur block;
	int more;                 /* 1: an entry; 0: the end; -1: malformed */
};

/* The block at c; false when c is too short for it. */
static bool ext_begin(struct cur *c, struct ext_iter *it)
{
	it->block = cur_sub(c, cur_u16(c));
	it->more = 0;
	return cur_ok(c);
}

/* The next extension: its type and its body; false at the end of the
 * block or at a malformed entry (ext_end_ok tells which). */
static bool ext_next(struct ext_iter *it, uint16_t *type, struct cur *body)
{
	struct cur *ext = &it->block;
	if (!cur_left(ext)) {
		it->more = 0;
		return false;
	}
	*type = cur_u16(ext);
	uint16_t len = cur_u16(ext);
	*body = cur_sub(ext, len);
	it->more = cur_ok(ext) ? 1 : -1;
	return it->more > 0;
}

/* The whole block read, every entry well formed. */
static bool ext_end_ok(const struct ext_iter *it)
{
	return it->more == 0 && cur_ok(&it->block);
}

int tls_msg_client_hello(struct tls_scratch *s, const uint8_t *p, size_t n, struct tls_client_hello *ch,
			 bool *offers13)
{
	struct cur c = cur_make(p, n);
	memset(ch, 0, sizeof *ch);
	*offers13 = false;
	ch->legacy_version = cur_u16(&c);
	ch->random = cur_bytes(&c, 32);
	ch->session_id_len = cur_u8(&c);
	ch->session_id = cur_bytes(&c, ch->session_id_len);
	if (ch->session_id_len > 32) ch->session_id = NULL, ch->session_id_len = 0; /* not a session to remember */
	uint16_t csl = cur_u16(&c);
	if (csl % 2) return -1;
	cur_skip(&c, csl);
	ch->n_ciphers = csl / 2;
	cur_skip(&c, cur_u8(&c)); /* compression methods */
	if (!cur_ok(&c)) return -1;
	/* No extensions (SSL 3.0 style); like Wireshark, a single stray byte
	 * where the extensions length would be is ignored. */
	if (cur_left(&c) < 2) return 0;
	struct ext_iter ext;
	if (!ext_begin(&c, &ext)) return -1;
	uint16_t type;
	struct cur e;
	while (ext_next(&ext, &type, &e)) {
		switch (type) {
		case EXT_SERVER_NAME:
			if (cur_left(&e)) parse_sni(s, &e, ch);
			break;
		case EXT_ALPN:
			parse_alpn(s, &e, ch);
			break;
		case EXT_EARLY_DATA:
			ch->early_data = true;
			break;
		case EXT_SESSION_TICKET:
			ch->ticket_len = cur_left(&e);
			ch->ticket = ch->ticket_len ? cur_bytes(&e, ch->ticket_len) : NULL;
			break;
		case EXT_PRE_SHARED_KEY: {
			/* read from a copy: a malformed identity list only loses the identity */
			struct cur l = e;
			struct cur ids = cur_sub(&l, cur_u16(&l));
			ch->psk_identity_len = cur_u16(&ids);
			ch->psk_identity = cur_bytes(&ids, ch->psk_identity_len);
			if (!cur_ok(&l) || !cur_ok(&ids) || !ch->psk_identity)
				ch->psk_identity_len = 0, ch->psk_identity = NULL;
			cur_skip(&e, cur_left(&e)); /* identities and binders */
			break;
		}
		case EXT_SIGNATURE_ALGORITHMS:
			ch->n_sigalgs = read_u16_list(&e, s->sigalgs, TLS_SCRATCH_SIGALGS);
			ch->sigalgs = s->sigalgs;
			break;
		case EXT_SUPPORTED_VERSIONS: {
			uint8_t vl = cur_u8(&e);
			if (vl % 2) return -1;
			struct cur l = cur_sub(&e, vl);
			size_t k = 0;
			while (cur_left(&l)) {
				uint16_t v = cur_u16(&l);
				if (tls_version_is_13(v)) *offers13 = true;
				if (k < TLS_SCRATCH_VERSIONS) s->versions[k++] = v;
			}
			if (!cur_ok(&l)) return -1;
			ch->versions = s->versions;
			ch->n_versions = k;
			break;
		}
		default:
			break;
		}
		if (!cur_ok(&e)) return -1;
	}
	if (!ext_end_ok(&ext)) return -1;
	return 0;
}

int tls_msg_sslv2_client_hello(struct tls_scratch *s, const uint8_t *p, size_t n, struct tls_client_hello *ch)
{
	struct cur c = cur_make(p, n);
	memset(ch, 0, sizeof *ch);
	ch->sslv2 = true;
	if (cur_u8(&c) != 1) return -1;
	ch->legacy_version = cur_u16(&c);
	uint16_t csl = cur_u16(&c), sidl = cur_u16(&c), chl = cur_u16(&c);
	if (csl % 3 || chl < 16 || chl > 32) return -1;
	cur_skip(&c, csl);
	cur_skip(&c, sidl);
	const uint8_t *chal = cur_bytes(&c, chl);
	if (!cur_ok(&c) || !chal) return -1;
	/* The challenge is right-aligned in the 32-byte random (RFC 5246 E.2). */
	memset(s->random, 0, sizeof s->random);
	memcpy(s->random + (32 - chl), chal, chl);
	ch->random = s->random;
	ch->n_ciphers = csl / 3;
	return 0;
}

int tls_msg_server_hello(const uint8_t *p, size_t n, struct tls_server_hello *sh)
{
	struct cur c = cur_make(p, n);
	memset(sh, 0, sizeof *sh);
	sh->legacy_version = cur_u16(&c);
	const uint8_t *random = cur_bytes(&c, 32);
	sh->session_id_len = cur_u8(&c);
	sh->session_id = cur_bytes(&c, sh->session_id_len);
	if (sh->session_id_len > 32) sh->session_id = NULL, sh->session_id_len = 0; /* not a session to remember */
	sh->cipher = cur_u16(&c);
	cur_u8(&c); /* compression */
	if (!cur_ok(&c) || !random) return -1;
	sh->random = random;
	sh->hello_retry = memcmp(random, hrr_random, sizeof hrr_random) == 0;
	sh->selected_version = sh->legacy_version;
	if (!cur_left(&c)) return 0;
	struct ext_iter ext;
	if (!ext_begin(&c, &ext)) return -1;
	uint16_t type;
	struct cur e;
	while (ext_next(&ext, &type, &e)) {
		if (type == EXT_SUPPORTED_VERSIONS) {
			if (cur_left(&e) != 2) return -1;
			sh->selected_version = cur_u16(&e);
		} else if (type == EXT_ENCRYPT_THEN_MAC) {
			sh->encrypt_then_mac = true;
		} else if (type == EXT_PRE_SHARED_KEY) {
			sh->psk = true;
			cur_skip(&e, cur_left(&e)); /* selected_identity */
		}
		if (!cur_ok(&e)) return -1;
	}
	if (!ext_end_ok(&ext)) return -1;
	return 0;
}

int tls_msg_new_session_ticket(const uint8_t *p, size_t n, bool tls13, const uint8_t **ticket, size_t *len)
{
	struct cur c = cur_make(p, n);
	cur_skip(&c, 4); /* lifetime */
	if (tls13) {
		cur_skip(&c, 4); /* age_add */
		cur_skip(&c, cur_u8(&c)); /* nonce */
	}
	*len = cur_u16(&c);
	*ticket = cur_bytes(&c, *len);
	return cur_ok(&c) && *ticket ? 0 : -1;
}

/* ---- Certificate --------------------------------------------------------- */

static void add_cert(struct tls_scratch *s, struct x509_cache *xc, const uint8_t *der, size_t len,
		     struct tls_certificate *out)
{
	out->n_total++;
	if (out->n_certs >= s->max_certs) return; /* counted, not kept: the chain cap */
	struct x509_info *x = x509_get(xc, der, len);
	if (x) s->certs[out->n_certs++] = x;
}

/* Does the body look like the 1.2 layout (u24 list length == rest)? */
static bool looks_12(const uint8_t *p, size_t n)
{
	struct cur c = cur_make(p, n);
	uint32_t l = cur_u24(&c);
	return cur_ok(&c) && l == cur_left(&c);
}

static bool looks_13(const uint8_t *p, size_t n)
{
	struct cur c = cur_make(p, n);
	cur_skip(&c, cur_u8(&c));
	uint32_t l = cur_u24(&c);
	return cur_ok(&c) && l == cur_left(&c);
}

int tls_msg_certificate(struct tls_scratch *s, struct x509_cache *xc, const uint8_t *p, size_t n, int layout,
			struct tls_certificate *out)
{
	memset(out, 0, sizeof *out);
	out->certs = (struct x509_info *const *)s->certs;
	if (layout == TLS_LAYOUT_UNKNOWN) layout = !looks_12(p, n) && looks_13(p, n) ? TLS_LAYOUT_13 : TLS_LAYOUT_12;
	out->tls13 = layout == TLS_LAYOUT_13;
	struct cur c = cur_make(p, n);
	if (out->tls13) cur_skip(&c, cur_u8(&c)); /* certificate_request_context */
	uint32_t ll = cur_u24(&c);
	if (!cur_ok(&c)) return -1;
	struct cur list;
	if (ll > cur_left(&c)) {
		out->truncated = true;
		list = cur_sub(&c, cur_left(&c));
	} else {
		list = cur_sub(&c, ll);
	}
	while (cur_left(&list)) {
		uint32_t cl = cur_u24(&list);
		const uint8_t *der = cur_bytes(&list, cl);
		if (!der) {
			out->truncated = true;
			break;
		}
		add_cert(s, xc, der, cl, out);
		if (out->tls13) {
			uint16_t el = cur_u16(&list);
			if (!cur_skip(&list, el)) {
				out->truncated = true;
				break;
			}
		}
	}
	return 0;
}

void tls_msg_certificate_release(struct x509_cache *xc, struct tls_certificate *cert)
{
	for (size_t i = 0; i < cert->n_certs; i++) x509_unref(xc, cert->certs[i]);
	cert->n_certs = 0;
}

/* ---- CertificateRequest ---------------------------------------------------- */

static bool names_append(struct tls_scratch *s, const char *str, size_t len)
{
	if (s->n_names == s->name_slots) {
		size_t ns = s->name_slots ? s->name_slots * 2 : 16;
		size_t *o = realloc(s->name_off, ns * sizeof *o);
		if (!o) return false;
		s->name_off = o;
		const char **pp = realloc(s->name_ptr, ns * sizeof *pp);
		if (!pp) return false;
		s->name_ptr = pp;
		s->name_slots = ns;
	}
	if (s->names_len + len + 1 > s->names_cap) {
		size_t cap = s->names_cap ? s->names_cap : 1024;
		while (cap < s->names_len + len + 1) cap *= 2;
		char *a = realloc(s->names, cap);
		if (!a) return false;
		s->names = a;
		s->names_cap = cap;
	}
	s->name_off[s->n_names++] = s->names_len;
	if (len) memcpy(s->names + s->names_len, str, len);
	s->names_len += len;
	s->names[s->names_len++] = '\0';
	return true;
}

/* One DER-encoded DistinguishedName, printed RFC 2253 by OpenSSL. */
static void add_dn_openssl(struct tls_scratch *s, const uint8_t *der, size_t len)
{
	const unsigned char *q = der;
	X509_NAME *nm = len <= 0x7fffffff ? d2i_X509_NAME(NULL, &q, (long)len) : NULL;
	if (!nm) {
		char msg[64];
		int k = snprintf(msg, sizeof msg, "(undecodable name, %zu bytes)", len);
		names_append(s, msg, k > 0 ? (size_t)k : 0);
		return;
	}
	char *txt = dn_text(nm);
	names_append(s, txt ? txt : "", txt ? strlen(txt) : 0);
	free(txt);
	X509_NAME_free(nm);
}

/* add_dn_openssl through s->dn_memo: the text it appends, by DER. */
static void add_dn(struct tls_scratch *s, const uint8_t *der, size_t len)
{
	uint64_t h = ek_hash_bytes(der, len, 0);
	struct tls_dn_memo *m = &s->dn_memo[(h ^ (h >> 32)) % (sizeof s->dn_memo / sizeof s->dn_memo[0])];
	if (m->der && m->hash == h && m->der_len == len && memcmp(m->der, der, len) == 0) {
		names_append(s, m->txt, m->txt_len);
		return;
	}
	size_t before = s->n_names;
	add_dn_openssl(s, der, len);
	if (s->n_names != before + 1) return; /* out of memory: nothing to remember */
	const char *txt = s->names + s->name_off[before];
	size_t tl = s->names_len - 1 - s->name_off[before];
	uint8_t *d = malloc(len ? len : 1);
	char *t = malloc(tl ? tl : 1);
	if (!d || !t) {
		free(d);
		free(t);
		return;
	}
	free(m->der);
	free(m->txt);
	memcpy(d, der, len);
	memcpy(t, txt, tl);
	m->hash = h;
	m->der = d;
	m->der_len = len;
	m->txt = t;
	m->txt_len = tl;
}

/* DistinguishedName certificate_authorities<0..2^16-1>, each <1..2^16-1>. */
static void parse_ca_list(struct tls_scratch *s, struct cur *c)
{
	uint16_t len = cur_u16(c);
	struct cur l = cur_sub(c, len);
	while (cur_left(&l)) {
		uint16_t dl = cur_u16(&l);
		const uint8_t *der = cur_bytes(&l, dl);
		if (!der) break;
		add_dn(s, der, dl);
	}
	if (!cur_ok(&l)) cur_fail(c);
}

static int cr_parse(struct tls_scratch *s, const uint8_t *p, size_t n, int layout, struct tls_cert_request *out)
{
	struct cur c = cur_make(p, n);
	memset(out, 0, sizeof *out);
	s->n_names = 0;
	s->names_len = 0;
	if (layout == TLS_LAYOUT_13) {
		cur_skip(&c, cur_u8(&c)); /* certificate_request_context */
		struct ext_iter ext;
		if (!ext_begin(&c, &ext)) return -1;
		uint16_t type;
		struct cur e;
		while (ext_next(&ext, &type, &e)) {
			if (type == EXT_SIGNATURE_ALGORITHMS) {
				out->n_sigalgs = read_u16_list(&e, s->sigalgs, TLS_SCRATCH_SIGALGS);
				out->sigalgs = s->sigalgs;
			} else if (type == EXT_CERTIFICATE_AUTHORITIES) {
				parse_ca_list(s, &e);
			}
			if (!cur_ok(&e)) return -1;
		}
		if (!ext_end_ok(&ext)) return -1;
	} else {
		uint8_t nt = cur_u8(&c);
		out->cert_types = cur_bytes(&c, nt);
		out->n_cert_types = out->cert_types ? nt : 0;
		if (layout == TLS_LAYOUT_12) {
			out->n_sigalgs = read_u16_list(&c, s->sigalgs, TLS_SCRATCH_SIGALGS);
			out->sigalgs = s->sigalgs;
		}
		parse_ca_list(s, &c);
	}
	/* The whole body must be consumed: that is what tells the 1.1 and
	 * 1.2 layouts apart when the version is not known. */
	if (!cur_ok(&c) || cur_left(&c)) return -1;
	for (size_t i = 0; i < s->n_names; i++) s->name_ptr[i] = s->names + s->name_off[i];
	out->ca_names = s->name_ptr;
	out->n_ca_names = s->n_names;
	return 0;
}

int tls_msg_cert_request(struct tls_scratch *s, const uint8_t *p, size_t n, int layout, struct tls_cert_request *out)
{
	if (layout != TLS_LAYOUT_UNKNOWN) return cr_parse(s, p, n, layout, out);
	if (cr_parse(s, p, n, TLS_LAYOUT_12, out) == 0) return 0;
	return cr_parse(s, p, n, TLS_LAYOUT_11, out);
}

void tls_scratch_free(struct tls_scratch *s)
{
	for (size_t i = 0; i < sizeof s->dn_memo / sizeof s->dn_memo[0]; i++) {
		free(s->dn_memo[i].der);
		free(s->dn_memo[i].txt);
	}
	free(s->certs);
	free(s->names);
	free(s->name_off);
	free(s->name_ptr);
	memset(s, 0, sizeof *s);
}
