/* SPDX-License-Identifier: MIT */
/* The tokio runtime adapter: every runtime of the process and every task
 * each one owns, found through tokio's own structures, by DWARF name.
 *
 * Runtimes: the thread-local tokio::runtime::context::CONTEXT of each thread
 * holds the scheduler handle that thread runs (workers, the thread inside
 * block_on, blocking-pool threads); deduplicated by the handle's address.
 * Tasks: the runtime's OwnedTasks list (one list up to 1.34, sharded
 * since 1.35), linked through each task's Trailer. A task's future type
 * comes from its vtable's poll function, raw::poll<T, S>. LocalSet tasks:
 * found in the heap, see "LocalSet tasks" below. The recognisers are in
 * tokio_leaves.c. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo_internal.h"
#include "decode.h"
#include "fault.h"
#include "heap_scan.h"
#include "runtime.h"
#include "tokio.h"
#include "u64map.h"

#define TOKIO_TASK_HEADER "tokio::runtime::task::core::Header"
#define TOKIO_TRAILER "tokio::runtime::task::core::Trailer"
#define TOKIO_CONTEXT_TLS "tokio::runtime::context::CONTEXT::"
#define TOKIO_CONTEXT "tokio::runtime::context::Context"
#define TOKIO_VERSIONS "tokio 1.24 to 1.53"
#define TOKIO_LOCAL_SHARED "tokio::task::local::Shared"
/* Functions of tokio::task::local (LocalSet's, its Shared's), legacy-mangled:
 * a program without them makes no LocalSet, and its heap is not scanned. */
#define TOKIO_LOCAL_CODE "_ZN5tokio4task5local"
/* S of a LocalSet's tasks: Arc<Shared> (", alloc::alloc::Global>" in newer rustc). */
#define LOCAL_SCHEDULER "alloc::sync::Arc<" TOKIO_LOCAL_SHARED

/* task state bits (runtime/task/state.rs) */
#define STATE_RUNNING 0x01u
#define STATE_COMPLETE 0x02u
#define STATE_NOTIFIED 0x04u
#define STATE_CANCELLED 0x20u

struct task_type {
	const struct ad_type *future;  /* T */
	uint64_t stage_offset;         /* of Core.stage from the header */
	const struct ad_type *stage;   /* the type at stage_offset */
	/* The Stage<T> enum inside it, and its offset from the header: the
	 * same for every task of the type (NULL when it could not be found:
	 * each task then says why). */
	const struct ad_type *stage_enum;
	uint64_t stage_enum_offset;
	uint64_t scheduler_offset;     /* of Core.scheduler from the header */
	const struct ad_type *scheduler; /* S */
	bool local;                    /* S is a LocalSet's Arc<Shared> */
};

struct ad_tokio {
	struct ad_debuginfo *di;
	uint64_t context_dtpoff;
	const struct ad_type *context_storage;
	const struct ad_type *context;    /* tokio::runtime::context::Context */
	uint64_t context_offset;          /* of the Context inside its storage */
	const struct ad_type *header;
	uint64_t state_off, vtable_off;
	uint64_t vt_poll_off, vt_trailer_off, vt_id_off;
	bool has_vt_id;
	uint64_t trailer_next_off;
	bool has_local_sets;  /* the program may make LocalSets (their type and code) */
	pthread_mutex_t task_types_lock; /* captures of one binary may run at once */
	struct ad_u64map task_types; /* poll fn (link-time) → struct task_type */
};

struct thread_task {
	pid_t tid;
	const char *name;
	bool has_task;
	uint64_t task_id;
	uint64_t tokio_thread_id; /* Context.thread_id; 0: none yet */
	int runtime;              /* index in the trace, or -1 */
};

static struct ad_error *layout_error(struct ad_error *err, const char *what)
{
	return ad_error_wrap(err, "unknown tokio layout (%s; asyncdump reads " TOKIO_VERSIONS
			     " by name)", what);
}

static struct ad_error *find_offset(struct ad_debuginfo *di, const struct ad_type *t,
				    const char *name, uint64_t *ret)
{
	const struct ad_type *ignored;
	return ad_find_member(di, t, name, 4, ret, &ignored);
}

/* Header.vtable → Vtable { poll, …, trailer_offset, scheduler_offset,
 * id_offset } (id_offset is optional: older tokio had none).
 * checked: tokio 1.24.2, 1.43.1, 1.53.2 (all three have id_offset) */
static struct ad_error *prepare_vtable(struct ad_tokio *tk)
{
	const struct ad_field *f = ad_type_field(tk->header, "vtable");
	const struct ad_type *ptr, *vt;
	struct ad_error *err;
	if (!f)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "%s has no field vtable",
				       TOKIO_TASK_HEADER);
	tk->vtable_off = f->offset;
	if ((err = ad_field_type(tk->di, f, &ptr)) || (err = ad_type_target(tk->di, ptr, &vt)))
		return err;
	if ((err = find_offset(tk->di, vt, "poll", &tk->vt_poll_off)) ||
	    (err = find_offset(tk->di, vt, "trailer_offset", &tk->vt_trailer_off)))
		return err;
	err = find_offset(tk->di, vt, "id_offset", &tk->vt_id_off);
	tk->has_vt_id = !err;
	ad_error_destroy(err);
	return NULL;
}

