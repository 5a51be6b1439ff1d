/* SPDX-License-Identifier: MIT */
/* Internal: runtime adapters. Everything asyncdump knows of one async
 * runtime (a family of executors and the crates around it) sits behind one
 * `struct ad_runtime_ops`; the generic pipeline (capture.c), the future walk
 * (future.c), the library recognisers (combinators.c, leaves.c) and the
 * block_on search (block_on.c) name no runtime.
 *
 * How an adapter plugs in:
 *   1. core/runtime/NAME.c defines `const struct ad_runtime_ops
 *      ad_NAME_runtime` (kind, probe, prepare/destroy, collect, task ids,
 *      tables) and core/runtime/NAME_leaves.c, if it has any, the tables
 *      of its leaf and combinator recognisers;
 *   2. core/runtime/registry.c lists it in ad_runtime_adapters[];
 *   3. Makefile.am lists its sources.
 * Its recognisers build on recognisers.h (reading values, sockets through
 * io_registration, channel and pointer leaves, MaybeDone / PollFn) and
 * find their own adapter by kind (ad_decode_adapter_kind), not by naming
 * its ops: then no two objects of the library refer to each other in a
 * loop (tests/integration/layering.sh checks it, and that no runtime name
 * leaves its adapter's files).
 *
 * Lifetime: prepare() runs once per binary, before any pause, and resolves
 * every layout by name; its state is shared by all captures of that binary
 * (possibly at once: guard any cache in it). Per capture, every adapter
 * whose prepare() succeeded gets an ad_adapter (ops + binary state + its
 * own capture state), in registry order. Several adapters may be active
 * in one process (two families of runtimes side by side):
 * each adds its runtimes to the trace with its own `kind`, and each task
 * it adds points at one of them (ad_task.runtime).
 *
 * The order of a capture: capture_begin (all) → collect (all) → the
 * block_on future of every thread (block_on_functions of all adapters) →
 * collect_late (all) → capture_end (all). A task's future is decoded with
 * d->walk(d, type, address, 0, &task->root); d->adapter is the adapter
 * whose task is being decoded (capture.c sets it for collect,
 * collect_late and block_on futures), d->current_runtime its runtime in
 * the trace. d->trial is set while block_on.c decodes candidates it may
 * throw away: recognisers then note nothing in their capture state.
 *
 * Recognisers are data: tables of type name (or prefix) → decoder, ending
 * with an entry whose name is NULL. A leaf decoder returns true when it
 * filled frame->blocked_on (false: not a leaf it knows, the next entry is
 * tried); a combinator decoder leaves *ret NULL when it does not take the
 * value; it starts with AD_FAULT("combinator", type name) (fault.h) once
 * it knows the value is its own. Every active adapter's table is tried
 * before the libraries' (futures-util, hyper, h2), in registry order.
 * Decoders never call into the walk: recursion into a child future goes
 * through d->walk, and a leaf that wants the leaf of a value it holds
 * calls d->leaf. */
#ifndef ASYNCDUMP_RUNTIME_H
#define ASYNCDUMP_RUNTIME_H

#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>

#include "decode.h"

struct ad_runtime_ops;

/* One adapter in one capture. */
struct ad_adapter {
	const struct ad_runtime_ops *ops;
	void *binary;  /* what prepare() returned for this binary */
	void *capture; /* what capture_begin() set, or NULL */
};

enum ad_match {
	AD_MATCH_TYPE,   /* ad_type_is(): the name, generic arguments aside */
	AD_MATCH_PREFIX, /* any type whose name starts with `name` */
};

struct ad_leaf_recogniser {
	const char *name;
	enum ad_match match;
	bool (*decode)(struct ad_decode *d, const struct ad_value *v, struct ad_frame *frame);
};

struct ad_combinator_recogniser {
	const char *name;
	enum ad_match match;
	struct ad_error *(*decode)(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				   struct ad_frame **ret);
};

/* After an async fn whose path starts with fn_prefix has had its awaitee
 * decoded into `child`: completes the leaf from the fn's own state (env:
 * its suspended variant) — the socket of an accept, the channel of a send. */
