/* Timeline: dissect events -> rows, in capture order.
 *
 * A connection's first rows (TcpOpen) arrive before anyone knows whether
 * it carries TLS.  Rows are held in one FIFO while the connection at its
 * head is undecided, then written (TLS) or dropped (not TLS), so the
 * output keeps capture order and shows TLS connections only.  The hold is
 * capped: past TIMELINE_MAX_HELD rows the oldest undecided connection's
 * rows are dropped. */
#ifndef EK_TIMELINE_H
#define EK_TIMELINE_H

#include "../dissect/tls.h"
#include "connmap.h"
#include "row.h"

#define TIMELINE_MAX_HELD 20000

struct timeline;

/* Called for each event's rows before they are queued (findings fill
 * rows[i].findings).  rows is empty for events that make no row. */
typedef void (*timeline_annotate_fn)(void *ctx, struct conn_rec *cr, const struct tls_event *ev,
				     struct row *rows, size_t n);

/* Rows hold references into cache; records in map are released through
 * connmap_release(free_fc) when their last held row goes. */
struct timeline *timeline_new(struct x509_cache *cache, struct connmap *map,
			      void (*free_fc)(struct findings_conn *), timeline_annotate_fn annotate, void *actx);
void timeline_add_writer(struct timeline *t, const struct row_writer *w);
void timeline_event(struct timeline *t, struct conn_rec *cr, const struct tls_event *ev, const char *file);
/* Write or drop everything still held (end of input). */
void timeline_drain(struct timeline *t);
uint64_t timeline_rows_written(const struct timeline *t);
/* Rows of TLS connections given up while held past TIMELINE_MAX_HELD. */
uint64_t timeline_rows_dropped_by_cap(const struct timeline *t);
void timeline_free(struct timeline *t);

#endif
