/* SPDX-License-Identifier: MIT */
/* futures' executors (the futures-executor crate): a ThreadPool's tasks, a
 * LocalPool's tasks, and the futures passed to its block_on and
 * LocalPool::run_until.
 *
 * Neither pool keeps a list of its pending tasks, so they are found in the
 * heap (heap_scan.h) by the one pointer every spawned future carries: a
 * task is a FutureObj / LocalFutureObj { future: *mut dyn Future, drop_fn },
 * and drop_fn is futures-task's `<Box<F> as UnsafeFutureObj>::drop` (or
 * Pin<Box<F>>'s), a function of the program. Where that object sits says
 * whose task it is, and every place found is checked against the structure
 * around it, so stale copies (a moved task's old bytes) are not taken:
 *
 * - ThreadPool (futures-executor 0.3.21 … 0.3.34, same layout): a pending
 *   task is `Task { future: FutureObj, exec, wake_handle: Arc<WakeHandle> }`
 *   inside its own `WakeHandle { mutex: UnparkMutex<Task> { status,
 *   inner: Option<Task> }, exec: ThreadPool }` while status is WAITING (0);
 *   the Task's wake_handle points at the ArcInner around that WakeHandle.
 *   A task that is queued to run or running is out of its WakeHandle (in
 *   the pool's channel or on a worker's stack) and is not listed.
 * - LocalPool { pool: FuturesUnordered<LocalFutureObj>, incoming }: each
 *   task is a FuturesUnordered `Task<LocalFutureObj> { future:
 *   Option<Fut>, …, ready_to_run_queue: Weak<ReadyToRunQueue> }` whose
 *   queue is a live Arc holding its sentinel task (`stub`, never polled,
 *   whose own queue is a dangling Weak::new()). Futures spawned but not
 *   yet polled wait in `incoming` and are not listed.
 *
 * Runtimes: kind "futures-executor", one per pool (a ThreadPool's
 * PoolState, a LocalPool's ready-to-run queue). */
#include <stdlib.h>
#include <string.h>

#include "../debuginfo_internal.h"
#include "../decode.h"
#include "../heap_scan.h"
#include "../runtime.h"

#define KIND "futures-executor"
#define WAKE_HANDLE "futures_executor::thread_pool::WakeHandle"
#define LOCAL_FUTURE_OBJ "futures_task::future_obj::LocalFutureObj<()>"
#define POOL_TASK "futures_util::stream::futures_unordered::task::Task<" LOCAL_FUTURE_OBJ ">"
#define DROP_FN_PREFIX "futures_task::future_obj::"
#define THREAD_POOL_CODE "_ZN16futures_executor11thread_pool"
#define LOCAL_POOL_CODE "_ZN16futures_executor10local_pool9LocalPool"
/* UnparkMutex status (futures-executor src/unpark_mutex.rs) */
#define WAITING 0
#define MAX_POOLS 64
/* Levels from a WakeHandle down to its task's drop_fn. */
#define MAX_DEPTH 10
/* Sane Arc counts: what a live Arc holds. */
#define MAX_COUNT (UINT64_C(1) << 32)
/* What Weak::new() holds: usize::MAX, no allocation. */
#define DANGLING_WEAK UINT64_MAX

struct layouts_thread_pool {
	bool present;
	uint64_t drop_fn, status, wake_handle, exec; /* in WakeHandle */
	uint64_t arc_data;                           /* ArcInner<WakeHandle>.data */
};

struct layouts_local_pool {
	bool present;
	uint64_t drop_fn, queue;           /* in Task<LocalFutureObj> */
	uint64_t queue_data, stub;         /* ArcInner<ReadyToRunQueue>.data, .stub */
	uint64_t task_data;                /* ArcInner<Task<…>>.data */
};

struct fe_binary {
	/* LocalFutureObj (FutureObj wraps one): where its drop_fn and its
	 * future, a *mut dyn Future, are. */
	uint64_t obj_drop_fn, obj_future;
	const struct ad_type *obj_future_type;
	struct layouts_thread_pool tp;
	struct layouts_local_pool lp;
};

