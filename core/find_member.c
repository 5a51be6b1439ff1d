/* SPDX-License-Identifier: MIT */
/* Finding a member by name inside a type, wherever a version of a library
 * nests it: a runtime wraps the same field in UnsafeCell, Mutex, loom shims
 * or CachePadded depending on its version and features. Breadth first, so the
 * shallowest match wins; never through pointers (that would leave the
 * object). */
#include <string.h>

#include "debuginfo_internal.h"
#include "decode.h"

#define QUEUE_MAX 512

struct pending {
	const struct ad_type *type;
	uint64_t offset;
	int depth;
};

static void push(struct pending *q, size_t *n, const struct ad_type *t, uint64_t off, int depth)
{
	if (*n < QUEUE_MAX)
		q[(*n)++] = (struct pending){ t, off, depth };
}

/* Matches a member by name (by_type false) or by its type's name. */
static struct ad_error *search(struct ad_debuginfo *di, const struct ad_type *t, const char *name,
			       bool by_type, int max_depth, uint64_t *offset_ret,
			       const struct ad_type **type_ret)
{
	struct pending q[QUEUE_MAX];
	size_t head = 0, n = 0;
	push(q, &n, t, 0, 0);
	while (head < n) {
		struct pending cur = q[head++];
		const struct ad_type *ct = cur.type;
		if (ct->kind != AD_TYPE_STRUCT && ct->kind != AD_TYPE_UNION && ct->kind != AD_TYPE_ENUM)
			continue;
		for (size_t i = 0; i < ct->nfields; i++) {
			const struct ad_field *f = &ct->fields[i];
			const struct ad_type *ft;
			struct ad_error *err = ad_field_type(di, f, &ft);
			if (err)
				return err;
			if (strcmp(by_type ? ft->name : f->name, name) == 0) {
				*offset_ret = cur.offset + f->offset;
				*type_ret = ft;
				return NULL;
			}
			if (cur.depth + 1 < max_depth)
				push(q, &n, ft, cur.offset + f->offset, cur.depth + 1);
		}
		for (size_t i = 0; i < ct->nvariants && cur.depth + 1 < max_depth; i++) {
			const struct ad_type *vt;
			struct ad_error *err = ad_variant_type(di, &ct->variants[i], &vt);
			if (err)
				return err;
			push(q, &n, vt, cur.offset + ct->variants[i].offset, cur.depth + 1);
		}
	}
	return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
			       "type %s has no member %s%s (searched %d levels)", t->name,
			       by_type ? "of type " : "", name, max_depth);
}

/* A search's answer, kept for the debuginfo's lifetime: the same member of
 * the same type is looked for in each of a runtime's 100,000 tasks, and a
 * search walks the type's members through DWARF. The answers about one
 * type (by its DIE) are a list. */
struct found_member {
	const char *name; /* interned */
	bool by_type;
	int max_depth;
	uint64_t offset;
	const struct ad_type *type;
	struct found_member *next;
};

/* The caller holds di->lock. */
static const struct found_member *remembered(struct ad_debuginfo *di, const struct ad_type *t,
					     const char *name, bool by_type, int max_depth)
{
	for (const struct found_member *m = ad_u64map_get(&di->member_cache, t->die); m;
	     m = m->next)
		if (m->by_type == by_type && m->max_depth == max_depth &&
		    strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* The caller holds di->lock. Not remembering only costs the next search. */
static void remember(struct ad_debuginfo *di, const struct ad_type *t, const char *name,
		     bool by_type, int max_depth, uint64_t offset, const struct ad_type *type)
{
	struct found_member *m = ad_strpool_alloc(&di->pool, sizeof(*m));
	const char *interned = m ? ad_strpool_add(&di->pool, name, strlen(name)) : NULL;
	if (!interned)
		return;
	*m = (struct found_member){ interned, by_type, max_depth, offset, type,
				    ad_u64map_get(&di->member_cache, t->die) };
	(void)ad_u64map_put(&di->member_cache, t->die, m);
}

static struct ad_error *memoised_search(struct ad_debuginfo *di, const struct ad_type *t,
					const char *name, bool by_type, int max_depth,
					uint64_t *offset_ret, const struct ad_type **type_ret)
{
	if (!t->die) /* no identity to remember it by */
		return search(di, t, name, by_type, max_depth, offset_ret, type_ret);
	pthread_mutex_lock(&di->lock);
	const struct found_member *m = remembered(di, t, name, by_type, max_depth);
	if (m) {
		*offset_ret = m->offset;
		*type_ret = m->type;
	}
	pthread_mutex_unlock(&di->lock);
	if (m)
		return NULL;
	struct ad_error *err = search(di, t, name, by_type, max_depth, offset_ret, type_ret);
	if (err)
		return err;
	pthread_mutex_lock(&di->lock);
	if (!remembered(di, t, name, by_type, max_depth))
		remember(di, t, name, by_type, max_depth, *offset_ret, *type_ret);
	pthread_mutex_unlock(&di->lock);
	return NULL;
}

struct ad_error *ad_find_member(struct ad_debuginfo *di, const struct ad_type *t, const char *name,
				int max_depth, uint64_t *offset_ret, const struct ad_type **type_ret)
{
	return memoised_search(di, t, name, false, max_depth, offset_ret, type_ret);
}

struct ad_error *ad_find_typed_member(struct ad_debuginfo *di, const struct ad_type *t,
				      const char *type_name, int max_depth, uint64_t *offset_ret)
{
	if (strcmp(t->name, type_name) == 0) {
		*offset_ret = 0;
		return NULL;
	}
	const struct ad_type *ignored;
	return memoised_search(di, t, type_name, true, max_depth, offset_ret, &ignored);
}
