#include "out_timeline_csv.h"

#include "../common/connid.h"

#include <stdlib.h>
#include <string.h>

#include "../common/decimal.h"
#include "../common/netaddr.h"
#include "cert_columns.h"
#include "findings_table.h"

static const char *const columns[] = {
	"file", "frame", "time", "conn", "client", "server", "sender", "version", "event", "detail",
	"cert_index", "cert_serial", "cert_subject", "cert_issuer", "cert_eku", "cert_not_before",
	"cert_not_after", "cert_sha256", "findings",
};

/* The certificate columns (serial ... sha256) of a certificate, escaped
 * once: the same few certificates fill most certificate rows.  Keyed by
 * the SHA-256 of the DER, which decides every one of those columns; a
 * slot keeps its buffer for the next certificate. */
#define CERT_SLOTS 256
struct cert_frag {
	uint8_t sha256[32];
	bool set;
	struct ek_str text;     /* ",serial,subject,issuer,eku,not_before,not_after,sha256" (cert_columns) */
};

/* The escaped "sender,version,event," of a row, by the three static
 * strings' addresses (row.h says they are static): a few dozen
 * combinations fill a file, so one look-up a row. */
#define KIND_SLOTS 128
#define KIND_MAX 128
#define PRE_MAX 256
struct kind_memo {
	const char *sender, *version, *event;
	size_t len;
	char text[KIND_MAX + 32];   /* copy32 reads past the text */
};

struct tcsv {
	struct csv_out *o;
	const char *file;           /* the last file name and its escaped field */
	char *file_esc;             /* with 64 bytes to spare (copy32) */
	size_t file_len;
	int64_t ts_sec;             /* the last time's text up to the '.' */
	bool ts_ok;
	size_t ts_plen;
	char ts_prefix[64];         /* 64 bytes: copy32 reads past the text */
	struct cert_frag certs[CERT_SLOTS];
	struct kind_memo kinds[KIND_SLOTS];
	/* The last row's columns file .. server as written, and what they
	 * were made from: half the rows repeat them (several messages, or a
	 * chain's certificates, in one packet). */
	bool pre_ok;
	const char *pre_file;
	uint64_t pre_frame, pre_conn;
	struct ek_time pre_ts;
	uint8_t pre_client_len, pre_server_len;
	size_t pre_client_off, pre_server_off; /* where their texts are in pre */
	size_t pre_len;
	char pre[PRE_MAX + 64];     /* 64 bytes: copy32 reads past the text */
};

static void tcsv_free(void *p)
{
	struct tcsv *w = p;
	free(w->file_esc);
	for (size_t i = 0; i < CERT_SLOTS; i++) ek_str_free(&w->certs[i].text);
	free(w);
}

/* n bytes of s at o, 32 at a time (most pieces are under 32 bytes: one
 * step): s with n rounded up to 32 readable bytes (the buffers here keep
 * 64 to spare), o with 32 bytes of room past n. */
static inline char *copy32(char *o, const char *s, size_t n)
{
	size_t i = 0;
	do {
		memcpy(o + i, s + i, 32);
		i += 32;
	} while (i < n);
	return o + n;
}

/* The time column at o (room for 8 * EK_TIME_STRLEN bytes). */
static char *put_time(struct tcsv *w, char *o, struct ek_time ts)
{
	uint32_t us = ts.nsec / 1000u;
	if (!w->ts_ok || w->ts_sec != ts.sec || us > 999999u) {
		char s[EK_TIME_STRLEN];
		ek_time_str(ts, s, sizeof s);
		size_t len = strlen(s);
		w->ts_ok = us <= 999999u && len >= 8 && len < EK_TIME_STRLEN && s[len - 8] == '.' &&
			   s[len - 1] == 'Z' && s[0] >= '0' && s[0] <= '9';
		if (w->ts_ok) {
			w->ts_sec = ts.sec;
			w->ts_plen = len - 8;
			memcpy(w->ts_prefix, s, w->ts_plen);
		}
		return csv_escape_to(o, s, len);
	}
	/* ek_time_str's text for another microsecond of the same second:
	 * digits first, nothing to escape */
	o = copy32(o, w->ts_prefix, w->ts_plen);
	*o++ = '.';
	o = ek_put_6digits(o, us);
	*o = 'Z';
	return o + 1;
}

