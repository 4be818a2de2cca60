/* The `file` label rule (cli/labels.h) and the output sanitizer's
 * UTF-8 rules (report/sanitize.h). */
#include <stdlib.h>

#include "../cli/labels.h"
#include "../report/sanitize.h"
#include "check.h"

static void labels(const char *const *paths, size_t n, const char *const *want)
{
	char **l = labels_make(paths, n);
	CHECK(l != NULL);
	for (size_t i = 0; l && i < n; i++) CHECK_STR(l[i], want[i]);
	labels_free(l, n);
}

static void clean(const char *in, const char *want)
{
	char out[256];
	CHECK_STR(sanitize_str(in, out, sizeof out), want);
}

int main(void)
{
	{ /* unique base names stay base names */
		const char *p[] = { "/cases/a.pcap", "b.pcap" }, *w[] = { "a.pcap", "b.pcap" };
		labels(p, 2, w);
	}
	{ /* the same base name: the shortest distinguishing suffix */
		const char *p[] = { "/x/node1/capture.pcap", "/x/node2/capture.pcap", "other.pcap" };
		const char *w[] = { "node1/capture.pcap", "node2/capture.pcap", "other.pcap" };
		labels(p, 3, w);
	}
	{ /* one path the suffix of another: the whole path */
		const char *p[] = { "a/x/c.pcap", "b/a/x/c.pcap", "c.pcap" };
		const char *w[] = { "a/x/c.pcap", "b/a/x/c.pcap", "c.pcap" };
		labels(p, 3, w);
	}
	{ /* a path given again, standard input, a file named like its label */
		const char *p[] = { "in.pcap", "./in.pcap", "in.pcap", "-", "d/(stdin)" };
		const char *w[] = { "in.pcap", "./in.pcap", "in.pcap#2", "(stdin)", "d/(stdin)" };
		labels(p, 5, w);
	}
	/* valid UTF-8 kept; controls, C1, DEL, bidi overrides, invalid bytes escaped */
	clean("O=\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 Labs", "O=\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 Labs");
	clean("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92");
	clean("a\x1b[31mb\x7f", "a\\x1b[31mb\\x7f");
	clean("x\xc2\x85y", "x\\xc2\\x85y");
	clean("gpj.\xe2\x80\xae" "exe", "gpj.\\xe2\\x80\\xaeexe");
	clean("\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9", "\\xe2\\x80\\xaa\\xe2\\x81\\xa6\\xe2\\x81\\xa9");
	clean("\xe2\x80\x8f", "\xe2\x80\x8f"); /* RLM: a mark, not an override */
	clean("\xff\xc3(", "\\xff\\xc3(");
	return check_summary();
}
