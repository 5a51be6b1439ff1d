/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strpool.h"

#define CHUNK_SIZE (256 * 1024)

struct ad_strpool_chunk {
	struct ad_strpool_chunk *next;
	size_t size;
	_Alignas(16) char data[];
};

void ad_strpool_init(struct ad_strpool *p)
{
	p->chunks = NULL;
	p->next = NULL;
	p->left = 0;
}

void ad_strpool_deinit(struct ad_strpool *p)
{
	struct ad_strpool_chunk *c = p->chunks;
	while (c) {
		struct ad_strpool_chunk *next = c->next;
		free(c);
		c = next;
	}
	ad_strpool_init(p);
}

void ad_strpool_reset(struct ad_strpool *p)
{
	struct ad_strpool_chunk *keep = p->chunks;
	if (!keep)
		return;
	p->chunks = keep->next;
	ad_strpool_deinit(p);
	keep->next = NULL;
	p->chunks = keep;
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
	size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;
	struct ad_strpool_chunk *c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->size = cap;
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
