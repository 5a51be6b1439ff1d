/* SPDX-License-Identifier: MIT */
/* What the JSON and text renderers share, inside the library.
 *
 * Both outputs come from one walk of the trace (core/render_json.c), which
 * writes either JSON text or, for the text format, each task's object as a
 * tree of nodes (node.h) that core/render_text.c draws: so both expand task links,
 * detect cycles and cut big trees in exactly the same way. */
#ifndef ASYNCDUMP_RENDER_INTERNAL_H
#define ASYNCDUMP_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "asyncdump/trace.h"
#include "node.h"

/* A growing, NUL-terminated output buffer; a failed growth sets oom and
 * drops everything after it. */
struct ad_outbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

/* ad_outbuf_append when the buffer must grow first. */
void ad_outbuf_append_growing(struct ad_outbuf *o, const char *s, size_t n);
/* Inline: a document is a million small appends. */
static inline void ad_outbuf_append(struct ad_outbuf *o, const char *s, size_t n)
{
	if (o->oom || !o->buf || n >= o->cap - o->len) {
		ad_outbuf_append_growing(o, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}
/* ad_outbuf_extend when the buffer must grow first. */
char *ad_outbuf_extend_growing(struct ad_outbuf *o, size_t n);
/* n more bytes for the caller to write, or NULL (oom set). Inline, as
 * ad_outbuf_append. */
static inline char *ad_outbuf_extend(struct ad_outbuf *o, size_t n)
{
	if (o->oom || !o->buf || n >= o->cap - o->len)
		return ad_outbuf_extend_growing(o, n);
	char *at = o->buf + o->len;
	o->len += n;
	o->buf[o->len] = '\0';
	return at;
}

/* The text format's pieces (core/render_text.c), in document order. */
void ad_text_head(struct ad_outbuf *o, const struct ad_trace *t, const char *captured_at);
void ad_text_no_tasks(struct ad_outbuf *o);
/* One task object of the JSON document, as a tree. */
void ad_text_task(struct ad_outbuf *o, const char *source_root, const struct ad_node *task);
void ad_text_cycle(struct ad_outbuf *o, const uint64_t *task_ids, size_t n);
void ad_text_warning(struct ad_outbuf *o, const char *warning);

#endif
