#include "row.h"

#include <string.h>

void row_add_finding(struct row *r, const char *code)
{
	size_t cl = strlen(code);
	for (const char *p = r->findings; *p;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == cl && memcmp(p, code, cl) == 0)
			return;
		if (!end)
			break;
		p = end + 1;
	}
	size_t have = strlen(r->findings);
	if (have + cl + 2 > sizeof r->findings)
		return;
	if (have)
		r->findings[have++] = ';';
	memcpy(r->findings + have, code, cl + 1);
}
