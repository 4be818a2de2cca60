/* capture/ internal: a pcapng block reader of our own (libpcap 1.10 refuses
 * files whose interfaces have different link types, and skips Decryption
 * Secrets Blocks).  Reads SHB (several sections, either byte order), IDB
 * (link type, snaplen, if_tsresol, if_tsoffset), EPB, SPB, the obsolete PB
 * and DSB; every other block (NRB, ISB, custom, unknown) is skipped.
 * Every byte of a block is read through the cursor (common/cursor.h). */
#ifndef EK_CAPTURE_PCAPNG_H
#define EK_CAPTURE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dz;
struct png;

struct png_pkt {
	const uint8_t *data;     /* valid until the next png_next */
	uint32_t caplen, len;
	int64_t sec;             /* with the interface's if_tsoffset */
	uint32_t nsec;
	int linktype;            /* LINKTYPE_ value of its interface's IDB */
	uint32_t snaplen;        /* of its interface (0: none) */
};

/* Called with the text of every Decryption Secrets Block of type TLSK
 * (NSS key log lines), where it is in the file. */
typedef void (*png_secrets_fn)(void *ctx, const uint8_t *text, size_t len);

/* head: bytes already taken from in (at least the block type of the
 * first SHB).  NULL when out of memory. */
struct png *png_open(struct dz *in, const uint8_t *head, size_t head_len);
/* The file starts with a whole Section Header Block (read, not consumed);
 * false with the reason in err: not a capture then. */
bool png_start(struct png *r, char *err, size_t errn);
void png_set_secrets(struct png *r, png_secrets_fn fn, void *ctx);

enum png_rc { PNG_PACKET, PNG_RECORD, PNG_EOF, PNG_BAD, PNG_IOERR };

/* The next packet.  PNG_RECORD: a block that is no packet but that
 * Wireshark numbers as a frame (custom block, systemd journal entry,
 * sysdig event): it takes a frame number, p is not set.  PNG_BAD: the file ends inside a block or a block is
 * corrupt; err says which and where (byte offset), and nothing after it
 * is read.  PNG_IOERR: a read error (errno in err). */
enum png_rc png_next(struct png *r, struct png_pkt *p, char *err, size_t errn);

/* Only the secrets are wanted: packet blocks are checked for their
 * framing only and png_next returns PNG_EOF at the end. */
void png_skip_packets(struct png *r, bool skip);

uint64_t png_offset(const struct png *r); /* bytes of the stream consumed */
void png_close(struct png *r);

#endif
