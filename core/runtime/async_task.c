/* SPDX-License-Identifier: MIT */
/* The async-task family: tasks of async-executor's executors (smol's and
 * async-std's global ones, an Executor or LocalExecutor of the program's
 * own), each an async-task raw task; the future passed to async-io's
 * block_on. Leaves (async-io timers and sockets, async-channel, async-lock,
 * event-listener, async-task's Task) are in async_task_leaves.c.
 *
 * Layouts, read by name; checked on bookworm (async-task 4.3.0,
 * async-executor 1.5.0, async-io 1.11.0, async-global-executor 2.3.1, smol
 * 1.3.0, async-std 1.12.0), trixie (async-task 4.7.1, async-executor
 * 1.13.1, async-io 2.3.3, async-global-executor 2.4.1, smol 2.0.2,
 * async-std 1.13.1) and sid (async-executor 1.14.0, async-global-executor
 * 3.1.0, async-std 1.13.2):
 *
 * - a task is one allocation: Header (4.3: Header; 4.7: Header<M>) {
 *   vtable: &TaskVTable, state: AtomicUsize, awaiter: Option<Waker>, (4.7)
 *   metadata: M, propagate_panic }, then the schedule fn S, then the
 *   future F or its output T (a union). The Header is at offset 0: a
 *   Waker's data pointer, a Runnable's and a Task's `ptr` all point at it.
 * - TaskVTable { schedule, drop_future, get_output, drop_ref, destroy, run,
 *   clone_waker, layout_info: &Option<TaskLayout> } (4.3 and 4.7 alike);
 *   TaskLayout { layout, offset_s, offset_f, offset_r }: the future is at
 *   header + offset_f. `run` is RawTask<F, T, S(, M)>::run, whose DWARF
 *   template parameter F is the future's type. F is async-executor's spawn wrapper (an async block
 *   holding the CallOnDrop that removes the task from `active`, awaiting
 *   the user's future), or Pin<Box<that>> when async-task boxed a large
 *   future (1.14: AsyncCallOnDrop { future, … }, a future of its own).
 * - state bits (async-task 4.x src/state.rs, unchanged 4.0 … 4.7):
 *   SCHEDULED 1, RUNNING 2, COMPLETED 4, CLOSED 8.
 * - async-executor's Executor { state: OnceCell<Arc<State>> (1.5) |
 *   AtomicPtr<State> (1.13, 1.14; null until first used) }; LocalExecutor
 *   { inner: Executor }; State { queue, local_queues, sleepers, active:
 *   Mutex<Slab<Waker>>, … }: `active` holds one Waker per live task (the
 *   registry this adapter lists), Slab { entries: Vec<Entry<Waker>> },
 *   Entry::{Vacant(usize), Occupied(Waker)}.
 * - the global executors are statics: smol's `smol::spawn::spawn::GLOBAL`
 *   (async_lock OnceCell<Executor>, smol 1.3 and 2.0) and async-global-
 *   executor's `async_global_executor::executor::GLOBAL_EXECUTOR`
 *   (Executor). Executors of the program's own are found through the
 *   future a thread runs them with (Executor::run, LocalExecutor::run),
 *   met while decoding the block_on futures: their tasks are collected
 *   late. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../debuginfo_internal.h"
#include "../decode.h"
#include "../heap_scan.h"
#include "../runtime.h"
#include "async_task.h"

#define STATE_SCHEDULED 1u
#define STATE_RUNNING 2u
#define STATE_COMPLETED 4u
#define STATE_CLOSED 8u

#define MAX_EXECUTORS 64

static const char *const global_executors[] = {
	"smol::spawn::spawn::GLOBAL",
	"async_global_executor::executor::GLOBAL_EXECUTOR",
};
#define NGLOBALS (sizeof(global_executors) / sizeof(global_executors[0]))

struct at_binary {
	uint64_t state_off, vtable_off;          /* in Header */
	uint64_t awaiter_off;                    /* in Header; UINT64_MAX: not found */
	uint64_t vt_run_off, vt_layout_off;      /* in TaskVTable */
	const struct ad_type *layout_option;     /* Option<TaskLayout> */
	uint64_t globals[NGLOBALS];              /* link-time addresses, 0: absent */
	uint64_t globals_size[NGLOBALS];
	pthread_mutex_t lock;                    /* guards future_types */
	struct ad_u64map future_types;           /* run fn (link) → F */
};

