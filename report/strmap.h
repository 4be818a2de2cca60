/* A small string-keyed hash map (keys copied, values are caller pointers),
 * kept in insertion order for stable output. */
#ifndef EK_STRMAP_H
#define EK_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* free_val (may be NULL) is called on every value with ctx. */
void strmap_free(struct strmap *m, void (*free_val)(void *ctx, void *val), void *ctx);
void *strmap_get(const struct strmap *m, const char *key);
/* Insert (key must be absent); -1 on allocation failure. */
int strmap_put(struct strmap *m, const char *key, void *val);
size_t strmap_count(const struct strmap *m);
/* i-th value in insertion order. */
void *strmap_at(const struct strmap *m, size_t i);

#endif
