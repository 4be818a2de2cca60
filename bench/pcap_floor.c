/* bench/pcap_floor: the floor, how fast libpcap alone hands out the
 * packets of a savefile: pcap_open_offline + a pcap_next_ex loop that
 * counts packets and captured bytes.  Nothing else. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	unsigned long long packets = 0, bytes = 0;
	if (argc == 2 && argv[1][0] == '-') {
		puts(pcap_lib_version()); /* --version */
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		pcap_t *p = pcap_open_offline(argv[i], err);
		if (!p) {
			fprintf(stderr, "pcap_floor: %s\n", err);
			return 2;
		}
		struct pcap_pkthdr *h;
		const u_char *d;
		while (pcap_next_ex(p, &h, &d) == 1) {
			packets++;
			bytes += h->caplen;
		}
		pcap_close(p);
	}
	printf("%llu packets, %llu bytes\n", packets, bytes);
	return argc > 1 ? 0 : 2;
}
