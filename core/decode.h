/* SPDX-License-Identifier: MIT */
/* Internal: what every decoder shares while it turns a snapshot into a
 * trace. Decoding runs after the target has been resumed, on the copy. */
#ifndef ASYNCDUMP_DECODE_H
#define ASYNCDUMP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncdump/debuginfo.h"
#include "asyncdump/snapshot.h"
#include "asyncdump/trace.h"
#include "asyncdump/type.h"
#include "asyncdump/value.h"
#include "u64map.h"

/* Bounds on walks over untrusted memory. */
#define AD_MAX_FUTURE_DEPTH 128     /* nested futures in one task */
#define AD_MAX_FIELD_DEPTH 8        /* fields walked inside a hand-written future */
#define AD_MAX_CHILDREN 4096        /* children of one frame (join_all, FuturesUnordered) */
#define AD_MAX_TASKS 1000000        /* tasks in one runtime's lists */
#define AD_MAX_NODES 4000000        /* frames in one trace */
#define AD_MAX_TASK_NODES 100000    /* frames in one task's tree */

struct ad_adapter;
struct ad_frame;

struct ad_decode {
	struct ad_debuginfo *di;
	const struct ad_snapshot *snap;
	const struct ad_reader *reader;
	uint64_t bias;             /* runtime address = link-time address + bias */
	struct ad_trace *trace;
	bool locals;
	size_t nodes;
	/* Per task (reset at each root): the futures decoded so far, by
	 * address and type, so that the generic walk shows none twice and
	 * never runs in a circle; and their count. */
	struct ad_u64map visited;
	size_t task_nodes;
	/* Per sample: how each type met is unwrapped, a state machine
	 * type's function path and where it is suspended in each variant
	 * (future.c). */
	struct ad_u64map unwrap_steps;
	struct ad_u64map env_paths;
	struct ad_u64map env_locations;
	/* The runtime adapters active in this capture (runtime.h), in
	 * registry order, and the one whose task is being decoded (NULL: a
	 * block_on of no runtime's). */
	struct ad_adapter *adapters;
	size_t nadapters;
	struct ad_adapter *adapter;
	/* Recursion without a call back into future.c: the tree of a child
	 * future (ad_decode_future), and the leaf of a value (ad_decode_leaf). */
	struct ad_error *(*walk)(struct ad_decode *d, const struct ad_type *type, uint64_t address,
				 unsigned depth, struct ad_frame **ret);
	bool (*leaf)(struct ad_decode *d, const struct ad_value *v, struct ad_frame *frame);
	/* The runtime whose task (or block_on) is being decoded, and per
	 * snapshot thread the runtime its context holds (-1: none). */
	unsigned current_runtime;
	int *thread_runtime;
	/* Decoding a candidate that may be thrown away (block_on.c's scan):
	 * recognisers note nothing for later (an executor met inside a future). */
	bool trial;
	/* A sample without a stop: the reads to check (consistency.h); NULL
	 * for a stopped sample or a core. */
	struct ad_read_log *read_log;
};

static inline struct ad_value ad_decode_value(const struct ad_decode *d, const struct ad_type *t,
					      uint64_t address)
{
	return (struct ad_value){ d->di, d->reader, t, address };
}

/* future.c: the tree of futures rooted at (type, address). Never fails but
 * for lack of memory: what cannot be decoded becomes a frame with `error`. */
struct ad_error *ad_decode_future(struct ad_decode *d, const struct ad_type *type,
				  uint64_t address, unsigned depth, struct ad_frame **ret);

/* tls.c: the address of a thread-local of the executable in one thread. */
struct ad_error *ad_thread_local_address(struct ad_decode *d, const struct ad_thread *thread,
					 uint64_t dtpoff, uint64_t *ret);

/* future.c: a future of a known leaf type (timer, JoinHandle, lock, …),
 * by the recognisers of the active adapters, then the libraries': fills
 * frame->blocked_on and returns true; false when not a leaf. */
bool ad_decode_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *frame);

/* leaves.c: for a future that holds no other future, the socket it
 * polls, if any (an accept loop's listener). */
bool ad_decode_io_fallback(struct ad_decode *d, const struct ad_value *v, struct ad_frame *frame);

/* future_type.c: the kind of a compiler-generated state machine by its
 * type name; whether a type is one (an enum so named); whether it is a
 * future or leads to one (pointer, Box, Pin, Option), by the program's
 * Future impls or, without them, the names the adapters give. */
enum ad_env_kind { AD_ENV_NONE, AD_ENV_FN, AD_ENV_BLOCK, AD_ENV_CLOSURE, AD_ENV_COROUTINE };
enum ad_env_kind ad_env_kind(const char *type_name);
enum ad_env_kind ad_type_env_kind(const struct ad_type *t); /* the same, by its base name */
bool ad_is_coroutine_env(const struct ad_type *t);
bool ad_is_future_like(const struct ad_decode *d, const struct ad_type *t);

/* Helpers shared by decoders. */
/* A task whose root future could not be decoded keeps its place in the
 * trace with a note saying why: err is consumed; only lack of memory is
 * returned. */
static inline struct ad_error *ad_task_note_undecodable(struct ad_task *task, struct ad_error *err)
{
	if (!err || ad_error_is_fatal(err))
		return err;
	struct ad_error *noted =
		ad_task_set_note(task, "the task's future could not be decoded: %s", err->message);
	ad_error_destroy(err);
	return noted;
}

/* For a look whose failure only means "no" (is this a task? a waker?):
 * whether it succeeded; the error, if any, is dropped. */
static inline bool ad_succeeded(struct ad_error *err)
{
	bool ok = !err;
	ad_error_destroy(err);
	return ok;
}

/* A member named `name` anywhere inside `t`, breadth first through struct,
 * enum-variant and union members (never through pointers), at most
 * `max_depth` levels down: its offset from the start of `t` and its type. */
struct ad_error *ad_find_member(struct ad_debuginfo *di, const struct ad_type *t, const char *name,
				int max_depth, uint64_t *offset_ret, const struct ad_type **type_ret);

/* Like ad_find_member, for the first member whose type is named `type_name`
 * (generic arguments included), or `t` itself (offset 0). */
struct ad_error *ad_find_typed_member(struct ad_debuginfo *di, const struct ad_type *t,
				      const char *type_name, int max_depth, uint64_t *offset_ret);

#endif