struct fe_scan {
	const struct fe_binary *b;
	size_t npools;
	uint64_t pools[MAX_POOLS];
	unsigned pool_runtime[MAX_POOLS];
	struct ad_u64map seen; /* task addresses listed */
	size_t ntasks;
};

static bool probe(Elf *elf)
{
	return ad_elf_section_contains(elf, ".debug_str", "futures_executor") ||
	       ad_elf_section_contains(elf, ".strtab", "16futures_executor");
}

/* The type behind a pointer member `name` of t (an Arc / Weak / NonNull):
 * the ArcInner it points at. */
static struct ad_error *pointee_of(struct ad_debuginfo *di, const struct ad_type *t,
				   const char *name, const struct ad_type **ret)
{
	const struct ad_type *m, *p;
	uint64_t off;
	struct ad_error *err = ad_find_member(di, t, name, 1, &off, &m);
	if (!err)
		err = ad_find_member(di, m, "pointer", 4, &off, &p);
	if (!err)
		err = ad_type_target(di, p, ret);
	return err;
}

static struct ad_error *prepare_thread_pool(struct ad_debuginfo *di, struct layouts_thread_pool *l)
{
	const struct ad_type *wh, *t, *arc;
	struct ad_error *err = ad_debuginfo_find_type(di, WAKE_HANDLE, &wh);
	if (err)
		return err;
	if (!err)
		err = ad_find_member(di, wh, "drop_fn", MAX_DEPTH, &l->drop_fn, &t);
	if (!err)
		err = ad_find_member(di, wh, "status", 3, &l->status, &t);
	if (!err)
		err = ad_find_member(di, wh, "wake_handle", MAX_DEPTH, &l->wake_handle, &t);
	if (!err)
		err = ad_find_member(di, wh, "exec", 1, &l->exec, &t);
	if (!err)
		err = ad_debuginfo_find_type(di, "alloc::sync::ArcInner<" WAKE_HANDLE ">", &arc);
	if (!err)
		err = ad_find_member(di, arc, "data", 1, &l->arc_data, &t);
	l->present = !err;
	return err;
}

static struct ad_error *prepare_local_pool(struct ad_debuginfo *di, struct layouts_local_pool *l)
{
	const struct ad_type *task, *t, *queue_arc, *queue, *task_arc;
	struct ad_error *err = ad_debuginfo_find_type(di, POOL_TASK, &task);
	if (err)
		return err;
	if (!err)
		err = ad_find_member(di, task, "drop_fn", MAX_DEPTH, &l->drop_fn, &t);
	if (!err)
		err = ad_find_member(di, task, "ready_to_run_queue", 1, &l->queue, &t);
	if (!err)
		err = pointee_of(di, task, "ready_to_run_queue", &queue_arc);
	if (!err)
		err = ad_find_member(di, queue_arc, "data", 1, &l->queue_data, &queue);
	if (!err)
		err = ad_find_member(di, queue, "stub", 1, &l->stub, &t);
	if (!err)
		err = pointee_of(di, queue, "stub", &task_arc);
	if (!err)
		err = ad_find_member(di, task_arc, "data", 1, &l->task_data, &t);
	l->present = !err;
	return err;
}

