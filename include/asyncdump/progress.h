/* SPDX-License-Identifier: MIT */
/* Progress tracking: which tasks of one process have sat at the same place
 * across samples, for how long, and whether waiting there is expected.
 *
 * A task's fingerprint hashes its tree of futures (locals excluded): every
 * frame's kind, type, state and suspension point, whether it awaits another
 * task, and what each leaf waits on (resource kind and address, the awaited
 * task, a timer's deadline). A task whose fingerprint and state are the same
 * as in the previous sample has been stuck at least since the first sample
 * that saw it that way. Every other signal that it moved resets that time:
 *   - a different fingerprint: another suspension point, resource or frame;
 *   - a timer's deadline that moved: `loop { sleep(100ms).await }` shows the
 *     same chain in every sample, but a new deadline each time;
 *   - a state that changed (the runtime's RUNNING / NOTIFIED bits, as the task's
 *     state): it was woken or polled between the samples. A task RUNNING in
 *     both samples with the same tree has been inside one poll all along (it
 *     blocks its worker) and counts as unchanged, as does one NOTIFIED in both
 *     (no worker has polled it);
 *   - its id disappearing, or coming back at another address: a new task.
 * What no sample can see is a task polled between two samples that returns
 * to the same point on the same resource with no deadline (a Notify notified
 * every second): its time is an upper bound, which is why the threshold
 * should span several samples.
 *
 * Deadlocks are the wait-for graph's cycles, which the capture computes
 * (trace->cycles, task → task edges from JoinHandles). Task → lock edges
 * would need the holder of a lock, and a runtime's Mutex, RwLock and Semaphore do
 * not record who holds a permit: a task waiting on a lock is reported as
 * unchanged (and stuck past the threshold), never as part of a cycle.
 *
 * A tracker belongs to one process; the caller serialises updates (samples of
 * one pid are serialised anyway). The library never reads the clock here:
 * callers pass the CLOCK_MONOTONIC time of each sample. */
#ifndef ASYNCDUMP_PROGRESS_H
#define ASYNCDUMP_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "trace.h"

struct ad_progress;

enum ad_expected_wait_kind {
	AD_EXPECTED_WAIT_FUNCTION, /* glob over the frame's function name */
	AD_EXPECTED_WAIT_LOCATION, /* glob over the suspension file, and a line */
};

/* A place where waiting forever is normal (an accept loop, an idle worker). */
struct ad_expected_wait {
	enum ad_expected_wait_kind kind;
	char *pattern; /* function glob, or file glob (ad_expected_wait_matches()) */
	unsigned line; /* LOCATION: the line, 0 = any line */
};


struct ad_progress_options {
	uint64_t stuck_threshold_ms;  /* unchanged this long, and not expected: stuck */
	size_t nexpected;             /* places where waiting forever is normal (copied) */
	const struct ad_expected_wait *expected;
};

/* What one sample says of one task. */
struct ad_task_progress {
	bool tracked;            /* false for complete and cancelled tasks: they wait on nothing */
	double unchanged_for_s;  /* since the first sample that saw it where it is */
	bool expected_wait;      /* every branch waits at an expected place */
	bool stuck;              /* tracked, unchanged >= threshold and not expected */
	/* Where it waits: the innermost frame with a suspension point on the way to
	 * what it waits on (see ad_task_wait_frame); points into the trace. */
	const struct ad_frame *wait_frame;
};

struct ad_progress_report {
	size_t ntasks;                   /* the trace's */
	struct ad_task_progress *tasks;  /* parallel to trace->tasks */
	size_t nstuck;
	size_t nexpected_waits;
	double longest_unchanged_s;      /* over tracked tasks not in an expected wait */
};

struct ad_error *ad_progress_create(const struct ad_progress_options *options,
				    struct ad_progress **ret);
void ad_progress_destroy(struct ad_progress *p);

/* Compares a new sample of the process with the previous ones: sets every
 * tracked task's has_unchanged_for / unchanged_for_s and every task's
 * expected_wait in `trace` (what the renderers print) and reports on each
 * task. `sampled_at_ns` is the CLOCK_MONOTONIC time of the sample (an
 * earlier time than the previous sample's counts as the same time). Tasks
 * absent from this sample are forgotten. On error (out of memory) the tracker
 * and the trace are unchanged. */
struct ad_error *ad_progress_update(struct ad_progress *p, struct ad_trace *trace,
				    int64_t sampled_at_ns, struct ad_progress_report *ret);
void ad_progress_report_deinit(struct ad_progress_report *report);

/* The pure parts, also usable without a tracker. */

/* The task's fingerprint (see above); 0 never occurs. Walks at most
 * AD_FRAME_MAX_DEPTH levels and AD_PROGRESS_MAX_FRAMES frames. */
#define AD_PROGRESS_MAX_FRAMES 100000
uint64_t ad_task_fingerprint(const struct ad_task *task);

/* Does the frame match the pattern? A function pattern is an fnmatch(3) glob
 * over the frame's name ("*::accept_loop"); a location pattern is a glob over
 * the file of the frame's suspension point (or of the macro that put it
 * there), matched against the whole path or any trailing part of it that
 * starts after a '/' (so "src/idle.rs" matches "/build/app/src/idle.rs"),
 * with its line unless the pattern's line is 0. */
bool ad_expected_wait_matches(const struct ad_expected_wait *w, const struct ad_frame *f);

/* True when the task has a tree and every branch that has not completed
 * passes, between the root and its leaf, through a frame that matches one of
 * `expected`: the task as a whole waits where waiting is normal. */
bool ad_task_in_expected_wait(const struct ad_task *task, const struct ad_expected_wait *expected,
			      size_t nexpected);

/* The innermost frame with a suspension point (a location) on the path from
 * the root to the first frame that says what it waits on (depth first, the
 * task's summary), or to the first leaf when none does; the leaf itself when
 * no frame on that path has a location; NULL without a tree. */
const struct ad_frame *ad_task_wait_frame(const struct ad_task *task);

#endif
