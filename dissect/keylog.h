/* dissect/: TLS secrets from NSS key log text (the SSLKEYLOGFILE format
 * that browsers, curl, OpenSSL's -keylogfile and Wireshark use), kept by
 * ClientHello random.
 *
 *   LABEL <client_random hex, 64 digits> <secret hex>
 *
 * Labels used: CLIENT_RANDOM (TLS <= 1.2 master secret, 48 bytes),
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0 (TLS 1.3, the hash
 * length of the suite).  Other labels (EXPORTER_SECRET, early-data
 * secrets, RSA pre-master lines ...) are counted as ignored; '#' lines and
 * blank lines are skipped; anything else that does not parse is counted as
 * malformed and skipped.  The store is bounded (max_entries client
 * randoms; lines longer than 1 KiB are malformed). */
#ifndef EK_KEYLOG_H
#define EK_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_KEYLOG_MAX_SECRET 64

enum tls_secret_kind {
	TLS_SECRET_CHTS,   /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
	TLS_SECRET_SHTS,   /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
	TLS_SECRET_CATS0,  /* CLIENT_TRAFFIC_SECRET_0 */
	TLS_SECRET_SATS0,  /* SERVER_TRAFFIC_SECRET_0 */
	TLS_SECRET_MASTER, /* CLIENT_RANDOM: the TLS <= 1.2 master secret */
	TLS_SECRET_N,
};

struct tls_keylog_entry {
	uint8_t random[32];
	uint8_t have;                      /* bit (1u << kind) per secret present */
	uint8_t len[TLS_SECRET_N];
	uint8_t secret[TLS_SECRET_N][TLS_KEYLOG_MAX_SECRET];
};

struct tls_keylog_stats {
	uint64_t lines;      /* lines read (comments and blank lines included) */
	uint64_t secrets;    /* secret lines stored */
	uint64_t ignored;    /* well-formed lines with a label that is not used */
	uint64_t malformed;  /* lines that do not parse */
	uint64_t dropped;    /* secrets not stored: the entry cap was reached */
	uint64_t entries;    /* distinct client randoms */
};

struct tls_keylog;

/* max_entries: client randoms kept (0: default 1,000,000). */
struct tls_keylog *tls_keylog_new(size_t max_entries);
void tls_keylog_free(struct tls_keylog *k);

/* Add the lines of key log text (any size; a last line without a newline
 * counts).  Returns 0, -1 when out of memory. */
int tls_keylog_add_text(struct tls_keylog *k, const char *text, size_t n);
/* Read a key log file.  -1 with a one-line reason in err when it cannot
 * be read. */
int tls_keylog_add_file(struct tls_keylog *k, const char *path, char *err, size_t errn);

/* The secrets for a ClientHello random (32 bytes), NULL when none.  Valid
 * until the store is changed (add) or freed. */
/* Following a key log that a client writes while the capture runs:
 * tls_keylog_follow(k, path) after reading it (tls_keylog_add_file)
 * remembers where its complete lines end; tls_keylog_refresh(k) reads the
 * complete lines appended since, of every followed file (a file that
 * shrank or was replaced is read from the start again), at most once per
 * TLS_KEYLOG_REFRESH_MS.  Refresh returns 1 when new secrets were stored
 * (entries found before may have moved: look them up again). */
#define TLS_KEYLOG_REFRESH_MS 100
int tls_keylog_follow(struct tls_keylog *k, const char *path);
int tls_keylog_refresh(struct tls_keylog *k);

const struct tls_keylog_entry *tls_keylog_find(const struct tls_keylog *k, const uint8_t *random);
size_t tls_keylog_count(const struct tls_keylog *k);
void tls_keylog_get_stats(const struct tls_keylog *k, struct tls_keylog_stats *out);

#endif