/* Trailer.owned: Pointers { inner: UnsafeCell<PointersInner { prev, next }> }.
 * checked: tokio 1.24.2, 1.43.1, 1.53.2 */
static struct ad_error *prepare_trailer(struct ad_tokio *tk)
{
	const struct ad_type *trailer, *owned;
	uint64_t owned_off, next_off;
	struct ad_error *err;
	if ((err = ad_debuginfo_find_type(tk->di, TOKIO_TRAILER, &trailer)) ||
	    (err = ad_find_member(tk->di, trailer, "owned", 3, &owned_off, &owned)) ||
	    (err = find_offset(tk->di, owned, "next", &next_off)))
		return err;
	tk->trailer_next_off = owned_off + next_off;
	return NULL;
}

static void tokio_destroy(void *binary);

static struct ad_error *tokio_prepare(struct ad_debuginfo *di, void **ret)
{
	struct ad_tokio *tk = calloc(1, sizeof(*tk));
	if (!tk)
		return &ad_error_nomem;
	tk->di = di;
	ad_u64map_init(&tk->task_types);
	pthread_mutex_init(&tk->task_types_lock, NULL);
	struct ad_error *err = ad_debuginfo_find_tls(di, TOKIO_CONTEXT_TLS, &tk->context_dtpoff,
						     &tk->context_storage);
	if (err) {
		ad_error_destroy(err);
		err = ad_error_create(AD_ERROR_NO_RUNTIME,
				      "%s is a Rust program without a tokio runtime (no thread-local "
				      "tokio::runtime::context::CONTEXT in its debuginfo); asyncdump "
				      "reads tokio runtimes",
				      ad_debuginfo_path(di));
		goto fail;
	}
	/* checked: tokio 1.24.2, 1.43.1, 1.53.2 (rustc 1.95: Storage<Context, ()>; rustc 1.63:
	 * fast::Key<Context>, tokio 1.24.2) */
	if ((err = ad_debuginfo_find_type(di, TOKIO_CONTEXT, &tk->context)) ||
	    (err = ad_find_typed_member(di, tk->context_storage, TOKIO_CONTEXT, 5,
					&tk->context_offset))) {
		/* Storage<Context, ()> (recent std) or fast::Key<Context> (older
		 * std): the Context is somewhere inside whatever std wraps it in. */
		err = layout_error(err, "runtime context and its thread-local storage");
		goto fail;
	}
	/* Header { state, queue_next, vtable, owner_id[, scheduled_at (1.53.2)] }.
	 * checked: tokio 1.24.2, 1.43.1, 1.53.2 */
	if ((err = ad_debuginfo_find_type(di, TOKIO_TASK_HEADER, &tk->header)) ||
	    (err = find_offset(di, tk->header, "state", &tk->state_off)) ||
	    (err = prepare_vtable(tk)) || (err = prepare_trailer(tk))) {
		err = layout_error(err, "task header, vtable or trailer");
		goto fail;
	}
	tk->has_local_sets = ad_debuginfo_has_type_prefix(di, TOKIO_LOCAL_SHARED) &&
			     ad_debuginfo_has_code_of(di, TOKIO_LOCAL_CODE);
	*ret = tk;
	return NULL;
fail:
	tokio_destroy(tk);
	return err;
}

static void tokio_destroy(void *binary)
{
	struct ad_tokio *tk = binary;
	if (!tk)
		return;
	for (size_t i = 0; i < tk->task_types.cap; i++)
		if (tk->task_types.keys[i])
			free(tk->task_types.values[i]);
	ad_u64map_deinit(&tk->task_types);
	pthread_mutex_destroy(&tk->task_types_lock);
	free(tk);
}

/* ---- runtimes, from each thread's CONTEXT */

/* Recent std keeps a lazy thread-local's value in Storage<T, D> {value,
 * state}; only an Alive one holds a Context (Initial is still zeroed).
 * checked: std of rustc 1.95 with tokio 1.24.2, 1.43.1, 1.53.2 */
static bool storage_is_alive(struct ad_decode *d, const struct ad_value *storage)
{
	struct ad_value state, var;
	const struct ad_variant *active;
	char buf[64];
	if (!ad_type_field(storage->type, "state"))
		return true;
	struct ad_error *err = ad_value_member(storage, "state", &state);
	if (!err)
		err = ad_value_strip_wrappers(&state, &state);
	if (!err && state.type->kind == AD_TYPE_ENUM)
		err = ad_value_variant(&state, &active, &var);
	else
		return true;
	if (err) {
		ad_error_destroy(err);
		return false;
	}
	return strcmp(ad_type_base(var.type, buf, sizeof(buf)), "Alive") == 0;
}

static struct ad_error *thread_context(struct ad_decode *d, struct ad_tokio *tk,
				       const struct ad_thread *th, struct ad_value *ret)
{
	uint64_t address;
	struct ad_error *err = ad_thread_local_address(d, th, tk->context_dtpoff, &address);
	if (err)
		return err;
	struct ad_value storage = ad_decode_value(d, tk->context_storage, address);
	if (!storage_is_alive(d, &storage))
		return ad_error_create(AD_ERROR_NOT_FOUND, "thread %d has no tokio context",
				       (int)th->tid);
	*ret = ad_decode_value(d, tk->context, address + tk->context_offset);
	return NULL;
}