/* Per capture: the executors' states already listed, and those met while
 * decoding (collected late). */
struct at_capture {
	size_t ncollected, nnoted;
	uint64_t collected[MAX_EXECUTORS];
	unsigned collected_runtime[MAX_EXECUTORS]; /* the trace's runtime of each */
	uint64_t noted[MAX_EXECUTORS];
	size_t noted_block_on[MAX_EXECUTORS]; /* 1 + the block_on task that ran it, or 0 */
	bool no_global;                       /* no global executor in use: see collect */
};

static struct ad_error *layout_error(struct ad_error *err, const char *what)
{
	if (!err || ad_error_is_fatal(err))
		return err;
	struct ad_error *wrapped = ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
						   "async-task layout (%s): %s", what, err->message);
	ad_error_destroy(err);
	return wrapped;
}

static bool probe(Elf *elf)
{
	return ad_elf_section_contains(elf, ".debug_str", "async_task") ||
	       ad_elf_section_contains(elf, ".strtab", "10async_task");
}

static struct ad_error *find_header(struct ad_debuginfo *di, const struct ad_type **ret)
{
	/* 4.3: Header; 4.7: Header<M>, M = () for async-executor's tasks. */
	struct ad_error *err = ad_debuginfo_find_type(di, "async_task::header::Header", ret);
	if (err && !ad_error_is_fatal(err)) {
		ad_error_destroy(err);
		err = ad_debuginfo_find_type(di, "async_task::header::Header<()>", ret);
	}
	return err;
}

static struct ad_error *prepare(struct ad_debuginfo *di, void **ret)
{
	if (!ad_debuginfo_has_type_prefix(di, "async_task::"))
		return ad_error_create(AD_ERROR_NO_RUNTIME, "%s links no async-task",
				       ad_debuginfo_path(di));
	struct at_binary *b = calloc(1, sizeof(*b));
	if (!b)
		return &ad_error_nomem;
	const struct ad_type *header, *vtp, *vtable, *t, *layout;
	uint64_t off;
	struct ad_error *err = find_header(di, &header);
	if (!err)
		err = ad_find_member(di, header, "state", 1, &b->state_off, &t);
	if (!err)
		err = ad_find_member(di, header, "vtable", 1, &b->vtable_off, &vtp);
	if (!err && !ad_succeeded(ad_find_member(di, header, "awaiter", 1, &b->awaiter_off, &t)))
		b->awaiter_off = UINT64_MAX;
	if (!err)
		err = ad_type_target(di, vtp, &vtable);
	if (!err)
		err = ad_find_member(di, vtable, "run", 1, &b->vt_run_off, &t);
	if (!err)
		err = ad_find_member(di, vtable, "layout_info", 1, &b->vt_layout_off, &t);
	if (!err)
		err = ad_type_target(di, t, &b->layout_option);
	if (!err)
		err = ad_debuginfo_find_type(di, "async_task::raw::TaskLayout", &layout);
	if (!err)
		err = ad_find_member(di, layout, "offset_f", 1, &off, &t);
	if (err) {
		free(b);
		return layout_error(err, "Header, TaskVTable, TaskLayout");
	}
	for (size_t i = 0; i < NGLOBALS; i++)
		if (!ad_succeeded(ad_debuginfo_find_object_sized(di, global_executors[i], &b->globals[i],
							 &b->globals_size[i])))
			b->globals[i] = 0;
	pthread_mutex_init(&b->lock, NULL);
	ad_u64map_init(&b->future_types);
	*ret = b;
	return NULL;
}

