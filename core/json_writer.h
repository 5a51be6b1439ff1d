/* SPDX-License-Identifier: MIT */
/* Internal: the writer behind render_json.c's walk, with two backends: JSON
 * text into an ad_outbuf (compact, or indented as jansson's JSON_INDENT(2)),
 * or, with no outbuf, a tree of nodes (node.h) that the text format draws.
 * Writing never stops half-way on OOM: a failure only sets oom, which the
 * walk checks once per piece. What every member of every task writes (its
 * key, the separator before it, a raw value) is inline here; the rest is
 * json_writer.c. */
#ifndef ASYNCDUMP_JSON_WRITER_H
#define ASYNCDUMP_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "asyncdump/render.h"
#include "node.h"
#include "render_internal.h"
#include "strpool.h"

/* Nesting of JSON containers: a frame is two (object, children), a task link
 * two more; render.h bounds it under 2 * AD_RENDER_MAX_DEPTH + 8. */
#define AD_JW_MAX_DEPTH (2 * AD_RENDER_MAX_DEPTH + 64)

struct ad_jw {
	struct ad_outbuf *out; /* JSON text, or NULL: a tree in root */
	unsigned indent;       /* text: spaces per level, 0 compact */
	unsigned depth;
	bool has_items[AD_JW_MAX_DEPTH];
	bool after_key;        /* the next value is a member's */
	const char *key;       /* tree: the member's key (a literal) */
	size_t key_len;
	struct ad_node *stack[AD_JW_MAX_DEPTH];
	struct ad_node *root;
	struct ad_strpool *pool; /* tree: where its nodes live */
	bool oom;
};

static inline void ad_jw_text(struct ad_jw *w, const char *s, size_t n)
{
	ad_outbuf_append(w->out, s, n);
}

/* An optional comma, then (when indenting) a newline and the indentation
 * of `depth`: one append, as every member of every task starts so. */
static inline size_t ad_jw_break_length(const struct ad_jw *w, bool comma, unsigned depth)
{
	return (comma ? 1 : 0) + (w->indent ? 1 + (size_t)depth * w->indent : 0);
}

/* Writes ad_jw_break_length() bytes at `at`; returns their end. */
static inline char *ad_jw_write_break(const struct ad_jw *w, char *at, bool comma, unsigned depth)
{
	if (comma)
		*at++ = ',';
	if (w->indent) {
		size_t spaces = (size_t)depth * w->indent;
		*at++ = '\n';
		memset(at, ' ', spaces);
		at += spaces;
	}
	return at;
}

static inline void ad_jw_break(struct ad_jw *w, bool comma, unsigned depth)
{
	size_t n = ad_jw_break_length(w, comma, depth);
	char *at = n ? ad_outbuf_extend(w->out, n) : NULL;
	if (at)
		ad_jw_write_break(w, at, comma, depth);
}

/* Text: the comma and indentation before a value or a key. */
static inline void ad_jw_separate(struct ad_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	bool comma = w->has_items[w->depth - 1];
	w->has_items[w->depth - 1] = true;
	ad_jw_break(w, comma, w->depth);
}

/* A value that needs no escaping: a number, true, null. */
static inline void ad_jw_raw(struct ad_jw *w, const char *s, size_t n)
{
	ad_jw_separate(w);
	ad_jw_text(w, s, n);
}

/* Keys are the schema's names, literals that need no escaping: the macro
 * hands them over quoted, with their colon and length, so that a member's
 * key is one append (every member of 100,000 tasks' objects has one). */
#define ad_jw_key(w, key) ad_jw_key_quoted((w), key, "\"" key "\":", sizeof(key) + 2)
/* Inlined at every member: the key's length is then a constant, and
 * copying it a few moves instead of a call. */
__attribute__((always_inline)) static inline void ad_jw_key_quoted(struct ad_jw *w,
								   const char *key,
								   const char *quoted, size_t n)
{
	if (!w->out) {
		w->key = key;
		w->key_len = n - 3; /* the quotes and the colon */
		return;
	}
	/* A key is never a member's value nor at depth 0: its separator is
	 * ad_jw_separate()'s, written with it in one append. */
	bool comma = w->has_items[w->depth - 1];
	w->has_items[w->depth - 1] = true;
	size_t lead = ad_jw_break_length(w, comma, w->depth);
	char *at = ad_outbuf_extend(w->out, lead + n + (w->indent ? 1 : 0));
	if (at) {
		at = ad_jw_write_break(w, at, comma, w->depth);
		memcpy(at, quoted, n);
		if (w->indent)
			at[n] = ' ';
	}
	w->after_key = true;
}

#define ad_jw_object(w) ad_jw_open(w, true)
#define ad_jw_end_object(w) ad_jw_close(w, true)
#define ad_jw_array(w) ad_jw_open(w, false)
#define ad_jw_end_array(w) ad_jw_close(w, false)

/* Values. Strings from the target are made valid UTF-8 and escaped as
 * jansson does. */
void ad_jw_string(struct ad_jw *w, const char *s);
void ad_jw_string_or_null(struct ad_jw *w, const char *s);
void ad_jw_null(struct ad_jw *w);
void ad_jw_bool(struct ad_jw *w, bool v);
/* Ids, inodes, counts: as jansson's signed integers did. */
void ad_jw_int(struct ad_jw *w, int64_t v);
void ad_jw_uint(struct ad_jw *w, uint64_t v);
/* As jansson writes a real. */
void ad_jw_real(struct ad_jw *w, double v);
/* ns as seconds, exactly: "3580.976010972". */
void ad_jw_seconds(struct ad_jw *w, int64_t ns);
/* "0x1f": as the schema writes addresses. */
void ad_jw_address(struct ad_jw *w, uint64_t a);
void ad_jw_address_or_null(struct ad_jw *w, uint64_t a);
/* A string that lives as long as the rendering (a literal, the trace's
 * own): the tree points at it rather than copying it. */
void ad_jw_kept_string(struct ad_jw *w, const char *s);
void ad_jw_kept_string_or_null(struct ad_jw *w, const char *s);

/* Containers: ad_jw_object() … ad_jw_end_object(), ad_jw_array() … */
void ad_jw_open(struct ad_jw *w, bool object);
void ad_jw_close(struct ad_jw *w, bool object);

#endif
