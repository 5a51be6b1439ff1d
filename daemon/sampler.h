/* SPDX-License-Identifier: MIT */
/* Samples of live processes for concurrent requests.
 *
 * Only one tracer may hold a process, so samples of one pid are serialised:
 * a request that finds a sample of its pid running waits for it and shares
 * its result (when that sample decoded at least what it needs), instead of
 * failing with "already traced" against ourselves. Different pids are
 * sampled in parallel, at most `max_in_flight` at once (AD_ERROR_OVERLOADED
 * beyond). Each sample runs entirely on the requesting thread: ptrace wants
 * the thread that attached to be the one that detaches. A successful sample
 * is kept for a while so that a request with max_age_ms can reuse it.
 * Samples belong to a process, (pid, start time), never to a bare pid. */
#ifndef ASYNCDUMP_DAEMON_SAMPLER_H
#define ASYNCDUMP_DAEMON_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "asyncdump/capture.h"
#include "asyncdump/error.h"

#define SAMPLER_MAX_AGE_MS 60000 /* the longest a sample is kept for reuse */

struct sampler;
struct sample;

enum sample_source { SAMPLE_FRESH, SAMPLE_SHARED, SAMPLE_CACHED };

struct sampled {
	const struct ad_trace *trace;
	enum sample_source source;
	struct sample *handle; /* give back with sampler_release() */
};

/* Told of every successful sample this sampler takes, on the sampling thread,
 * before any request sees the trace: hang detection fills in how long each
 * task has been unchanged. `started_ns` is the CLOCK_MONOTONIC time the
 * sample started, `duration_s` how long it took. */
typedef void (*sampler_observer_fn)(void *arg, pid_t pid, struct ad_trace *trace,
				    int64_t started_ns, double duration_s);

/* `memory_budget`: bytes of snapshot memory all samples in flight may hold
 * together (0: no budget); a sample that does not fit gets
 * AD_ERROR_OVERLOADED (503) before its target is stopped. */
struct ad_error *sampler_create(struct ad_context *ctx, unsigned max_in_flight,
				uint64_t memory_budget, struct sampler **ret);
/* Call before the first sampler_get(): how background samples (the watch
 * list's) decode once their target runs again (default: AD_DECODE_PRIORITY_NORMAL).
 * A request's sample decodes at the normal priority: a client waits for it,
 * and a low priority on busy CPUs makes it many times slower. */
void sampler_set_decode_priority(struct sampler *s, enum ad_decode_priority priority);
/* Call before the first sampler_get(). */
void sampler_set_observer(struct sampler *s, sampler_observer_fn fn, void *arg);
/* Call once no request uses the sampler any more. */
void sampler_destroy(struct sampler *s);

/* A sample of the process `pid` that started at `start_time`
 * (ad_process_start_time()): samples are kept and shared per process, not
 * per pid, so a reused pid never gets another process's sample; and a sample
 * whose pid was taken by another process meanwhile fails with
 * AD_ERROR_NO_PROCESS. */
struct ad_error *sampler_get(struct sampler *s, pid_t pid, unsigned long long start_time,
			     bool locals, bool no_stop, uint64_t max_age_ms, struct sampled *ret);
/* A fresh sample taken for no waiting client (the watch list's periodic
 * sampling): decoded at the decode priority. `no_stop`: read while the
 * process runs (ad_capture_options.no_stop); a request that allows it may
 * share a stopped sample, one that does not never gets an unstopped one. */
struct ad_error *sampler_get_background(struct sampler *s, pid_t pid,
					unsigned long long start_time, bool no_stop,
					struct sampled *ret);
void sampler_release(struct sampler *s, struct sampled *sampled);

/* Moves the reference `sampled` holds into a malloc'ed handle, released by
 * sampler_release_handle(): for a response that renders the sample
 * after the request returned (streamed). NULL when out of memory. */
struct sampler_handle *sampler_hand_over(struct sampler *s, struct sampled *sampled);
void sampler_release_handle(void *handle);

const char *sample_source_name(enum sample_source source);

#endif
