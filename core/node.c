/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "node.h"

struct ad_node *ad_node_new(struct ad_strpool *pool, enum ad_node_kind kind)
{
	struct ad_node *n = ad_strpool_alloc(pool, sizeof(*n));
	if (n)
		*n = (struct ad_node){ .kind = kind };
	return n;
}

struct ad_node *ad_node_string(struct ad_strpool *pool, const char *s, size_t len)
{
	struct ad_node *n = ad_node_new(pool, AD_NODE_STRING);
	if (n && !(n->v.s = ad_strpool_add(pool, s, len)))
		return NULL;
	return n;
}

struct ad_node *ad_node_kept_string(struct ad_strpool *pool, const char *s)
{
	struct ad_node *n = ad_node_new(pool, AD_NODE_STRING);
	if (n)
		n->v.s = s;
	return n;
}

void ad_node_append(struct ad_node *parent, const char *key, size_t key_len,
		    struct ad_node *child)
{
	bool member = parent->kind == AD_NODE_OBJECT;
	child->key = member ? key : NULL;
	child->key_len = member ? key_len : 0;
	if (parent->last)
		parent->last->next = child;
	else
		parent->first = child;
	parent->last = child;
	parent->n++;
}

/* The walk writes each key of an object once: the first match is it. The
 * text format asks some seventy a task; lengths and first bytes rule out
 * most members, and keys written and asked for are the same literals,
 * which the linker usually merges into one address. */
const struct ad_node *ad_node_get(const struct ad_node *object, const char *key, size_t key_len)
{
	if (!ad_node_is(object, AD_NODE_OBJECT))
		return NULL;
	for (const struct ad_node *m = object->first; m; m = m->next) {
		if (m->key_len != key_len)
			continue;
		if (m->key == key || key_len == 0 ||
		    (m->key[0] == key[0] && memcmp(m->key, key, key_len) == 0))
			return m;
	}
	return NULL;
}
