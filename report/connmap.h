/* Per-connection state kept by report/, keyed by (file index, conn id). */
#ifndef EK_CONNMAP_H
#define EK_CONNMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conn_state { CONN_UNDECIDED, CONN_TLS, CONN_NOT_TLS };

struct findings_conn; /* findings.c's per-connection state */

struct conn_rec {
	uint32_t file_index;
	uint64_t id;
	enum conn_state state;
	unsigned queued;           /* timeline rows waiting that point here */
	bool ended;                /* TLS_EV_CONN_END seen */
	struct findings_conn *fc;  /* owned by findings.c */
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
size_t connmap_size(const struct connmap *m);

#endif
