/* SPDX-License-Identifier: MIT */
/* A string arena: many small strings, freed all at once. */
#ifndef ASYNCDUMP_STRPOOL_H
#define ASYNCDUMP_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

struct ad_strpool {
	struct ad_strpool_chunk *chunks;
	char *next;                /* the free part of the newest chunk */
	size_t left;
	struct ad_spare *spare;    /* where large chunks go back to, or NULL */
};

struct ad_spare;

void ad_strpool_init(struct ad_strpool *p);
/* Large chunks come from and go back to `spare` (spare.h; a reference is
 * held) instead of being mapped and unmapped: for pools that each sample
 * fills afresh. */
void ad_strpool_keep_chunks(struct ad_strpool *p, struct ad_spare *spare);
void ad_strpool_deinit(struct ad_strpool *p);
/* Empties the pool for reuse, keeping one chunk. */
void ad_strpool_reset(struct ad_strpool *p);
/* A copy of s[0..len) with a NUL, or NULL on allocation failure. */
const char *ad_strpool_add(struct ad_strpool *p, const char *s, size_t len);
/* ad_strpool_alloc() for what its inline part leaves: a new chunk, a size
 * of 0 or one too large. */
void *ad_strpool_alloc_slow(struct ad_strpool *p, size_t size);

/* size bytes aligned to 16, or NULL on allocation failure. Inline: a trace
 * of 100,000 tasks takes half a million frames from its pool, and the text
 * format a million nodes. */
static inline void *ad_strpool_alloc(struct ad_strpool *p, size_t size)
{
	size_t rounded = (size + 15) & ~(size_t)15;
	if (rounded < size || rounded == 0 || p->left < rounded)
		return ad_strpool_alloc_slow(p, size);
	void *ret = p->next;
	p->next += rounded;
	p->left -= rounded;
	return ret;
}

#endif
