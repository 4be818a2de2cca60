/* Per-connection state kept by report/, keyed by (file index, conn id). */
#ifndef EK_CONNMAP_H
#define EK_CONNMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../common/netaddr.h"

enum conn_state { CONN_UNDECIDED, CONN_TLS, CONN_NOT_TLS };

struct findings_conn; /* the findings' per-connection state (findings_int.h) */

/* An endpoint and its "ip:port" text (ek_endpoint_str with the port). */
struct ep_text {
	struct ek_endpoint ep;
	bool set;
	uint8_t len;
	char s[EK_ENDPOINT_STRLEN];
	struct ep_text *next;      /* conn_rec.extra list */
};

struct conn_rec {
	uint32_t file_index;
	uint64_t id;
	enum conn_state state;
	unsigned queued;           /* timeline rows waiting that point here */
	unsigned rows_dropped;     /* held rows given up while undecided (TIMELINE_MAX_HELD) */
	bool ended;                /* TLS_EV_CONN_END seen */
	struct findings_conn *fc;  /* owned by the findings (findings_store.c) */
	struct conn_info *ci;      /* conn_table.c's record while the connection runs */
	struct ep_text ept[2];     /* client, server: the first texts */
	struct ep_text *cur[2];    /* the latest (NULL: ept[i]) */
	struct ep_text *extra;     /* texts made after a role change, freed with the record */
	struct conn_rec *next;
};

struct connmap;

struct connmap *connmap_new(void);
/* Free every record (calls free_fc on each non-NULL fc). */
void connmap_free(struct connmap *m, void (*free_fc)(struct findings_conn *));
/* The record, created on first use; NULL only on allocation failure. */
struct conn_rec *connmap_get(struct connmap *m, uint32_t file_index, uint64_t id);
/* Remove and free r once nothing refers to it (ended and nothing queued). */
void connmap_release(struct connmap *m, struct conn_rec *r, void (*free_fc)(struct findings_conn *));
/* The text of endpoint e in role slot i (0 client, 1 server), formatted
 * once per connection.  The text stays valid while the record lives: a
 * role change while rows are queued (cr->queued) keeps the old text. */
const struct ep_text *conn_endpoint_set(struct conn_rec *cr, int i, const struct ek_endpoint *e);
static inline const struct ep_text *conn_endpoint(struct conn_rec *cr, int i, const struct ek_endpoint *e)
{
	const struct ep_text *t = cr->cur[i] ? cr->cur[i] : &cr->ept[i];
	if (t->set && t->ep.port == e->port && t->ep.addr.family == e->addr.family &&
	    memcmp(t->ep.addr.a, e->addr.a, sizeof e->addr.a) == 0)
		return t;
	return conn_endpoint_set(cr, i, e);
}

#endif
