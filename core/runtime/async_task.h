/* SPDX-License-Identifier: MIT */
/* Internal: the async-task family's adapter (async_task.c) and its leaf and
 * combinator recognisers (async_task_leaves.c). */
#ifndef ASYNCDUMP_RUNTIME_ASYNC_TASK_H
#define ASYNCDUMP_RUNTIME_ASYNC_TASK_H

#include "../runtime.h"

extern const struct ad_runtime_ops ad_async_task_runtime;
extern const struct ad_leaf_recogniser ad_async_task_leaves[];
extern const struct ad_combinator_recogniser ad_async_task_combinators[];
extern const struct ad_leaf_refiner ad_async_task_refiners[];

/* async-io's Async<T> (or what holds one: async-std's sockets): its fd. */
bool ad_async_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd);

/* The env of an async fn `run` of async-executor (Executor, LocalExecutor,
 * State) met while decoding: notes the executor its `self` is, whose tasks
 * are then collected late. */
void ad_async_task_note_executor(struct ad_decode *d, const struct ad_value *env);

#endif
