/* SPDX-License-Identifier: MIT */
/* The pipeline: check → debuginfo (cached per binary) → snapshot (the only
 * pause) → decode on the copy → trace. And the cheap look at a binary that
 * the daemon's process list needs. */
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asyncdump/capture.h"
#include "asyncdump/core.h"
#include "asyncdump/snapshot.h"
#include "block_on.h"
#include "debuginfo_internal.h"
#include "decode.h"
#include "fault.h"
#include "priority.h"
#include "proc.h"
#include "runtime.h"
#include "unwind.h"
#include "wait_graph.h"

#define DEFAULT_MAX_BINARIES 16
#define MAX_INFOS 1024
#define MAX_ADAPTERS 8

struct binary_key {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

/* One opened binary. Captures hold a reference while they decode, so the
 * cache may evict it meanwhile without pulling it from under them. */
struct binary {
	atomic_int refcount;
	struct ad_debuginfo *di;
	/* Per adapter of ad_runtime_adapters: what its prepare() gave (NULL:
	 * no such runtime in this binary). */
	void *adapter_state[MAX_ADAPTERS];
	struct ad_error *error; /* set when no adapter reads this binary: why */
};

struct cache_entry {
	struct binary_key key;
	uint64_t last_used;
	struct binary *binary;
};

/* The cheap look at a binary, for process lists: many more of these than
 * opened binaries, and none of them holds DWARF. */
struct info_entry {
	struct binary_key key;
	uint64_t last_used;
	struct ad_binary_info info;
};

/* An unwinder (libdwfl with every module the process maps, CFI loaded) is
 * expensive to build and belongs to one process: kept per pid, and taken
 * out of the cache while a capture uses it (libdwfl is not thread-safe). */
#define MAX_UNWINDERS 8
struct unwinder_slot {
	pid_t pid;
	uint64_t last_used;
	struct ad_unwinder *unwinder;
};

struct ad_context {
	pthread_mutex_t lock;
	size_t max, n;
	struct cache_entry *entries;
	size_t ninfos;
	struct info_entry *infos;
	struct unwinder_slot unwinders[MAX_UNWINDERS];
	uint64_t clock;
	char *debuginfo_dirs;      /* ad_context_options; NULL: the standard places */
};

struct ad_error *ad_context_create(const struct ad_context_options *options,
				   struct ad_context **ret)
{
	struct ad_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return &ad_error_nomem;
	ctx->max = options && options->max_cached_binaries ? options->max_cached_binaries
							   : DEFAULT_MAX_BINARIES;
	ctx->entries = calloc(ctx->max, sizeof(*ctx->entries));
	ctx->infos = calloc(MAX_INFOS, sizeof(*ctx->infos));
	if (options && options->debuginfo_dirs)
		ctx->debuginfo_dirs = strdup(options->debuginfo_dirs);
	if (!ctx->entries || !ctx->infos ||
	    (options && options->debuginfo_dirs && !ctx->debuginfo_dirs)) {
		free(ctx->entries);
		free(ctx->infos);
		free(ctx->debuginfo_dirs);
		free(ctx);
		return &ad_error_nomem;
	}
	pthread_mutex_init(&ctx->lock, NULL);
	*ret = ctx;
	return NULL;
}

static void binary_unref(struct binary *b)
{
	if (!b || atomic_fetch_sub(&b->refcount, 1) != 1)
		return;
	for (size_t i = 0; i < MAX_ADAPTERS && ad_runtime_adapters[i]; i++)
		if (b->adapter_state[i])
			ad_runtime_adapters[i]->destroy(b->adapter_state[i]);
	ad_error_destroy(b->error);
	ad_debuginfo_unref(b->di);
	free(b);
}

void ad_context_destroy(struct ad_context *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ctx->n; i++)
		binary_unref(ctx->entries[i].binary);
	for (size_t i = 0; i < ctx->ninfos; i++)
		ad_binary_info_deinit(&ctx->infos[i].info);
	for (size_t i = 0; i < MAX_UNWINDERS; i++)
		ad_unwinder_destroy(ctx->unwinders[i].unwinder);
	free(ctx->entries);
	free(ctx->infos);
	free(ctx->debuginfo_dirs);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

static struct ad_error *binary_key_of(pid_t pid, struct binary_key *ret, char *exe_path, size_t len)
{
	snprintf(exe_path, len, "/proc/%d/exe", (int)pid);
	struct stat st;
	if (stat(exe_path, &st) != 0) {
		int e = errno;
		struct ad_error *err = ad_process_check(pid);
		if (err)
			return err;
		return ad_error_os(e, "cannot read the executable of process %d (%s)", (int)pid,
				   exe_path);
	}
	*ret = (struct binary_key){ st.st_dev, st.st_ino, st.st_mtim };
	return NULL;
}

static bool same_key(const struct binary_key *a, const struct binary_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static struct cache_entry *find_entry(struct ad_context *ctx, const struct binary_key *key)
{
	for (size_t i = 0; i < ctx->n; i++)
		if (same_key(&ctx->entries[i].key, key)) {
			ctx->entries[i].last_used = ++ctx->clock;
			return &ctx->entries[i];
		}
	return NULL;
}

/* A free slot, evicting the least recently used binary when full. */
static struct cache_entry *new_entry(struct ad_context *ctx, const struct binary_key *key)
{
	struct cache_entry *e;
	if (ctx->n < ctx->max) {
		e = &ctx->entries[ctx->n++];
	} else {
		e = &ctx->entries[0];
		for (size_t i = 1; i < ctx->n; i++)
			if (ctx->entries[i].last_used < e->last_used)
				e = &ctx->entries[i];
		binary_unref(e->binary);
	}
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->last_used = ++ctx->clock;
	return e;
}

/* Every adapter's layouts for this binary. NULL when one or more adapters
 * read it; else why none does: the adapter's own error when only one was
 * tried, a lack of memory first of all. */
static struct ad_error *prepare_adapters(struct binary *b)
{
	struct ad_error *first = NULL;
	size_t active = 0, tried = 0;
	for (size_t i = 0; i < MAX_ADAPTERS && ad_runtime_adapters[i]; i++) {
		const struct ad_runtime_ops *ops = ad_runtime_adapters[i];
		struct ad_error *err = ops->prepare(b->di, &b->adapter_state[i]);
		tried++;
		if (!err) {
			active++;
			continue;
		}
		b->adapter_state[i] = NULL;
		if (err->code == AD_ERROR_NOMEM || !first) {
			ad_error_destroy(first);
			first = err;
		} else if (first->code != AD_ERROR_NOMEM) {
			struct ad_error *both = ad_error_create(first->code, "%s; %s", first->message,
								err->message);
			ad_error_destroy(first);
			ad_error_destroy(err);
			first = both;
		} else {
			ad_error_destroy(err);
		}
	}
	if (active) {
		ad_error_destroy(first);
		return NULL;
	}
	if (!first)
		return ad_error_create(AD_ERROR_NO_RUNTIME, "no runtime adapter (internal error)");
	if (first->code != AD_ERROR_NOMEM && ad_debuginfo_corruption(b->di)) {
		/* Not "no runtime": the DWARF that would say so is damaged. */
		char what[64];
		snprintf(what, sizeof(what), "the %s runtime%s", tried == 1 ? ad_runtime_adapters[0]->kind
									 : "async", tried == 1 ? "" : "s");
		ad_error_destroy(first);
		return ad_debuginfo_corrupt_error(b->di, what);
	}
	return first;
}

/* `who` names the process in messages ("process 12", "core FILE"). */
static struct ad_error *open_binary(const char *exe, const char *name, const char *who,
				    const char *debuginfo_dirs,
				    struct binary **ret)
{
	struct binary *b = calloc(1, sizeof(*b));
	if (!b)
		return &ad_error_nomem;
	atomic_init(&b->refcount, 1);
	struct ad_error *err = ad_debuginfo_open_in(exe, name, debuginfo_dirs, &b->di);
	if (err) {
		free(b);
		return ad_error_wrap(err, "%s", who);
	}
	b->error = prepare_adapters(b);
	*ret = b;
	return NULL;
}

static struct ad_error *cached_binary(struct ad_context *ctx, const struct binary_key *key,
				      const char *exe, const char *name, const char *who,
				      struct binary **ret);

/* The binary of `pid` with its debuginfo and runtime layouts, opened once and
 * returned with a reference the caller drops with binary_unref(). */
static struct ad_error *binary_for(struct ad_context *ctx, pid_t pid, struct binary **ret)
{
	struct binary_key key;
	char exe[64], who[32];
	struct ad_error *err = binary_key_of(pid, &key, exe, sizeof(exe));
	if (err)
		return err;
	char *name = NULL;
	ad_error_destroy(ad_proc_read_exe(pid, &name)); /* a name for messages only */
	snprintf(who, sizeof(who), "process %d", (int)pid);
	err = cached_binary(ctx, &key, exe, name ? name : exe, who, ret);
	free(name);
	return err;
}

/* The cached binary of `key`, opened from `exe` when not cached yet. */
static struct ad_error *cached_binary(struct ad_context *ctx, const struct binary_key *key,
				      const char *exe, const char *name, const char *who,
				      struct binary **ret)
{
	struct ad_error *err = NULL;
	pthread_mutex_lock(&ctx->lock);
	struct cache_entry *e = find_entry(ctx, key);
	if (!e) {
		/* Opening builds the index (up to a second for a large binary):
		 * done under the lock so that one binary is indexed once. */
		struct binary *b = NULL;
		if ((err = open_binary(exe, name, who, ctx->debuginfo_dirs, &b))) {
			pthread_mutex_unlock(&ctx->lock);
			return err;
		}
		e = new_entry(ctx, key);
		e->binary = b;
	}
	struct binary *b = e->binary;
	if (b->error) {
		err = ad_error_create(b->error->code, "%s: %s", who, b->error->message);
	} else {
		atomic_fetch_add(&b->refcount, 1);
		*ret = b;
	}
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

static uint64_t load_bias(const struct ad_snapshot *snap, struct ad_debuginfo *di)
{
	for (size_t i = 0; i < snap->nmappings; i++) {
		const struct ad_mapping *m = &snap->mappings[i];
		if (m->path && snap->exe && strcmp(m->path, snap->exe) == 0 && m->offset == 0)
			return ad_debuginfo_load_bias(di, m->start);
	}
	return 0;
}

/* A thread in block_on is either polling its future or parked until a
 * wake-up: parked when a frame between the innermost and block_on parks
 * (std's, parking_lot's or a runtime's park, or a driver's park). */
static enum ad_task_state block_on_state(const struct ad_unwind *uw)
{
	for (size_t i = 0; i < uw->nframes; i++) {
		if (!uw->frames[i].has_function)
			continue;
		const char *name = dwarf_diename((Dwarf_Die *)&uw->frames[i].function);
		if (!name)
			continue;
		if (strncmp(name, "block_on", 8) == 0)
			break;
		if (strstr(name, "park") || strcmp(name, "epoll_wait") == 0)
			return AD_TASK_IDLE;
	}
	return AD_TASK_RUNNING;
}

/* The cached unwinder of this process if it still fits the snapshot, or a
 * new one; the caller owns it until unwinder_put(). */
static struct ad_error *unwinder_take(struct ad_context *ctx, const struct ad_snapshot *snap,
				      struct ad_unwinder **ret)
{
	struct ad_unwinder *u = NULL, *stale = NULL;
	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < MAX_UNWINDERS; i++) {
		struct unwinder_slot *s = &ctx->unwinders[i];
		if (s->unwinder && s->pid == snap->pid) {
			if (ad_unwinder_matches(s->unwinder, snap))
				u = s->unwinder;
			else
				stale = s->unwinder; /* pid reused or exec'ed */
			s->unwinder = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	ad_unwinder_destroy(stale);
	if (u) {
		*ret = u;
		return NULL;
	}
	return ad_unwinder_create(snap, ctx->debuginfo_dirs, ret);
}

static void unwinder_put(struct ad_context *ctx, pid_t pid, struct ad_unwinder *u)
{
	struct ad_unwinder *evicted = NULL;
	pthread_mutex_lock(&ctx->lock);
	struct unwinder_slot *slot = &ctx->unwinders[0];
	for (size_t i = 0; i < MAX_UNWINDERS; i++) {
		struct unwinder_slot *s = &ctx->unwinders[i];
		if (!s->unwinder) {
			slot = s;
			break;
		}
		if (s->last_used < slot->last_used)
			slot = s;
	}
	evicted = slot->unwinder;
	*slot = (struct unwinder_slot){ pid, ++ctx->clock, u };
	pthread_mutex_unlock(&ctx->lock);
	ad_unwinder_destroy(evicted);
}

/* The block_on future's tree, at the address DWARF gives or, without one,
 * at the one place in the pinning frame that validates (said in the note).
 * Returns why the future is not shown; *fatal only for lack of memory. */
static struct ad_error *decode_block_on(struct ad_decode *d, struct ad_task *task,
					struct ad_block_on *bo, struct ad_error **fatal)
{
	const struct ad_type *t;
	struct ad_error *e = AD_FAULT("task", bo->type_name);
	if (!e)
		e = ad_debuginfo_find_type(d->di, bo->type_name, &t);
	if (e)
		return e;
	uint64_t address = bo->address;
	char *how = NULL;
	if (!bo->has_address &&
	    (e = ad_block_on_scan(d, bo, t, task->state == AD_TASK_IDLE, &address, &how))) {
		if (e->code == AD_ERROR_NOMEM)
			*fatal = e;
		return *fatal ? NULL : e;
	}
	task->address = address;
	if (how && (*fatal = ad_task_set_note(task, "%s", how))) {
		free(how);
		return NULL;
	}
	free(how);
	*fatal = ad_decode_future(d, t, address, 0, &task->root);
	return NULL;
}

/* The adapter that added the trace's runtime `index`. */
static struct ad_adapter *adapter_of_runtime(struct ad_decode *d, unsigned index)
{
	if (index >= d->trace->nruntimes)
		return NULL;
	for (size_t i = 0; i < d->nadapters; i++)
		if (strcmp(d->adapters[i].ops->kind, d->trace->runtimes[index].kind) == 0)
			return &d->adapters[i];
	return NULL;
}

/* The block_on future of each thread that runs one: a task of its own. */
static struct ad_error *collect_block_on(struct ad_context *ctx, struct ad_decode *d)
{
	struct ad_unwinder *u;
	/* A core's unwinder is of no later sample: built, used, dropped. */
	bool live = !d->trace->from_core;
	struct ad_error *err = live ? unwinder_take(ctx, d->snap, &u)
				    : ad_unwinder_create(d->snap, ctx->debuginfo_dirs, &u);
	if (err) {
		struct ad_error *w = ad_trace_add_warning(d->trace,
							  "block_on futures not searched: %s",
							  err->message);
		ad_error_destroy(err);
		return w;
	}
	for (size_t i = 0; i < d->snap->nthreads && !err; i++) {
		const struct ad_thread *th = &d->snap->threads[i];
		struct ad_unwind *uw;
		struct ad_error *e = ad_unwind_thread(u, d->snap, th->tid, &uw);
		if (e) {
			ad_error_destroy(e);
			continue;
		}
		if (!ad_block_on_present(uw)) {
			ad_unwind_destroy(uw);
			continue;
		}
		struct ad_task *task;
		if ((err = ad_trace_add_task(d->trace, &task)))
			break;
		task->kind = AD_TASK_KIND_BLOCK_ON;
		task->state = block_on_state(uw);
		d->adapter = NULL;
		if (d->thread_runtime && d->thread_runtime[i] >= 0) {
			task->runtime = (unsigned)d->thread_runtime[i];
			d->adapter = adapter_of_runtime(d, task->runtime);
		}
		d->current_runtime = task->runtime;
		/* A core knows only the main thread's name: the others' are null. */
		if ((err = ad_task_set_thread(task, th->tid, th->name[0] ? th->name : NULL)))
			break;
		struct ad_block_on bo;
		e = ad_block_on_find(uw, d->reader, &bo);
		if (!e) {
			e = decode_block_on(d, task, &bo, &err);
			ad_block_on_deinit(&bo);
		}
		if (e && !err) {
			err = ad_task_set_note(task, "%s", e->message);
			ad_error_destroy(e);
		} else {
			ad_error_destroy(e);
		}
		ad_unwind_destroy(uw);
	}
	if (live)
		unwinder_put(ctx, d->snap->pid, u);
	else
		ad_unwinder_destroy(u);
	return err;
}

static struct ad_error *fill_header(struct ad_trace *t, const struct ad_snapshot *snap,
				    struct ad_debuginfo *di)
{
	struct ad_error *err;
	t->pid = snap->pid;
	t->captured_at = snap->captured_at;
	t->pause_us = snap->pause_us;
	if ((err = ad_trace_set_exe(t, snap->exe)) ||
	    (err = ad_trace_set_build_id(t, ad_debuginfo_build_id(di))) ||
	    (err = ad_trace_set_source_root(t, ad_debuginfo_source_root(di))))
		return err;
	if (ad_debuginfo_corruption(di))
		return ad_trace_add_warning(t, "the DWARF debuginfo of %s is partly corrupt (%s): "
					    "what it describes may be missing or undecodable",
					    ad_debuginfo_path(di), ad_debuginfo_corruption(di));
	return NULL;
}

/* Every active adapter's runtimes and tasks; then the block_on futures;
 * then what adapters could only find while decoding. A process where no
 * adapter finds a runtime running fails with the first one's reason. */
static struct ad_error *collect(struct ad_context *ctx, struct ad_decode *d)
{
	struct ad_error *err = NULL, *none = NULL;
	size_t found = 0;
	for (size_t i = 0; i < d->nadapters && !err; i++) {
		struct ad_adapter *a = &d->adapters[i];
		if (a->ops->capture_begin)
			err = a->ops->capture_begin(d, a);
	}
	for (size_t i = 0; i < d->nadapters && !err; i++) {
		struct ad_adapter *a = &d->adapters[i];
		d->adapter = a;
		err = a->ops->collect(d, a);
		if (err && err->code == AD_ERROR_NO_RUNTIME) {
			if (!none)
				none = err;
			else
				ad_error_destroy(err);
			err = NULL;
		} else if (!err) {
			found++;
		}
	}
	if (!err && !found) {
		err = none;
		none = NULL;
	}
	ad_error_destroy(none);
	if (!err)
		err = collect_block_on(ctx, d);
	for (size_t i = 0; i < d->nadapters && !err; i++) {
		struct ad_adapter *a = &d->adapters[i];
		d->adapter = a;
		if (a->ops->collect_late)
			err = a->ops->collect_late(d, a);
	}
	for (size_t i = 0; i < d->nadapters; i++) {
		struct ad_adapter *a = &d->adapters[i];
		if (a->ops->capture_end)
			a->ops->capture_end(a);
	}
	d->adapter = NULL;
	return err;
}

/* Decodes `snap` (a live sample's or a core's) into `trace`, whose header
 * is filled already. */
static struct ad_error *decode_snapshot(struct ad_context *ctx, struct binary *b,
					struct ad_snapshot *snap,
					const struct ad_capture_options *options,
					struct ad_trace *trace)
{
	struct ad_debuginfo *di = b->di;
	struct ad_error *err;
	struct ad_adapter adapters[MAX_ADAPTERS];
	size_t nadapters = 0;
	for (size_t i = 0; i < MAX_ADAPTERS && ad_runtime_adapters[i]; i++)
		if (b->adapter_state[i])
			adapters[nadapters++] = (struct ad_adapter){ ad_runtime_adapters[i],
								    b->adapter_state[i], NULL };
	int *thread_runtime = malloc((snap->nthreads ? snap->nthreads : 1) *
				     sizeof(*thread_runtime));
	if (!thread_runtime)
		return &ad_error_nomem;
	for (size_t i = 0; i < snap->nthreads; i++)
		thread_runtime[i] = -1;
#ifdef AD_FAULT_INJECTION
	struct ad_reader faulty;
	ad_fault_reset();
	ad_fault_reader(snap->reader, &faulty);
#endif
	struct ad_decode d = {
		.thread_runtime = thread_runtime,
		.di = di,
		.snap = snap,
		.reader = snap->reader,
		.bias = load_bias(snap, di),
		.trace = trace,
		.locals = options && options->locals,
		.adapters = adapters,
		.nadapters = nadapters,
		.walk = ad_decode_future,
		.leaf = ad_decode_leaf,
	};
#ifdef AD_FAULT_INJECTION
	d.reader = &faulty; /* decoding reads the snapshot through the hook */
#endif
	err = collect(ctx, &d);
	ad_u64map_deinit(&d.visited);
	if (!err)
		err = ad_wait_graph_cycles(trace);
	free(thread_runtime);
	return err;
}

struct ad_error *ad_capture(struct ad_context *ctx, pid_t pid,
			    const struct ad_capture_options *options, struct ad_trace **ret)
{
	struct binary *b = NULL;
	struct ad_snapshot *snap = NULL;
	struct ad_trace *trace = NULL;
	struct ad_priority_saved priority = { .lowered = false };
	struct ad_error *err = ad_process_check(pid);
	if (err || (err = binary_for(ctx, pid, &b)))
		return err;
	if (!b)
		return ad_error_create(AD_ERROR_OTHER, "process %d: no binary (internal error)", (int)pid);
	/* Checked above: the snapshot does not check again. */
	struct ad_snapshot_options sopts = { .process_checked = true };
	if (options) {
		sopts.max_bytes = options->max_snapshot_bytes;
		sopts.admit_memory = options->admit_memory;
		sopts.release_memory = options->release_memory;
		sopts.memory_arg = options->memory_arg;
	}
	if ((err = ad_snapshot_take(pid, &sopts, &snap)))
		goto out;
	/* The target runs again: decode without competing with it. */
	ad_priority_lower(options ? options->decode_priority : AD_DECODE_PRIORITY_NORMAL, &priority);
	if (!(trace = ad_trace_create())) {
		err = &ad_error_nomem;
		goto out;
	}
	if ((err = fill_header(trace, snap, b->di)) ||
	    (err = decode_snapshot(ctx, b, snap, options, trace)))
		goto out;
	*ret = trace;
	trace = NULL;
out:
	ad_trace_destroy(trace);
	ad_snapshot_destroy(snap);
	binary_unref(b);
	ad_priority_restore(&priority);
	return err;
}

/* ---- cores: the same decode on a snapshot read from a file */

/* The binary a core names, refused when it is not the one the process ran:
 * the same path now holds a rebuilt program, whose DWARF would describe
 * other layouts and addresses. */
static struct ad_error *binary_for_core(struct ad_context *ctx, struct ad_core *core,
					const char *who, struct binary **ret)
{
	const struct ad_core_info *info = ad_core_info(core);
	const char *exe = ad_core_snapshot(core)->exe;
	if (!exe)
		return ad_error_create(AD_ERROR_NOT_FOUND, "%s: the core does not name its "
				       "executable; pass it with --exe", who);
	struct stat st;
	if (stat(exe, &st) != 0)
		return ad_error_create(AD_ERROR_NO_DEBUGINFO, "%s: cannot open its executable %s "
				       "(%s); pass the program the core was made of with --exe",
				       who, exe, strerror(errno));
	struct binary_key key = { st.st_dev, st.st_ino, st.st_mtim };
	struct binary *b;
	struct ad_error *err = cached_binary(ctx, &key, exe, exe, who, &b);
	if (err)
		return err;
	const char *id = ad_debuginfo_build_id(b->di);
	if (info->build_id && (!id || strcmp(id, info->build_id) != 0)) {
		binary_unref(b);
		return ad_error_create(AD_ERROR_NO_DEBUGINFO,
				       "%s: the executable %s is not the program the core was made "
				       "of: its build-id is %s, the core's is %s (rebuilt since?); "
				       "pass the original with --exe", who, exe, id ? id : "(none)",
				       info->build_id);
	}
	*ret = b;
	return NULL;
}

static struct ad_error *core_header(struct ad_trace *trace, struct ad_core *core,
				    struct ad_debuginfo *di)
{
	trace->from_core = true;
	struct ad_error *err = fill_header(trace, ad_core_snapshot(core), di);
	if (!err && !ad_core_info(core)->build_id)
		err = ad_trace_add_warning(trace, "the core holds no build-id of its executable: "
					   "%s was not checked to be the program it was made of",
					   ad_core_snapshot(core)->exe);
	for (size_t i = 0; !err && i < ad_core_nwarnings(core); i++)
		err = ad_trace_add_warning(trace, "%s", ad_core_warning(core, i));
	return err;
}

struct ad_error *ad_capture_core(struct ad_context *ctx, struct ad_core *core,
				 const struct ad_capture_options *options, struct ad_trace **ret)
{
	char who[PATH_MAX + 8];
	snprintf(who, sizeof(who), "core of process %d", (int)ad_core_info(core)->pid);
	struct binary *b = NULL;
	struct ad_error *err = binary_for_core(ctx, core, who, &b);
	if (err)
		return err;
	struct ad_trace *trace = ad_trace_create();
	if (!trace)
		err = &ad_error_nomem;
	if (!err && !(err = core_header(trace, core, b->di)))
		err = decode_snapshot(ctx, b, ad_core_snapshot(core), options, trace);
	if (err && err->code != AD_ERROR_NOMEM && ad_core_truncated(core)) {
		/* What was lost explains the failure: the trace says so, with
		 * whatever was decoded before it. */
		struct ad_error *w = ad_trace_add_warning(trace, "decoding stopped early, "
							  "probably for the lost memory: %s",
							  err->message);
		ad_error_destroy(err);
		err = w;
	}
	binary_unref(b);
	if (err) {
		ad_trace_destroy(trace);
		return err;
	}
	*ret = trace;
	return NULL;
}

/* ---- the cheap look: from the ELF file alone, no DWARF walk */

/* The kinds of the adapters whose probe finds their runtime in the ELF
 * file, comma-separated ("" none); NULL without memory. */
static char *probe_runtimes(Elf *elf)
{
	char kinds[256] = "";
	for (const struct ad_runtime_ops *const *a = ad_runtime_adapters; *a; a++)
		if ((*a)->probe && (*a)->probe(elf) &&
		    strlen(kinds) + strlen((*a)->kind) + 2 < sizeof(kinds)) {
			if (kinds[0])
				strcat(kinds, ",");
			strcat(kinds, (*a)->kind);
		}
	return strdup(kinds);
}

static const char *no_runtime_reason(char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "no async runtime asyncdump reads (");
	for (const struct ad_runtime_ops *const *a = ad_runtime_adapters; *a && n < len; a++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", a == ad_runtime_adapters ? "" : ", ",
				      (*a)->kind);
	if (n < len)
		snprintf(buf + n, len - n, ")");
	return buf;
}

static struct ad_error *look_at_binary(const char *exe, struct ad_binary_info *info)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ad_error_os(errno, "cannot open %s", exe);
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const char *reason = NULL;
	char why[256];
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		reason = "not an ELF program";
	} else {
		info->is_rust = ad_elf_looks_like_rust(elf);
		info->has_type_debuginfo = ad_elf_section_contains(elf, ".debug_str", "__awaitee") ||
					   ad_elf_section_contains(elf, ".debug_str", "__state");
		if (!(info->runtime_kinds = probe_runtimes(elf))) {
			elf_end(elf);
			close(fd);
			return &ad_error_nomem;
		}
		info->has_runtime = info->runtime_kinds[0] != '\0';
		if (!info->has_runtime) {
			free(info->runtime_kinds);
			info->runtime_kinds = NULL;
		}
		const void *id;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		if (n > 0 && (info->build_id = malloc((size_t)n * 2 + 1)))
			for (ssize_t i = 0; i < n; i++)
				sprintf(info->build_id + i * 2, "%02x", ((const unsigned char *)id)[i]);
		if (!info->is_rust)
			reason = "not a Rust program";
		else if (!info->has_type_debuginfo)
			reason = "no type debuginfo for async code (build with debug = true)";
		else if (!info->has_runtime)
			reason = no_runtime_reason(why, sizeof(why));
	}
	if (elf)
		elf_end(elf);
	close(fd);
	if (reason && !(info->reason = strdup(reason)))
		return &ad_error_nomem;
	return NULL;
}

static struct ad_error *copy_info(const struct ad_binary_info *from, struct ad_binary_info *to)
{
	*to = *from;
	to->build_id = from->build_id ? strdup(from->build_id) : NULL;
	to->reason = from->reason ? strdup(from->reason) : NULL;
	to->runtime_kinds = from->runtime_kinds ? strdup(from->runtime_kinds) : NULL;
	if ((from->build_id && !to->build_id) || (from->reason && !to->reason) ||
	    (from->runtime_kinds && !to->runtime_kinds)) {
		ad_binary_info_deinit(to);
		return &ad_error_nomem;
	}
	return NULL;
}

static struct info_entry *info_for(struct ad_context *ctx, const struct binary_key *key)
{
	for (size_t i = 0; i < ctx->ninfos; i++) {
		struct info_entry *e = &ctx->infos[i];
		if (same_key(&e->key, key)) {
			e->last_used = ++ctx->clock;
			return e;
		}
	}
	return NULL;
}

static struct info_entry *new_info(struct ad_context *ctx)
{
	if (ctx->ninfos < MAX_INFOS)
		return &ctx->infos[ctx->ninfos++];
	struct info_entry *oldest = &ctx->infos[0];
	for (size_t i = 1; i < ctx->ninfos; i++)
		if (ctx->infos[i].last_used < oldest->last_used)
			oldest = &ctx->infos[i];
	ad_binary_info_deinit(&oldest->info);
	return oldest;
}

/* What the binary of `key` says, looked at once (from `path`) and cached. */
static struct ad_error *cached_info(struct ad_context *ctx, const struct binary_key *key,
				    const char *path, struct ad_binary_info *ret)
{
	struct ad_error *err;
	pthread_mutex_lock(&ctx->lock);
	struct info_entry *e = info_for(ctx, key);
	if (!e) {
		struct ad_binary_info info = { 0 };
		if ((err = look_at_binary(path, &info))) {
			pthread_mutex_unlock(&ctx->lock);
			ad_binary_info_deinit(&info);
			return err;
		}
		e = new_info(ctx);
		e->key = *key;
		e->last_used = ++ctx->clock;
		e->info = info;
	}
	err = copy_info(&e->info, ret);
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

struct ad_error *ad_inspect_process(struct ad_context *ctx, pid_t pid, struct ad_binary_info *ret)
{
	struct binary_key key;
	char exe[64];
	struct ad_error *err = binary_key_of(pid, &key, exe, sizeof(exe));
	if (err)
		return err;
	return cached_info(ctx, &key, exe, ret);
}

struct ad_error *ad_inspect_binary(struct ad_context *ctx, const char *path,
				   struct ad_binary_info *ret)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return ad_error_os(errno, "cannot read the executable %s", path);
	struct binary_key key = { st.st_dev, st.st_ino, st.st_mtim };
	return cached_info(ctx, &key, path, ret);
}

void ad_binary_info_deinit(struct ad_binary_info *info)
{
	if (!info)
		return;
	free(info->build_id);
	free(info->reason);
	free(info->runtime_kinds);
	info->build_id = info->reason = info->runtime_kinds = NULL;
}
