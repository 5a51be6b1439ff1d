/* SPDX-License-Identifier: MIT */
/* Finding a member by name inside a type, wherever a version of a library
 * nests it: a runtime wraps the same field in UnsafeCell, Mutex, loom shims
 * or CachePadded depending on its version and features. Breadth first, so the
 * shallowest match wins; never through pointers (that would leave the
 * object). */
#include <string.h>

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

struct ad_error *ad_find_member(struct ad_debuginfo *di, const struct ad_type *t, const char *name,
				int max_depth, uint64_t *offset_ret, const struct ad_type **type_ret)
{
	return search(di, t, name, false, max_depth, offset_ret, type_ret);
}

struct ad_error *ad_find_typed_member(struct ad_debuginfo *di, const struct ad_type *t,
				      const char *type_name, int max_depth, uint64_t *offset_ret)
{
	if (strcmp(t->name, type_name) == 0) {
		*offset_ret = 0;
		return NULL;
	}
	const struct ad_type *ignored;
	return search(di, t, type_name, true, max_depth, offset_ret, &ignored);
}