/* Context.handle (1.24) or Context.current.handle (1.29+, HandleCell):
 * RefCell<Option<scheduler::Handle>>, Handle = CurrentThread(Arc<..>) |
 * MultiThread(Arc<..>). checked: tokio 1.24.2, 1.43.1, 1.53.2 */
static struct ad_error *context_handle(struct ad_decode *d, const struct ad_value *ctx,
				       const char **flavor_ret, struct ad_value *ret)
{
	uint64_t off;
	const struct ad_type *t;
	struct ad_error *err = ad_find_member(d->di, ctx->type, "handle", 3, &off, &t);
	if (err)
		return layout_error(err, "runtime context handle");
	struct ad_value v = ad_decode_value(d, t, ctx->address + off), var, arc;
	const struct ad_variant *active;
	char name[64];
	if ((err = ad_value_strip_wrappers(&v, &v)) || (err = ad_value_unwrap_option(&v, &v)))
		return err; /* None: this thread runs no runtime */
	if (v.type->kind != AD_TYPE_ENUM)
		return layout_error(ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
						    "%s is not an enum", v.type->name),
				    "scheduler handle");
	if ((err = ad_value_variant(&v, &active, &var)))
		return err;
	ad_type_base_name(var.type->name, name, sizeof(name));
	if (strcmp(name, "CurrentThread") == 0)
		*flavor_ret = "current_thread";
	else if (strcmp(name, "MultiThread") == 0)
		*flavor_ret = "multi_thread";
	else if (strcmp(name, "MultiThreadAlt") == 0)
		*flavor_ret = "multi_thread_alt";
	else
		return ad_error_create(AD_ERROR_NOT_FOUND, "scheduler handle variant %s", name);
	if ((err = ad_value_member(&var, "__0", &arc)) || (err = ad_value_deref(&arc, ret)))
		return err;
	return NULL;
}

/* A Context member that is a Cell<Option<X>>, X an 8-byte id (a
 * NonZeroU64 inside): its value, 0 for None or an unreadable member. */
static uint64_t context_id(struct ad_decode *d, const struct ad_value *ctx, const char *member)
{
	uint64_t off, id = 0;
	const struct ad_type *t;
	struct ad_value v;
	struct ad_error *err = ad_find_member(d->di, ctx->type, member, 3, &off, &t);
	if (!err) {
		v = ad_decode_value(d, t, ctx->address + off);
		if (!(err = ad_value_strip_wrappers(&v, &v)) && !(err = ad_value_unwrap_option(&v, &v)))
			err = v.type->size == 8 ? ad_read_u64(d->reader, v.address, &id)
						: ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "%s size", member);
	}
	return ad_succeeded(err) ? id : 0;
}

/* The task id a thread is polling right now: Context.current_task_id, Id
 * wrapping a u64 (NonZeroU64 in newer tokio).
 * checked: tokio 1.24.2, 1.43.1, 1.53.2 (Id(NonZeroU64) in 1.43.1 and 1.53.2) */
static bool context_current_task(struct ad_decode *d, const struct ad_value *ctx, uint64_t *ret)
{
	*ret = context_id(d, ctx, "current_task_id");
	return *ret != 0;
}

/* The thread's tokio ThreadId: Context.thread_id (ThreadId(NonZeroU64)),
 * set the first time tokio asks (a LocalSet's creation among others); 0 when
 * unset. checked: tokio 1.24.2, 1.43.1, 1.53.2 */
static uint64_t context_thread_id(struct ad_decode *d, const struct ad_value *ctx)
{
	return context_id(d, ctx, "thread_id");
}

/* ---- the task lists */

/* What a task's vtable says, kept for a walk: a vtable is read-only memory,
 * one per task type, and reading it for each of 100,000 tasks (three reads
 * outside the snapshot's copy) was a tenth of decoding them. */
#define VTABLE_MEMOS 16 /* a power of two */

struct vtable_memo {
	uint64_t vtable; /* 0: none */
	uint64_t trailer_offset;
	uint64_t id_offset; /* when tk->has_vt_id */
	struct task_type *tt;
};

struct list_walk {
	struct ad_decode *d;
	struct ad_tokio *tk;
	unsigned runtime;
	const struct thread_task *threads;
	size_t nthreads;
	size_t count;
	struct ad_u64map visited; /* task headers met, over every shard */
	struct vtable_memo memos[VTABLE_MEMOS];
};

/* Stage<T> in a task's stage member: CoreStage { stage: UnsafeCell<Stage<T>> }
 * or the UnsafeCell itself. checked: tokio 1.24.2, 1.43.1, 1.53.2 */
static struct ad_error *stage_enum(const struct ad_value *stage, struct ad_value *ret)
{
	struct ad_value v = *stage;
	struct ad_error *err;
	if (ad_type_is(v.type, "tokio::runtime::task::core::CoreStage") &&
	    (err = ad_value_member(&v, "stage", &v)))
		return err;
	return ad_value_strip_wrappers(&v, ret);
}

