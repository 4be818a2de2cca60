/* A growing text buffer for the HTML report, with the one escaping
 * function every piece of capture content goes through. */
#ifndef EK_HTML_BUF_H
#define EK_HTML_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct hbuf {
	char *p;
	size_t len, cap;
	bool failed;                 /* out of memory */
};

void hb_free(struct hbuf *b);
void hb_put(struct hbuf *b, const char *s, size_t n);
void hb_puts(struct hbuf *b, const char *s);
void hb_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Capture content as HTML text or attribute value: made safe as in every
 * output (sanitize.h: control characters and invalid UTF-8 become \xNN;
 * at most max bytes of it, cut with "...", 0: no limit), then & < > " '
 * become entities.  Never markup. */
void hb_esc(struct hbuf *b, const char *s, size_t max);

#endif
