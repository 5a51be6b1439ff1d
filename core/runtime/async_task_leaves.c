/* SPDX-License-Identifier: MIT */
/* Leaves of the async-task family, each with its identity, read by name.
 * Checked on bookworm (async-io 1.11.0, async-channel 1.8.0, async-lock
 * 2.6.0, event-listener 2.5.3, async-task 4.3.0, async-std 1.12.0) and
 * trixie / sid (async-io 2.3.3 / 2.6.0, async-channel 2.3.1 / 2.5.0,
 * async-lock 3.4.0 / 3.4.2, event-listener 5.4.0 / 5.4.2, async-task
 * 4.7.1, async-std 1.13.x):
 *
 * - async_io::Timer { when: Option<Instant>, id_and_waker, period }: the
 *   deadline is `when` (None: never fires).
 * - async_io::Async<T> { source: Arc<Source>, io: Option<T> }; Source {
 *   raw: RawFd (1.11) | registration: Registration { raw } (2.x), … }.
 *   Waiting on it: reactor::Ready<H, T> { handle: H (&Async<T> or
 *   Arc<Async<T>>), dir: usize (0 read, 1 write), … }, inside Readable,
 *   Writable and their Owned twins; reads and writes through futures-lite's
 *   and async-std's ReadFuture / WriteFuture { reader | writer: &mut R },
 *   async-std's sockets holding `watcher: Arc<Async<std socket>>`.
 * - async-channel Recv / Send { receiver | sender: &Receiver | &Sender
 *   { channel: Arc<Channel<T>> }, listener } (2.x behind an easy_wrapper
 *   `inner`): the channel is the Arc's allocation, the same for both ends.
 * - async-lock 2.6: Mutex::lock, RwLock::write, Semaphore::acquire and
 *   Barrier::wait are async fns whose env holds `self` (the lock); 3.x:
 *   Lock { .. mutex }, Write { .. lock: &RawRwLock }, Acquire { semaphore },
 *   BarrierWait { barrier }. Semaphore { count: AtomicUsize, event }.
 * - event_listener::EventListener: 2.5 { inner: Arc<Inner>, entry }, 5.x
 *   { listener: Pin<Box<InnerListener { event: Arc<Inner<T>>, … }>> }: the
 *   event is the Arc's allocation.
 * - async_task::Task<T(, M)> { ptr: NonNull<()> }: the awaited task's
 *   header; async-std's JoinHandle { handle: Option<Task<T>>, task }. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../decode.h"
#include "../recognisers.h"
#include "../runtime.h"
#include "../sockets.h"
#include "async_task.h"

#define NSEC_PER_SEC 1000000000ll
#define SEARCH_DEPTH 7

static bool block(struct ad_frame *f, enum ad_resource_kind kind, uint64_t address,
		  struct ad_blocked_on **ret)
{
	return ad_succeeded(ad_frame_block_on(f, kind, address, ret));
}

static bool is_pointer_like(const struct ad_type *t)
{
	return t->kind == AD_TYPE_POINTER || ad_type_is(t, "alloc::boxed::Box") ||
	       ad_type_is(t, "core::pin::Pin") || ad_type_is(t, "alloc::sync::Arc") ||
	       ad_type_is(t, "alloc::rc::Rc") || ad_type_is(t, "core::ptr::non_null::NonNull");
}

/* A value's pointee, an Arc's or Rc's data rather than its ArcInner. */
static bool pointee(const struct ad_value *v, struct ad_value *ret)
{
	if (!ad_succeeded(ad_value_deref(v, ret)))
		return false;
	if (ad_type_is(ret->type, "alloc::sync::ArcInner") || ad_type_is(ret->type, "alloc::rc::RcBox") ||
	    ad_type_is(ret->type, "alloc::rc::RcInner"))
		return ad_succeeded(ad_value_member(ret, "data", ret)) || ad_succeeded(ad_value_member(ret, "value", ret));
	return true;
}

/* Depth-first through fields and pointers (at most `depth` levels, at most
 * VISIT_BUDGET values): the first value whose field name or type satisfies
 * `match`. Bounded: what a future holds is a few references deep. */
typedef bool (*value_match)(const char *field, const struct ad_value *v, const void *arg);

#define VISIT_BUDGET 256