/* Members at fixed offsets, no memory read: worked out once a type instead
 * of once a task (a tenth of decoding a task whose future is three deep). */
static void find_stage_enum(struct ad_decode *d, struct task_type *tt)
{
	struct ad_value stage = ad_decode_value(d, tt->stage, 0), found;
	struct ad_error *err = stage_enum(&stage, &found);
	if (err) {
		ad_error_destroy(err);
		return;
	}
	tt->stage_enum = found.type;
	tt->stage_enum_offset = tt->stage_offset + found.address;
}

static struct ad_error *task_type_of_locked(struct ad_decode *d, struct ad_tokio *tk,
					   uint64_t vtable, struct task_type **ret)
{
	uint64_t poll;
	struct ad_error *err = ad_read_u64(d->reader, vtable + tk->vt_poll_off, &poll);
	if (err)
		return ad_error_wrap(err, "reading the vtable of a task");
	uint64_t link = poll - d->bias;
	struct task_type *tt = ad_u64map_get(&tk->task_types, link);
	if (tt) {
		*ret = tt;
		return NULL;
	}
	const struct ad_type *future, *sched, *cell;
	if ((err = ad_debuginfo_function_template_param(d->di, link, "T", &future)) ||
	    (err = ad_debuginfo_function_template_param(d->di, link, "S", &sched)))
		return layout_error(err, "task vtable poll function raw::poll<T, S>");
	/* Cell<T, S> { header, core: Core { scheduler, task_id, stage: CoreStage
	 * { stage } }, trailer }. checked: tokio 1.24.2, 1.43.1, 1.53.2 */
	char *cell_name;
	if (asprintf(&cell_name, "tokio::runtime::task::core::Cell<%s, %s>", future->name,
		     sched->name) < 0)
		return &ad_error_nomem;
	err = ad_debuginfo_find_type(d->di, cell_name, &cell);
	free(cell_name);
	if (err)
		return layout_error(err, "task cell");
	tt = calloc(1, sizeof(*tt));
	if (!tt)
		return &ad_error_nomem;
	tt->future = future;
	tt->local = sched->name && strncmp(sched->name, LOCAL_SCHEDULER, strlen(LOCAL_SCHEDULER)) == 0;
	if ((err = ad_find_member(d->di, cell, "stage", 3, &tt->stage_offset, &tt->stage)) ||
	    (err = ad_find_member(d->di, cell, "scheduler", 3, &tt->scheduler_offset,
				  &tt->scheduler))) {
		free(tt);
		return layout_error(err, "task core stage or scheduler");
	}
	find_stage_enum(d, tt);
	if (!ad_u64map_put(&tk->task_types, link, tt)) {
		free(tt);
		return &ad_error_nomem;
	}
	*ret = tt;
	return NULL;
}

static struct ad_error *task_type_of(struct ad_decode *d, struct ad_tokio *tk, uint64_t vtable,
				     struct task_type **ret)
{
	pthread_mutex_lock(&tk->task_types_lock);
	struct ad_error *err = task_type_of_locked(d, tk, vtable, ret);
	pthread_mutex_unlock(&tk->task_types_lock);
	return err;
}

static enum ad_task_state task_state(uint64_t word)
{
	if (word & STATE_RUNNING)
		return AD_TASK_RUNNING;
	if (word & STATE_CANCELLED)
		return AD_TASK_CANCELLED;
	if (word & STATE_COMPLETE)
		return AD_TASK_COMPLETE;
	if (word & STATE_NOTIFIED)
		return AD_TASK_SCHEDULED;
	return AD_TASK_IDLE;
}

/* The id at Header + vtable.id_offset: Core.task_id, Id(u64) or, in newer
 * tokio, Id(NonZeroU64) (same 8 bytes; a task always has one).
 * checked: tokio 1.24.2, 1.43.1, 1.53.2 */
static struct ad_error *task_id(struct ad_decode *d, struct ad_tokio *tk, uint64_t header,
				uint64_t *ret)
{
	uint64_t vtable, id_offset;
	struct ad_error *err;
	if (!tk->has_vt_id)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
				       "this tokio's task vtable has no id_offset");
	if ((err = ad_read_u64(d->reader, header + tk->vtable_off, &vtable)) ||
	    (err = ad_read_u64(d->reader, vtable + tk->vt_id_off, &id_offset)) ||
	    (err = ad_read_u64(d->reader, header + id_offset, ret)))
		return ad_error_wrap(err, "reading the id of task 0x%" PRIx64, header);
	return NULL;
}

static struct ad_error *tokio_task_id(struct ad_decode *d, struct ad_adapter *self,
				      uint64_t header, uint64_t *ret)
{
	return task_id(d, self->binary, header, ret);
}

/* One of the trace's tasks, or a header whose vtable's poll is an instance
 * of raw::poll<T, S>. */
