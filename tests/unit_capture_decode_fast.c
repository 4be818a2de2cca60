/* capture/decode: the straight-line Ethernet/IPv4/TCP path against the
 * general decoder (every read through the cursor), on every frame of the
 * samples as captured, cut short at every length up to past the TCP
 * header, with each header byte changed, and with bytes missing from the
 * capture.  Wherever the fast path takes a frame, the general decoder must
 * say DEC_TCP with the same result.  Frames are exact-size heap copies, so
 * AddressSanitizer sees any read past them. */
#include <glob.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/decode_fast.h"
#include "check.h"

static unsigned long long n_fast, n_tried, n_mismatch;

static void one(const uint8_t *bytes, size_t caplen, size_t wirelen)
{
	uint8_t *f = malloc(caplen ? caplen : 1);
	if (!f) return;
	memcpy(f, bytes, caplen);
	struct dec_tcp fast, gen;
	memset(&fast, 0, sizeof fast);
	n_tried++;
	if (dec_fast_ether_ipv4_tcp(f, caplen, wirelen - caplen, &fast)) {
		n_fast++;
		enum dec_status st = dec_frame_general(DLT_EN10MB, f, caplen, wirelen, &gen, NULL);
		if (st != DEC_TCP || memcmp(&fast, &gen, sizeof gen) != 0) {
			if (n_mismatch++ < 5)
				fprintf(stderr, "fast path differs: caplen %zu wirelen %zu, general status %d\n", caplen,
					wirelen, (int)st);
		}
	}
	/* dec_frame is the two together */
	struct dec_tcp viaf;
	enum dec_status sf = dec_frame(DLT_EN10MB, f, caplen, wirelen, &viaf);
	enum dec_status sg = dec_frame_general(DLT_EN10MB, f, caplen, wirelen, &gen, NULL);
	if (sf != sg || (sf == DEC_TCP && memcmp(&viaf, &gen, sizeof gen) != 0)) {
		if (n_mismatch++ < 5) fprintf(stderr, "dec_frame %d, general %d (caplen %zu)\n", (int)sf, (int)sg, caplen);
	}
	free(f);
}

static void frame(const uint8_t *p, size_t caplen, size_t wirelen)
{
	one(p, caplen, wirelen);
	one(p, caplen, wirelen + 37); /* snaplen cut */
	size_t upto = caplen < 90 ? caplen : 90;
	for (size_t n = 0; n < upto; n++) {
		one(p, n, wirelen);
		one(p, n, n);
	}
	uint8_t m[128];
	size_t hn = caplen < sizeof m ? caplen : sizeof m;
	static const uint8_t flips[] = { 0x01, 0x0f, 0x40, 0x80, 0xff };
	for (size_t i = 12; i < hn && i < 74; i++) {
		for (size_t k = 0; k < sizeof flips; k++) {
			memcpy(m, p, hn);
			m[i] ^= flips[k];
			one(m, hn, wirelen);
		}
	}
}

int main(void)
{
	glob_t g;
	CHECK(glob("samples/*.pcap", 0, NULL, &g) == 0);
	size_t files = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char eb[PCAP_ERRBUF_SIZE];
		pcap_t *p = pcap_open_offline(g.gl_pathv[i], eb);
		CHECK(p != NULL);
		if (!p) continue;
		if (pcap_datalink(p) == DLT_EN10MB) {
			files++;
			struct pcap_pkthdr *h;
			const u_char *d;
			while (pcap_next_ex(p, &h, &d) == 1) frame(d, h->caplen, h->len);
		}
		pcap_close(p);
	}
	globfree(&g);
	printf("%zu Ethernet samples, %llu frames decoded, %llu on the fast path\n", files, n_tried, n_fast);
	CHECK(files >= 10);
	CHECK(n_fast >= 10000); /* the comparison ran, not only the fallback */
	CHECK_EQ_U(n_mismatch, 0);
	return check_summary();
}