static struct ad_error *prepare(struct ad_debuginfo *di, void **ret)
{
	if (!ad_debuginfo_has_type_prefix(di, "futures_executor::"))
		return ad_error_create(AD_ERROR_NO_RUNTIME, "%s links no futures-executor",
				       ad_debuginfo_path(di));
	struct fe_binary *b = calloc(1, sizeof(*b));
	if (!b)
		return &ad_error_nomem;
	const struct ad_type *obj, *t;
	struct ad_error *err = ad_debuginfo_find_type(di, LOCAL_FUTURE_OBJ, &obj);
	if (!err)
		err = ad_find_member(di, obj, "drop_fn", 1, &b->obj_drop_fn, &t);
	if (!err)
		err = ad_find_member(di, obj, "future", 1, &b->obj_future, &b->obj_future_type);
	if (err) {
		free(b);
		if (ad_error_is_fatal(err))
			return err;
		struct ad_error *e = ad_error_create(AD_ERROR_NO_RUNTIME, "%s spawns no future on futures' pools (%s)",
						      ad_debuginfo_path(di), err->message);
		ad_error_destroy(err);
		return e;
	}
	/* Not scanning the heap of every program that links futures: only
	 * of those that run a pool. */
	struct ad_error *tp = ad_debuginfo_has_code_of(di, THREAD_POOL_CODE)
				      ? prepare_thread_pool(di, &b->tp)
				      : ad_error_create(AD_ERROR_NOT_FOUND, "no ThreadPool code");
	struct ad_error *lp = ad_debuginfo_has_code_of(di, LOCAL_POOL_CODE)
				      ? prepare_local_pool(di, &b->lp)
				      : ad_error_create(AD_ERROR_NOT_FOUND, "no LocalPool code");
	if (ad_error_is_fatal(tp) || ad_error_is_fatal(lp) || (tp && lp)) {
		err = ad_error_is_fatal(tp) ? tp : ad_error_is_fatal(lp) ? lp : NULL;
		if (!err)
			err = ad_error_create(AD_ERROR_NO_RUNTIME,
					      "%s uses no ThreadPool or LocalPool (%s; %s)",
					      ad_debuginfo_path(di), tp->message, lp->message);
		if (err != tp)
			ad_error_destroy(tp);
		if (err != lp)
			ad_error_destroy(lp);
		free(b);
		return err;
	}
	ad_error_destroy(tp);
	ad_error_destroy(lp);
	*ret = b;
	return NULL;
}

static void destroy(void *binary)
{
	free(binary);
}

/* futures-task's `<Box<F> as UnsafeFutureObj<T>>::drop` and the like. */
static bool is_drop_fn(struct ad_decode *d, void *arg, uint64_t value)
{
	const char *name;
	(void)arg;
	if (value < d->bias || !ad_succeeded(ad_debuginfo_function_at(d->di, value - d->bias, &name)))
		return false;
	return strncmp(name, DROP_FN_PREFIX, strlen(DROP_FN_PREFIX)) == 0 && strstr(name, "::drop");
}

static bool read_word(struct ad_decode *d, uint64_t address, uint64_t *ret)
{
	return (address & 7) == 0 && ad_succeeded(ad_read_u64(d->reader, address, ret));
}

/* The runtime of the pool at `address`, added on its first task. */
static struct ad_error *pool_runtime(struct ad_decode *d, struct fe_scan *s, uint64_t address,
				     const char *flavor, unsigned *ret)
{
	for (size_t i = 0; i < s->npools; i++)
		if (s->pools[i] == address) {
			*ret = s->pool_runtime[i];
			return NULL;
		}
	if (s->npools >= MAX_POOLS)
		return ad_error_create(AD_ERROR_TOO_LARGE, "more than %d pools", MAX_POOLS);
	struct ad_runtime *rt;
	struct ad_error *err = ad_trace_add_runtime(d->trace, KIND, flavor, address, &rt);
	if (err)
		return err;
	s->pools[s->npools] = address;
	*ret = s->pool_runtime[s->npools++] = rt->id;
	return NULL;
}

/* A task at `address` whose (Local)FutureObj's drop_fn is at `drop_fn`. */
static struct ad_error *add_task(struct ad_decode *d, struct fe_scan *s, unsigned runtime,
				 uint64_t address, uint64_t drop_fn)
{
	if (ad_u64map_get(&s->seen, address))
		return NULL;
	if (++s->ntasks > AD_MAX_TASKS)
		return ad_error_create(AD_ERROR_TOO_LARGE, "more than %d tasks", AD_MAX_TASKS);
	if (!ad_u64map_put(&s->seen, address, (void *)1))
		return &ad_error_nomem;
	struct ad_task *task;
	struct ad_error *err = ad_trace_add_task(d->trace, &task);
	if (err)
		return err;
	task->kind = AD_TASK_KIND_TASK;
	task->address = address;
	task->runtime = runtime;
	/* futures' tasks have no ids: the task's address is its identity. */
	task->has_id = true;
	task->id = address;
	task->state = AD_TASK_IDLE;
	d->trace->runtimes[runtime].ntasks++;
	d->current_runtime = runtime;
	const struct fe_binary *b = s->b;
	err = d->walk(d, b->obj_future_type, drop_fn - b->obj_drop_fn + b->obj_future, 0, &task->root);
	return ad_task_note_undecodable(task, err);
}

