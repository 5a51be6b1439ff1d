/* SPDX-License-Identifier: MIT */
/* Finding a member by name inside a type, wherever a version of a library
 * nests it: a runtime wraps the same field in UnsafeCell, Mutex, loom shims
 * or CachePadded depending on its version and features. Breadth first, so the
 * shallowest match wins; never through pointers (that would leave the
 * object). */
#include <inttypes.h>
#include <stdio.h>
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
 * search walks the type's members through DWARF. */
struct found_member {
	uint64_t offset;
	const struct ad_type *type;
};

/* "DIE/kind/depth/name" in key; false when it does not fit (no caching). */
static bool memo_key(char *key, size_t size, const struct ad_type *t, const char *name,
		     bool by_type, int max_depth)
{
	int n = snprintf(key, size, "%" PRIx64 "/%c/%d/%s", t->die, by_type ? 't' : 'n',
			 max_depth, name);
	return t->die && n > 0 && (size_t)n < size;
}

static struct ad_error *memoised_search(struct ad_debuginfo *di, const struct ad_type *t,
					const char *name, bool by_type, int max_depth,
					uint64_t *offset_ret, const struct ad_type **type_ret)
{
	char key[256];
	if (!memo_key(key, sizeof(key), t, name, by_type, max_depth))
		return search(di, t, name, by_type, max_depth, offset_ret, type_ret);
	uint64_t found;
	pthread_mutex_lock(&di->lock);
	bool known = ad_strmap_get(&di->member_cache, key, &found);
	pthread_mutex_unlock(&di->lock);
	if (known) {
		const struct found_member *m = (const struct found_member *)(uintptr_t)found;
		*offset_ret = m->offset;
		*type_ret = m->type;
		return NULL;
	}
	struct ad_error *err = search(di, t, name, by_type, max_depth, offset_ret, type_ret);
	if (err)
		return err;
	/* Not remembering only costs the next search: a failure here is no error. */
	pthread_mutex_lock(&di->lock);
	struct found_member *m = ad_strpool_alloc(&di->pool, sizeof(*m));
	const char *interned = m ? ad_strpool_add(&di->pool, key, strlen(key)) : NULL;
	if (interned) {
		*m = (struct found_member){ *offset_ret, *type_ret };
		(void)ad_strmap_insert_new(&di->member_cache, interned, (uint64_t)(uintptr_t)m);
	}
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
