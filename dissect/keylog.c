/* NSS key log parsing and the store of secrets by client random (an open
 * addressing hash table of indices into an array of entries).  Every read
 * of the text goes through the cursor. */
#include "keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/hash.h"

#define KEYLOG_DEFAULT_MAX 1000000u
#define KEYLOG_MAX_LINE 1024u

struct tls_keylog {
	struct tls_keylog_entry *e;
	size_t n, cap, max;
	uint32_t *slot;      /* 0 empty, else index + 1 */
	size_t mask;         /* slots - 1 (slots a power of two), 0 before the first entry */
	struct tls_keylog_stats st;
	struct follow *fw;   /* tls_keylog_follow */
	size_t n_fw;
	int64_t refreshed_ms;
};

/* A key log file read again as it grows: from the end of its last
 * complete line; from the start when it shrank, was replaced, or was
 * truncated and rewritten past that point (the bytes before it changed). */
#define FOLLOW_TAIL 160 /* more than a secret: some of the line's random too */
struct follow {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t off;
	uint8_t tail[FOLLOW_TAIL]; /* the bytes before off */
	size_t tail_n;
};

static void follow_note_tail(struct follow *f, int fd)
{
	size_t n = f->off < FOLLOW_TAIL ? (size_t)f->off : FOLLOW_TAIL;
	ssize_t got = pread(fd, f->tail, n, f->off - (off_t)n);
	f->tail_n = got == (ssize_t)n ? n : 0;
}

static bool follow_tail_same(const struct follow *f, int fd)
{
	uint8_t now[FOLLOW_TAIL];
	if (!f->tail_n) return f->off == 0;
	return pread(fd, now, f->tail_n, f->off - (off_t)f->tail_n) == (ssize_t)f->tail_n &&
	       memcmp(now, f->tail, f->tail_n) == 0;
}

