/* SPDX-License-Identifier: MIT */
/* The metrics of hang detection, one set per watched process.
 *
 * Every series is labelled with the process (`pid`, `exe`) and the watch that
 * selected it (`watch`), never with a task id: cardinality is bounded by the
 * number of watched processes (watch.c caps it) times a few series each. The
 * only per-place series, `asyncdump_stuck_tasks_by_suspension_point`, keeps
 * the HANG_METRICS_TOP_PLACES places with the most stuck tasks. A process's
 * series go away with it. */
#ifndef ASYNCDUMP_DAEMON_HANG_METRICS_H
#define ASYNCDUMP_DAEMON_HANG_METRICS_H

#include <stddef.h>
#include <sys/types.h>

#include "asyncdump/progress.h"
#include "asyncdump/trace.h"
#include "metrics.h"

#define HANG_METRICS_TOP_PLACES 10
#define HANG_METRICS_LABELS_MAX 768 /* the labels of a process */

struct ad_error *hang_metrics_register(struct metrics *m);

/* `pid="…",exe="…",watch="…"`: the labels of a watched process, and the
 * prefix of all its series. The exe is cut to 256 bytes. */
void hang_metrics_target_labels(char *buf, size_t size, pid_t pid, const char *exe,
				const char *watch);

void hang_metrics_watched(size_t nprocesses);
/* A process joins the watch list: down until its first sample. */
void hang_metrics_target_added(const char *target, double stuck_threshold_s);
void hang_metrics_target_removed(const char *target);
/* A successful sample and what the tracker made of it. */
void hang_metrics_sampled(const char *target, const struct ad_trace *trace,
			  const struct ad_progress_report *report, double duration_s);
/* A failed sample; `reason` is the error code's name. */
void hang_metrics_sample_failed(const char *target, const char *reason);

#endif