static void destroy(void *binary)
{
	struct at_binary *b = binary;
	if (!b)
		return;
	ad_u64map_deinit(&b->future_types);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static struct ad_error *capture_begin(struct ad_decode *d, struct ad_adapter *self)
{
	(void)d;
	self->capture = calloc(1, sizeof(struct at_capture));
	return self->capture ? NULL : &ad_error_nomem;
}

static void capture_end(struct ad_adapter *self)
{
	free(self->capture);
	self->capture = NULL;
}

/* ---- tasks */

/* The future type of a task: F of its vtable's RawTask<F, T, S>::run. */
static struct ad_error *future_type_locked(struct ad_decode *d, struct at_binary *b, uint64_t run,
					   const struct ad_type **ret)
{
	if (run < d->bias)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "task vtable run 0x%" PRIx64, run);
	uint64_t link = run - d->bias;
	const struct ad_type *t = ad_u64map_get(&b->future_types, link);
	if (t) {
		*ret = t;
		return NULL;
	}
	const char *name;
	struct ad_error *err = ad_debuginfo_function_at(d->di, link, &name);
	if (err)
		return err;
	/* The DIE's name: "run<F, T, S>", a method of RawTask<F, T, S(, M)>. */
	if (strncmp(name, "run<", 4) != 0 && strncmp(name, "async_task::raw::RawTask", 24) != 0)
		return ad_error_create(AD_ERROR_NOT_FOUND, "0x%" PRIx64 " is %s, not RawTask::run",
				       run, name);
	if ((err = ad_debuginfo_function_template_param(d->di, link, "F", &t)))
		return layout_error(err, "RawTask::run<F, T, S>");
	if (!ad_u64map_put(&b->future_types, link, (void *)t))
		return &ad_error_nomem;
	*ret = t;
	return NULL;
}

static struct ad_error *future_type(struct ad_decode *d, struct at_binary *b, uint64_t run,
				    const struct ad_type **ret)
{
	pthread_mutex_lock(&b->lock);
	struct ad_error *err = future_type_locked(d, b, run, ret);
	pthread_mutex_unlock(&b->lock);
	return err;
}

/* A raw task's future: its type and address. */
static struct ad_error *task_future(struct ad_decode *d, struct at_binary *b, uint64_t header,
				    const struct ad_type **type_ret, uint64_t *address_ret)
{
	uint64_t vtable, run, layout, offset_f;
	struct ad_error *err;
	if ((err = ad_read_u64(d->reader, header + b->vtable_off, &vtable)) ||
	    (err = ad_read_u64(d->reader, vtable + b->vt_run_off, &run)) ||
	    (err = ad_read_u64(d->reader, vtable + b->vt_layout_off, &layout)))
		return ad_error_wrap(err, "reading the vtable of task 0x%" PRIx64, header);
	if ((err = future_type(d, b, run, type_ret)))
		return err;
	struct ad_value opt = ad_decode_value(d, b->layout_option, layout), tl, f;
	if ((err = ad_value_unwrap_option(&opt, &tl)) || (err = ad_value_member(&tl, "offset_f", &f)) ||
	    (err = ad_value_uint(&f, &offset_f)))
		return layout_error(err, "the task's TaskLayout");
	*address_ret = header + offset_f;
	return NULL;
}

static enum ad_task_state task_state(uint64_t word)
{
	if (word & STATE_RUNNING)
		return AD_TASK_RUNNING;
	if (word & STATE_COMPLETED)
		return AD_TASK_COMPLETE;
	if (word & STATE_CLOSED)
		return AD_TASK_CANCELLED;
	if (word & STATE_SCHEDULED)
		return AD_TASK_SCHEDULED;
	return AD_TASK_IDLE;
}

/* async-executor wraps every spawned future in an async block that awaits
 * it (its frame says nothing the user wrote), async-std's spawn in
 * SupportTaskLocals: the task's root is the future inside. */
static bool is_spawn_wrapper(const struct ad_frame *f)
{
	const char *t = f->type ? f->type : f->name;
	return t && f->nchildren == 1 &&
	       /* 1.5: spawn::{async_block_env#0}, 1.13: spawn_inner::…,
		* 1.14: AsyncCallOnDrop<F, …>, a future of its own */
	       ((strncmp(t, "async_executor::", 16) == 0 && strstr(t, "::spawn") &&
		 strstr(t, "::{async_block")) ||
		strncmp(t, "async_executor::AsyncCallOnDrop", 31) == 0 ||
		strncmp(t, "async_std::task::task_locals_wrapper::", 39) == 0 ||
		strncmp(t, "async_std::task::builder::SupportTaskLocals", 43) == 0);
}

static struct ad_frame *unwrap_spawn_wrappers(struct ad_frame *root)
{
	for (int i = 0; i < 4 && root && is_spawn_wrapper(root); i++) {
		struct ad_frame *inner = root->children[0];
		/* what reading the tree found (consistency.h) is the tree's */
		inner->reads = root->reads;
		inner->changed_while_read = root->changed_while_read;
		root->nchildren = 0;
		ad_frame_destroy(root);
		root = inner;
	}
	return root;
}

