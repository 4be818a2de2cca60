/* Huge pages for the heap.  A run keeps per-connection state for
 * thousands of connections and touches it at random, one packet at a
 * time: with 4 KiB pages, every new page is a fault and most touches of
 * a cold connection a TLB miss (~5 % of the handshake-heavy benchmark).
 * glibc asks for transparent huge pages only under
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, read at start-up, so the heap is
 * marked here: large blocks are kept on the heap, the heap is grown once
 * by `reserve` (address space only: pages are still allocated on first
 * touch) and that range is madvise(MADV_HUGEPAGE)d.  Where THP is off or
 * madvise fails, nothing changes. */
#include "heap.h"

#include <stdlib.h> /* defines __GLIBC__ there */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EK_HEAP_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EK_HEAP_PLAIN 1
#endif
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(EK_HEAP_PLAIN)
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

void heap_use_huge_pages(size_t reserve)
{
	if (reserve > INT32_MAX) reserve = INT32_MAX;
	/* slabs, index arrays and read buffers (1-2 MiB) from the heap too,
	 * not from mmap: they are the hottest memory of all */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	/* the next heap extension (and what is kept when the top is
	 * trimmed) includes reserve bytes */
	mallopt(M_TOP_PAD, (int)reserve);
	void *p = malloc(256 << 10);
	if (!p) return;
	uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	void *brk = sbrk(0);
	uintptr_t hi = brk == (void *)-1 ? 0 : (uintptr_t)brk & ~(HUGE_PAGE - 1);
	if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	free(p);
}
#else
void heap_use_huge_pages(size_t reserve)
{
	(void)reserve;
}
#endif
