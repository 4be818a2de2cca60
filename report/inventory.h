/* Certificate inventory: what every endpoint presented in each role
 * across the whole run (the --certs CSV and the report's endpoint list).
 * Server endpoints are ip:port, client endpoints the bare ip (client
 * ports are ephemeral). */
#ifndef EK_INVENTORY_H
#define EK_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/netaddr.h"
#include "../dissect/x509.h"
#include "findings_table.h"
#include "trust.h"

struct inv_entry {
	char endpoint[EK_ENDPOINT_STRLEN];
	bool client;                 /* role */
	struct x509_info *leaf;      /* referenced */
	char *chain_serials;         /* serials after the leaf, ';'-joined */
	int8_t public_ca;            /* -1 until asked (inventory_public_ca) */
	struct x509_info *top;       /* referenced until then: the first chain's top parsed certificate */
	bool has_top;                /* -j: which top decided public_ca (top_sha256) */
	uint8_t top_sha256[32];
	uint64_t conns;
	uint32_t first_file, last_file;
	uint64_t first_frame, last_frame;
	unsigned codes;              /* 1u << finding_code */
};

struct inventory;

struct inventory *inventory_new(struct x509_cache *cache, struct trust *trust);
void inventory_free(struct inventory *inv);

/* Record that ep presented chain (leaf first) in a role.  *other_role is
 * set when the same ip presented the same leaf in the other role before.
 * NULL for an empty chain or on allocation failure. */
struct inv_entry *inventory_note(struct inventory *inv, const struct ek_endpoint *ep, bool client,
				 struct x509_info *const *chain, size_t n, uint32_t file_index, uint64_t frame,
				 bool *other_role);
void inventory_mark(struct inv_entry *e, enum finding_code code);
/* The first chain e was seen with leads to a public root (trust_is_public),
 * worked out on first use: the public roots are loaded only when needed. */
bool inventory_public_ca(const struct inventory *inv, struct inv_entry *e);

/* -j (parallel.c).  Keep the list of notes (a worker's inventory of one
 * file), for inventory_merge_conflict. */
void inventory_log_notes(struct inventory *inv);
/* Would src's file, had it been noted into dst after dst's files, have
 * given other answers: same_cert_both_roles raised at another note, or
 * public_ca (asked for a clientAuth leaf) decided by another chain? */
bool inventory_merge_conflict(const struct inventory *dst, const struct inventory *src);
/* Add src (a later file) to dst as inventory_note would have: new entries
 * appended in src's order, known ones counted; certificates move to dst's
 * cache.  src keeps no entry. */
void inventory_merge(struct inventory *dst, struct inventory *src);

/* The entries in order of first sight (the HTML report's table). */
size_t inventory_count(const struct inventory *inv);
const struct inv_entry *inventory_at(const struct inventory *inv, size_t i);

/* The --certs CSV; file_names maps file index -> name (frames are
 * prefixed with the file name when several files were read). */
int inventory_write_csv(const struct inventory *inv, const char *path, char *const *file_names, uint32_t n_files,
			char *err, size_t errn);



/* The report's endpoint section: per endpoint, what it presented as server
 * and as client. */
void inventory_print(const struct inventory *inv, FILE *fp, char *const *file_names, uint32_t n_files);
#endif
