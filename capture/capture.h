/* capture/: packets in, ordered TCP byte streams and UDP datagrams out.
 *
 * Reads capture files (pcap through libpcap, pcapng through its own block
 * reader; gzip, zstd or lz4 compressed or not) or a live interface, decodes the
 * link, IP, TCP and UDP layers, keeps a connection table keyed by 5-tuple
 * and reassembles each TCP direction; UDP flows (5-tuple, idle timeout)
 * hand their datagrams over as they are.  It knows nothing about TLS: whoever drives
 * it receives connection events and in-order byte chunks through a
 * struct cap_sink, and may tell it to stop tracking a connection.
 *
 * Errors come back as return values with text in a caller-owned errbuf;
 * nothing in capture/ prints. */
#ifndef EK_CAPTURE_H
#define EK_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../common/errbuf.h"
#include "../common/netaddr.h"

#define CAP_ERRBUF_SIZE EK_ERRBUF_SIZE

/* A TCP connection or UDP flow as the sink sees it.  Direction d means
 * packets sent by ep[d] to ep[1-d].  ep[0] is the sender of the
 * connection's first packet, except when that packet is a SYN-ACK (then
 * ep[0] is its receiver), so a connection with a handshake has the SYN
 * sender at ep[0].  TCP connections and UDP flows are numbered apart. */
struct cap_conn {
	uint64_t id;                /* 0-based in order of first packet: Wireshark's tcp.stream,
				     * or udp.stream for a UDP flow */
	bool udp;                   /* a UDP flow: data comes through cap_sink.datagram only */
	uint32_t file_index;
	struct ek_endpoint ep[2];
	int initiator;              /* 0 when a SYN (or SYN-ACK) identified the client, -1 unknown */
	void *user;                 /* the sink's per-connection state */
};

enum cap_flag { CAP_FLAG_FIN, CAP_FLAG_RST };

enum cap_end {
	CAP_END_CLOSED,    /* FIN both ways or RST, and quiet since */
	CAP_END_REUSED,    /* a new SYN reuses the 5-tuple */
	CAP_END_IDLE,      /* idle timeout */
	CAP_END_EVICTED,   /* table full: oldest connection evicted */
	CAP_END_EOF,       /* end of the input */
};

/* What the sink wants of a connection after a call about it.  CAP_IGNORE:
 * not its kind of traffic.  The connection stays in the table so its id
 * is kept; no more data, gap or flag calls are made for it, and conn_end
 * follows once the current packet is handled. */
enum cap_verdict { CAP_KEEP, CAP_IGNORE };

struct cap_sink {
	void *ctx;
	/* First packet of a new connection. */
	enum cap_verdict (*conn_open)(void *ctx, struct cap_conn *c, const struct ek_pktref *p);
	/* In-order bytes of direction dir.  p is the packet whose arrival made
	 * them contiguous (the frame Wireshark reports a message in). */
	enum cap_verdict (*data)(void *ctx, struct cap_conn *c, int dir, const uint8_t *bytes, size_t len,
				 const struct ek_pktref *p);
	/* `missing` bytes of direction dir were never captured (0 = unknown
	 * amount); the next data call for dir continues after the hole.  p is
	 * the first packet after the hole (or the one that closed the
	 * connection / ended the capture). */
	void (*gap)(void *ctx, struct cap_conn *c, int dir, uint64_t missing, const struct ek_pktref *p);
	/* FIN or RST sent by ep[dir], after any data that packet carried. */
	void (*flag)(void *ctx, struct cap_conn *c, int dir, enum cap_flag f, const struct ek_pktref *p);
	/* Last call for c: pending holes were reported, c->user must be freed. */
	void (*conn_end)(void *ctx, struct cap_conn *c, enum cap_end why, const struct ek_pktref *p);
	/* One UDP datagram of flow c sent by ep[dir]: the captured caplen
	 * bytes of a payload of len bytes (len > caplen: the snapshot length
	 * cut it).  UDP flows get conn_open, datagram and conn_end calls only
	 * (a flow ends at the idle timeout or the end of the input). */
	enum cap_verdict (*datagram)(void *ctx, struct cap_conn *c, int dir, const uint8_t *bytes, size_t caplen,
				     size_t len, const struct ek_pktref *p);
};

