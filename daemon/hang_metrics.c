/* SPDX-License-Identifier: MIT */
#include "hang_metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXE_LABEL_MAX 256
#define FUNCTION_LABEL_MAX 200
#define LOCATION_LABEL_MAX 256
/* Escaping may double a value's length. */
#define PLACE_LABELS_MAX \
	(HANG_METRICS_LABELS_MAX + 2 * FUNCTION_LABEL_MAX + 2 * LOCATION_LABEL_MAX + 64)

static struct metric_family *watched, *up, *tasks, *stuck, *expected_waits, *longest, *threshold,
	*cycles, *places, *sample_seconds, *pause_seconds, *errors;

static const enum ad_task_state all_states[] = {
	AD_TASK_IDLE,     AD_TASK_SCHEDULED, AD_TASK_RUNNING,
	AD_TASK_COMPLETE, AD_TASK_CANCELLED, AD_TASK_STATE_UNKNOWN,
};
#define NSTATES (sizeof(all_states) / sizeof(all_states[0]))

struct family_def {
	struct metric_family **slot;
	const char *name, *help;
	enum metric_type type;
	const double *buckets;
	size_t nbuckets;
};

struct ad_error *hang_metrics_register(struct metrics *m)
{
	static const double duration_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
						   0.5,   1,    2.5,   5,    10 };
	static const double pause_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
						0.025,  0.05,  0.1,    0.25,  0.5 };
	const struct family_def defs[] = {
		{ &watched, "asyncdump_watched_processes",
		  "Processes on the watch list right now.", METRIC_GAUGE, NULL, 0 },
		{ &up, "asyncdump_target_up",
		  "1 when the last sample of a watched process succeeded, else 0.", METRIC_GAUGE,
		  NULL, 0 },
		{ &tasks, "asyncdump_target_tasks",
		  "Tasks of a watched process in its last sample, by state.", METRIC_GAUGE, NULL,
		  0 },
		{ &stuck, "asyncdump_stuck_tasks",
		  "Tasks unchanged for at least the stuck threshold, expected waits excluded.",
		  METRIC_GAUGE, NULL, 0 },
		{ &expected_waits, "asyncdump_expected_wait_tasks",
		  "Tasks waiting where the configuration says waiting forever is normal.",
		  METRIC_GAUGE, NULL, 0 },
		{ &longest, "asyncdump_longest_unchanged_seconds",
		  "The longest time a task has been seen unchanged, expected waits excluded.",
		  METRIC_GAUGE, NULL, 0 },
		{ &threshold, "asyncdump_stuck_threshold_seconds",
		  "The stuck threshold configured for a watched process.", METRIC_GAUGE, NULL, 0 },
		{ &cycles, "asyncdump_deadlock_cycles",
		  "Wait-for cycles between tasks (tasks awaiting each other's JoinHandles).",
		  METRIC_GAUGE, NULL, 0 },
		{ &places, "asyncdump_stuck_tasks_by_suspension_point",
		  "Stuck tasks by the innermost suspension point they wait at (the places with "
		  "the most, at most 10 per process).",
		  METRIC_GAUGE, NULL, 0 },
		{ &sample_seconds, "asyncdump_target_sample_duration_seconds",
		  "Time to take and decode a sample of a watched process.", METRIC_HISTOGRAM,
		  duration_buckets, sizeof(duration_buckets) / sizeof(duration_buckets[0]) },
		{ &pause_seconds, "asyncdump_target_pause_seconds",
		  "How long a watched process was stopped, per successful sample.",
		  METRIC_HISTOGRAM, pause_buckets,
		  sizeof(pause_buckets) / sizeof(pause_buckets[0]) },
		{ &errors, "asyncdump_target_sample_errors_total",
		  "Failed samples of a watched process, by reason (the error code).",
		  METRIC_COUNTER, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		struct ad_error *err = metrics_add_family(m, defs[i].name, defs[i].help,
							  defs[i].type, defs[i].buckets,
							  defs[i].nbuckets, defs[i].slot);
		if (err)
			return err;
	}
	metric_set(watched, NULL, 0);
	return NULL;
}

void hang_metrics_target_labels(char *buf, size_t size, pid_t pid, const char *exe,
				const char *watch)
{
	char pid_text[16], exe_cut[EXE_LABEL_MAX + 1];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	snprintf(exe_cut, sizeof(exe_cut), "%s", exe);
	metrics_labels(buf, size, "pid", pid_text, "exe", exe_cut, "watch", watch,
		       (const char *)NULL);
}

/* The process's labels and one more pair. */
static void labels_with(char *buf, size_t size, const char *target, const char *name,
			const char *value)
{
	int n = snprintf(buf, size, "%s,", target);
	if (n < 0 || (size_t)n >= size)
		return;
	metrics_labels(buf + n, size - (size_t)n, name, value, (const char *)NULL);
}

void hang_metrics_watched(size_t nprocesses)
{
	if (watched)
		metric_set(watched, NULL, (double)nprocesses);
}

void hang_metrics_target_added(const char *target, double stuck_threshold_s)
{
	if (!up)
		return;
	metric_set(up, target, 0);
	metric_set(threshold, target, stuck_threshold_s);
}

