/* SPDX-License-Identifier: MIT */
/* Objects no registry lists: some executors keep no list of their tasks; a
 * pending task is reachable only from the wakers of what it waits on. Such
 * tasks are found by looking through the process's heap for a pointer only
 * they hold (a vtable, a function): the caller says which values may be
 * one, and checks each place found. */
#ifndef ASYNCDUMP_HEAP_SCAN_H
#define ASYNCDUMP_HEAP_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "asyncdump/error.h"

struct ad_decode;

/* Whether `value` may be the pointer looked for: called once per distinct
 * value that points into the executable's loaded segments (judged once per
 * scan). */
typedef bool ad_heap_candidate_fn(struct ad_decode *d, void *arg, uint64_t value);
/* One 8-aligned word holding an accepted value, at `address`. An error
 * stops the scan and is returned. */
typedef struct ad_error *ad_heap_found_fn(struct ad_decode *d, void *arg, uint64_t address,
					  uint64_t value);

/* Every word of the writable anonymous memory (heap, arenas, anonymous
 * mappings; not thread stacks) holding a pointer into the executable's
 * loaded segments that `candidate` accepts. Bounded by the memory of the
 * sample; pages that cannot be read are skipped. `exec` selects the code
 * segments (functions) rather than the data ones (vtables). */
struct ad_error *ad_heap_scan(struct ad_decode *d, bool exec, ad_heap_candidate_fn *candidate,
			      ad_heap_found_fn *found, void *arg);

#endif
