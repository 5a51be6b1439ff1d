/* SPDX-License-Identifier: MIT */
/* The block_on futures of a sample: every thread inside a block_on function
 * (block_on.h) is a task of its own, whose root is the future it polls. */
#include <elfutils/libdw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/snapshot.h"
#include "block_on.h"
#include "debuginfo_internal.h"
#include "decode.h"
#include "fault.h"
#include "runtime.h"
#include "unwind.h"

/* A thread in block_on is either polling its future or parked until a
 * wake-up: parked when a frame between the innermost and block_on parks
 * (std's, parking_lot's or a runtime's park, or a driver's park). */
static enum ad_task_state block_on_state(const struct ad_unwind *uw)
{
	enum ad_task_state state = AD_TASK_RUNNING;
	pthread_mutex_lock(&uw->debuginfo->lock);
	for (size_t i = 0; i < uw->nframes; i++) {
		if (!uw->frames[i].has_function)
			continue;
		const char *name = dwarf_diename((Dwarf_Die *)&uw->frames[i].function);
		if (!name)
			continue;
		if (strncmp(name, "block_on", 8) == 0)
			break;
		if (strstr(name, "park") || strcmp(name, "epoll_wait") == 0) {
			state = AD_TASK_IDLE;
			break;
		}
	}
	pthread_mutex_unlock(&uw->debuginfo->lock);
	return state;
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
		e = ad_type_from_die(d->di, bo->type_die, &t);
	if (e)
		return e;
	uint64_t address = bo->address;
	char *how = NULL;
	if (!bo->has_address &&
	    (e = ad_block_on_scan(d, bo, t, task->state == AD_TASK_IDLE, &address, &how))) {
		if (ad_error_is_fatal(e))
			*fatal = e;
		return *fatal ? NULL : e;
	}
	task->address = address;
	if (how && (*fatal = ad_task_set_note(task, "%s", how))) {
		free(how);
		return NULL;
	}
	free(how);
	*fatal = d->walk(d, t, address, 0, &task->root);
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

struct ad_error *ad_collect_block_on(struct ad_decode *d, struct ad_unwinder *u)
{
	struct ad_error *err = NULL;
	size_t unsure = 0; /* read without a stop, not unwound to their start */
	for (size_t i = 0; i < d->snap->nthreads && !err; i++) {
		const struct ad_thread *th = &d->snap->threads[i];
		struct ad_unwind *uw;
		struct ad_error *e = ad_unwind_thread(u, d->snap, th->tid, &uw);
		if (e) {
			unsure += th->partial_regs && !th->running;
			ad_error_destroy(e);
			continue;
		}
		if (!ad_block_on_present(uw)) {
			unsure += th->partial_regs && !uw->complete;
			ad_unwind_destroy(uw);
			continue;
		}
		struct ad_task *task;
		if ((err = ad_trace_add_task(d->trace, &task)))
			break;
		task->kind = AD_TASK_KIND_BLOCK_ON;
		task->state = block_on_state(uw);
		d->adapter = NULL;
		task->runtime = AD_NO_RUNTIME; /* unless its thread runs one, or its future does */
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
	if (!err && unsure)
		err = ad_trace_add_warning(d->trace, "read without stopping the process: %zu thread%s "
					   "blocked in a system call could not be unwound to where %s "
					   "stack starts (without a stop only the stack pointer and "
					   "program counter are known); a block_on future on %s may be "
					   "missing: sample with a stop to see", unsure,
					   unsure == 1 ? "" : "s", unsure == 1 ? "its" : "their",
					   unsure == 1 ? "it" : "them");
	return err;
}