__attribute__((noinline)) static const struct kind_memo *kind_memo_new(struct kind_memo *m, const struct row *r)
{
	const char *f[3] = { r->sender, r->version, r->event };
	char t[3 * (8 * 32 + 9)], *o = t;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(f[i]);
		if (n >= 32) return NULL;
		o = csv_escape_to(o, f[i], n);
		*o++ = ',';
	}
	size_t len = (size_t)(o - t);
	if (len > KIND_MAX) return NULL;
	memcpy(m->text, t, len);
	m->len = len;
	m->sender = r->sender;
	m->version = r->version;
	m->event = r->event;
	return m;
}

/* The row's memo, or NULL for a name of 32 bytes or more (then escaped
 * in place).  A combination looks in 4 neighbouring slots (two that
 * share a slot would otherwise push each other out row after row). */
static inline const struct kind_memo *kind_memo(struct tcsv *w, const struct row *r)
{
	uint64_t h = (uint64_t)(uintptr_t)r->sender * 0x9E3779B97F4A7C15ull ^
		     (uint64_t)(uintptr_t)r->version * 0xC2B2AE3D27D4EB4Full ^
		     (uint64_t)(uintptr_t)r->event * 0x165667B19E3779F9ull;
	size_t i = (size_t)(h >> 57); /* 128 slots */
	for (size_t k = 0; k < 4; k++) {
		struct kind_memo *m = &w->kinds[(i + k) % KIND_SLOTS];
		if (m->event == r->event && m->sender == r->sender && m->version == r->version) return m;
		if (!m->event) return kind_memo_new(m, r);
	}
	return kind_memo_new(&w->kinds[i], r);
}

static inline size_t kind_max(const struct kind_memo *m, const struct row *r)
{
	if (__builtin_expect(m != NULL, 1)) return m->len;
	return 8 * (strlen(r->sender) + strlen(r->version) + strlen(r->event)) + 27;
}

__attribute__((noinline)) static char *put_kind_slow(char *o, const struct row *r)
{
	o = csv_escape_to(o, r->sender, strlen(r->sender));
	*o++ = ',';
	o = csv_escape_to(o, r->version, strlen(r->version));
	*o++ = ',';
	o = csv_escape_to(o, r->event, strlen(r->event));
	*o++ = ',';
	return o;
}

static inline char *put_kind(char *o, const struct kind_memo *m, const struct row *r)
{
	return __builtin_expect(m != NULL, 1) ? copy32(o, m->text, m->len) : put_kind_slow(o, r);
}

static const struct cert_frag *cert_frag(struct tcsv *w, const struct x509_info *c)
{
	struct cert_frag *f = &w->certs[(c->sha256[0] | (unsigned)c->sha256[1] << 8) % CERT_SLOTS];
	if (f->set && memcmp(f->sha256, c->sha256, sizeof f->sha256) == 0) return f;
	ek_str_clear(&f->text);
	f->text.oom = false;
	cert_columns(&f->text, c, CERT_COLS_TIMELINE);
	f->set = !f->text.oom && f->text.s;
	if (!f->set) return NULL;
	memcpy(f->sha256, c->sha256, sizeof f->sha256);
	return f;
}

/* The escaped file name, kept while rows name the same file. */
static bool file_field(struct tcsv *w, const char *file)
{
	if (file == w->file && w->file_esc) return true;
	free(w->file_esc);
	size_t n = strlen(file);
	w->file = file;
	w->file_esc = malloc(8 * n + 8 + 64);
	if (!w->file_esc) return false;
	w->file_len = (size_t)(csv_escape_to(w->file_esc, file, n) - w->file_esc);
	return true;
}