static struct ad_error *visit_task(struct ad_decode *d, struct at_binary *b, unsigned runtime,
				   uint64_t header)
{
	uint64_t word;
	const struct ad_type *ft = NULL;
	uint64_t faddr = 0;
	struct ad_error *err = ad_read_u64(d->reader, header + b->state_off, &word);
	if (err)
		return err;
	struct ad_task *task;
	if ((err = ad_trace_add_task(d->trace, &task)))
		return err;
	task->kind = AD_TASK_KIND_TASK;
	task->address = header;
	task->runtime = runtime;
	/* async-task has no task ids: the header's address is the task's
	 * identity while it lives, and what a Task handle points at. */
	task->has_id = true;
	task->id = header;
	task->state = task_state(word);
	d->trace->runtimes[runtime].ntasks++;
	d->current_runtime = runtime;
	if (word & (STATE_COMPLETED | STATE_CLOSED))
		return NULL; /* the future is gone (dropped, or its output kept) */
	err = task_future(d, b, header, &ft, &faddr);
	if (!err)
		err = d->walk(d, ft, faddr, 0, &task->root);
	if (!err)
		task->root = unwrap_spawn_wrappers(task->root);
	return ad_task_note_undecodable(task, err);
}

/* Executor → its State: Executor.state, a OnceCell<Arc<State>> (1.5: the
 * cell's `state` is 2 once initialised) or an AtomicPtr<State> (1.13+). */
static struct ad_error *executor_state(struct ad_decode *d, const struct ad_value *executor,
				       uint64_t *ret)
{
	struct ad_value v = *executor, inner;
	struct ad_error *err;
	*ret = 0;
	/* LocalExecutor { inner: Executor }, OnceCell<Executor> around it. */
	for (int i = 0; i < 6; i++) {
		if (strstr(v.type->name, "OnceCell")) {
			uint64_t st;
			/* state: AtomicUsize, 8 bytes */
			if ((err = ad_value_member(&v, "state", &inner)) ||
			    (err = ad_read_u64(d->reader, inner.address, &st)))
				return layout_error(err, "OnceCell state");
			if (st != 2)
				return NULL; /* not initialised: no executor yet */
			if ((err = ad_value_member(&v, "value", &v)) ||
			    (err = ad_value_strip_wrappers(&v, &v)))
				return layout_error(err, "OnceCell value");
			continue;
		}
		if (ad_type_is(v.type, "async_executor::LocalExecutor")) {
			if ((err = ad_value_member(&v, "inner", &v)))
				return layout_error(err, "LocalExecutor.inner");
			continue;
		}
		if (ad_type_is(v.type, "async_executor::Executor")) {
			if ((err = ad_value_member(&v, "state", &v)) ||
			    (err = ad_value_strip_wrappers(&v, &v)))
				return layout_error(err, "Executor.state");
			continue;
		}
		if (ad_type_is(v.type, "alloc::sync::Arc")) {
			/* Arc<State> → ArcInner { strong, weak, data } */
			if ((err = ad_value_deref(&v, &v)) || (err = ad_value_member(&v, "data", &v)))
				return layout_error(err, "Arc<State>");
			*ret = v.address;
			return NULL;
		}
		/* AtomicPtr<State> (null: never used) */
		return ad_value_pointer(&v, ret);
	}
	return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "executor %s nests too deep",
			       executor->type->name);
}

