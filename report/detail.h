/* The short human text of a timeline row's `detail` column. */
#ifndef EK_DETAIL_H
#define EK_DETAIL_H

#include "../dissect/tls.h"

/* Timeline event name of ev ("ClientHello", "Alert", ...). */
const char *detail_event_name(const struct tls_event *ev);
/* Its detail text (raw: writers sanitise) into *buf (a heap buffer of
 * *cap bytes, or NULL: grown with realloc, kept for the next call); its
 * length.  *buf may stay NULL when the text is empty. */
size_t detail_write(const struct tls_event *ev, char **buf, size_t *cap);
/* "fatal unsupported_certificate(43)" into buf. */
void detail_alert(const struct tls_alert *a, char *buf, size_t n);

#endif
