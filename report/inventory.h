/* Certificate inventory: what every endpoint presented in each role
 * across the whole run (the --certs CSV, out_certs_csv.h, and the
 * report's endpoint list).  Server endpoints are ip:port, client
 * endpoints the bare ip (client ports are ephemeral). */
#ifndef EK_INVENTORY_H
#define EK_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/netaddr.h"
#include "../dissect/x509.h"
#include "findings_table.h"
#include "trust.h"

/* What an entry's chain (the certificates after the leaf) says, kept
 * once for all entries with the same chain. */
struct inv_chain {
	uint64_t hash;
	bool has_top;                /* -j: which top decided public_ca (top_sha256) */
	uint8_t top_sha256[32];
	char serials[];              /* the serials after the leaf, ';'-joined */
};

/* One (address, role, port, leaf): 88 bytes. */
struct inv_entry {
	struct x509_info *leaf;      /* referenced */
	struct x509_info *top;       /* referenced and pinned until public_ca is known: the first
				      * chain's top parsed certificate */
	const struct inv_chain *chain; /* the first chain's */
	uint64_t conns;
	uint64_t first_frame, last_frame;
	uint32_t first_file, last_file;
	unsigned codes;              /* 1u << finding_code */
	uint32_t next;               /* inventory.c: the next entry of this address and leaf (index + 1) */
	uint8_t addr[16];            /* IPv4: the first 4 bytes, the rest 0 */
	uint16_t port;               /* servers' (0 for clients) */
	bool v6;
	bool client;                 /* role */
	int8_t public_ca;            /* -1 until asked (inventory_public_ca) */
	uint8_t roles;               /* inventory.c: the roles this address used the leaf in (1 client,
				      * 2 server), on the first entry of the address and leaf */
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
/* e's endpoint as ek_endpoint_str writes it: "ip:port" for a server, the
 * bare ip for a client. */
void inventory_endpoint(const struct inv_entry *e, char buf[EK_ENDPOINT_STRLEN]);

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

/* The entries in order of first sight (the CSV, the HTML report's table). */
size_t inventory_count(const struct inventory *inv);
struct inv_entry *inventory_at(const struct inventory *inv, size_t i);

/* The report's endpoint section: per endpoint, what it presented as server
 * and as client (the busiest); file_names maps file index -> name. */
void inventory_print(const struct inventory *inv, FILE *fp, char *const *file_names, uint32_t n_files);
/* "name:frame" when several files were read, else "frame" (what the CSV
 * and the report print), cut to n - 1 bytes. */
void inventory_frame_ref(char *buf, size_t n, char *const *names, uint32_t n_files, uint32_t f, uint64_t frame);

#endif