static bool seen(const uint64_t *list, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/* Every task of the executor whose State is at `state`: the Occupied
 * entries of State.active, a Slab<Waker>, each Waker's data a task header. */
static struct ad_error *collect_state(struct ad_decode *d, struct at_binary *b, uint64_t state,
				      unsigned *runtime_ret)
{
	const struct ad_type *st, *vt, *elem, *pt;
	uint64_t entries_off, len_off, ptr_off, base, len;
	struct ad_error *err = ad_debuginfo_find_type(d->di, "async_executor::State", &st);
	if (!err)
		err = ad_find_member(d->di, st, "entries", 6, &entries_off, &vt);
	if (!err)
		err = ad_find_member(d->di, vt, "len", 1, &len_off, &pt);
	if (!err)
		err = ad_find_member(d->di, vt, "pointer", 6, &ptr_off, &pt);
	if (!err)
		err = ad_type_template_param(d->di, vt, "T", &elem);
	if (err)
		return layout_error(err, "State.active, a Slab<Waker>");
	if ((err = ad_read_u64(d->reader, state + entries_off + len_off, &len)) ||
	    (err = ad_read_u64(d->reader, state + entries_off + ptr_off, &base)))
		return err;
	struct ad_runtime *rt;
	/* No flavor: any number of threads may run an Executor. */
	if ((err = ad_trace_add_runtime(d->trace, "async-executor", NULL, state, &rt)))
		return err;
	unsigned runtime = rt->id;
	*runtime_ret = runtime;
	if (len > AD_MAX_TASKS)
		return ad_trace_add_warning(d->trace,
					    "executor 0x%" PRIx64 ": %" PRIu64 " slab entries (corrupt?)",
					    state, len);
	for (uint64_t i = 0; i < len; i++) {
		struct ad_value entry = ad_decode_value(d, elem, base + i * elem->size), var, waker;
		const struct ad_variant *active;
		uint64_t header;
		char name[32];
		if ((err = ad_value_variant(&entry, &active, &var)))
			break;
		if (strcmp(ad_type_base(var.type, name, sizeof(name)), "Occupied") != 0)
			continue;
		if ((err = ad_value_member(&var, "__0", &waker)))
			break;
		uint64_t off;
		const struct ad_type *dt;
		if ((err = ad_find_member(d->di, waker.type, "data", 3, &off, &dt)) ||
		    (err = ad_read_u64(d->reader, waker.address + off, &header)))
			break;
		if ((err = visit_task(d, b, runtime, header)))
			break;
	}
	if (err && !ad_error_is_fatal(err)) {
		struct ad_error *w = ad_trace_add_warning(
			d->trace, "executor 0x%" PRIx64 ": its task list could not be read: %s", state,
			err->message);
		ad_error_destroy(err);
		err = w;
	}
	return err;
}

/* ---- a StaticExecutor's tasks (async-executor 1.14, async-global-executor 3)
 *
 * A StaticExecutor keeps no list of its tasks (it never cancels one): a
 * pending task is reachable only from the wakers of what it waits on. Each
 * task is one allocation that starts with its Header, whose `vtable` (at
 * offset 0 in every async-task checked) is one of the program's
 * TaskVTables, in read-only data: the heap words that point at a TaskVTable
 * whose RawTask schedules on a StaticExecutor are its tasks' headers. A
 * freed task's first word is usually the allocator's, but not always (a
 * chunk merged into the free one before it, spare capacity of a buffer
 * allocated over it keeps the old bytes): a live task is held by a
 * reference (a waker, a scheduled Runnable) or by its Task handle, and
 * async-task destroys a task when it has neither, so a header whose state
 * word has neither is a dead task's; and a state that says a waker awaits
 * the task needs a waker there, whose vtable is in a file's mapping. */

#define STATIC_SCHEDULE "async_executor::static_executors::"
#define STATIC_EXECUTOR "async_executor::static_executors::StaticExecutor"
/* async-task's state word: flags in the low byte, references above. */
#define STATE_TASK 16u    /* a Task handle exists */
#define STATE_AWAITER 32u /* the awaiter field holds a waker */
#define STATE_REFERENCE_SHIFT 8
#define MAX_REFERENCES (UINT64_C(1) << 24)

static bool state_of_live_task(uint64_t word)
{
	uint64_t references = word >> STATE_REFERENCE_SHIFT;
	return references < MAX_REFERENCES && (references > 0 || (word & STATE_TASK));
}

static bool in_file_mapping(const struct ad_snapshot *snap, uint64_t address)
{
	const struct ad_mapping *m = ad_snapshot_mapping(snap, address);
	return m && m->path && m->path[0] == '/';
}

/* Waker { data, vtable } in either order: one of its words is the vtable. */
static bool awaiter_holds_waker(struct ad_decode *d, const struct at_binary *b, uint64_t header)
{
	uint64_t words[2];
	if (b->awaiter_off == UINT64_MAX)
		return true;
	return ad_succeeded(ad_read(d->reader, header + b->awaiter_off, words, sizeof(words))) &&
	       (in_file_mapping(d->snap, words[0]) || in_file_mapping(d->snap, words[1]));
}

struct static_scan {
	struct at_binary *b;
	uint64_t state;       /* the StaticExecutor's State: the runtime's address */
	bool has_runtime;
	unsigned runtime;
	struct ad_u64map headers; /* visited */
	size_t ntasks;
};

static bool schedules_on_static_executor(struct ad_decode *d, void *arg, uint64_t vtable)
{
	struct static_scan *s = arg;
	uint64_t run;
	const struct ad_type *f, *schedule;
	if (!ad_succeeded(ad_read_u64(d->reader, vtable + s->b->vt_run_off, &run)) || run < d->bias ||
	    !ad_succeeded(future_type(d, s->b, run, &f)) ||
	    !ad_succeeded(ad_debuginfo_function_template_param(d->di, run - d->bias, "S", &schedule)))
		return false;
	return schedule->name && strncmp(schedule->name, STATIC_SCHEDULE, strlen(STATIC_SCHEDULE)) == 0;
}

static struct ad_error *static_task_found(struct ad_decode *d, void *arg, uint64_t address,
					  uint64_t vtable)
{
	struct static_scan *s = arg;
	uint64_t header = address - s->b->vtable_off, word;
	(void)vtable;
	if (ad_u64map_get(&s->headers, header) ||
	    !ad_succeeded(ad_read_u64(d->reader, header + s->b->state_off, &word)) ||
	    !state_of_live_task(word) ||
	    ((word & STATE_AWAITER) && !awaiter_holds_waker(d, s->b, header)))
		return NULL;
	if (!ad_u64map_put(&s->headers, header, (void *)1))
		return &ad_error_nomem;
	if (++s->ntasks > AD_MAX_TASKS)
		return ad_error_create(AD_ERROR_TOO_LARGE, "more than %d tasks", AD_MAX_TASKS);
	if (!s->has_runtime) {
		struct ad_runtime *rt;
		struct ad_error *err = ad_trace_add_runtime(d->trace, "async-executor", NULL, s->state, &rt);
		if (err)
			return err;
		s->runtime = rt->id;
		s->has_runtime = true;
	}
	return visit_task(d, s->b, s->runtime, header);
}

/* A StaticExecutor's tasks, found in the heap; its runtime is listed when
 * it has a task. */
static struct ad_error *collect_static(struct ad_decode *d, struct at_binary *b,
				       struct at_capture *c, uint64_t address)
{
	const struct ad_type *t, *st;
	uint64_t off;
	struct ad_error *err = ad_debuginfo_find_type(d->di, STATIC_EXECUTOR, &t);
	if (!err)
		err = ad_find_member(d->di, t, "state", 1, &off, &st);
	if (err)
		return layout_error(err, "StaticExecutor.state");
	struct static_scan s = { .b = b, .state = address + off };
	if (seen(c->collected, c->ncollected, s.state) || c->ncollected >= MAX_EXECUTORS)
		return NULL;
	ad_u64map_init(&s.headers);
	err = ad_heap_scan(d, false, schedules_on_static_executor, static_task_found, &s);
	ad_u64map_deinit(&s.headers);
	if (err && err->code == AD_ERROR_TOO_LARGE) {
		struct ad_error *w = ad_trace_add_warning(d->trace, "%s: %s", STATIC_EXECUTOR, err->message);
		ad_error_destroy(err);
		err = w;
	}
	if (s.has_runtime) {
		c->collected[c->ncollected] = s.state;
		c->collected_runtime[c->ncollected++] = s.runtime;
	}
	return err;
}

/* Whether global `i` is a StaticExecutor (async-global-executor 3) rather
 * than an Executor: its symbol has the StaticExecutor's size. */
static bool global_is_static(struct ad_decode *d, const struct at_binary *b, size_t i)
{
	const struct ad_type *t;
	return ad_succeeded(ad_debuginfo_find_type(d->di, STATIC_EXECUTOR, &t)) && t->size == b->globals_size[i] &&
	       t->size != 8;
}

static struct ad_error *collect_global(struct ad_decode *d, struct at_binary *b,
				       struct at_capture *c, size_t i)
{
	if (global_is_static(d, b, i))
		return collect_static(d, b, c, b->globals[i] + d->bias);
	/* The static's type: the Executor itself or a OnceCell around it. */
	static const char *const types[] = {
		"async_lock::once_cell::OnceCell<async_executor::Executor>",
		"async_executor::Executor",
	};
	const struct ad_type *t;
	uint64_t state = 0;
	struct ad_error *err = ad_debuginfo_find_type(d->di, types[i == 0 ? 0 : 1], &t);
	if (err)
		return layout_error(err, global_executors[i]);
	struct ad_value v = ad_decode_value(d, t, b->globals[i] + d->bias);
	if ((err = executor_state(d, &v, &state)) || !state)
		return err;
	if (seen(c->collected, c->ncollected, state) || c->ncollected >= MAX_EXECUTORS)
		return NULL;
	c->collected[c->ncollected] = state;
	return collect_state(d, b, state, &c->collected_runtime[c->ncollected++]);
}

static struct ad_error *collect(struct ad_decode *d, struct ad_adapter *self)
{
	struct at_binary *b = self->binary;
	struct at_capture *c = self->capture;
	bool any = false;
	for (size_t i = 0; i < NGLOBALS; i++) {
		if (!b->globals[i])
			continue;
		size_t before = d->trace->nruntimes;
		struct ad_error *err = collect_global(d, b, c, i);
		if (ad_error_is_fatal(err))
			return err;
		if (err) {
			struct ad_error *w = ad_trace_add_warning(d->trace, "%s: %s",
								  global_executors[i], err->message);
			ad_error_destroy(err);
			if (w)
				return w;
		}
		any = any || d->trace->nruntimes > before;
	}
	/* No global executor yet (nothing was ever spawned) need not mean no
	 * executor: async-std's block_on runs a LocalExecutor, met only while
	 * decoding the block_on futures (async-std's udp-echo example on sid).
	 * collect_late says "no runtime" if none turned up by then. */
	c->no_global = !any;
	return NULL;
}

static bool thread_has_runtime(const struct ad_decode *d, pid_t tid)
{
	for (size_t i = 0; d->thread_runtime && i < d->snap->nthreads; i++)
		if (d->snap->threads[i].tid == tid)
			return d->thread_runtime[i] >= 0;
	return false;
}

/* A block_on whose thread runs no other runtime's context belongs to the
 * executor its future runs (Executor::run, LocalExecutor::run). */
static void attribute_block_on(struct ad_decode *d, struct at_capture *c, size_t noted)
{
	size_t task = c->noted_block_on[noted];
	if (!task || task > d->trace->ntasks)
		return;
	struct ad_task *t = &d->trace->tasks[task - 1];
	if (t->kind != AD_TASK_KIND_BLOCK_ON || thread_has_runtime(d, t->tid))
		return;
	for (size_t k = 0; k < c->ncollected; k++)
		if (c->collected[k] == c->noted[noted])
			t->runtime = c->collected_runtime[k];
}

/* async-io's block_on needs no executor: a program whose main future is
 * all there is (async-process's examples) has its trace, not "no runtime". */
static bool has_block_on(const struct ad_trace *t)
{
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].kind == AD_TASK_KIND_BLOCK_ON)
			return true;
	return false;
}