/* The row formatted in one piece in the output buffer. */
static void write_row(void *ctx, const struct row *r)
{
	struct tcsv *w = ctx;
	const struct kind_memo *k = kind_memo(w, r);
	bool cert = r->cert_index >= 0 && r->cert;
	const struct cert_frag *f = cert ? cert_frag(w, r->cert) : NULL;
	if (!file_field(w, r->file) || (cert && !f)) {
		csv_out_fail(w->o); /* out of memory: the file is reported as not written */
		return;
	}
	size_t max = w->file_len + 8 * EK_TIME_STRLEN + 3 * 24 + r->client_len + r->server_len +
		     kind_max(k, r) +
		     8 * (size_t)r->detail_len + 8 + (f ? f->text.len : 0) + ROW_FINDINGS_LEN + 32 + 64;
	char *o = csv_out_row_reserve(w->o, max);
	if (!o) return;
	/* Short pieces are copied 32 bytes at a time from buffers that have
	 * them (the reserve has room for the overshoot): no calls. */
	if (w->pre_ok && r->frame == w->pre_frame && r->conn == w->pre_conn && r->file == w->pre_file &&
	    r->ts.sec == w->pre_ts.sec && r->ts.nsec == w->pre_ts.nsec && r->client_len == w->pre_client_len &&
	    r->server_len == w->pre_server_len && memcmp(r->client, w->pre + w->pre_client_off, r->client_len) == 0 &&
	    memcmp(r->server, w->pre + w->pre_server_off, r->server_len) == 0) {
		o = copy32(o, w->pre, w->pre_len);
	} else {
		char *start = o;
		o = copy32(o, w->file_esc, w->file_len);
		*o++ = ',';
		o = ek_put_u64(o, (unsigned long long)r->frame);
		*o++ = ',';
		o = put_time(w, o, r->ts);
		*o++ = ',';
		if (r->conn & EK_CONN_UDP) *o++ = 'u'; /* a UDP flow: "u" + udp.stream */
		o = ek_put_u64(o, (unsigned long long)(r->conn & ~EK_CONN_UDP));
		/* "ip:port" / "[v6]:port": digits, dots, colons, brackets (ep_text.s: 64 bytes) */
		*o++ = ',';
		size_t client_off = (size_t)(o - start);
		o = copy32(o, r->client, r->client_len);
		*o++ = ',';
		size_t server_off = (size_t)(o - start);
		o = copy32(o, r->server, r->server_len);
		*o++ = ',';
		w->pre_len = (size_t)(o - start);
		w->pre_ok = w->pre_len <= PRE_MAX;
		if (w->pre_ok) {
			copy32(w->pre, start, w->pre_len); /* the reserve is readable past o */
			w->pre_file = r->file;
			w->pre_frame = r->frame;
			w->pre_conn = r->conn;
			w->pre_ts = r->ts;
			w->pre_client_len = r->client_len;
			w->pre_server_len = r->server_len;
			w->pre_client_off = client_off;
			w->pre_server_off = server_off;
		}
	}
	o = put_kind(o, k, r);
	if (r->detail_len) o = csv_escape_to(o, r->detail, r->detail_len); /* most rows have none */
	*o++ = ',';
	if (f) {
		o = ek_put_u64(o, (unsigned long long)r->cert_index); /* >= 0 here */
		memcpy(o, f->text.s, f->text.len);
		o += f->text.len;
	} else {
		memset(o, ',', 7);
		o += 7;
	}
	*o++ = ',';
	/* finding codes: [a-z_] joined by ';' */
	for (size_t i = 0; i < r->n_findings; i++) {
		const char *name = finding_def((enum finding_code)r->findings[i])->name;
		size_t l = strlen(name);
		if (i) *o++ = ';';
		memcpy(o, name, l);
		o += l;
	}
	*o++ = '\n';
	csv_out_row_commit(w->o, o);
}

bool timeline_csv_writer(struct csv_out *out, struct row_writer *rw)
{
	struct tcsv *w = calloc(1, sizeof *w);
	if (!w) return false;
	csv_out_row(out, columns, sizeof columns / sizeof columns[0]);
	w->o = out;
	csv_out_attach(out, w, tcsv_free);
	*rw = (struct row_writer){ w, write_row };
	return true;
}
