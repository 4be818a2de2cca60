/* Number -> name tables (tcpdump's struct tok / tok2str). */
#ifndef EK_TOK_H
#define EK_TOK_H

#include <stddef.h>

struct tok {
	unsigned v;
	const char *s;
};

/* Name of v in a table ending with {0, NULL}, or NULL when absent. */
static inline const char *tok_find(const struct tok *t, unsigned v)
{
	for (; t->s; t++)
		if (t->v == v) return t->s;
	return NULL;
}

#endif
