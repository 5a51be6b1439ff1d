/* SPDX-License-Identifier: MIT */
/* The daemon's own metrics: requests, samples, their durations and pauses. */
#ifndef ASYNCDUMP_DAEMON_OWN_METRICS_H
#define ASYNCDUMP_DAEMON_OWN_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"

struct ad_error *own_metrics_register(struct metrics *m);

void own_metrics_request(unsigned http_status);
/* outcome: "ok" or an error code name; paused: pause_us is a pause to
 * observe (an ok sample that stopped the process). */
void own_metrics_sample(const char *outcome, double duration_s, uint64_t pause_us, bool paused);
/* A request served without a sample of its own: "shared" or "cached". */
void own_metrics_reuse(const char *how);
/* A whole document answered: rendered for it, or another's rendering. */
void own_metrics_render(bool reused);
void own_metrics_in_flight(int delta);
/* A core traced (GET /cores/{name}/tasks): "ok" or an error code name. */
void own_metrics_core(const char *outcome, double duration_s);

#endif