static bool tokio_is_task(struct ad_decode *d, struct ad_adapter *self, uint64_t header)
{
	struct ad_tokio *tk = self->binary;
	if (!header)
		return false;
	for (size_t i = 0; i < d->trace->ntasks; i++)
		if (d->trace->tasks[i].kind != AD_TASK_KIND_BLOCK_ON &&
		    d->trace->tasks[i].address == header)
			return true;
	uint64_t vtable;
	struct task_type *tt;
	struct ad_error *err = ad_read_u64(d->reader, header + tk->vtable_off, &vtable);
	if (!err)
		err = task_type_of(d, tk, vtable, &tt);
	bool ok = !err;
	ad_error_destroy(err);
	return ok;
}

/* The future of a task whose stage is Running; NULL root otherwise.
 * Stage::{Running(T), Finished, Consumed}. checked: tokio 1.24.2, 1.43.1, 1.53.2 */
static struct ad_error *decode_task_future(struct ad_decode *d, struct ad_tokio *tk,
					   struct ad_task *task, uint64_t header, uint64_t vtable,
					   struct task_type *tt)
{
	struct ad_error *err = AD_FAULT("task", "a tokio task's future");
	if (err || (!tt && (err = task_type_of(d, tk, vtable, &tt))))
		return err;
	struct ad_value stage, running;
	if (tt->stage_enum) {
		stage = ad_decode_value(d, tt->stage_enum, header + tt->stage_enum_offset);
	} else {
		struct ad_value member = ad_decode_value(d, tt->stage, header + tt->stage_offset);
		if ((err = stage_enum(&member, &stage)))
			return err;
	}
	err = ad_value_member(&stage, "Running", &running);
	if (err) {
		/* Finished or Consumed: the future is gone. */
		ad_error_destroy(err);
		if (task->state == AD_TASK_IDLE)
			task->state = AD_TASK_COMPLETE;
		return NULL;
	}
	if ((err = ad_value_member(&running, "__0", &running)))
		return err;
	return d->walk(d, tt->future, running.address, 0, &task->root);
}

static void note_running_thread(struct list_walk *w, struct ad_task *task)
{
	for (size_t i = 0; i < w->nthreads; i++) {
		if (w->threads[i].has_task && task->has_id && w->threads[i].task_id == task->id) {
			task->tid = w->threads[i].tid;
			task->thread_name = strdup(w->threads[i].name);
			return;
		}
	}
}

/* The vtable's memo, made at its first task; NULL when a read failed (each
 * task then reads, and says, for itself). */
static const struct vtable_memo *vtable_memo(struct list_walk *w, uint64_t vtable)
{
	struct ad_decode *d = w->d;
	struct ad_tokio *tk = w->tk;
	struct vtable_memo *m = &w->memos[(vtable >> 3) & (VTABLE_MEMOS - 1)];
	if (vtable && m->vtable == vtable)
		return m;
	struct vtable_memo made = { .vtable = vtable };
	struct ad_error *err =
		ad_read_u64(d->reader, vtable + tk->vt_trailer_off, &made.trailer_offset);
	if (!err && tk->has_vt_id)
		err = ad_read_u64(d->reader, vtable + tk->vt_id_off, &made.id_offset);
	if (!err)
		err = task_type_of(d, tk, vtable, &made.tt);
	if (err || !vtable) {
		ad_error_destroy(err);
		return NULL;
	}
	*m = made;
	return m;
}

static struct ad_error *visit_task(struct list_walk *w, uint64_t header,
				   const struct vtable_memo *memo)
{
	struct ad_decode *d = w->d;
	struct ad_tokio *tk = w->tk;
	uint64_t state, vtable = memo ? memo->vtable : 0;
	struct ad_error *err;
	if ((err = ad_read_u64(d->reader, header + tk->state_off, &state)) ||
	    (!memo && (err = ad_read_u64(d->reader, header + tk->vtable_off, &vtable))))
		return err;
	struct ad_task *task;
	if ((err = ad_trace_add_task(d->trace, &task)))
		return err;
	task->kind = AD_TASK_KIND_TASK;
	task->address = header;
	task->runtime = w->runtime;
	d->current_runtime = w->runtime;
	task->state = task_state(state);
	if (memo && tk->has_vt_id)
		err = ad_read_u64(d->reader, header + memo->id_offset, &task->id);
	else
		err = task_id(d, tk, header, &task->id);
	task->has_id = !err;
	ad_error_destroy(err);
	if (task->state == AD_TASK_RUNNING)
		note_running_thread(w, task);
	return ad_task_note_undecodable(
		task, decode_task_future(d, tk, task, header, vtable, memo ? memo->tt : NULL));
}

