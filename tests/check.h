/* Minimal assertion helpers for the unit tests: each failed CHECK prints
 * file:line and the expression; main returns check_summary(). */
#ifndef EK_CHECK_H
#define EK_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed, check_passed;

#define CHECK(expr)                                                                    \
	do {                                                                           \
		if (expr) {                                                            \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                      \
	} while (0)

#define CHECK_EQ_U(a, b)                                                               \
	do {                                                                           \
		unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b); \
		if (va_ == vb_) {                                                      \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", __FILE__, __LINE__, #a, #b, va_, vb_); \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *sa_ = (a), *sb_ = (b);                                     \
		if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                             \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
				sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");           \
		}                                                                      \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
