/* SPDX-License-Identifier: MIT */
/* Rendering a trace: the JSON document (docs/trace.schema.json) and the
 * design's text format. Renderers run after the target has been resumed.
 *
 * A frame that awaits a JoinHandle of task B (frame->has_awaits_task) shows
 * B's tree as its subtree; a cycle is cut with "recursion": true and the
 * cycle's task ids. */
#ifndef ASYNCDUMP_RENDER_H
#define ASYNCDUMP_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "trace.h"

struct ad_render_options {
	bool locals;       /* include not-yet-polled futures */
	bool has_task;     /* only this task (with its subtree) */
	uint64_t task;
};

/* The whole document; AD_ERROR_NOT_FOUND when options->has_task names no task. */
struct ad_error *ad_render_json(const struct ad_trace *t, const struct ad_render_options *options,
				json_t **ret);
/* One task object (the "tasks" array element), with its subtree. */
struct ad_error *ad_render_task_json(const struct ad_trace *t, const struct ad_task *task,
				     const struct ad_render_options *options, json_t **ret);
/* The text format into a malloc'ed, NUL-terminated string. */
struct ad_error *ad_render_text(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret);

#endif