static bool find_value_in(const struct ad_value *v, const char *field, value_match match,
			  const void *arg, int depth, int *budget, struct ad_value *ret)
{
	if ((*budget)-- <= 0)
		return false;
	if (match(field, v, arg)) {
		*ret = *v;
		return true;
	}
	if (depth <= 0)
		return false;
	if (is_pointer_like(v->type)) {
		struct ad_value p;
		return pointee(v, &p) && find_value_in(&p, field, match, arg, depth - 1, budget, ret);
	}
	if (v->type->kind == AD_TYPE_ENUM) {
		const struct ad_variant *active;
		struct ad_value var;
		return ad_succeeded(ad_value_variant(v, &active, &var)) &&
		       find_value_in(&var, field, match, arg, depth - 1, budget, ret);
	}
	if (v->type->kind != AD_TYPE_STRUCT)
		return false;
	for (size_t i = 0; i < v->type->nfields && i < 16; i++) {
		struct ad_value m;
		const char *name = v->type->fields[i].name;
		if (name && ad_succeeded(ad_value_member(v, name, &m)) &&
		    find_value_in(&m, name, match, arg, depth - 1, budget, ret))
			return true;
	}
	return false;
}

static bool find_value(const struct ad_value *v, const char *field, value_match match,
		       const void *arg, int depth, struct ad_value *ret)
{
	int budget = VISIT_BUDGET;
	return find_value_in(v, field, match, arg, depth, &budget, ret);
}

static bool field_named(const char *field, const struct ad_value *v, const void *arg)
{
	(void)v;
	return field && strcmp(field, arg) == 0;
}

static bool type_named(const char *field, const struct ad_value *v, const void *arg)
{
	(void)field;
	return ad_type_is(v->type, arg);
}

/* The address held by the first pointer field named `name`; an Arc's is
 * its allocation (what every clone shares). */
static bool pointer_named(const struct ad_value *v, const char *name, uint64_t *ret)
{
	struct ad_value m;
	return find_value(v, NULL, field_named, name, SEARCH_DEPTH, &m) &&
	       ad_succeeded(ad_value_pointer(&m, ret)) && *ret;
}

/* ---- timers */

static bool timer_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_blocked_on *b;
	struct ad_value when, sec, nsec;
	uint64_t s, ns;
	if (!block(f, AD_RESOURCE_TIMER, v->address, &b))
		return true;
	if (ad_succeeded(ad_value_member(v, "when", &when)) && ad_succeeded(ad_value_unwrap_option(&when, &when)) &&
	    find_value(&when, NULL, field_named, "tv_sec", 4, &sec) &&
	    find_value(&when, NULL, field_named, "tv_nsec", 5, &nsec) &&
	    ad_succeeded(ad_read_uint(d->reader, sec.address, sec.type->size, &s)) &&
	    ad_succeeded(ad_read_uint(d->reader, nsec.address, nsec.type->size > 8 ? 4 : nsec.type->size, &ns))) {
		const struct timespec *now = &d->snap->monotonic;
		b->has_deadline = true;
		b->deadline_ns = (int64_t)s * NSEC_PER_SEC + (int64_t)ns;
		b->time_left_ns = b->deadline_ns - ((int64_t)now->tv_sec * NSEC_PER_SEC + now->tv_nsec);
	}
	return true;
}

/* ---- sockets */

static bool source_fd(struct ad_decode *d, const struct ad_value *source, int *fd)
{
	uint64_t off, raw;
	const struct ad_type *t;
	if (!ad_succeeded(ad_find_member(d->di, source->type, "raw", 3, &off, &t)) || t->size != 4 ||
	    !ad_succeeded(ad_read_uint(d->reader, source->address + off, 4, &raw)))
		return false;
	*fd = (int)(int32_t)raw;
	return *fd >= 0;
}

bool ad_async_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd)
{
	struct ad_value source;
	if (!find_value(v, NULL, type_named, "async_io::reactor::Source", SEARCH_DEPTH + 2, &source))
		return false;
	return source_fd(d, &source, fd);
}

static void attach_socket(struct ad_decode *d, struct ad_blocked_on *b)
{
	const struct ad_socket *s;
	if (b->fd >= 0 && d->snap && (s = ad_socket_table_find(d->snap->sockets, b->fd)))
		ad_succeeded(ad_blocked_on_set_socket(b, s));
}

