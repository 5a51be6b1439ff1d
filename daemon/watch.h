/* SPDX-License-Identifier: MIT */
/* Hang detection: the watch list, sampled periodically.
 *
 * Each `[watch NAME]` (or --watch) selects processes by pid, by executable
 * (a glob over the path, or over the file name when it has no '/') or by
 * comm. A scanner thread reads /proc every rescan period (the shortest
 * sample interval of the exe and comm watches): a new process that matches
 * joins the list, one that exited, or exec'd into something that no longer
 * matches, leaves it. A pid watch follows its pid whatever runs there (a new
 * process there starts afresh). A process selected by a pid watch belongs to
 * it; one matched by several exe or comm watches, to the first of them.
 *
 * Every watched process has a thread of its own that takes a sample each
 * sample_interval, one after the other: sampling never overlaps itself, and a
 * slow process delays no other. Samples go through the daemon's sampler, so
 * an HTTP request and the watcher never trace the same pid at once (one
 * shares the other's sample), and each sample is as short a pause as any
 * (no locals). Every successful sample of a watched process, the watcher's or
 * a request's, goes through the process's progress tracker before anyone
 * sees it: its tasks carry unchanged_for_s and expected_wait (set by the
 * library's tracker), and its metrics are updated. */
#ifndef ASYNCDUMP_DAEMON_WATCH_H
#define ASYNCDUMP_DAEMON_WATCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"
#include "asyncdump/error.h"
#include "asyncdump/trace.h"
#include "metrics.h"
#include "sampler.h"

#define WATCH_MAX_PROCESSES 256

struct watcher;

/* Registers the hang metrics and observes `sampler`; `config` must outlive
 * the watcher. Nothing runs before watcher_start(). */
struct ad_error *watcher_create(const struct ad_config *config, struct sampler *sampler,
				struct metrics *metrics, struct watcher **ret);
struct ad_error *watcher_start(struct watcher *w);
/* Stops every thread (a sample in progress finishes first) and frees. Call
 * once no request uses the sampler any more. */
void watcher_destroy(struct watcher *w);

#endif