static struct ad_error *walk_list(struct list_walk *w, uint64_t head)
{
	struct ad_decode *d = w->d;
	struct ad_tokio *tk = w->tk;
	uint64_t h = head;
	while (h) {
		/* One corrupt link must not turn the walk into a loop over the
		 * same tasks (or a silent stop): the first repeat ends it. */
		if (ad_u64map_get(&w->visited, h))
			return ad_trace_add_warning(d->trace,
						    "runtime %u: the task list comes back to task "
						    "0x%" PRIx64 " after %zu tasks (corrupt or cyclic "
						    "list); tasks after it are not shown",
						    w->runtime, h, w->count);
		if (!ad_u64map_put(&w->visited, h, w))
			return &ad_error_nomem;
		if (w->count++ >= AD_MAX_TASKS)
			return ad_trace_add_warning(d->trace,
						    "runtime %u: stopped after %d tasks (corrupt or "
						    "cyclic task list?)",
						    w->runtime, AD_MAX_TASKS);
		/* The next link first, so that the next task's memory comes in
		 * while this one is decoded. */
		uint64_t vtable, trailer_offset, next = 0;
		const struct vtable_memo *memo = NULL;
		struct ad_error *next_err = ad_read_u64(d->reader, h + tk->vtable_off, &vtable);
		if (!next_err && (memo = vtable_memo(w, vtable)))
			trailer_offset = memo->trailer_offset;
		else if (!next_err)
			next_err = ad_read_u64(d->reader, vtable + tk->vt_trailer_off, &trailer_offset);
		if (!next_err)
			next_err = ad_read_u64(d->reader, h + trailer_offset + tk->trailer_next_off,
					       &next);
		if (!next_err && next)
			ad_prefetch(d->reader, next, trailer_offset);
		struct ad_error *err = visit_task(w, h, memo);
		if (!err)
			err = next_err;
		else
			ad_error_destroy(next_err);
		if (err) {
			if (ad_error_is_fatal(err))
				return err;
			struct ad_error *w_err = ad_trace_add_warning(
				d->trace, "runtime %u: the task list ends early at task 0x%" PRIx64 ": %s",
				w->runtime, h, err->message);
			ad_error_destroy(err);
			return w_err;
		}
		h = next;
	}
	return NULL;
}

/* OwnedTasks: `list` (a LinkedList behind a Mutex, up to 1.34) or `lists`
 * (ShardedList: a boxed slice of Mutex<LinkedList>, 1.35+).
 * checked: 1.24.2 (inner.list.head), 1.43.1 and 1.53.2 (list.lists) */
static struct ad_error *list_heads(struct ad_decode *d, const struct ad_value *owned,
				   uint64_t *heads, size_t max, size_t *n_ret)
{
	uint64_t off;
	const struct ad_type *t, *lt;
	struct ad_error *err = ad_find_member(d->di, owned->type, "lists", 3, &off, &t);
	*n_ret = 0;
	if (!err) {
		struct ad_value slice = ad_decode_value(d, t, owned->address + off), ptr, len;
		uint64_t base, count, head_off, elem_size;
		if ((err = ad_value_member(&slice, "data_ptr", &ptr)) ||
		    (err = ad_value_member(&slice, "length", &len)) ||
		    (err = ad_value_pointer(&ptr, &base)) || (err = ad_value_uint(&len, &count)))
			return layout_error(err, "sharded task list");
		const struct ad_type *ptr_t = ptr.type, *elem;
		if ((err = ad_type_target(d->di, ptr_t, &elem)) ||
		    (err = ad_find_member(d->di, elem, "head", 6, &head_off, &lt)))
			return layout_error(err, "task list shard");
		elem_size = elem->size;
		for (uint64_t i = 0; i < count && *n_ret < max; i++) {
			if ((err = ad_read_u64(d->reader, base + i * elem_size + head_off, &heads[*n_ret])))
				return err;
			(*n_ret)++;
		}
		return NULL;
	}
	ad_error_destroy(err);
	if ((err = ad_find_member(d->di, owned->type, "head", 8, &off, &t)))
		return layout_error(err, "owned task list");
	if ((err = ad_read_u64(d->reader, owned->address + off, &heads[0])))
		return err;
	*n_ret = 1;
	return NULL;
}

static struct ad_error *collect_runtime(struct ad_decode *d, struct ad_tokio *tk,
					const struct ad_value *handle, unsigned index,
					const struct thread_task *threads, size_t nthreads)
{
	uint64_t off;
	const struct ad_type *t;
	struct ad_error *err = ad_find_member(d->di, handle->type, "owned", 4, &off, &t);
	if (err)
		return layout_error(err, "runtime's owned tasks");
	struct ad_value owned = ad_decode_value(d, t, handle->address + off);
	uint64_t heads[4096];
	size_t n;
	if ((err = list_heads(d, &owned, heads, 4096, &n)))
		return err;
	struct list_walk w = { .d = d, .tk = tk, .runtime = index, .threads = threads,
			       .nthreads = nthreads };
	ad_u64map_init(&w.visited);
	size_t before = d->trace->ntasks;
	for (size_t i = 0; i < n && !err; i++)
		err = walk_list(&w, heads[i]);
	ad_u64map_deinit(&w.visited);
	d->trace->runtimes[index].ntasks = d->trace->ntasks - before;
	return err;
}

/* ---- LocalSet tasks
 *
 * A LocalSet's tasks are in no runtime's list, and no runtime structure
 * points at an idle LocalSet (tokio::task::local's CURRENT is set only while
 * the set is polled). So they are found in the heap (heap_scan.h): a task
 * header is the only thing that points at a task vtable, and a LocalSet's
 * tasks are those whose vtable polls raw::poll<T, Arc<Shared>>. A header
 * leads to its set's Shared (Core.scheduler), whose LocalOwnedTasks list
 * (Shared.local_state.owned) is walked once per set; a header that is not on
 * its set's list is a stale copy (freed memory) and leads nowhere. The set's
 * tasks belong to the runtime of the thread that owns the set: its
 * LocalState.owner, a tokio ThreadId, is that thread's Context.thread_id.
 * checked: tokio 1.24.2, 1.43.1, 1.53.2 */

