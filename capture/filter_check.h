/* Whether a BPF filter expression parses, before any capture is opened. */
#ifndef EK_FILTER_CHECK_H
#define EK_FILTER_CHECK_H

#include <stddef.h>

/* 0 when expr compiles (for Ethernet); else -1 with libpcap's reason. */
int cap_filter_check(const char *expr, char *err, size_t errn);

#endif
