/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

struct ad_names *ad_names_create(void)
{
	struct ad_names *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	ad_strpool_init(&n->pool);
	ad_strmap_init(&n->by_content);
	ad_u64map_init(&n->by_address);
	ad_u64map_init(&n->display);
	ad_u64map_init(&n->locations);
	return n;
}

void ad_names_destroy(struct ad_names *n)
{
	if (!n)
		return;
	ad_u64map_deinit(&n->locations);
	ad_u64map_deinit(&n->display);
	ad_u64map_deinit(&n->by_address);
	ad_strmap_deinit(&n->by_content);
	ad_strpool_deinit(&n->pool);
	free(n);
}

static const char *intern_content(struct ad_names *n, const char *s)
{
	uint64_t found;
	if (ad_strmap_get(&n->by_content, s, &found))
		return (const char *)(uintptr_t)found;
	const char *copy = ad_strpool_add(&n->pool, s, strlen(s));
	if (!copy || !ad_strmap_insert_new(&n->by_content, copy, (uintptr_t)copy))
		return NULL;
	return copy;
}

const char *ad_names_intern(struct ad_names *n, const char *s)
{
	const char *seen = ad_u64map_get(&n->by_address, (uintptr_t)s);
	if (seen && strcmp(seen, s) == 0)
		return seen;
	const char *copy = intern_content(n, s);
	if (!copy || !ad_u64map_put(&n->by_address, (uintptr_t)s, (void *)(uintptr_t)copy))
		return NULL;
	return copy;
}

const char *ad_names_display(const struct ad_names *n, const char *interned)
{
	return ad_u64map_get(&n->display, (uintptr_t)interned);
}

const char *ad_names_keep_display(struct ad_names *n, const char *interned, const char *display)
{
	/* Most names have nothing to elide: their display is themselves. */
	const char *kept = strcmp(display, interned) == 0 ? interned : intern_content(n, display);
	if (!kept || !ad_u64map_put(&n->display, (uintptr_t)interned, (void *)(uintptr_t)kept))
		return NULL;
	return kept;
}

static uint64_t location_key(const char *file, unsigned line, unsigned column)
{
	uint64_t h = (uintptr_t)file * 0x9e3779b97f4a7c15ull;
	return h ^ ((uint64_t)line << 32 | column);
}

static struct ad_location *new_location(struct ad_names *n, const char *file, unsigned line,
					unsigned column)
{
	struct ad_location *loc = ad_strpool_alloc(&n->pool, sizeof(*loc));
	if (!loc)
		return NULL;
	*loc = (struct ad_location){ (char *)file, line, column };
	return loc;
}

struct ad_location *ad_names_location(struct ad_names *n, const char *file, unsigned line,
				      unsigned column)
{
	const char *copy = ad_names_intern(n, file);
	if (!copy)
		return NULL;
	uint64_t key = location_key(copy, line, column);
	struct ad_location *loc = ad_u64map_get(&n->locations, key);
	if (loc && loc->file == copy && loc->line == line && loc->column == column)
		return loc;
	struct ad_location *made = new_location(n, copy, line, column);
	/* Two locations mixing to one key (never seen): the first keeps it. */
	if (made && !loc && !ad_u64map_put(&n->locations, key, made))
		return NULL;
	return made;
}