struct local_scan {
	struct ad_tokio *tk;
	struct ad_u64map sets;  /* Shared addresses whose list was walked */
	bool layout_said;       /* the trace warns of an unknown layout */
	struct list_walk walk;  /* over every set; its runtime is the set's */
};

static bool is_local_task_vtable(struct ad_decode *d, void *arg, uint64_t vtable)
{
	struct local_scan *s = arg;
	struct task_type *tt;
	return ad_succeeded(task_type_of(d, s->tk, vtable, &tt)) && tt->local;
}

/* The next header on an owned-task list, through the trailer. */
static struct ad_error *next_on_list(struct ad_decode *d, struct ad_tokio *tk, uint64_t header,
				     uint64_t *ret)
{
	uint64_t vtable, trailer_offset;
	struct ad_error *err = ad_read_u64(d->reader, header + tk->vtable_off, &vtable);
	if (!err)
		err = ad_read_u64(d->reader, vtable + tk->vt_trailer_off, &trailer_offset);
	if (!err)
		err = ad_read_u64(d->reader, header + trailer_offset + tk->trailer_next_off, ret);
	return err;
}

static bool list_holds(struct ad_decode *d, struct ad_tokio *tk, uint64_t head, uint64_t header)
{
	uint64_t h = head;
	for (size_t n = 0; h && n < AD_MAX_TASKS; n++) {
		if (h == header)
			return true;
		if (!ad_succeeded(next_on_list(d, tk, h, &h)))
			return false;
	}
	return false;
}

static unsigned runtime_of_owner(const struct list_walk *w, uint64_t owner)
{
	for (size_t i = 0; owner && i < w->nthreads; i++)
		if (w->threads[i].tokio_thread_id == owner && w->threads[i].runtime >= 0)
			return (unsigned)w->threads[i].runtime;
	return AD_NO_RUNTIME;
}

/* The set's Shared and its list's head, from one of its tasks' header.
 * *layout: the error is of the types (every set's), not of this memory. */
static struct ad_error *local_set_of(struct ad_decode *d, const struct task_type *tt,
				     uint64_t header, struct ad_value *shared, uint64_t *head,
				     bool *layout)
{
	struct ad_value sched = ad_decode_value(d, tt->scheduler, header + tt->scheduler_offset);
	uint64_t off, head_off;
	const struct ad_type *owned, *t;
	struct ad_error *err = ad_value_deref(&sched, shared);
	if (err)
		return err;
	if ((err = ad_find_member(d->di, shared->type, "owned", 4, &off, &owned)) ||
	    (err = ad_find_member(d->di, owned, "head", 6, &head_off, &t))) {
		*layout = true;
		return layout_error(err, "LocalSet task list");
	}
	return ad_read_u64(d->reader, shared->address + off + head_off, head);
}

static uint64_t local_set_owner(struct ad_decode *d, const struct ad_value *shared)
{
	uint64_t off, owner = 0;
	const struct ad_type *t;
	if (ad_succeeded(ad_find_member(d->di, shared->type, "owner", 4, &off, &t)) && t->size == 8 &&
	    ad_succeeded(ad_read_u64(d->reader, shared->address + off, &owner)))
		return owner;
	return 0;
}

static struct ad_error *local_task_found(struct ad_decode *d, void *arg, uint64_t address,
					 uint64_t vtable)
{
	struct local_scan *s = arg;
	uint64_t header = address - s->tk->vtable_off, head;
	struct task_type *tt;
	struct ad_value shared;
	bool layout = false;
	struct ad_error *err = task_type_of(d, s->tk, vtable, &tt);
	if (!err)
		err = local_set_of(d, tt, header, &shared, &head, &layout);
	if (err && ad_error_is_fatal(err))
		return err;
	if (layout && !s->layout_said) {
		/* Said once: every LocalSet's tasks are missing, the rest stands. */
		s->layout_said = true;
		struct ad_error *w = ad_trace_add_warning(d->trace, "LocalSet tasks are not listed: %s",
							  err->message);
		ad_error_destroy(err);
		return w;
	}
	/* A stale copy of a header leads to no set that lists it. */
	if (!ad_succeeded(err) || ad_u64map_get(&s->sets, shared.address) ||
	    !list_holds(d, s->tk, head, header))
		return NULL;
	if (!ad_u64map_put(&s->sets, shared.address, s))
		return &ad_error_nomem;
	s->walk.runtime = runtime_of_owner(&s->walk, local_set_owner(d, &shared));
	size_t before = d->trace->ntasks;
	err = walk_list(&s->walk, head);
	for (size_t k = before; k < d->trace->ntasks; k++)
		d->trace->tasks[k].kind = AD_TASK_KIND_LOCAL;
	return err;
}