/* A ThreadPool task waiting in its WakeHandle, if `drop_fn` is its future's. */
static struct ad_error *thread_pool_task(struct ad_decode *d, struct fe_scan *s, uint64_t drop_fn,
					 bool *taken)
{
	const struct layouts_thread_pool *l = &s->b->tp;
	uint64_t wh = drop_fn - l->drop_fn, status, back, pool;
	*taken = false;
	if (!l->present || drop_fn < l->drop_fn || !read_word(d, wh + l->status, &status) ||
	    status != WAITING || !read_word(d, wh + l->wake_handle, &back) ||
	    back != wh - l->arc_data || !read_word(d, wh + l->exec, &pool))
		return NULL;
	*taken = true;
	unsigned runtime;
	struct ad_error *err = pool_runtime(d, s, pool, "thread_pool", &runtime);
	if (!err)
		err = add_task(d, s, runtime, wh, drop_fn);
	return err;
}

/* A live Arc's counts (strong, weak) at `inner`. */
static bool arc_alive(struct ad_decode *d, uint64_t inner)
{
	uint64_t strong, weak;
	return read_word(d, inner, &strong) && read_word(d, inner + 8, &weak) && strong >= 1 &&
	       strong < MAX_COUNT && weak >= 1 && weak < MAX_COUNT;
}

/* A LocalPool task (a FuturesUnordered task of LocalFutureObj), if
 * `drop_fn` is its future's: its queue is a live Arc whose stub task (the
 * queue's sentinel, never polled) has a Weak::new() for its queue. */
static struct ad_error *local_pool_task(struct ad_decode *d, struct fe_scan *s, uint64_t drop_fn)
{
	const struct layouts_local_pool *l = &s->b->lp;
	uint64_t task = drop_fn - l->drop_fn, queue, stub, stub_queue;
	if (!l->present || drop_fn < l->drop_fn || !read_word(d, task + l->queue, &queue) ||
	    !arc_alive(d, queue) || !read_word(d, queue + l->queue_data + l->stub, &stub) ||
	    !arc_alive(d, stub) || !read_word(d, stub + l->task_data + l->queue, &stub_queue) ||
	    stub_queue != DANGLING_WEAK || stub + l->task_data == task)
		return NULL;
	unsigned runtime;
	struct ad_error *err = pool_runtime(d, s, queue, "local_pool", &runtime);
	if (!err)
		err = add_task(d, s, runtime, task, drop_fn);
	return err;
}

static struct ad_error *found(struct ad_decode *d, void *arg, uint64_t address, uint64_t value)
{
	struct fe_scan *s = arg;
	bool taken;
	(void)value;
	struct ad_error *err = thread_pool_task(d, s, address, &taken);
	if (err || taken)
		return err;
	return local_pool_task(d, s, address);
}

static struct ad_error *collect(struct ad_decode *d, struct ad_adapter *self)
{
	struct fe_scan s = { .b = self->binary };
	ad_u64map_init(&s.seen);
	struct ad_error *err = ad_heap_scan(d, true, is_drop_fn, found, &s);
	ad_u64map_deinit(&s.seen);
	if (err && err->code == AD_ERROR_TOO_LARGE) {
		struct ad_error *w = ad_trace_add_warning(d->trace, "futures' pools: %s", err->message);
		ad_error_destroy(err);
		err = w;
	}
	if (!err && !s.npools)
		return ad_error_create(AD_ERROR_NO_RUNTIME, "no pending task of futures' pools");
	return err;
}

/* futures-executor's block_on and LocalPool::run_until pin the future
 * they are given; both poll it from a closure passed to run_executor. */
static const struct ad_block_on_function block_on_functions[] = {
	{ "futures_executor::local_pool::block_on", "f" },
	{ "futures_executor::local_pool::LocalPool::run_until", "future" },
	{ NULL, NULL },
};

extern const struct ad_runtime_ops ad_futures_executor_runtime;
const struct ad_runtime_ops ad_futures_executor_runtime = {
	.kind = KIND,
	.probe = probe,
	.prepare = prepare,
	.destroy = destroy,
	.collect = collect,
	.block_on_functions = block_on_functions,
};