static const struct {
	const char *label;
	int kind;
	uint8_t min, max;    /* secret length in bytes */
} labels[] = {
	{ "CLIENT_RANDOM", TLS_SECRET_MASTER, 48, 48 },
	{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET", TLS_SECRET_CHTS, 16, TLS_KEYLOG_MAX_SECRET },
	{ "SERVER_HANDSHAKE_TRAFFIC_SECRET", TLS_SECRET_SHTS, 16, TLS_KEYLOG_MAX_SECRET },
	{ "CLIENT_TRAFFIC_SECRET_0", TLS_SECRET_CATS0, 16, TLS_KEYLOG_MAX_SECRET },
	{ "SERVER_TRAFFIC_SECRET_0", TLS_SECRET_SATS0, 16, TLS_KEYLOG_MAX_SECRET },
};

struct tls_keylog *tls_keylog_new(size_t max_entries)
{
	struct tls_keylog *k = calloc(1, sizeof *k);
	if (!k) return NULL;
	k->max = max_entries ? max_entries : KEYLOG_DEFAULT_MAX;
	if (k->max > UINT32_MAX - 1) k->max = UINT32_MAX - 1;
	return k;
}

void tls_keylog_free(struct tls_keylog *k)
{
	if (!k) return;
	for (size_t i = 0; i < k->n_fw; i++) free(k->fw[i].path);
	free(k->fw);
	free(k->e);
	free(k->slot);
	free(k);
}

static uint64_t hash_random(const uint8_t *r)
{
	return ek_hash_bytes(r, 32, 0);
}

static size_t find_slot(const struct tls_keylog *k, const uint8_t *random)
{
	size_t i = (size_t)hash_random(random) & k->mask;
	while (k->slot[i] && memcmp(k->e[k->slot[i] - 1].random, random, 32) != 0) i = (i + 1) & k->mask;
	return i;
}

static int grow_table(struct tls_keylog *k)
{
	size_t slots = k->mask ? (k->mask + 1) * 2 : 1024;
	uint32_t *ns = calloc(slots, sizeof *ns);
	if (!ns) return -1;
	uint32_t *old = k->slot;
	size_t old_slots = k->mask ? k->mask + 1 : 0;
	k->slot = ns;
	k->mask = slots - 1;
	for (size_t i = 0; i < old_slots; i++)
		if (old[i]) k->slot[find_slot(k, k->e[old[i] - 1].random)] = old[i];
	free(old);
	return 0;
}

/* The entry for random, created when missing (NULL: cap reached / no memory). */
static struct tls_keylog_entry *entry_for(struct tls_keylog *k, const uint8_t *random)
{
	if (k->mask) {
		size_t i = find_slot(k, random);
		if (k->slot[i]) return &k->e[k->slot[i] - 1];
	}
	if (k->n >= k->max) return NULL;
	if ((k->n + 1) * 2 > (k->mask ? k->mask + 1 : 0) && grow_table(k) != 0) return NULL;
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 64;
		if (nc > k->max) nc = k->max;
		struct tls_keylog_entry *ne = realloc(k->e, nc * sizeof *ne);
		if (!ne) return NULL;
		k->e = ne;
		k->cap = nc;
	}
	struct tls_keylog_entry *e = &k->e[k->n];
	memset(e, 0, sizeof *e);
	memcpy(e->random, random, 32);
	k->slot[find_slot(k, random)] = (uint32_t)(k->n + 1);
	k->n++;
	k->st.entries = k->n;
	return e;
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Hex digits up to the next blank or the end, into out (at most cap
 * bytes); the byte count, -1 when not an even run of hex digits. */
static int read_hex(struct cur *c, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (cur_left(c)) {
		uint8_t ch = cur_peek_u8(c, 0);
		if (ch == ' ' || ch == '\t') break;
		int hi = hexval(cur_u8(c));
		int lo = cur_left(c) ? hexval(cur_u8(c)) : -1;
		if (hi < 0 || lo < 0 || n >= cap) return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n ? (int)n : -1;
}

static void skip_blanks(struct cur *c)
{
	while (cur_left(c) && (cur_peek_u8(c, 0) == ' ' || cur_peek_u8(c, 0) == '\t')) cur_skip(c, 1);
}

/* One line (without its newline). */
static void parse_line(struct tls_keylog *k, const uint8_t *p, size_t n)
{
	struct cur c = cur_make(p, n);
	k->st.lines++;
	/* trailing CR / blanks */
	while (n && (cur_peek_u8(&c, n - 1) == '\r' || cur_peek_u8(&c, n - 1) == ' ' || cur_peek_u8(&c, n - 1) == '\t'))
		n--;
	c = cur_make(p, n);
	skip_blanks(&c);
	if (!cur_left(&c) || cur_peek_u8(&c, 0) == '#') return;

	char label[40];
	size_t ll = 0;
	bool label_ok = true;
	while (cur_left(&c)) {
		uint8_t ch = cur_peek_u8(&c, 0);
		if (ch == ' ' || ch == '\t') break;
		cur_skip(&c, 1);
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) label_ok = false;
		if (ll < sizeof label - 1) label[ll++] = (char)ch;
		else label_ok = false;
	}
	label[ll] = '\0';
	if (!label_ok || !ll) {
		k->st.malformed++;
		return;
	}
	int which = -1;
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(label, labels[i].label) == 0) which = (int)i;
	if (which < 0) {
		k->st.ignored++;
		return;
	}
	uint8_t random[32], secret[TLS_KEYLOG_MAX_SECRET];
	skip_blanks(&c);
	int rl = read_hex(&c, random, sizeof random);
	skip_blanks(&c);
	int sl = read_hex(&c, secret, sizeof secret);
	skip_blanks(&c);
	if (rl != 32 || sl < labels[which].min || sl > labels[which].max || cur_left(&c)) {
		k->st.malformed++;
		return;
	}
	struct tls_keylog_entry *e = entry_for(k, random);
	if (!e) {
		k->st.dropped++;
		return;
	}
	int kind = labels[which].kind;
	memcpy(e->secret[kind], secret, (size_t)sl);
	e->len[kind] = (uint8_t)sl;
	e->have = (uint8_t)(e->have | 1u << kind);
	k->st.secrets++;
}

/* Line splitter over chunks: a line longer than KEYLOG_MAX_LINE is
 * malformed (skipped up to its newline). */
struct splitter {
	uint8_t line[KEYLOG_MAX_LINE];
	size_t have;
	bool overlong;
};

static void split_feed(struct tls_keylog *k, struct splitter *s, const uint8_t *p, size_t n)
{
	struct cur c = cur_make(p, n);
	while (cur_left(&c)) {
		const uint8_t *rest = cur_rest(&c);
		const uint8_t *nl = memchr(rest, '\n', cur_left(&c));
		size_t len = nl ? (size_t)(nl - rest) : cur_left(&c);
		const uint8_t *seg = cur_bytes(&c, len);
		if (nl) cur_skip(&c, 1);
		if (!s->overlong) {
			if (s->have + len > sizeof s->line) {
				s->overlong = true;
			} else if (nl && s->have == 0) {
				parse_line(k, seg, len); /* whole line in the chunk: no copy */
			} else {
				if (len) memcpy(s->line + s->have, seg, len);
				s->have += len;
				if (nl) {
					parse_line(k, s->line, s->have);
					s->have = 0;
				}
			}
		}
		if (nl && s->overlong) {
			k->st.lines++;
			k->st.malformed++;
			s->overlong = false;
			s->have = 0;
		}
	}
}

