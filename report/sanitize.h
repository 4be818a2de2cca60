/* Safe text out of attacker-controlled bytes.
 *
 * Certificate names, SNI, ALPN and CA names come from the network.  Every
 * writer passes them through here: valid UTF-8 stays as it is; bytes that
 * are not valid UTF-8, C0 and C1 controls, DEL and the bidirectional
 * overrides and isolates (U+202A-202E, U+2066-2069) become \xNN, one per
 * byte, so no output can carry terminal escape sequences, disguise a name
 * or break a line-oriented reader. */
#ifndef EK_SANITIZE_H
#define EK_SANITIZE_H

#include <stddef.h>

/* Escaped copy of in[0..n) into out (always NUL-terminated, truncated
 * with "..." when out is too small).  Returns out. */
char *sanitize_text(const char *in, size_t n, char *out, size_t outn);

/* Same for a NUL-terminated string. */
char *sanitize_str(const char *in, char *out, size_t outn);

#endif
