/* capture/: TLS secrets a pcapng file carries in Decryption Secrets Blocks
 * (block type 0x0000000A, secrets type 0x544c534b "TLSK": NSS key log
 * text), as `editcap --inject-secrets tls,KEYLOG` and Wireshark's "export
 * with TLS secrets" write them.  libpcap skips these blocks, so this is a
 * small walker of its own over the file's blocks, bounds-checked, both
 * byte orders (per section). */
#ifndef EK_PCAPNG_SECRETS_H
#define EK_PCAPNG_SECRETS_H

#include <stddef.h>

/* Reads the blocks of the pcapng file at path up to its first packet
 * block (where those tools put the secrets; blocks after it are not read,
 * so a large capture costs nothing extra).  *text gets the key log text
 * of every TLSK block, each followed by a newline (malloc'd, *len bytes),
 * NULL and 0 when there is none: a classic pcap file, standard input
 * ("-") or anything else that is not a regular file (a pipe is left to the
 * capture reader), a file that cannot be opened (the reader reports that).
 * A corrupt or truncated block ends the walk quietly; at most 64 MiB of
 * text is kept.  Returns the number of TLSK blocks read. */
int cap_pcapng_tls_secrets(const char *path, char **text, size_t *len);

#endif
