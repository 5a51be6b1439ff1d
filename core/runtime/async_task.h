/* SPDX-License-Identifier: MIT */
/* Internal: the async-task family's adapter (async_task.c) and its leaf and
 * combinator recognisers (async_task_leaves.c), which never refer back to
 * async_task.c (they find the adapter by its kind). */
#ifndef ASYNCDUMP_RUNTIME_ASYNC_TASK_H
#define ASYNCDUMP_RUNTIME_ASYNC_TASK_H

#include "../runtime.h"

/* async_task_leaves.c: the tables and decoders the adapter lists. */
extern const struct ad_leaf_recogniser ad_async_task_leaves[];
extern const struct ad_combinator_recogniser ad_async_task_combinators[];

/* async-io's Async<T> (or what holds one: async-std's sockets): its fd. */
bool ad_async_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd);

/* Refiner of async-lock 2.6's lock fns (Mutex::lock, RwLock::write, …):
 * the leaf at the end of their awaitee is the lock itself. */
void ad_async_task_refine_lock(struct ad_decode *d, const struct ad_value *env, const char *fn,
			       struct ad_frame *child);

#endif
