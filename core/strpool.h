/* SPDX-License-Identifier: MIT */
/* A string arena: many small strings, freed all at once. */
#ifndef ASYNCDUMP_STRPOOL_H
#define ASYNCDUMP_STRPOOL_H

#include <stddef.h>

struct ad_strpool {
	struct ad_strpool_chunk *chunks;
};

void ad_strpool_init(struct ad_strpool *p);
void ad_strpool_deinit(struct ad_strpool *p);
/* Empties the pool for reuse, keeping one chunk. */
void ad_strpool_reset(struct ad_strpool *p);
/* A copy of s[0..len) with a NUL, or NULL on allocation failure. */
const char *ad_strpool_add(struct ad_strpool *p, const char *s, size_t len);
void *ad_strpool_alloc(struct ad_strpool *p, size_t size);

#endif