struct cap_opts {
	size_t max_conn_ooo_bytes;   /* out-of-order bytes buffered per direction (0: default 1 MiB) */
	size_t max_total_ooo_bytes;  /* across all connections (0: default 64 MiB) */
	size_t max_conns;            /* tracked connections (0: default 1,000,000; the CLI derives it from --max-memory) */
	uint32_t idle_timeout_sec;   /* (0: default 600) */
	bool read_ahead;             /* files: read (and decompress) on a thread of their own */
};

struct cap_stats {
	uint64_t packets;            /* frames read */
	uint64_t bytes;              /* captured bytes read */
	uint64_t tcp_packets;
	uint64_t udp_packets;        /* UDP datagrams (counted in not_tcp too) */
	uint64_t udp_flows;          /* UDP flows seen (not in conns) */
	uint64_t not_ip;             /* frames with no IPv4/IPv6 (ARP, other link types ...) */
	uint64_t not_tcp;            /* IP packets that are not TCP */
	uint64_t ip_fragments;       /* IPv4/IPv6 fragments read */
	uint64_t ip_datagrams;       /* ... datagrams reassembled from them */
	uint64_t ip_frag_overlaps;   /* fragments overlapping bytes already held (first copy kept) */
	uint64_t ip_frag_dropped;    /* datagrams never completed (timeout, budget, snaplen cut, end of input) */
	uint64_t snaplen_cut;        /* frames whose TCP payload was cut by the snapshot length */
	uint64_t malformed;          /* frames whose headers could not be decoded */
	uint64_t oom;                /* frames skipped: no memory for their connection */
	uint64_t conns;              /* connections seen */
	uint64_t conns_evicted;
	uint64_t gaps;               /* holes reported */
	uint64_t gap_bytes;          /* bytes known to be missing */
	uint64_t ooo_overflow;       /* times an out-of-order cap forced a hole */
	bool truncated;              /* the file ended in the middle of a packet record */
	char truncated_msg[CAP_ERRBUF_SIZE];
	/* Live capture only (pcap_stats). */
	bool have_pcap_stats;
	uint64_t ps_recv, ps_drop, ps_ifdrop;
};

struct cap_reader;

/* Open a capture file ("-" for stdin).  On failure returns NULL with a
 * one-line reason in errbuf. */
struct cap_reader *cap_open_file(const char *path, uint32_t file_index, const struct cap_opts *o,
				 const struct cap_sink *sink, char errbuf[CAP_ERRBUF_SIZE]);

/* Read every packet, calling the sink.  Returns 0 when the input was
 * read to its end (possibly truncated: see stats), -1 on a read error
 * (errbuf says why).  All connections are ended (CAP_END_EOF) before it
 * returns. */
int cap_run(struct cap_reader *r, char errbuf[CAP_ERRBUF_SIZE]);

/* Live capture on an interface ("any": all).  The kernel packs packets
 * into buffer blocks and hands each over when full or at most
 * CAP_LIVE_LATENCY_MS after its first packet.  Frames are numbered in the
 * order captured (as in the -w file). */
#define CAP_MAX_SNAPLEN 262144     /* libpcap's MAXIMUM_SNAPLEN */
#define CAP_DEFAULT_SNAPLEN CAP_MAX_SNAPLEN /* whole packets: certificate chains span many */
#define CAP_DEFAULT_BUFFER_KIB 32768 /* kernel buffer: 0.25 s of 1 Gbit/s */
#define CAP_LIVE_LATENCY_MS 100
struct cap_live_opts {
	const char *iface;
	int snaplen;                 /* 0: CAP_DEFAULT_SNAPLEN */
	bool promisc;
	int buffer_kib;              /* -B: kernel buffer; 0: CAP_DEFAULT_BUFFER_KIB */
};
struct cap_reader *cap_open_live(const struct cap_live_opts *lo, uint32_t file_index, const struct cap_opts *o,
				 const struct cap_sink *sink, char errbuf[CAP_ERRBUF_SIZE]);

