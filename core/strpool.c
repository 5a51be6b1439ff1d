/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strpool.h"

#define CHUNK_SIZE (256 * 1024)

struct ad_strpool_chunk {
	struct ad_strpool_chunk *next;
	size_t used, size;
	_Alignas(16) char data[];
};

void ad_strpool_init(struct ad_strpool *p)
{
	p->chunks = NULL;
}

void ad_strpool_deinit(struct ad_strpool *p)
{
	struct ad_strpool_chunk *c = p->chunks;
	while (c) {
		struct ad_strpool_chunk *next = c->next;
		free(c);
		c = next;
	}
	p->chunks = NULL;
}

void ad_strpool_reset(struct ad_strpool *p)
{
	struct ad_strpool_chunk *keep = p->chunks;
	if (!keep)
		return;
	p->chunks = keep->next;
	ad_strpool_deinit(p);
	keep->next = NULL;
	keep->used = 0;
	p->chunks = keep;
}

void *ad_strpool_alloc(struct ad_strpool *p, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct ad_strpool_chunk *c = p->chunks;
	if (!c || c->size - c->used < size) {
		size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = cap;
		c->next = p->chunks;
		p->chunks = c;
	}
	void *ret = c->data + c->used;
	c->used += size;
	return ret;
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
