/* SPDX-License-Identifier: MIT */
/* A block cache in front of another reader, for the duration of one sample.
 *
 * Decoders chase pointers with many small reads; each becomes at most one
 * backend read of a whole block. A block that is only partly readable keeps
 * its readable prefix; a read past it goes to the backend uncached, so a
 * fault always carries the backend's exact first unreadable address. The
 * cache is bounded: when full it is emptied and refilled. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/memory.h"

#define MAX_CACHED_BYTES ((size_t)64 << 20)
#define MAX_BLOCKS ((size_t)1 << 16)
#define MAX_BLOCK_SIZE ((size_t)1 << 24)

struct block {
	uint64_t index;   /* address / block_size */
	size_t valid;     /* readable bytes from the block's start */
	char *data;       /* NULL: empty slot */
};

struct cached {
	struct ad_reader *backend;
	size_t block_size;
	unsigned shift;
	size_t max_blocks;
	size_t nblocks;
	size_t cap;       /* slots: a power of two, more than twice nblocks */
	struct block *slots;
};

static size_t slot_of(const struct cached *c, uint64_t index)
{
	uint64_t h = index * 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
	return (size_t)(h >> 32) & (c->cap - 1);
}

static struct block *lookup(struct cached *c, uint64_t index)
{
	for (size_t i = slot_of(c, index);; i = (i + 1) & (c->cap - 1)) {
		if (!c->slots[i].data || c->slots[i].index == index)
			return &c->slots[i];
	}
}

static void clear(struct cached *c)
{
	for (size_t i = 0; i < c->cap; i++) {
		free(c->slots[i].data);
		c->slots[i].data = NULL;
	}
	c->nblocks = 0;
}

/* How much of the block starting at `start` the backend can read. */
static struct ad_error *fill(struct cached *c, uint64_t start, char *data, size_t *valid)
{
	struct ad_error *err = ad_read(c->backend, start, data, c->block_size);
	if (!err) {
		*valid = c->block_size;
		return NULL;
	}
	if (err->code != AD_ERROR_FAULT)
		return err;
	uint64_t bad = err->address;
	ad_error_destroy(err);
	*valid = 0;
	if (bad <= start || bad - start >= c->block_size)
		return NULL;
	/* A failed read leaves the buffer undefined: read the good prefix again. */
	err = ad_read(c->backend, start, data, (size_t)(bad - start));
	if (!err) {
		*valid = (size_t)(bad - start);
		return NULL;
	}
	if (err->code != AD_ERROR_FAULT)
		return err;
	ad_error_destroy(err);
	return NULL;
}

/* Keeps the table at most half full; false on OOM (the cache still works). */
static bool grow(struct cached *c)
{
	if (2 * (c->nblocks + 1) < c->cap)
		return true;
	struct block *old = c->slots;
	size_t old_cap = c->cap;
	struct block *slots = calloc(old_cap * 2, sizeof(*slots));
	if (!slots)
		return false;
	c->slots = slots;
	c->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].data)
			*lookup(c, old[i].index) = old[i];
	}
	free(old);
	return true;
}

static struct ad_error *get_block(struct cached *c, uint64_t index, const struct block **ret)
{
	struct block *b = lookup(c, index);
	if (b->data) {
		*ret = b;
		return NULL;
	}
	char *data = malloc(c->block_size);
	if (!data)
		return &ad_error_nomem;
	size_t valid;
	struct ad_error *err = fill(c, index << c->shift, data, &valid);
	if (err) {
		free(data);
		return err;
	}
	if (c->nblocks == c->max_blocks || !grow(c))
		clear(c);
	b = lookup(c, index);
	*b = (struct block){ .index = index, .valid = valid, .data = data };
	c->nblocks++;
	*ret = b;
	return NULL;
}

static struct ad_error *cached_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	struct cached *c = ctx;
	if (len && address + len - 1 < address)
		return ad_read(c->backend, address, buf, len); /* wraps: let the backend say where */
	size_t done = 0;
	while (done < len) {
		uint64_t at = address + done;
		uint64_t index = at >> c->shift;
		size_t off = (size_t)(at & (c->block_size - 1));
		size_t n = c->block_size - off < len - done ? c->block_size - off : len - done;
		const struct block *b;
		struct ad_error *err = get_block(c, index, &b);
		if (err)
			return err;
		size_t cached = b->valid > off ? b->valid - off : 0;
		if (cached > n)
			cached = n;
		memcpy((char *)buf + done, b->data + off, cached);
		if (cached < n) {
			err = ad_read(c->backend, at + cached, (char *)buf + done + cached, n - cached);
			if (err)
				return err;
		}
		done += n;
	}
	return NULL;
}

static void cached_destroy(void *ctx)
{
	struct cached *c = ctx;
	if (!c)
		return;
	if (c->slots)
		clear(c);
	free(c->slots);
	free(c);
}

static const struct ad_reader_ops cached_ops = {
	.read = cached_read,
	.destroy = cached_destroy,
};

struct ad_error *ad_reader_cached_create(struct ad_reader *backend, size_t block_size,
					 struct ad_reader **ret)
{
	if (!backend || block_size == 0 || (block_size & (block_size - 1)) ||
	    block_size > MAX_BLOCK_SIZE)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "cached reader: block size %zu must be a power of two up to "
				       "%zu, over a backend reader", block_size, MAX_BLOCK_SIZE);
	struct cached *c = calloc(1, sizeof(*c));
	struct ad_reader *r = malloc(sizeof(*r));
	if (!c || !r) {
		free(c);
		free(r);
		return &ad_error_nomem;
	}
	c->backend = backend;
	c->block_size = block_size;
	while (((size_t)1 << c->shift) < block_size)
		c->shift++;
	c->max_blocks = MAX_CACHED_BYTES / block_size;
	if (c->max_blocks > MAX_BLOCKS)
		c->max_blocks = MAX_BLOCKS;
	if (c->max_blocks < 16)
		c->max_blocks = 16;
	c->cap = 64;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (!c->slots) {
		free(r);
		cached_destroy(c);
		return &ad_error_nomem;
	}
	r->ops = &cached_ops;
	r->ctx = c;
	*ret = r;
	return NULL;
}