static void split_end(struct tls_keylog *k, struct splitter *s)
{
	if (s->overlong) {
		k->st.lines++;
		k->st.malformed++;
	} else if (s->have) {
		parse_line(k, s->line, s->have);
	}
	s->have = 0;
	s->overlong = false;
}

int tls_keylog_add_text(struct tls_keylog *k, const char *text, size_t n)
{
	if (!k) return -1;
	struct splitter *s = calloc(1, sizeof *s);
	if (!s) return -1;
	split_feed(k, s, (const uint8_t *)text, text ? n : 0);
	split_end(k, s);
	free(s);
	return 0;
}

int tls_keylog_add_file(struct tls_keylog *k, const char *path, char *err, size_t errn)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct splitter *s = calloc(1, sizeof *s);
	uint8_t *buf = malloc(65536);
	if (!s || !buf) {
		free(s);
		free(buf);
		fclose(fp);
		snprintf(err, errn, "%s: out of memory", path);
		return -1;
	}
	size_t got;
	while ((got = fread(buf, 1, 65536, fp)) > 0) split_feed(k, s, buf, got);
	int rc = 0;
	if (ferror(fp)) {
		snprintf(err, errn, "%s: read error", path);
		rc = -1;
	} else {
		split_end(k, s);
	}
	free(s);
	free(buf);
	fclose(fp);
	return rc;
}

const struct tls_keylog_entry *tls_keylog_find(const struct tls_keylog *k, const uint8_t *random)
{
	if (!k || !k->n || !random) return NULL;
	size_t i = find_slot(k, random);
	return k->slot[i] ? &k->e[k->slot[i] - 1] : NULL;
}

size_t tls_keylog_count(const struct tls_keylog *k)
{
	return k ? k->n : 0;
}

void tls_keylog_get_stats(const struct tls_keylog *k, struct tls_keylog_stats *out)
{
	if (k) *out = k->st;
	else memset(out, 0, sizeof *out);
}

/* The complete lines of f from f->off on. */
static void follow_read(struct tls_keylog *k, struct follow *f, int fd)
{
	uint8_t buf[16384];
	for (;;) {
		ssize_t got = pread(fd, buf, sizeof buf, f->off);
		if (got <= 0) return;
		struct cur c = cur_make(buf, (size_t)got);
		size_t take = (size_t)got; /* up to and with the last newline */
		while (take && cur_peek_u8(&c, take - 1) != '\n') take--;
		if (!take) {
			/* a line longer than the buffer: malformed anyway */
			if ((size_t)got == sizeof buf) f->off += got;
			return;
		}
		struct splitter sp = { .have = 0 };
		split_feed(k, &sp, buf, take);
		f->off += (off_t)take;
		follow_note_tail(f, fd);
		if (take < (size_t)got) return; /* a line still being written */
	}
}

int tls_keylog_follow(struct tls_keylog *k, const char *path)
{
	struct follow *nf = realloc(k->fw, (k->n_fw + 1) * sizeof *nf);
	if (!nf) return -1;
	k->fw = nf;
	struct follow *f = &k->fw[k->n_fw];
	memset(f, 0, sizeof *f);
	if (!(f->path = strdup(path))) return -1;
	struct stat sb;
	int fd = open(path, O_RDONLY);
	if (fd >= 0 && fstat(fd, &sb) == 0) {
		f->dev = sb.st_dev;
		f->ino = sb.st_ino;
		/* where its complete lines end: what was read already */
		uint8_t c;
		for (off_t o = sb.st_size; o > 0; o--)
			if (pread(fd, &c, 1, o - 1) == 1 && c == '\n') {
				f->off = o;
				break;
			}
		follow_note_tail(f, fd);
	}
	if (fd >= 0) close(fd);
	k->n_fw++;
	return 0;
}

int tls_keylog_refresh(struct tls_keylog *k)
{
	if (!k || !k->n_fw) return 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (k->refreshed_ms && now - k->refreshed_ms < TLS_KEYLOG_REFRESH_MS) return 0;
	k->refreshed_ms = now;
	uint64_t before = k->st.secrets;
	for (size_t i = 0; i < k->n_fw; i++) {
		struct follow *f = &k->fw[i];
		int fd = open(f->path, O_RDONLY);
		struct stat sb;
		if (fd < 0) continue; /* gone for now: it may be written again */
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (sb.st_dev != f->dev || sb.st_ino != f->ino || sb.st_size < f->off || !follow_tail_same(f, fd)) {
				/* replaced or truncated (the client restarted): from the start */
				f->dev = sb.st_dev;
				f->ino = sb.st_ino;
				f->off = 0;
				f->tail_n = 0;
			}
			if (sb.st_size > f->off) follow_read(k, f, fd);
		}
		close(fd);
	}
	return k->st.secrets > before;
}