static bool io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
		    const char *interest)
{
	int fd;
	struct ad_blocked_on *b;
	if (!ad_async_io_registration(d, v, &fd))
		return false;
	if (!block(f, AD_RESOURCE_IO, 0, &b))
		return true;
	b->fd = fd;
	ad_succeeded(ad_blocked_on_set_interest(b, interest));
	attach_socket(d, b);
	return true;
}

/* Ready { dir }: 0 read, 1 write (async-io's reactor READ / WRITE). */
static bool ready_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value dir;
	uint64_t n = 0;
	if (find_value(v, NULL, field_named, "dir", 2, &dir))
		ad_succeeded(ad_read_uint(d->reader, dir.address, dir.type->size, &n));
	return io_leaf(d, v, f, n == 1 ? "writable" : "readable");
}

static bool read_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return io_leaf(d, v, f, "readable");
}

static bool write_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return io_leaf(d, v, f, "writable");
}

/* ---- channels, events */

static bool channel_leaf(struct ad_frame *f, const struct ad_value *v, bool sending)
{
	uint64_t channel = 0;
	struct ad_blocked_on *b;
	pointer_named(v, "channel", &channel);
	if (block(f, AD_RESOURCE_MPSC, channel, &b) && channel) {
		b->channel = channel;
		ad_describe_channel_wait(b, "mpmc", channel, sending);
	}
	return true;
}

static bool recv_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	(void)d;
	return channel_leaf(f, v, false);
}

/* async-channel's are multi-consumer: "mpmc". A Send that waits is a
 * bounded channel's, full. */
static bool send_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	(void)d;
	return channel_leaf(f, v, true);
}

static bool event_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	(void)d;
	uint64_t event = 0;
	struct ad_blocked_on *b;
	if (!pointer_named(v, "event", &event))
		pointer_named(v, "inner", &event);
	block(f, AD_RESOURCE_NOTIFY, event, &b);
	return true;
}

/* ---- tasks */

static bool task_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t header = 0, id;
	struct ad_blocked_on *b;
	struct ad_adapter *self = ad_decode_adapter_kind(d, "async-executor");
	struct ad_value task;
	/* async-std's JoinHandle holds an Option<async_task::Task>. */
	if (find_value(v, NULL, type_named, "async_task::task::Task", SEARCH_DEPTH, &task))
		pointer_named(&task, "ptr", &header);
	if (!block(f, AD_RESOURCE_TASK, header, &b) || !header || !self)
		return true;
	if (ad_succeeded(self->ops->task_id(d, self, header, &id))) {
		b->has_task_id = true;
		b->task_id = id;
		f->has_awaits_task = true;
		f->awaits_task = id;
	}
	return true;
}

const struct ad_leaf_recogniser ad_async_task_leaves[] = {
	{ "async_io::Timer", AD_MATCH_TYPE, timer_leaf },
	{ "async_io::reactor::Ready", AD_MATCH_TYPE, ready_leaf },
	{ "async_io::Readable", AD_MATCH_TYPE, read_leaf },
	{ "async_io::ReadableOwned", AD_MATCH_TYPE, read_leaf },
	{ "async_io::Writable", AD_MATCH_TYPE, write_leaf },
	{ "async_io::WritableOwned", AD_MATCH_TYPE, write_leaf },
	{ "futures_lite::io::ReadFuture", AD_MATCH_TYPE, read_leaf },
	{ "futures_lite::io::ReadExactFuture", AD_MATCH_TYPE, read_leaf },
	{ "futures_lite::io::WriteFuture", AD_MATCH_TYPE, write_leaf },
	{ "futures_lite::io::WriteAllFuture", AD_MATCH_TYPE, write_leaf },
	{ "async_std::io::read::read::ReadFuture", AD_MATCH_TYPE, read_leaf },
	{ "async_std::io::read::read_exact::ReadExactFuture", AD_MATCH_TYPE, read_leaf },
	{ "async_std::io::write::write::WriteFuture", AD_MATCH_TYPE, write_leaf },
	{ "async_std::io::write::write_all::WriteAllFuture", AD_MATCH_TYPE, write_leaf },
	{ "async_channel::Recv", AD_MATCH_TYPE, recv_leaf },
	{ "async_channel::Send", AD_MATCH_TYPE, send_leaf },
	{ "event_listener::EventListener", AD_MATCH_TYPE, event_leaf },
	{ "async_std::future::pending::Pending", AD_MATCH_TYPE, ad_pending_leaf },
	{ "async_task::task::Task", AD_MATCH_TYPE, task_leaf },
	{ "async_std::task::join_handle::JoinHandle", AD_MATCH_TYPE, task_leaf },
	{ NULL, 0, NULL },
};

