#include "filter_check.h"

#include <pcap/pcap.h>
#include <stdio.h>

#include "capture.h"

int cap_filter_check(const char *expr, char *err, size_t errn)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, CAP_MAX_SNAPLEN);
	if (!p) {
		snprintf(err, errn, "out of memory");
		return -1;
	}
	struct bpf_program prog;
	int rc = pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (rc == 0) pcap_freecode(&prog);
	else snprintf(err, errn, "%s", pcap_geterr(p));
	pcap_close(p);
	return rc == 0 ? 0 : -1;
}