static struct ad_error *collect_late(struct ad_decode *d, struct ad_adapter *self)
{
	struct at_binary *b = self->binary;
	struct at_capture *c = self->capture;
	for (size_t i = 0; i < c->nnoted; i++) {
		uint64_t state = c->noted[i];
		if (!seen(c->collected, c->ncollected, state) && c->ncollected < MAX_EXECUTORS) {
			c->collected[c->ncollected] = state;
			struct ad_error *err =
				collect_state(d, b, state, &c->collected_runtime[c->ncollected++]);
			if (err)
				return err;
		}
		attribute_block_on(d, c, i);
	}
	if (c->no_global && !d->trace->nruntimes && !has_block_on(d->trace))
		return ad_error_create(AD_ERROR_NO_RUNTIME, "no global async-executor in use");
	return NULL;
}

/* The env of an async fn `run` of async-executor (Executor, LocalExecutor,
 * State) met while decoding: the executor its `self` is, whose tasks are
 * then collected late. */
static void note_executor(struct ad_decode *d, const struct ad_value *env)
{
	struct ad_adapter *self = ad_decode_adapter_kind(d, "async-executor");
	if (!self || !self->capture)
		return;
	struct at_capture *c = self->capture;
	struct ad_value s, e;
	uint64_t off, state = 0;
	const struct ad_type *t;
	if (!ad_succeeded(ad_find_member(d->di, env->type, "self", 1, &off, &t)))
		return;
	s = ad_decode_value(d, t, env->address + off);
	if (!ad_succeeded(ad_value_deref(&s, &e)))
		return;
	if (ad_type_is(e.type, "async_executor::State"))
		state = e.address; /* 1.13+: State::run(&self) */
	else if (!ad_succeeded(executor_state(d, &e, &state)))
		return;
	if (!state || c->nnoted >= MAX_EXECUTORS)
		return;
	/* The block_on being decoded, if this is one: the trace's last task. */
	size_t n = d->trace->ntasks;
	size_t block_on = n && d->trace->tasks[n - 1].kind == AD_TASK_KIND_BLOCK_ON ? n : 0;
	for (size_t i = 0; i < c->nnoted; i++)
		if (c->noted[i] == state && (c->noted_block_on[i] == block_on || !block_on))
			return;
	for (size_t i = 0; block_on && i < c->nnoted; i++)
		if (c->noted_block_on[i] == block_on)
			block_on = 0; /* an outer run of this block_on was noted first */
	c->noted[c->nnoted] = state;
	c->noted_block_on[c->nnoted++] = block_on;
}