/* ---- locks: the whole lock future is one leaf frame (2.6's async fns
 * would otherwise end in the event-listener they wait on, 3.x's in their
 * easy_wrapper's inner state). */

struct lock_kind {
	const char *type;      /* 3.x: the future's type */
	const char *fn;        /* 2.6: "…::{impl#N}" then this fn's env */
	const char *prefix;    /* the module both live in */
	const char *field;     /* the lock, in 3.x's future */
	enum ad_resource_kind kind;
	const char *name;
};

static const struct lock_kind lock_kinds[] = {
	{ "async_lock::mutex::Lock", "::lock::{async_fn_env#", "async_lock::mutex::", "mutex",
	  AD_RESOURCE_MUTEX, "async_lock::Mutex::lock" },
	{ "async_lock::rwlock::Write", "::write::{async_fn_env#", "async_lock::rwlock::", "lock",
	  AD_RESOURCE_RWLOCK, "async_lock::RwLock::write" },
	{ "async_lock::rwlock::Read", "::read::{async_fn_env#", "async_lock::rwlock::", "lock",
	  AD_RESOURCE_RWLOCK, "async_lock::RwLock::read" },
	/* 3.x moved them into a module `futures` */
	{ "async_lock::rwlock::futures::Write", "::write::{async_fn_env#", "async_lock::rwlock::", "lock",
	  AD_RESOURCE_RWLOCK, "async_lock::RwLock::write" },
	{ "async_lock::rwlock::futures::Read", "::read::{async_fn_env#", "async_lock::rwlock::", "lock",
	  AD_RESOURCE_RWLOCK, "async_lock::RwLock::read" },
	{ "async_lock::semaphore::Acquire", "::acquire::{async_fn_env#", "async_lock::semaphore::",
	  "semaphore", AD_RESOURCE_SEMAPHORE, "async_lock::Semaphore::acquire" },
	{ "async_lock::barrier::BarrierWait", "::wait::{async_fn_env#", "async_lock::barrier::",
	  "barrier", AD_RESOURCE_BARRIER, "async_lock::Barrier::wait" },
};

static const struct lock_kind *lock_kind_of(const struct ad_type *t, bool *is_fn)
{
	for (size_t i = 0; i < sizeof(lock_kinds) / sizeof(lock_kinds[0]); i++) {
		const struct lock_kind *k = &lock_kinds[i];
		if (ad_type_is(t, k->type)) {
			*is_fn = false;
			return k;
		}
		if (strncmp(t->name, k->prefix, strlen(k->prefix)) == 0 &&
		    strncmp(t->name + strlen(k->prefix), "{impl#", 6) == 0 && strstr(t->name, k->fn)) {
			*is_fn = true;
			return k;
		}
	}
	return NULL;
}

/* Semaphore { count: AtomicUsize }: the permits left; acquire wants one. */
static void semaphore_permits(struct ad_decode *d, uint64_t semaphore, struct ad_blocked_on *b)
{
	const struct ad_type *st, *ct;
	uint64_t off, count;
	if (semaphore && ad_succeeded(ad_debuginfo_find_type(d->di, "async_lock::semaphore::Semaphore", &st)) &&
	    ad_succeeded(ad_find_member(d->di, st, "count", 3, &off, &ct)) &&
	    ad_succeeded(ad_read_u64(d->reader, semaphore + off, &count))) {
		b->permits_available = (int64_t)count;
		b->permits_wanted = 1;
	}
}

static struct ad_error *lock_future(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				    struct ad_frame **ret)
{
	(void)depth;
	bool is_fn;
	const struct lock_kind *k = lock_kind_of(v->type, &is_fn);
	*ret = NULL;
	if (!k)
		return NULL;
	uint64_t lock = 0;
	pointer_named(v, is_fn ? "self" : k->field, &lock);
	struct ad_frame *f =
		ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, k->name, v->type->name, v->address);
	struct ad_blocked_on *b;
	if (!f)
		return &ad_error_nomem;
	f->state = AD_FRAME_PENDING;
	struct ad_error *err = ad_frame_block_on(f, k->kind, lock, &b);
	if (err) {
		ad_frame_destroy(f);
		return err;
	}
	if (k->kind == AD_RESOURCE_SEMAPHORE)
		semaphore_permits(d, lock, b);
	*ret = f;
	return NULL;
}

