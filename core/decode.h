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

struct ad_tokio;
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
	struct ad_tokio *tokio;    /* tokio's layout, for tokio leaves; may be NULL */
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
	/* LocalSets met while decoding (their tasks are in no runtime's list). */
	size_t nlocal_sets;
	struct ad_value local_sets[64]; /* each LocalSet's LocalOwnedTasks */
	unsigned local_set_runtime[64]; /* the runtime that drives it */
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

/* tokio.c: layout resolved by name before the pause, then the collection. */
struct ad_error *ad_tokio_prepare(struct ad_debuginfo *di, struct ad_tokio **ret);
void ad_tokio_destroy(struct ad_tokio *t);
struct ad_error *ad_tokio_collect(struct ad_decode *d);
/* A RunUntil / LocalSet value met while decoding: remember its LocalSet. */
struct ad_error *ad_tokio_note_local_set(struct ad_decode *d, const struct ad_value *v);
/* The tasks of every LocalSet noted, as tasks of kind local. */
struct ad_error *ad_tokio_collect_local(struct ad_decode *d);
/* The task id of a task header (for JoinHandle leaves). */
struct ad_error *ad_tokio_task_id(struct ad_decode *d, uint64_t header, uint64_t *ret);
/* Whether `header` is a task of the runtime: one the trace lists, or one
 * whose vtable's poll is an instance of tokio's raw::poll<T, S>. */
bool ad_tokio_is_task_header(struct ad_decode *d, uint64_t header);

/* leaves.c: a future of a known leaf type (timer, JoinHandle, lock, …):
 * fills frame->blocked_on and returns true; false when not a leaf. */
bool ad_decode_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *frame);
/* After an async fn's awaitee was decoded (future.c): completes the leaf at
 * the end of its chain from the fn's own state (env: the suspended
 * variant) — the socket of TcpListener::accept, the channel of
 * mpsc::Sender::send, watch::Receiver::changed, Barrier::wait. */
void ad_refine_leaf(struct ad_decode *d, const struct ad_value *env, const char *fn,
		    struct ad_frame *child);
/* For a future that holds no other future: the socket it polls, if any
 * (an accept loop's listener). */
bool ad_decode_io_fallback(struct ad_decode *d, const struct ad_value *v, struct ad_frame *frame);

/* combinators.c: futures_util / tokio combinators, each branch a child.
 * *ret is NULL when v is no combinator this knows. */
struct ad_error *ad_decode_combinator(struct ad_decode *d, const struct ad_value *v,
				      unsigned depth, struct ad_frame **ret);
/* A field holding many futures (Box<[F]>, Vec<F>): each one a child of f.
 * *handled false when the field is no such sequence. */
struct ad_error *ad_collect_sequence(struct ad_decode *d, struct ad_frame *f,
				     const struct ad_value *field, unsigned depth, bool *handled);

/* future.c */
bool ad_is_coroutine_env(const struct ad_type *t);
bool ad_is_future_like(struct ad_debuginfo *di, const struct ad_type *t);

/* Helpers shared by decoders. */
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