static struct ad_error *collect_local_sets(struct ad_decode *d, struct ad_tokio *tk,
					   const struct thread_task *threads, size_t nthreads)
{
	struct local_scan s = {
		.tk = tk,
		.walk = { .d = d, .tk = tk, .threads = threads, .nthreads = nthreads },
	};
	ad_u64map_init(&s.sets);
	ad_u64map_init(&s.walk.visited);
	struct ad_error *err = ad_heap_scan(d, false, is_local_task_vtable, local_task_found, &s);
	ad_u64map_deinit(&s.walk.visited);
	ad_u64map_deinit(&s.sets);
	return err;
}

static struct ad_error *tokio_collect(struct ad_decode *d, struct ad_adapter *self)
{
	struct ad_tokio *tk = self->binary;
	const struct ad_snapshot *snap = d->snap;
	struct thread_task *threads = calloc(snap->nthreads ? snap->nthreads : 1, sizeof(*threads));
	struct ad_value *handles = calloc(snap->nthreads ? snap->nthreads : 1, sizeof(*handles));
	const char **flavors = calloc(snap->nthreads ? snap->nthreads : 1, sizeof(*flavors));
	struct ad_error *err = NULL;
	size_t nhandles = 0;
	if (!threads || !handles || !flavors) {
		err = &ad_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct ad_thread *th = &snap->threads[i];
		struct ad_value ctx = { 0 }, handle = { 0 };
		const char *flavor = NULL;
		threads[i].tid = th->tid;
		threads[i].name = th->name;
		threads[i].runtime = -1;
		struct ad_error *e = thread_context(d, tk, th, &ctx);
		if (!e) {
			threads[i].has_task = context_current_task(d, &ctx, &threads[i].task_id);
			threads[i].tokio_thread_id = context_thread_id(d, &ctx);
			e = context_handle(d, &ctx, &flavor, &handle);
		}
		if (e) {
			if (e->code == AD_ERROR_UNKNOWN_LAYOUT || ad_error_is_fatal(e)) {
				err = e;
				goto out;
			}
			ad_error_destroy(e); /* this thread runs no runtime */
			continue;
		}
		size_t k = 0;
		while (k < nhandles && handles[k].address != handle.address)
			k++;
		if (k == nhandles) {
			flavors[nhandles] = flavor;
			handles[nhandles++] = handle;
		}
		threads[i].runtime = (int)(d->trace->nruntimes + k); /* added in this order */
		if (d->thread_runtime)
			d->thread_runtime[i] = threads[i].runtime;
	}
	if (!nhandles) {
		err = ad_error_create(AD_ERROR_NO_RUNTIME,
				      "process %d has tokio but no thread runs a tokio runtime right now "
				      "(none has a scheduler handle in its tokio context)",
				      (int)snap->pid);
		goto out;
	}
	for (size_t k = 0; k < nhandles; k++) {
		struct ad_runtime *rt;
		if ((err = ad_trace_add_runtime(d->trace, "tokio", flavors[k], handles[k].address, &rt)))
			goto out;
		d->adapter = self;
		if ((err = collect_runtime(d, tk, &handles[k], rt->id, threads, snap->nthreads)))
			goto out;
	}
	if (tk->has_local_sets)
		err = collect_local_sets(d, tk, threads, snap->nthreads);
out:
	free(threads);
	free(handles);
	free(flavors);
	return err;
}

/* ---- the adapter */

/* The cheap look: tokio's symbols or debug strings in the ELF file. */
static bool tokio_probe(Elf *elf)
{
	return ad_elf_section_contains(elf, ".strtab", "tokio7runtime") ||
	       ad_elf_section_contains(elf, ".debug_str", "tokio::runtime") ||
	       ad_elf_section_contains(elf, ".debug_str", "OwnedTasks");
}

static const struct ad_block_on_function block_on_functions[] = {
	/* multi_thread Runtime::block_on, Handle::block_on (tokio 1.24 and later) */
	{ "tokio::runtime::park::CachedParkThread::block_on", "f" },
	{ "tokio::runtime::scheduler::current_thread::CurrentThread::block_on", "future" },
	{ NULL, NULL },
};

/* For binaries whose Future impls could not be indexed. */
static const char *const future_prefixes[] = {
	"tokio::time::sleep::Sleep", "tokio::time::timeout::Timeout",
	"tokio::runtime::task::join::JoinHandle", "tokio::task::join_set::JoinSet",
	"tokio::sync::", "tokio::future::", "tokio::io::util::", "tokio::runtime::io::scheduled_io::Readiness",
	"tokio::task::local::RunUntil", "tokio::task::yield_now::", NULL,
};

static const char *const not_futures[] = {
	"tokio::sync::mpsc::bounded::Sender", "tokio::sync::notify::Notify", NULL,
};

const struct ad_runtime_ops ad_tokio_runtime = {
	.kind = "tokio",
	.probe = tokio_probe,
	.prepare = tokio_prepare,
	.destroy = tokio_destroy,
	.collect = tokio_collect,
	.task_id = tokio_task_id,
	.is_task = tokio_is_task,
	.io_registration = ad_tokio_io_registration,
	.io_buffered = ad_tokio_io_buffered,
	.block_on_functions = block_on_functions,
	.leaves = ad_tokio_leaves,
	.combinators = ad_tokio_combinators,
	.refiners = ad_tokio_refiners,
	.future_prefixes = future_prefixes,
	.not_futures = not_futures,
};
