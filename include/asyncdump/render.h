/* SPDX-License-Identifier: MIT */
/* Rendering a trace: the JSON document (docs/trace.schema.json) and the
 * design's text format. Renderers run after the target has been resumed.
 *
 * A frame that awaits a JoinHandle of task B (frame->has_awaits_task) shows
 * B's tree as its subtree: its last child is a task link
 * {"kind": "task", "task_id": B, "address", "state", "note", "blocked_on",
 * "root": B's tree}. When B is already on the path from the rendered task
 * down to this frame (a task awaiting itself, directly or through others),
 * the link carries "recursion": true and "cycle": [B, ..., B] (the task ids
 * around the cycle in await order, the first repeated last) instead of a
 * root; a B that is not in the trace gives "missing": true. Locals (not yet
 * polled) are never followed into other tasks.
 *
 * So that a deep tree or a wide fan-in on one task cannot blow a document up,
 * rendering is bounded by the limits below; a cut is marked "truncated": true
 * on the frame or link whose content is not shown, and explained in the
 * document's "warnings". */
#ifndef ASYNCDUMP_RENDER_H
#define ASYNCDUMP_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "trace.h"

/* Nesting of frames, counting task links as one level: deeper frames are cut.
 * Keeps the JSON under 2 * 256 + 8 levels (jansson parses 2048, Python's json 1000). */
#define AD_RENDER_MAX_DEPTH AD_FRAME_MAX_DEPTH
/* Task links inside task links (A awaits B awaits C ...) that are expanded:
 * the JSON document inlines one level (an awaited task's tree under the
 * awaiting frame; task links inside it are by id, the task being in "tasks"
 * anyway), so that a chain of N tasks costs O(N), not O(N^2); the text format,
 * read by people, nests up to AD_RENDER_MAX_TASK_NESTING as the design shows. */
#define AD_RENDER_JSON_TASK_NESTING 1
#define AD_RENDER_MAX_TASK_NESTING 16
/* Frames shown again under task links, per document: beyond, links are cut
 * (each task is still shown on its own, and with ?task=ID). */
#define AD_RENDER_MAX_LINKED_FRAMES 100000

struct ad_render_options {
	bool locals;       /* include not-yet-polled futures */
	bool has_task;     /* only this task (with its subtree) */
	uint64_t task;
	size_t max_linked_frames; /* 0: AD_RENDER_MAX_LINKED_FRAMES */
	unsigned max_task_nesting; /* 0: AD_RENDER_JSON_TASK_NESTING (JSON), the
				    * text format's own bound (text) */
};

enum ad_render_format {
	AD_RENDER_JSON,        /* compact, no newline at the end */
	AD_RENDER_JSON_PRETTY, /* indented by two spaces, no newline at the end */
	AD_RENDER_TEXT,        /* the design's text format (core/render_text.c) */
};

/* A document rendered piece by piece, one task at a time, so that a large
 * trace never has its whole document in memory (the daemon streams it into
 * its response). The trace must outlive the stream. */
struct ad_render_stream;
/* AD_ERROR_NOT_FOUND when options->has_task names no task. */
struct ad_error *ad_render_stream_create(const struct ad_trace *t, enum ad_render_format format,
					 const struct ad_render_options *options,
					 struct ad_render_stream **ret);
/* Copies the next `size` bytes of the document into buf, *len of them:
 * fewer only at the end, 0 once it is all read. On an error the stream
 * stays failed. */
struct ad_error *ad_render_stream_read(struct ad_render_stream *s, char *buf, size_t size,
				       size_t *len);
/* NULL is ignored. */
void ad_render_stream_destroy(struct ad_render_stream *s);

/* The whole document (compact), malloc'ed and NUL-terminated, in *ret and
 * its length in *len (len may be NULL); AD_ERROR_NOT_FOUND when
 * options->has_task names no task. */
struct ad_error *ad_render_json(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret, size_t *len);
/* One task object (the "tasks" array element), with its subtree, as
 * ad_render_json(). `task` must belong to `t`. Cuts are marked in the object;
 * their warnings are dropped. */
struct ad_error *ad_render_task_json(const struct ad_trace *t, const struct ad_task *task,
				     const struct ad_render_options *options, char **ret,
				     size_t *len);
/* The text format into a malloc'ed, NUL-terminated string (the layout is
 * described in core/render_text.c); AD_ERROR_NOT_FOUND as ad_render_json(). */
struct ad_error *ad_render_text(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret);

#endif
