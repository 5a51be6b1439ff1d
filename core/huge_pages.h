/* SPDX-License-Identifier: MIT */
/* Internal: transparent huge pages for memory that each sample fills afresh.
 * On virtual machines the first touch of a 4 KiB page can cost the kernel
 * several microseconds; a 2 MiB page is one touch for 512 of them. */
#ifndef ASYNCDUMP_HUGE_PAGES_H
#define ASYNCDUMP_HUGE_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define AD_HUGE_PAGE_SIZE ((size_t)2 << 20)

/* Asks for huge pages in [p, p + len); best effort (a kernel without them,
 * or with them disabled, keeps 4 KiB pages). */
static inline void ad_advise_huge_pages(void *p, size_t len)
{
	madvise(p, len, MADV_HUGEPAGE);
}

#endif
