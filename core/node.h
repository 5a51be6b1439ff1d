/* SPDX-License-Identifier: MIT */
/* One task's document as a tree, for the text format: render_json.c's walk
 * builds it, render_text.c draws it (render_internal.h). Every node and
 * string lives in one pool that is emptied for the next task: no allocation
 * per value, as a jansson tree had (most of the text format's cost). */
#ifndef ASYNCDUMP_NODE_H
#define ASYNCDUMP_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strpool.h"

enum ad_node_kind {
	AD_NODE_NULL,
	AD_NODE_FALSE,
	AD_NODE_TRUE,
	AD_NODE_INT,
	AD_NODE_REAL,
	AD_NODE_STRING,
	AD_NODE_OBJECT,
	AD_NODE_ARRAY,
};

struct ad_node {
	enum ad_node_kind kind;
	const char *key; /* an object's member: its key (a literal, not copied) */
	size_t key_len;
	union {
		int64_t i;
		double r;
		const char *s;
	} v;
	size_t n;                     /* objects, arrays: members, elements */
	struct ad_node *first, *last; /* the same, in order */
	struct ad_node *next;         /* the next member or element */
};

/* A new node from the pool, or NULL; strings are copied into it. */
struct ad_node *ad_node_new(struct ad_strpool *pool, enum ad_node_kind kind);
struct ad_node *ad_node_string(struct ad_strpool *pool, const char *s, size_t len);
/* A string node that points at s, which must outlive the tree. */
struct ad_node *ad_node_kept_string(struct ad_strpool *pool, const char *s);
/* Appends child to an object (under key, of key_len bytes) or an array. */
void ad_node_append(struct ad_node *parent, const char *key, size_t key_len,
		    struct ad_node *child);

/* Reading, NULL-safe as jansson's getters are: a missing node is none of
 * these kinds, has no members and reads as 0 or NULL. */
const struct ad_node *ad_node_get(const struct ad_node *object, const char *key, size_t key_len);
static inline bool ad_node_is(const struct ad_node *n, enum ad_node_kind kind)
{
	return n && n->kind == kind;
}
static inline size_t ad_node_size(const struct ad_node *n)
{
	return n && (n->kind == AD_NODE_OBJECT || n->kind == AD_NODE_ARRAY) ? n->n : 0;
}
static inline const struct ad_node *ad_node_first(const struct ad_node *n)
{
	return ad_node_size(n) ? n->first : NULL;
}
static inline const char *ad_node_str(const struct ad_node *n)
{
	return ad_node_is(n, AD_NODE_STRING) ? n->v.s : NULL;
}
static inline int64_t ad_node_int(const struct ad_node *n)
{
	return ad_node_is(n, AD_NODE_INT) ? n->v.i : 0;
}
static inline double ad_node_number(const struct ad_node *n)
{
	return ad_node_is(n, AD_NODE_INT) ? (double)n->v.i : ad_node_is(n, AD_NODE_REAL) ? n->v.r : 0;
}

#endif