struct ad_leaf_refiner {
	const char *fn_prefix;
	void (*refine)(struct ad_decode *d, const struct ad_value *env, const char *fn,
		       struct ad_frame *child);
};

/* A function that pins the future it is given on its own stack (see
 * block_on.h), without generic arguments, and its pinned variable. */
struct ad_block_on_function {
	const char *name;
	const char *variable;
};

struct ad_runtime_ops {
	const char *kind; /* ad_runtime.kind of the runtimes it adds: the crate's name */

	/* The cheap look (no DWARF walk, no pause): whether the ELF file
	 * links this runtime, by its symbol or debug string names. */
	bool (*probe)(Elf *elf);

	/* Once per binary, before any pause: the layouts, by name.
	 * AD_ERROR_NO_RUNTIME when the binary has no such runtime (the
	 * adapter is then inactive for it); the message says why. */
	struct ad_error *(*prepare)(struct ad_debuginfo *di, void **ret);
	void (*destroy)(void *binary);

	/* Optional: per-capture state in self->capture, freed by capture_end. */
	struct ad_error *(*capture_begin)(struct ad_decode *d, struct ad_adapter *self);
	void (*capture_end)(struct ad_adapter *self);

	/* The runtimes of the snapshot and every task they own, into
	 * d->trace; fills d->thread_runtime for the threads that run one.
	 * AD_ERROR_NO_RUNTIME when no thread runs one right now. Tasks are
	 * collected here, those no runtime structure reaches too where the
	 * heap can show them (heap_scan.h: a task vtable, a future's drop
	 * function); only an executor known only from the future holding it
	 * (one the program made itself, met inside a future) waits for
	 * collect_late (optional), after every other future was decoded. */
	struct ad_error *(*collect)(struct ad_decode *d, struct ad_adapter *self);
	struct ad_error *(*collect_late)(struct ad_decode *d, struct ad_adapter *self);

	/* A task handle's target (the task header or raw task pointer a
	 * JoinHandle or Task holds): its task id; and whether it is a task of this runtime
	 * (one the trace lists, or one whose vtable says so). */
	struct ad_error *(*task_id)(struct ad_decode *d, struct ad_adapter *self, uint64_t task,
				    uint64_t *ret);
	bool (*is_task)(struct ad_decode *d, struct ad_adapter *self, uint64_t task);

	/* Whether v is this runtime's I/O registration (the value that pairs
	 * an fd with the reactor, e.g. an Async<T>), and its file descriptor (-1: unknown). The
	 * libraries' socket leaves (hyper, h2, streams) find their socket
	 * through it. Optional. */
	bool (*io_registration)(struct ad_decode *d, const struct ad_value *v, int *fd);
	/* The bytes a stream or sink of this runtime's family (a codec's
	 * framing over a socket) holds in its read (`writing` false) or write
	 * buffer, v being the stream or what leads to it. Optional. */
	bool (*io_buffered)(struct ad_decode *d, const struct ad_value *v, bool writing, uint64_t *bytes);

	/* Tables, each ending with a NULL name; any may be NULL. */
	const struct ad_block_on_function *block_on_functions;
	const struct ad_leaf_recogniser *leaves;
	const struct ad_combinator_recogniser *combinators;
	const struct ad_leaf_refiner *refiners;
	/* Only for binaries whose Future impls could not be indexed: type
	 * name prefixes that are futures, and types among them that are not. */
	const char *const *future_prefixes;
	const char *const *not_futures;
};

/* registry.c: every adapter, NULL-terminated, in the order they are
 * tried. Read by capture.c and block_on.c only: decoders use d->adapters. */
extern const struct ad_runtime_ops *const ad_runtime_adapters[];

/* future.c: the active adapter of d with these ops, or of this kind (for
 * an adapter's recognisers, which then need not name its ops: no
 * reference loop between an adapter's files), or NULL. */
struct ad_adapter *ad_decode_adapter(struct ad_decode *d, const struct ad_runtime_ops *ops);
struct ad_adapter *ad_decode_adapter_kind(struct ad_decode *d, const char *kind);

/* future.c: whether a type name matches a recogniser's. */
bool ad_recogniser_matches(const struct ad_type *t, const char *name, enum ad_match match);

#endif