/* Executor::run awaits `future.or(run_forever)` (async-executor 1.5:
 * in Executor::run, 1.13+: in State::run), futures-lite's Or { future1,
 * future2 }: the second is the executor's own loop over its runnables,
 * never what the thread waits for; the first is the future given to run. */
static struct ad_error *executor_or(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				    struct ad_frame **ret)
{
	struct ad_value first, second;
	*ret = NULL;
	if (!ad_succeeded(ad_value_member(v, "future1", &first)) ||
	    !ad_succeeded(ad_value_member(v, "future2", &second)) ||
	    strncmp(second.type->name, "async_executor::", 16) != 0 ||
	    !strstr(second.type->name, "::run::") || !strstr(second.type->name, "{async_block_env#"))
		return NULL;
	return d->walk(d, first.type, first.address, depth + 1, ret);
}

/* async-std's task::sleep(d) is timeout(d, pending()): Timeout { future,
 * timeout: Timer } (1.12, 1.13) around a future that never completes: the
 * timer alone is what the task waits for. */
static struct ad_error *sleep_timeout(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				      struct ad_frame **ret)
{
	struct ad_value future, timer;
	*ret = NULL;
	if (!ad_succeeded(ad_value_member(v, "future", &future)) ||
	    !ad_succeeded(ad_value_member(v, "timeout", &timer)) ||
	    strncmp(future.type->name, "async_std::future::pending::", 28) != 0)
		return NULL;
	return d->walk(d, timer.type, timer.address, depth + 1, ret);
}

const struct ad_combinator_recogniser ad_async_task_combinators[] = {
	{ "async_std::io::timeout::Timeout", AD_MATCH_TYPE, sleep_timeout },
	{ "futures_lite::future::Or", AD_MATCH_TYPE, executor_or },
	{ "async_lock::", AD_MATCH_PREFIX, lock_future },
	{ NULL, 0, NULL },
};

/* ---- refiners: what an async fn of these crates says about its awaitee */

static bool ends_with(const char *str, const char *suffix)
{
	size_t a = strlen(str), b = strlen(suffix);
	return a >= b && strcmp(str + a - b, suffix) == 0;
}

/* async-lock 2.6's Mutex::lock, RwLock::write/read, Semaphore::acquire and
 * Barrier::wait are async fns (3.x's are the futures lock_future takes):
 * what they end waiting on is an event-listener inside the lock; the
 * leaf is the lock, held in the env's `self`. */
void ad_async_task_refine_lock(struct ad_decode *d, const struct ad_value *env, const char *fn,
			       struct ad_frame *child)
{
	static const struct {
		const char *module, *fn;
		enum ad_resource_kind kind;
	} fns[] = {
		{ "async_lock::mutex::", "::lock", AD_RESOURCE_MUTEX },
		{ "async_lock::rwlock::", "::write", AD_RESOURCE_RWLOCK },
		{ "async_lock::rwlock::", "::read", AD_RESOURCE_RWLOCK },
		{ "async_lock::semaphore::", "::acquire", AD_RESOURCE_SEMAPHORE },
		{ "async_lock::barrier::", "::wait", AD_RESOURCE_BARRIER },
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		if (strncmp(fn, fns[i].module, strlen(fns[i].module)) != 0 || !ends_with(fn, fns[i].fn))
			continue;
		uint64_t lock = 0;
		struct ad_frame *end = child;
		struct ad_blocked_on *b;
		pointer_named(env, "self", &lock);
		/* The end of the awaitee's single-child path carries the leaf. */
		for (int k = 0; k < AD_FRAME_MAX_DEPTH && end->nchildren == 1; k++)
			end = end->children[0];
		if (end->nchildren || !block(end, fns[i].kind, lock, &b))
			return;
		if (fns[i].kind == AD_RESOURCE_SEMAPHORE)
			semaphore_permits(d, lock, b);
		return;
	}
}

