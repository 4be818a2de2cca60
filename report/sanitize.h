/* Safe text out of attacker-controlled bytes.
 *
 * Certificate names, SNI, ALPN and CA names come from the network.  Every
 * writer passes them through here: control characters and bytes that are
 * not valid UTF-8 become \xNN, so no output can carry terminal escape
 * sequences or break a line-oriented reader. */
#ifndef EK_SANITIZE_H
#define EK_SANITIZE_H

#include <stddef.h>

/* Escaped copy of in[0..n) into out (always NUL-terminated, truncated
 * with "..." when out is too small).  Returns out. */
char *sanitize_text(const char *in, size_t n, char *out, size_t outn);

/* Same for a NUL-terminated string. */
char *sanitize_str(const char *in, char *out, size_t outn);

#endif
