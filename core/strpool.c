/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "huge_pages.h"
#include "spare.h"
#include "strpool.h"

#define CHUNK_SIZE (256 * 1024)
/* A pool that keeps growing (a trace of 100,000 tasks takes ~100 MB) takes
 * chunks as large as what it holds already, up to this size. */
#define MAX_GROWN_CHUNK ((size_t)8 << 20)
/* Chunks of a huge page or more are mappings of their own with huge pages
 * advised (huge_pages.h): a sample of 100,000 tasks touched 25,000 fresh
 * 4 KiB pages of its pool, measured here. */

struct ad_strpool_chunk {
	struct ad_strpool_chunk *next;
	size_t size;
	bool mapped;
	_Alignas(16) char data[];
};

static struct ad_strpool_chunk *chunk_create(struct ad_spare *spare, size_t cap)
{
	if (cap > SIZE_MAX - sizeof(struct ad_strpool_chunk) - AD_HUGE_PAGE_SIZE)
		return NULL;
	size_t len = sizeof(struct ad_strpool_chunk) + cap;
	struct ad_strpool_chunk *c;
	bool mapped = len >= AD_HUGE_PAGE_SIZE;
	if (mapped) {
		len = (len + AD_HUGE_PAGE_SIZE - 1) & ~(AD_HUGE_PAGE_SIZE - 1);
		size_t got;
		if ((c = ad_spare_take(spare, len, &got))) {
			len = got;
		} else {
			c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
			if (c == MAP_FAILED)
				return NULL;
			ad_advise_huge_pages(c, len);
		}
		cap = len - sizeof(*c);
	} else if (!(c = malloc(len))) {
		return NULL;
	}
	c->size = cap;
	c->mapped = mapped;
	return c;
}

static void chunk_destroy(struct ad_spare *spare, struct ad_strpool_chunk *c)
{
	if (c->mapped)
		ad_spare_give(spare, c, sizeof(*c) + c->size);
	else
		free(c);
}

/* What the next chunk holds: as much as the pool has, within bounds. */
static size_t next_chunk_size(const struct ad_strpool *p)
{
	size_t held = 0;
	for (const struct ad_strpool_chunk *c = p->chunks; c && held < MAX_GROWN_CHUNK; c = c->next)
		held += c->size;
	return held < CHUNK_SIZE ? CHUNK_SIZE : held < MAX_GROWN_CHUNK ? held : MAX_GROWN_CHUNK;
}

void ad_strpool_init(struct ad_strpool *p)
{
	p->chunks = NULL;
	p->next = NULL;
	p->left = 0;
	p->spare = NULL;
}

void ad_strpool_keep_chunks(struct ad_strpool *p, struct ad_spare *spare)
{
	ad_spare_unref(p->spare);
	p->spare = ad_spare_ref(spare);
}

static void destroy_chunks(struct ad_strpool *p, struct ad_strpool_chunk *c)
{
	while (c) {
		struct ad_strpool_chunk *next = c->next;
		chunk_destroy(p->spare, c);
		c = next;
	}
}

void ad_strpool_deinit(struct ad_strpool *p)
{
	destroy_chunks(p, p->chunks);
	ad_spare_unref(p->spare);
	ad_strpool_init(p);
}

void ad_strpool_reset(struct ad_strpool *p)
{
	struct ad_strpool_chunk *keep = p->chunks;
	if (!keep)
		return;
	destroy_chunks(p, keep->next);
	keep->next = NULL;
	p->next = keep->data;
	p->left = keep->size;
}

void *ad_strpool_alloc_slow(struct ad_strpool *p, size_t size)
{
	if (size > SIZE_MAX - sizeof(struct ad_strpool_chunk) - 15)
		return NULL;
	size = size ? (size + 15) & ~(size_t)15 : 16; /* 0: a distinct address */
	if (p->left >= size) {
		void *ret = p->next;
		p->next += size;
		p->left -= size;
		return ret;
	}
	size_t grown = next_chunk_size(p);
	struct ad_strpool_chunk *c = chunk_create(p->spare, size > grown ? size : grown);
	if (!c)
		return NULL;
	size_t cap = c->size;
	c->next = p->chunks;
	p->chunks = c;
	p->next = c->data + size;
	p->left = cap - size;
	return c->data;
}

const char *ad_strpool_add(struct ad_strpool *p, const char *s, size_t len)
{
	char *d = ad_strpool_alloc(p, len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}
