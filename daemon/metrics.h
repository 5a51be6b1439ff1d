/* SPDX-License-Identifier: MIT */
/* A small Prometheus registry (text exposition format 0.0.4).
 *
 * A family is a metric name with its help text and type; its series are told
 * apart by a label string (`code="200"`) built with metrics_labels(). Anyone
 * can add families at start-up (the daemon's own in own_metrics.c, hang
 * detection's per-target ones in hang_metrics.c) and collectors, which run
 * before each scrape to refresh gauges that are cheaper to read than to track. */
#ifndef ASYNCDUMP_DAEMON_METRICS_H
#define ASYNCDUMP_DAEMON_METRICS_H

#include <stddef.h>

#include "asyncdump/error.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric_family;

struct ad_error *metrics_create(struct metrics **ret);
void metrics_destroy(struct metrics *m);

/* `buckets`: the upper bounds of a histogram, ascending (+Inf is implied). */
struct ad_error *metrics_add_family(struct metrics *m, const char *name, const char *help,
				    enum metric_type type, const double *buckets, size_t nbuckets,
				    struct metric_family **ret);

typedef void (*metrics_collect_fn)(void *arg);
struct ad_error *metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *arg);

/* Updates; `labels` is NULL or the inside of the braces. A failed allocation
 * of a new series loses the update, never the daemon. */
void metric_add(struct metric_family *f, const char *labels, double delta);
void metric_set(struct metric_family *f, const char *labels, double value);
void metric_observe(struct metric_family *f, const char *labels, double value);

/* Series of one subject (a watched process) come and go with it. A series
 * belongs to `prefix` when its labels are `prefix` or start with `prefix,`.
 * Removes every such series of `f`. */
void metric_remove_matching(struct metric_family *f, const char *prefix);
/* Replaces the series of `prefix` by `n` series (labels[i] each starting with
 * `prefix`) at values[i], in one step: no scrape sees half of the change. */
void metric_replace_matching(struct metric_family *f, const char *prefix, size_t n,
			     const char *const *labels, const double *values);

/* `name="value",…` from NULL-terminated name, value pairs, escaped. */
void metrics_labels(char *buf, size_t size, ...);

/* The exposition text, malloc'ed. */
struct ad_error *metrics_render(struct metrics *m, char **ret, size_t *ret_len);

#endif
