#include "row.h"

#include <string.h>

static int code_of(const char *name)
{
	for (int c = 0; c < F_COUNT; c++)
		if (finding_def((enum finding_code)c)->name == name) return c;
	for (int c = 0; c < F_COUNT; c++)
		if (strcmp(finding_def((enum finding_code)c)->name, name) == 0) return c;
	return -1;
}

void row_add_finding(struct row *r, const char *code)
{
	int k = code_of(code);
	if (k < 0) return;
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i] == k) return;
	size_t cl = strlen(code), have = r->findings_len;
	if (have + cl + 2 > ROW_FINDINGS_LEN || r->n_findings == ROW_MAX_FINDINGS) return;
	r->findings[r->n_findings++] = (uint8_t)k;
	r->findings_len = (uint8_t)(have + (have ? 1 : 0) + cl);
}

size_t row_findings_str(const struct row *r, char buf[ROW_FINDINGS_LEN])
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_findings; i++) {
		const char *name = finding_def((enum finding_code)r->findings[i])->name;
		size_t l = strlen(name);
		if (n) buf[n++] = ';';
		memcpy(buf + n, name, l);
		n += l;
	}
	buf[n] = '\0';
	return n;
}