static bool ends_with(const char *str, const char *suffix)
{
	size_t a = strlen(str), b = strlen(suffix);
	return a >= b && strcmp(str + a - b, suffix) == 0;
}

/* Executor::run, LocalExecutor::run (1.5) and State::run (1.13+): the
 * executor they run, whose tasks no static may reach. */
static void refine_executor_run(struct ad_decode *d, const struct ad_value *env, const char *fn,
				struct ad_frame *child)
{
	(void)child;
	if (ends_with(fn, "::run"))
		note_executor(d, env);
}

static const struct ad_leaf_refiner refiners[] = {
	{ "async_executor::", refine_executor_run },
	{ "async_lock::", ad_async_task_refine_lock },
	{ NULL, NULL },
};

static struct ad_error *task_id(struct ad_decode *d, struct ad_adapter *self, uint64_t task,
				uint64_t *ret)
{
	(void)d;
	(void)self;
	*ret = task;
	return NULL;
}

/* A task whose vtable's run is an instance of RawTask::run. */
static bool is_task(struct ad_decode *d, struct ad_adapter *self, uint64_t task)
{
	const struct ad_type *t;
	uint64_t vtable, run;
	struct at_binary *b = self->binary;
	if (!task)
		return false;
	for (size_t i = 0; i < d->trace->ntasks; i++)
		if (d->trace->tasks[i].kind != AD_TASK_KIND_BLOCK_ON && d->trace->tasks[i].address == task)
			return true;
	return ad_succeeded(ad_read_u64(d->reader, task + b->vtable_off, &vtable)) &&
	       ad_succeeded(ad_read_u64(d->reader, vtable + b->vt_run_off, &run)) &&
	       ad_succeeded(future_type(d, b, run, &t));
}

/* async-io's block_on pins the future it is given (`future`) on its stack
 * (1.11: in block_on, 2.3 / 2.6: in the closure it passes its CACHE);
 * futures-lite's too; async-std's and async-global-executor's block_on end
 * in async-io's. */
static const struct ad_block_on_function block_on_functions[] = {
	{ "async_io::driver::block_on", "future" },
	/* async-io 2.x pins it inside the closure given to its parker cache */
	{ "async_io::driver::block_on::{closure#1}", "future" },
	{ "futures_lite::future::block_on", "future" },
	{ NULL, NULL },
};

extern const struct ad_runtime_ops ad_async_task_runtime;
const struct ad_runtime_ops ad_async_task_runtime = {
	.kind = "async-executor",
	.probe = probe,
	.prepare = prepare,
	.destroy = destroy,
	.capture_begin = capture_begin,
	.capture_end = capture_end,
	.collect = collect,
	.collect_late = collect_late,
	.task_id = task_id,
	.is_task = is_task,
	.io_registration = ad_async_io_registration,
	.block_on_functions = block_on_functions,
	.leaves = ad_async_task_leaves,
	.combinators = ad_async_task_combinators,
	.refiners = refiners,
};
