/* Shared by the libFuzzer targets: prototypes, a check that aborts (so
 * libFuzzer records the input), and helpers that read every byte of what
 * the dissector hands to its sink, so ASan sees any dangling pointer. */
#ifndef EK_FUZZ_COMMON_H
#define EK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/tls.h"
#include "dissect/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond)                                                                          \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* 10.0.0.last:port */
static inline void fz_set_ep(struct ek_endpoint *e, uint8_t last, uint16_t port)
{
	memset(e, 0, sizeof *e);
	e->addr.family = 4;
	e->addr.a[0] = 10;
	e->addr.a[3] = last;
	e->port = port;
}

/* Folded into a volatile so the reads are not optimised away. */
static volatile unsigned fz_sink_acc;

static inline void fz_touch(const void *p, size_t n)
{
	const volatile uint8_t *b = p;
	unsigned acc = 0;
	for (size_t i = 0; i < n; i++) acc += b[i];
	fz_sink_acc += acc;
}

static inline void fz_touch_str(const char *s)
{
	if (s) fz_touch(s, strlen(s) + 1);
}

/* Contract of x509.h: strings never NULL; x509 only when parsed. */
static inline void fz_touch_cert(const struct x509_info *x)
{
	FZ_CHECK(x != NULL);
	FZ_CHECK(x->serial_hex && x->subject && x->issuer && x->san && x->eku && x->key_usage);
	char hex[65];
	x509_sha256_hex(x, hex);
	FZ_CHECK(strlen(hex) == 64);
	FZ_CHECK(x->parsed || (!x->is_ca && !x->have_validity && !*x->subject));
	FZ_CHECK(x->refs > 0);
	fz_touch(x->sha256, sizeof x->sha256);
	fz_touch_str(x->serial_hex);
	fz_touch_str(x->subject);
	fz_touch_str(x->issuer);
	fz_touch_str(x->san);
	fz_touch_str(x->eku);
	fz_touch_str(x->key_usage);
}

/* Every pointer of a handshake event (valid during the callback). */
static inline void fz_touch_handshake(const struct tls_handshake *hs, size_t max_chain)
{
	if (hs->malformed) return;
	switch (hs->type) {
	case TLS_HS_CLIENT_HELLO: {
		const struct tls_client_hello *ch = &hs->u.ch;
		if (ch->n_versions) fz_touch(ch->versions, ch->n_versions * sizeof *ch->versions);
		if (ch->n_sigalgs) fz_touch(ch->sigalgs, ch->n_sigalgs * sizeof *ch->sigalgs);
		fz_touch_str(ch->sni);
		fz_touch_str(ch->alpn);
		FZ_CHECK(ch->random != NULL);
		fz_touch(ch->random, 32);
		break;
	}
	case TLS_HS_CERTIFICATE: {
		const struct tls_certificate *c = &hs->u.cert;
		FZ_CHECK(c->n_certs <= max_chain);
		for (size_t i = 0; i < c->n_certs; i++) fz_touch_cert(c->certs[i]);
		break;
	}
	case TLS_HS_CERTIFICATE_REQUEST: {
		const struct tls_cert_request *cr = &hs->u.cr;
		if (cr->n_cert_types) fz_touch(cr->cert_types, cr->n_cert_types);
		if (cr->n_sigalgs) fz_touch(cr->sigalgs, cr->n_sigalgs * sizeof *cr->sigalgs);
		for (size_t i = 0; i < cr->n_ca_names; i++) {
			FZ_CHECK(cr->ca_names[i] != NULL);
			fz_touch_str(cr->ca_names[i]);
		}
		break;
	}
	default:
		break;
	}
}

/* Order contract of tls.h: nothing after CONN_END, TLS-only events only
 * once the connection was recognised as TLS. */
struct fz_order {
	uint64_t id;
	unsigned ends;
	size_t max_chain;
};

static inline void fz_check_event(struct fz_order *o, const struct tls_event *ev)
{
	FZ_CHECK(ev->conn != NULL);
	FZ_CHECK(ev->conn->id == o->id);
	FZ_CHECK(o->ends == 0); /* CONN_END is the last event */
	fz_touch(ev->conn, sizeof *ev->conn);
	switch (ev->kind) {
	case TLS_EV_HANDSHAKE:
		FZ_CHECK(ev->conn->is_tls);
		fz_touch_handshake(&ev->u.hs, o->max_chain);
		break;
	case TLS_EV_CCS:
	case TLS_EV_ALERT:
	case TLS_EV_ENCRYPTED_HANDSHAKE:
		FZ_CHECK(ev->conn->is_tls);
		break;
	case TLS_EV_RECORD_INCOMPLETE:
		FZ_CHECK(ev->u.incomplete != NULL);
		fz_touch_str(ev->u.incomplete);
		break;
	case TLS_EV_DECRYPT_FAILED:
		FZ_CHECK(ev->conn->is_tls && ev->conn->keys && ev->u.decrypt.reason != NULL);
		fz_touch_str(ev->u.decrypt.reason);
		break;
	case TLS_EV_CONN_END:
		o->ends++;
		break;
	default:
		break;
	}
}

#endif
