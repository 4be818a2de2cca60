/* capture/: TLS secrets a pcapng file carries in Decryption Secrets Blocks
 * (block type 0x0000000A, secrets type 0x544c534b "TLSK": NSS key log
 * text), as `editcap --inject-secrets tls,KEYLOG` and Wireshark's "export
 * with TLS secrets" write them, all of one file at once: for a `-j N`
 * run, whose worker on file k needs those of files 0..k-1 (a serial run
 * has met them by then).  The capture reader itself hands them out as it
 * meets them (cap_set_secrets). */
#ifndef EK_PCAPNG_SECRETS_H
#define EK_PCAPNG_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/errbuf.h"

/* Reads every block of the capture file at path (pcapng.c, through the
 * cursor; packets are skipped).  *text gets the key log text of every TLSK
 * block, each followed by a newline (malloc'd, *len bytes), NULL and 0
 * when there is none.  Returns the number of TLSK blocks read; 0 for a
 * classic pcap file or a file that cannot be opened (the reader reports
 * that); -1, reading nothing, for standard input ("-") or anything else
 * that is not a regular file (its bytes belong to the capture reader) and,
 * unless `compressed` is set, for a compressed file (a second
 * decompression costs as much as the first).  A corrupt or truncated
 * block ends the walk; at most 64 MiB of text is kept.
 *
 * errbuf: why *text is not all the secrets the file carries (-1, a file
 * that cannot be opened or read, a corrupt block, text left out past
 * 64 MiB or for lack of memory); "" when it is, or the file has none. */
int cap_pcapng_tls_secrets(const char *path, bool compressed, char **text, size_t *len,
			   char errbuf[EK_ERRBUF_SIZE]);

#endif
