/* report/ internal: how the process asks for memory. */
#ifndef EK_REPORT_HEAP_H
#define EK_REPORT_HEAP_H

#include <stddef.h>

/* Back the next `reserve` bytes of the malloc heap with transparent huge
 * pages where the system offers them (Linux, glibc); a no-op elsewhere
 * and under the sanitizers (their allocators do not use the heap). */
void heap_use_huge_pages(size_t reserve);

#endif