/* BPF filter (libpcap syntax).  On files it is applied after numbering,
 * so frames keep the numbers Wireshark shows for the whole file.  -1 with
 * libpcap's message in errbuf. */
int cap_set_filter(struct cap_reader *r, const char *bpf, char errbuf[CAP_ERRBUF_SIZE]);
/* Save every packet that passes the filter to pcap evidence files (-w),
 * rotated as tcpdump's -C, -W and -G do.  Live, each packet's ek_pktref
 * then names its evidence file (file_index = the reader's + the file's
 * index, see `opened`) and its frame number inside that file. */
struct cap_evidence {
	const char *path;            /* -w FILE (with seconds: a strftime pattern) */
	uint64_t max_bytes;          /* -C: a new file once this one holds more (0: never) */
	uint32_t ring;               /* -W: with max_bytes, a ring of this many names; with seconds, stop after them */
	uint32_t seconds;            /* -G: a new file every this many seconds (0: never) */
	/* Before each file is opened (the first too): the index its packets
	 * carry (relative to the reader's file_index) and its name.  -1 with
	 * err refuses it: the capture ends with that error. */
	int (*opened)(void *ctx, uint32_t index, const char *path, char *err, size_t errn);
	void *ctx;
};
int cap_write_to(struct cap_reader *r, const struct cap_evidence *ev, char errbuf[CAP_ERRBUF_SIZE]);
/* The name of the evidence file number `count` (of the run, or of the -G
 * window starting at `when`), as tcpdump makes it: FILE, FILE1, FILE2...;
 * with -C and -W N the number padded to the digits of N - 1 (FILE0 ...);
 * with -G FILE through strftime.  -1 when empty or longer than n. */
int cap_evidence_name(const struct cap_evidence *ev, uint32_t count, time_t when, char *buf, size_t n);
/* Stop by itself after max_packets (that pass the filter) or max_seconds
 * of wall time; 0 = no limit. */
void cap_set_limits(struct cap_reader *r, uint64_t max_packets, uint64_t max_seconds);
/* Live: fn(ctx) is called when no packet is waiting (the end of a batch)
 * and at least every CAP_LIVE_LATENCY_MS while packets keep coming, so
 * outputs can be written in batches yet never lag.  The -w file is
 * flushed at the same points. */
void cap_set_flush(struct cap_reader *r, void (*fn)(void *ctx), void *ctx);
/* Ask cap_run to finish (async-signal-safe: for SIGINT/SIGTERM/SIGHUP). */
void cap_stop(struct cap_reader *r);
/* Interfaces libpcap can capture on. */
int cap_list_interfaces(void (*fn)(void *ctx, const char *name, const char *desc), void *ctx,
			char errbuf[CAP_ERRBUF_SIZE]);

const struct cap_stats *cap_get_stats(const struct cap_reader *r);
/* Live: libpcap's counters (ps_*) as of now, for a status line. */
const struct cap_stats *cap_live_stats(struct cap_reader *r);

/* Optional progress reports for a file being read: fn is called from
 * cap_run every `every` packets (0: 65536) and once at the end, with the
 * bytes of the file consumed so far and the file's size (both 0 when not
 * known, e.g. a pipe).  fn NULL turns them off. */
typedef void (*cap_progress_fn)(void *ctx, uint64_t bytes_done, uint64_t bytes_total);
void cap_set_progress(struct cap_reader *r, cap_progress_fn fn, void *ctx, uint64_t every);
/* pcapng: fn gets the key log text (NSS format) of each Decryption
 * Secrets Block as cap_run meets it, before the packets that follow it. */
typedef void (*cap_secrets_fn)(void *ctx, const uint8_t *text, size_t len);
void cap_set_secrets(struct cap_reader *r, cap_secrets_fn fn, void *ctx);
/* With read_ahead: read on that thread (on) or on cap_run's (off), for
 * when cap_run's core has time to spare and the other has not.  Called
 * from cap_run's thread (its sink), any time. */
void cap_read_ahead(struct cap_reader *r, bool on);
/* Link type name (pcap_datalink_val_to_name) */
const char *cap_linktype(const struct cap_reader *r);
void cap_close(struct cap_reader *r);

#endif
