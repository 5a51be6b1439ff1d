/* SPDX-License-Identifier: MIT */
/* Internal to the tokio adapter: what tokio.c (runtimes, task lists) and
 * tokio_leaves.c (recognisers) share. tokio.c refers to the recognisers;
 * they find the adapter by its kind (ad_decode_adapter_kind), never by
 * calling tokio.c. */
#ifndef ASYNCDUMP_RUNTIME_TOKIO_H
#define ASYNCDUMP_RUNTIME_TOKIO_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "runtime.h"

extern const struct ad_runtime_ops ad_tokio_runtime;

/* tokio_leaves.c */
extern const struct ad_leaf_recogniser ad_tokio_leaves[];
extern const struct ad_combinator_recogniser ad_tokio_combinators[];
extern const struct ad_leaf_refiner ad_tokio_refiners[];
bool ad_tokio_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd);
bool ad_tokio_io_buffered(struct ad_decode *d, const struct ad_value *v, bool writing, uint64_t *bytes);

#endif
