/* SPDX-License-Identifier: MIT */
/* The one binary search of the library. */
#ifndef ASYNCDUMP_SEARCH_H
#define ASYNCDUMP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

/* The index of the first of the `n` elements at `base` (each `size` bytes)
 * for which `before(element, key)` is false, or `n`; the elements must be
 * partitioned: every one for which it is true comes first. With `before`
 * "element < key" on sorted elements that is the lower bound of `key`, with
 * "element <= key" the upper bound. Inline, so that a constant `before` is
 * inlined too: lookups per read of target memory use it. */
static inline size_t ad_partition_point(const void *base, size_t n, size_t size, const void *key,
					bool (*before)(const void *element, const void *key))
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (before((const char *)base + mid * size, key))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
