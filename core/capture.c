/* SPDX-License-Identifier: MIT */
/* The pipeline: check → debuginfo (cached per binary) → snapshot (the only
 * pause) → decode on the copy → trace. And the cached cheap look at a
 * binary (binary_probe.c) that the daemon's process list needs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "asyncdump/capture.h"
#include "asyncdump/core.h"
#include "asyncdump/snapshot.h"
#include "binary_probe.h"
#include "block_on.h"
#include "consistency.h"
#include "debuginfo_internal.h"
#include "decode.h"
#include "fault.h"
#include "lru.h"
#include "names.h"
#include "priority.h"
#include "proc.h"
#include "runtime.h"
#include "spare.h"
#include "unwind.h"
#include "wait_graph.h"

#define DEFAULT_MAX_BINARIES 16
#define MAX_INFOS 1024
#define MAX_ADAPTERS 8

/* An executable as it is on disk now: a rebuilt one is another key. */
struct binary_key {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

/* One opened binary, in ctx->binaries: pinned there while a capture
 * decodes with it. */
struct binary {
	struct ad_debuginfo *di;
	/* Per adapter of ad_runtime_adapters: what its prepare() gave (NULL:
	 * no such runtime in this binary). */
	void *adapter_state[MAX_ADAPTERS];
	/* Per adapter: why it could not read a runtime the binary has (its
	 * layout, not its absence), said in every trace of the binary. */
	char *adapter_failure[MAX_ADAPTERS];
	struct ad_error *error; /* set when no adapter reads this binary: why */
};

/* An unwinder (libdwfl with every module the process maps, CFI loaded) is
 * expensive to build and belongs to one process: kept per pid, and taken
 * out of the cache while a capture uses it (libdwfl is not thread-safe). */
#define MAX_UNWINDERS 8

struct ad_context {
	struct ad_lru binaries;  /* struct binary, by binary_key */
	/* The cheap look (struct ad_binary_info), by binary_key: many more of
	 * these than opened binaries, and none of them holds DWARF. */
	struct ad_lru infos;
	struct ad_lru unwinders; /* struct ad_unwinder, by pid */
	char *debuginfo_dirs;    /* ad_context_options; NULL: the standard places */
	/* Copy buffers and trace pools kept from one sample for the next
	 * (spare.h); NULL: mapped afresh each time. */
	struct ad_spare *spare;
};

static void binary_destroy(void *value);
static void info_destroy(void *value);
static void unwinder_destroy(void *value)
{
	ad_unwinder_destroy(value);
}

struct ad_error *ad_context_create(const struct ad_context_options *options,
				   struct ad_context **ret)
{
	struct ad_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return &ad_error_nomem;
	size_t max = options && options->max_cached_binaries ? options->max_cached_binaries
							     : DEFAULT_MAX_BINARIES;
	struct ad_error *err = ad_lru_init(&ctx->binaries, max, binary_destroy);
	if (!err)
		err = ad_lru_init(&ctx->infos, MAX_INFOS, info_destroy);
	if (!err)
		err = ad_lru_init(&ctx->unwinders, MAX_UNWINDERS, unwinder_destroy);
	if (!err && options && options->debuginfo_dirs &&
	    !(ctx->debuginfo_dirs = strdup(options->debuginfo_dirs)))
		err = &ad_error_nomem;
	/* Without it (out of memory) every sample maps its memory afresh. */
	ctx->spare = ad_spare_create();
	if (err) {
		ad_context_destroy(ctx);
		return err;
	}
	*ret = ctx;
	return NULL;
}

static void binary_destroy(void *value)
{
	struct binary *b = value;
	for (size_t i = 0; i < MAX_ADAPTERS && ad_runtime_adapters[i]; i++) {
		if (b->adapter_state[i])
			ad_runtime_adapters[i]->destroy(b->adapter_state[i]);
		free(b->adapter_failure[i]);
	}
	ad_error_destroy(b->error);
	ad_debuginfo_unref(b->di);
	free(b);
}

void ad_context_destroy(struct ad_context *ctx)
{
	if (!ctx)
		return;
	ad_lru_deinit(&ctx->binaries);
	ad_lru_deinit(&ctx->infos);
	ad_lru_deinit(&ctx->unwinders);
	free(ctx->debuginfo_dirs);
	ad_spare_unref(ctx->spare);
	free(ctx);
}

void ad_context_trim(struct ad_context *ctx, uint64_t idle_ms)
{
	ad_spare_trim(ctx->spare, idle_ms);
}

/* A trace whose pool takes its large chunks from the memory earlier
 * samples left, and leaves its own there when destroyed. */
static struct ad_trace *create_trace(struct ad_context *ctx)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_names *names = t ? ad_trace_names(t) : NULL;
	if (names)
		ad_strpool_keep_chunks(&names->pool, ctx->spare);
	return t;
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

static struct ad_lru_key lru_key(const struct binary_key *key)
{
	return (struct ad_lru_key){ { (uint64_t)key->dev, (uint64_t)key->ino,
				      (uint64_t)key->mtime.tv_sec, (uint64_t)key->mtime.tv_nsec } };
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
		struct ad_error *err = AD_FAULT("prepare", ops->kind);
		if (!err)
			err = ops->prepare(b->di, &b->adapter_state[i]);
		tried++;
		if (!err) {
			active++;
			continue;
		}
		b->adapter_state[i] = NULL;
		if (err->code != AD_ERROR_NO_RUNTIME && !ad_error_is_fatal(err) &&
		    asprintf(&b->adapter_failure[i], "%s: %s", ops->kind, err->message) < 0)
			b->adapter_failure[i] = NULL;
		if (ad_error_is_fatal(err) || !first) {
			ad_error_destroy(first);
			first = err;
		} else if (!ad_error_is_fatal(first)) {
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
	if (!ad_error_is_fatal(first) && ad_debuginfo_corruption(b->di)) {
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
	AD_FAULT_SLOW_OPEN(name);
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
				      struct ad_lru_entry **ret);

/* The binary of `pid` with its debuginfo and runtime layouts, opened once:
 * its cache entry, pinned until binary_release(). */
static struct ad_error *binary_for(struct ad_context *ctx, pid_t pid, struct ad_lru_entry **ret)
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
				      struct ad_lru_entry **ret)
{
	struct ad_lru_key k = lru_key(key);
	struct ad_lru_entry *e = NULL;
	struct ad_error *err = ad_lru_get(&ctx->binaries, &k, &e);
	if (err)
		return err;
	if (!e->value) {
		/* Opening builds the index (up to a second for a large
		 * binary) outside the cache's lock: others wanting this binary
		 * wait for it, other binaries are served meanwhile. */
		struct binary *b = NULL;
		if ((err = open_binary(exe, name, who, ctx->debuginfo_dirs, &b))) {
			ad_lru_abandon(&ctx->binaries, e);
			return err;
		}
		ad_lru_publish(&ctx->binaries, e, b);
	}
	const struct binary *b = e->value;
	if (b->error) {
		err = ad_error_create(b->error->code, "%s: %s", who, b->error->message);
		ad_lru_release(&ctx->binaries, e);
		return err;
	}
	*ret = e;
	return NULL;
}

static void binary_release(struct ad_context *ctx, struct ad_lru_entry *e)
{
	ad_lru_release(&ctx->binaries, e);
}

static uint64_t load_bias(const struct ad_snapshot *snap, struct ad_debuginfo *di)
{
	const struct ad_mapping *m = ad_snapshot_exe_mapping(snap);
	return m ? ad_debuginfo_load_bias(di, m->start) : 0;
}

/* The cached unwinder of this process if it still fits the snapshot, or a
 * new one; the caller owns it until unwinder_put(). */
static struct ad_error *unwinder_take(struct ad_context *ctx, const struct ad_snapshot *snap,
				      struct ad_debuginfo *di, struct ad_unwinder **ret)
{
	struct ad_lru_key key = { { (uint64_t)snap->pid } };
	struct ad_unwinder *u = ad_lru_take(&ctx->unwinders, &key);
	if (u && !ad_unwinder_matches(u, snap, di)) {
		ad_unwinder_destroy(u); /* pid reused or exec'ed */
		u = NULL;
	}
	if (u) {
		*ret = u;
		return NULL;
	}
	return ad_unwinder_create(snap, ctx->debuginfo_dirs, di, ret);
}

static void unwinder_put(struct ad_context *ctx, pid_t pid, struct ad_unwinder *u)
{
	struct ad_lru_key key = { { (uint64_t)pid } };
	ad_lru_put(&ctx->unwinders, &key, u);
}

/* The block_on future of each thread that runs one: a task of its own. */
static struct ad_error *collect_block_on(struct ad_context *ctx, struct ad_decode *d)
{
	struct ad_unwinder *u;
	/* A core's unwinder is of no later sample: built, used, dropped. */
	bool live = !d->trace->from_core;
	struct ad_error *err = live ? unwinder_take(ctx, d->snap, d->di, &u)
				    : ad_unwinder_create(d->snap, ctx->debuginfo_dirs, d->di, &u);
	if (err) {
		struct ad_error *w = ad_trace_add_warning(d->trace,
							  "block_on futures not searched: %s",
							  err->message);
		ad_error_destroy(err);
		return w;
	}
	err = ad_collect_block_on(d, u);
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
	t->not_stopped = !snap->stopped;
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

/* A runtime the binary has but whose layout an adapter could not read is
 * missing from the trace: the trace says so, beside what the others found. */
static struct ad_error *say_adapter_failures(const struct binary *b, struct ad_trace *trace)
{
	for (size_t i = 0; i < MAX_ADAPTERS && ad_runtime_adapters[i]; i++) {
		if (!b->adapter_failure[i])
			continue;
		struct ad_error *err = ad_trace_add_warning(
			trace, "%s (its runtimes and tasks are not listed)", b->adapter_failure[i]);
		if (err)
			return err;
	}
	return NULL;
}

/* A sample without a stop: which tasks kept changing while read, and what
 * could not be read at all. */
static struct ad_error *say_consistency(const struct ad_snapshot *snap,
					const struct ad_read_log *log, struct ad_trace *trace)
{
	size_t trees, inconsistent;
	ad_read_log_counts(log, &trees, &inconsistent);
	for (size_t i = 0; i < trace->ntasks; i++) {
		struct ad_task *t = &trace->tasks[i];
		t->inconsistent = t->root && t->root->changed_while_read;
		t->reads = t->root ? t->root->reads : 0;
	}
	struct ad_error *err = NULL;
	if (inconsistent)
		err = ad_trace_add_warning(trace, "read without stopping the process: %zu of %zu "
					   "future trees kept changing while read (%d reads each); "
					   "their tasks are marked inconsistent", inconsistent, trees,
					   AD_CONSISTENCY_ATTEMPTS);
	if (!err && snap->nthreads_running)
		err = ad_trace_add_warning(trace, "read without stopping the process: %zu "
					   "thread%s running on a CPU, not unwound (a block_on "
					   "future on %s, if any, is not listed); sample with a stop "
					   "to see %s",
					   snap->nthreads_running,
					   snap->nthreads_running == 1 ? " was" : "s were",
					   snap->nthreads_running == 1 ? "it" : "them",
					   snap->nthreads_running == 1 ? "it" : "them");
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
	struct ad_read_log *log = NULL;
	if (!snap->stopped && (err = ad_read_log_create(snap, &log))) {
		free(thread_runtime);
		return err;
	}
	const struct ad_reader *reader = log ? ad_read_log_reader(log) : snap->reader;
#ifdef AD_FAULT_INJECTION
	struct ad_reader faulty;
	ad_fault_reset();
	ad_fault_reader(reader, &faulty);
	reader = &faulty; /* decoding reads the snapshot through the hook */
#endif
	struct ad_decode d = {
		.thread_runtime = thread_runtime,
		.di = di,
		.snap = snap,
		.reader = reader,
		.bias = load_bias(snap, di),
		.trace = trace,
		.locals = options && options->locals,
		.adapters = adapters,
		.nadapters = nadapters,
		.walk = log ? ad_checked_walk : ad_decode_future,
		.leaf = ad_decode_leaf,
		.read_log = log,
	};
	err = say_adapter_failures(b, trace);
	if (!err)
		err = collect(ctx, &d);
	if (!err && log)
		err = say_consistency(snap, log, trace);
	ad_read_log_destroy(log);
	ad_u64map_deinit(&d.visited);
	ad_u64map_deinit(&d.unwrap_steps);
	ad_u64map_deinit(&d.env_paths);
	ad_u64map_deinit(&d.env_locations);
	if (!err)
		ad_trace_sort_tasks(trace);
	if (!err)
		err = ad_wait_graph_cycles(trace);
	free(thread_runtime);
	return err;
}

struct ad_error *ad_capture(struct ad_context *ctx, pid_t pid,
			    const struct ad_capture_options *options, struct ad_trace **ret)
{
	struct ad_lru_entry *held = NULL;
	struct ad_snapshot *snap = NULL;
	struct ad_trace *trace = NULL;
	struct ad_priority_saved priority = { .lowered = false };
	struct ad_error *err = ad_process_check(pid);
	if (err || (err = binary_for(ctx, pid, &held)))
		return err;
	struct binary *b = held->value;
	/* Checked above: the snapshot does not check again. */
	struct ad_snapshot_options sopts = { .process_checked = true, .spare = ctx->spare };
	if (options) {
		sopts.no_stop = options->no_stop;
		sopts.max_bytes = options->max_snapshot_bytes;
		sopts.admit_memory = options->admit_memory;
		sopts.release_memory = options->release_memory;
		sopts.memory_arg = options->memory_arg;
	}
	if ((err = ad_snapshot_take(pid, &sopts, &snap)))
		goto out;
	/* The target runs again: decode without competing with it. */
	ad_priority_lower(options ? options->decode_priority : AD_DECODE_PRIORITY_NORMAL, &priority);
	if (!(trace = create_trace(ctx))) {
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
	binary_release(ctx, held);
	ad_priority_restore(&priority);
	return err;
}

/* ---- cores: the same decode on a snapshot read from a file */

/* The binary a core names, refused when it is not the one the process ran:
 * the same path now holds a rebuilt program, whose DWARF would describe
 * other layouts and addresses. */
static struct ad_error *binary_for_core(struct ad_context *ctx, struct ad_core *core,
					const char *who, struct ad_lru_entry **ret)
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
	struct ad_lru_entry *held = NULL;
	struct ad_error *err = cached_binary(ctx, &key, exe, exe, who, &held);
	if (err)
		return err;
	const char *id = ad_debuginfo_build_id(((struct binary *)held->value)->di);
	if (info->build_id && (!id || strcmp(id, info->build_id) != 0)) {
		binary_release(ctx, held);
		return ad_error_create(AD_ERROR_NO_DEBUGINFO,
				       "%s: the executable %s is not the program the core was made "
				       "of: its build-id is %s, the core's is %s (rebuilt since?); "
				       "pass the original with --exe", who, exe, id ? id : "(none)",
				       info->build_id);
	}
	*ret = held;
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
	struct ad_lru_entry *held = NULL;
	struct ad_error *err = binary_for_core(ctx, core, who, &held);
	if (err)
		return err;
	struct binary *b = held->value;
	struct ad_trace *trace = create_trace(ctx);
	if (!trace)
		err = &ad_error_nomem;
	if (!err && !(err = core_header(trace, core, b->di)))
		err = decode_snapshot(ctx, b, ad_core_snapshot(core), options, trace);
	if (err && !ad_error_is_fatal(err) && ad_core_truncated(core)) {
		/* What was lost explains the failure: the trace says so, with
		 * whatever was decoded before it. */
		struct ad_error *w = ad_trace_add_warning(trace, "decoding stopped early, "
							  "probably for the lost memory: %s",
							  err->message);
		ad_error_destroy(err);
		err = w;
	}
	binary_release(ctx, held);
	if (err) {
		ad_trace_destroy(trace);
		return err;
	}
	*ret = trace;
	return NULL;
}

/* ---- the cheap look (binary_probe.c), cached */

static void info_destroy(void *value)
{
	ad_binary_info_deinit(value);
	free(value);
}

/* What the binary of `key` says, looked at once (from `path`) and cached. */
static struct ad_error *cached_info(struct ad_context *ctx, const struct binary_key *key,
				    const char *path, struct ad_binary_info *ret)
{
	struct ad_lru_key k = lru_key(key);
	struct ad_lru_entry *e = NULL;
	struct ad_error *err = ad_lru_get(&ctx->infos, &k, &e);
	if (err)
		return err;
	if (!e->value) {
		struct ad_binary_info *info = calloc(1, sizeof(*info));
		if (!info || (err = ad_binary_probe(path, info))) {
			if (info)
				info_destroy(info);
			ad_lru_abandon(&ctx->infos, e);
			return info ? err : &ad_error_nomem;
		}
		ad_lru_publish(&ctx->infos, e, info);
	}
	err = ad_binary_info_copy(e->value, ret);
	ad_lru_release(&ctx->infos, e);
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
