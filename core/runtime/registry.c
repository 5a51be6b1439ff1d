/* SPDX-License-Identifier: MIT */
/* Every runtime adapter asyncdump has, in the order they are tried (their
 * runtimes, their recognisers). An adapter is added here and nowhere else
 * outside its own files (runtime.h says how). Only capture.c (and
 * block_on.c, for the names of block_on functions) reads this list: the
 * decoders see the adapters active in a capture, in d->adapters. */
#include <stddef.h>

#include "runtime.h"

extern const struct ad_runtime_ops ad_tokio_runtime;
extern const struct ad_runtime_ops ad_async_task_runtime;
extern const struct ad_runtime_ops ad_futures_executor_runtime;

const struct ad_runtime_ops *const ad_runtime_adapters[] = {
	&ad_tokio_runtime,
	&ad_async_task_runtime,
	&ad_futures_executor_runtime,
	NULL,
};
