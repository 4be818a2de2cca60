/* The HTML report is built in one growable string (common/strbuf.h:
 * ek_str_put / ek_str_puts append, oom says something was lost), with
 * the one escaping function every piece of capture content goes
 * through. */
#ifndef EK_HTML_BUF_H
#define EK_HTML_BUF_H

#include <stddef.h>

#include "../common/strbuf.h"

/* printf into b, at most 1023 bytes of it (markup and numbers only: never
 * capture content, which goes through hb_esc). */
void hb_printf(struct ek_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Capture content as HTML text or attribute value: made safe as in every
 * output (sanitize.h: control characters and invalid UTF-8 become \xNN;
 * at most max bytes of it, cut with "...", 0: no limit), then & < > " '
 * become entities.  Never markup. */
void hb_esc(struct ek_str *b, const char *s, size_t max);

#endif