void hang_metrics_target_removed(const char *target)
{
	struct metric_family *all[] = { up,	 tasks,	 stuck,		 expected_waits,
					longest, threshold, cycles,	 places,
					sample_seconds, pause_seconds, errors };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i])
			metric_remove_matching(all[i], target);
}

void hang_metrics_sample_failed(const char *target, const char *reason)
{
	if (!up)
		return;
	char labels[HANG_METRICS_LABELS_MAX + 64];
	labels_with(labels, sizeof(labels), target, "reason", reason);
	metric_add(errors, labels, 1);
	metric_set(up, target, 0);
}

/* ---------------------------------------------------------------- where tasks are stuck */

struct stuck_at {
	const char *function;
	char location[LOCATION_LABEL_MAX];
};

struct place {
	const struct stuck_at *at;
	size_t count;
};

/* "src/main.rs:23", relative to the program's own sources as in the text format. */
static void location_text(const struct ad_trace *trace, const struct ad_location *loc, char *buf,
			  size_t size)
{
	if (!loc || !loc->file) {
		snprintf(buf, size, "unknown");
		return;
	}
	const char *file = loc->file;
	size_t root_len = trace->source_root ? strlen(trace->source_root) : 0;
	if (root_len && strncmp(file, trace->source_root, root_len) == 0 && file[root_len] == '/')
		file += root_len + 1;
	snprintf(buf, size, "%s:%u", file, loc->line);
}

static int compare_stuck_at(const void *a, const void *b)
{
	const struct stuck_at *x = a, *y = b;
	int c = strcmp(x->function, y->function);
	return c ? c : strcmp(x->location, y->location);
}

static int compare_places(const void *a, const void *b)
{
	const struct place *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return compare_stuck_at(x->at, y->at);
}

/* Groups the stuck tasks by place and publishes the places with the most. */
static void publish_places(const char *target, const struct ad_trace *trace,
			   const struct ad_progress_report *report)
{
	struct stuck_at *at = calloc(report->nstuck ? report->nstuck : 1, sizeof(*at));
	struct place *groups = calloc(report->nstuck ? report->nstuck : 1, sizeof(*groups));
	size_t n = 0, ngroups = 0;
	if (!at || !groups)
		goto out; /* the previous places stay: stale, never wrong by omission */
	for (size_t i = 0; i < report->ntasks && n < report->nstuck; i++) {
		const struct ad_task_progress *tp = &report->tasks[i];
		if (!tp->stuck)
			continue;
		const struct ad_frame *f = tp->wait_frame;
		at[n].function = f && f->name ? f->name : "unknown";
		location_text(trace, f ? f->location : NULL, at[n].location,
			      sizeof(at[n].location));
		n++;
	}
	qsort(at, n, sizeof(*at), compare_stuck_at);
	for (size_t i = 0; i < n; i++) {
		if (ngroups && compare_stuck_at(groups[ngroups - 1].at, &at[i]) == 0)
			groups[ngroups - 1].count++;
		else
			groups[ngroups++] = (struct place){ &at[i], 1 };
	}
	qsort(groups, ngroups, sizeof(*groups), compare_places);

	size_t top = ngroups < HANG_METRICS_TOP_PLACES ? ngroups : HANG_METRICS_TOP_PLACES;
	char labels[HANG_METRICS_TOP_PLACES][PLACE_LABELS_MAX];
	const char *label_ptrs[HANG_METRICS_TOP_PLACES];
	double values[HANG_METRICS_TOP_PLACES];
	for (size_t i = 0; i < top; i++) {
		char function[FUNCTION_LABEL_MAX + 1];
		snprintf(function, sizeof(function), "%s", groups[i].at->function);
		int len = snprintf(labels[i], sizeof(labels[i]), "%s,", target);
		if (len < 0 || (size_t)len >= sizeof(labels[i]))
			len = 0;
		metrics_labels(labels[i] + len, sizeof(labels[i]) - (size_t)len, "function",
			       function, "location", groups[i].at->location, (const char *)NULL);
		label_ptrs[i] = labels[i];
		values[i] = (double)groups[i].count;
	}
	metric_replace_matching(places, target, top, label_ptrs, values);
out:
	free(at);
	free(groups);
}

void hang_metrics_sampled(const char *target, const struct ad_trace *trace,
			  const struct ad_progress_report *report, double duration_s)
{
	if (!up)
		return;
	metric_set(up, target, 1);
	size_t counts[NSTATES] = { 0 };
	for (size_t i = 0; i < trace->ntasks; i++)
		for (size_t k = 0; k < NSTATES; k++)
			if (trace->tasks[i].state == all_states[k])
				counts[k]++;
	for (size_t k = 0; k < NSTATES; k++) {
		char labels[HANG_METRICS_LABELS_MAX + 64];
		labels_with(labels, sizeof(labels), target, "state",
			    ad_task_state_name(all_states[k]));
		metric_set(tasks, labels, (double)counts[k]);
	}
	metric_set(stuck, target, (double)report->nstuck);
	metric_set(expected_waits, target, (double)report->nexpected_waits);
	metric_set(longest, target, report->longest_unchanged_s);
	metric_set(cycles, target, (double)trace->ncycles);
	metric_observe(sample_seconds, target, duration_s);
	if (!trace->not_stopped)
		metric_observe(pause_seconds, target, (double)trace->pause_us / 1e6);
	publish_places(target, trace, report);
}
