/* SPDX-License-Identifier: MIT */
/* Internal: the async-task family's adapter (async_task.c) and its leaf and
 * combinator recognisers (async_task_leaves.c). */
#ifndef ASYNCDUMP_RUNTIME_ASYNC_TASK_H
#define ASYNCDUMP_RUNTIME_ASYNC_TASK_H

#include "../runtime.h"

extern const struct ad_runtime_ops ad_async_task_runtime;
extern const struct ad_leaf_recogniser ad_async_task_leaves[];
extern const struct ad_combinator_recogniser ad_async_task_combinators[];

/* async-io's Async<T> (or what holds one: async-std's sockets): its fd. */
bool ad_async_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd);

/* Combinator recogniser for Executor::run / LocalExecutor::run futures:
 * notes the executor (its tasks are collected late), takes nothing. */
struct ad_error *ad_async_task_note_executor(struct ad_decode *d, const struct ad_value *v,
					      unsigned depth, struct ad_frame **ret);

#endif
