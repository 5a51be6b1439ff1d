/* SPDX-License-Identifier: MIT */
/* The jansson renderer the streamed one replaced (render_json_reference.c):
 * test_render checks that both give the same document for every trace. */
#ifndef ASYNCDUMP_TEST_RENDER_JSON_REFERENCE_H
#define ASYNCDUMP_TEST_RENDER_JSON_REFERENCE_H

#include <jansson.h>

#include "asyncdump/render.h"

struct ad_error *ref_render_json(const struct ad_trace *t, const struct ad_render_options *options,
				 json_t **ret);
struct ad_error *ref_render_task_json(const struct ad_trace *t, const struct ad_task *task,
				      const struct ad_render_options *options, json_t **ret);

#endif
