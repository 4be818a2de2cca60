/* capture/ internal: packet records out of a savefile (libpcap for classic
 * pcap, pcapng.c for pcapng, decompress.c underneath) or a live interface. */
#ifndef EK_CAPTURE_SOURCE_H
#define EK_CAPTURE_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

struct pcap_pkthdr;
struct src;

enum src_rc {
	SRC_PACKET,     /* *h and *data are valid until the next call */
	SRC_EOF,
	SRC_TRUNCATED,  /* the file ends inside a record: errbuf says where */
	SRC_ERROR,      /* errbuf says why */
	SRC_TIMEOUT,    /* live: no packet ready now (src_wait for one) */
	SRC_RECORD,     /* pcapng: a block Wireshark numbers as a frame, no packet */
};

/* How long the kernel may hold a packet in a partly filled buffer block
 * before handing it over (pcap_set_timeout), milliseconds. */
#define SRC_LIVE_BLOCK_MS 100

/* Open a live interface ("any" for all) for non-blocking reads of
 * TPACKET_V3 blocks (a kernel buffer of buffer_bytes) with nanosecond
 * timestamps where the platform has them.  NULL with a one-line reason in
 * errbuf (no such interface, no permission, ...). */
struct src *src_open_live(const char *iface, int snaplen, bool promisc, int buffer_bytes,
			  char errbuf[CAP_ERRBUF_SIZE]);
/* Live: wait up to ms milliseconds for packets (a signal ends it early). */
void src_wait(struct src *s, int ms);

/* A BPF filter (libpcap syntax).  Live: in the kernel.  Files: tested per
 * record with src_match(), so frame numbers still count every record.
 * -1 with libpcap's own message in errbuf. */
int src_set_filter(struct src *s, const char *expr, char errbuf[CAP_ERRBUF_SIZE]);
bool src_match(const struct src *s, const struct pcap_pkthdr *h, const uint8_t *data);

/* Also write every packet read (after the filter) to pcap evidence files
 * (rotate.h).  src_dump returns an enum rot_rc. */
int src_dump_open(struct src *s, const struct cap_evidence *ev, char errbuf[CAP_ERRBUF_SIZE]);
int src_dump(struct src *s, const struct pcap_pkthdr *h, const uint8_t *data, char errbuf[CAP_ERRBUF_SIZE]);
/* The index of the evidence file being written (0 without rotation). */
uint32_t src_dump_index(const struct src *s);
/* Write what src_dump buffered to the file. */
void src_dump_flush(struct src *s);

/* Make a blocked src_next return SRC_EOF soon (async-signal-safe). */
void src_break(struct src *s);
/* Live capture counters; false for files. */
bool src_stats(struct src *s, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop);
bool src_is_live(const struct src *s);

/* Names of the interfaces libpcap can capture on; fn is called for each. */
int src_list_interfaces(void (*fn)(void *ctx, const char *name, const char *desc), void *ctx,
			char errbuf[CAP_ERRBUF_SIZE]);

/* Open a pcap or pcapng file ("-": standard input), gzip, zstd or lz4
 * compressed or not (told by magic bytes), with nanosecond timestamps.
 * ahead: read it on a thread of its own (readahead.h; compressed input is
 * always decompressed on one).  NULL with "PATH: reason" in errbuf on
 * failure. */
struct src *src_open(const char *path, bool ahead, char errbuf[CAP_ERRBUF_SIZE]);

enum src_rc src_next(struct src *s, const struct pcap_pkthdr **h, const uint8_t **data,
		     char errbuf[CAP_ERRBUF_SIZE]);

/* pcap_datalink() of the file (-1 for pcapng: per interface) and its name. */
int src_dlt(const struct src *s);
/* The link type (DLT_) of the packet src_next returned last. */
int src_pkt_dlt(const struct src *s);
/* pcapng: fn gets the key log text of every Decryption Secrets Block
 * (TLSK) as the reader meets it. */
void src_set_secrets(struct src *s, void (*fn)(void *ctx, const uint8_t *text, size_t len), void *ctx);
const char *src_dlt_name(const struct src *s);

/* How far the file has been read (bytes) and its size; 0 and 0 when
 * that is not known (standard input, a pipe). */
void src_position(struct src *s, uint64_t *done, uint64_t *total);

/* Files: reading on the read-ahead thread (on, as opened) or on the
 * caller's (off); decompression stays on its thread. */
void src_read_ahead(struct src *s, bool on);
void src_close(struct src *s);

#endif
