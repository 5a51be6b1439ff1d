/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdio.h>

#include "own_metrics.h"

static struct metric_family *requests, *samples, *reuses, *renders, *sample_seconds,
	*pause_seconds, *in_flight, *cores, *core_seconds;

struct ad_error *own_metrics_register(struct metrics *m)
{
	static const double duration_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
						   0.5,   1,    2.5,   5,    10 };
	static const double pause_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
						0.025,  0.05,  0.1,    0.25,  0.5 };
	struct ad_error *err;
	if ((err = metrics_add_family(m, "asyncdumpd_http_requests_total",
				      "HTTP requests answered, by status code.", METRIC_COUNTER,
				      NULL, 0, &requests)) ||
	    (err = metrics_add_family(m, "asyncdumpd_samples_total",
				      "Samples taken, by outcome (ok or the error code).",
				      METRIC_COUNTER, NULL, 0, &samples)) ||
	    (err = metrics_add_family(m, "asyncdumpd_sample_reuses_total",
				      "Requests served by another request's sample (shared: "
				      "the one running; cached: one within max_age_ms).",
				      METRIC_COUNTER, NULL, 0, &reuses)) ||
	    (err = metrics_add_family(m, "asyncdumpd_renders_total",
				      "Whole documents answered, by whether they were rendered "
				      "for the request (reused=\"false\", streamed: always) or "
				      "another request's rendering was sent (reused=\"true\").",
				      METRIC_COUNTER, NULL, 0, &renders)) ||
	    (err = metrics_add_family(m, "asyncdumpd_sample_duration_seconds",
				      "Time to take and decode a sample.", METRIC_HISTOGRAM,
				      duration_buckets,
				      sizeof(duration_buckets) / sizeof(duration_buckets[0]),
				      &sample_seconds)) ||
	    (err = metrics_add_family(m, "asyncdumpd_sample_pause_seconds",
				      "How long each target was stopped, per successful sample.",
				      METRIC_HISTOGRAM, pause_buckets,
				      sizeof(pause_buckets) / sizeof(pause_buckets[0]),
				      &pause_seconds)) ||
	    (err = metrics_add_family(m, "asyncdumpd_samples_in_flight",
				      "Samples being taken right now.", METRIC_GAUGE, NULL, 0,
				      &in_flight)) ||
	    (err = metrics_add_family(m, "asyncdumpd_cores_traced_total",
				      "Core files traced (GET /cores/{name}/tasks), by outcome "
				      "(ok or the error code).", METRIC_COUNTER, NULL, 0, &cores)) ||
	    (err = metrics_add_family(m, "asyncdumpd_core_trace_duration_seconds",
				      "Time to open (decompress) and decode a core file.",
				      METRIC_HISTOGRAM, duration_buckets,
				      sizeof(duration_buckets) / sizeof(duration_buckets[0]),
				      &core_seconds)))
		return err;
	metric_set(in_flight, NULL, 0);
	return NULL;
}

void own_metrics_request(unsigned http_status)
{
	if (!requests)
		return;
	char code[16], labels[32];
	snprintf(code, sizeof(code), "%u", http_status);
	metrics_labels(labels, sizeof(labels), "code", code, (const char *)NULL);
	metric_add(requests, labels, 1);
}

void own_metrics_sample(const char *outcome, double duration_s, uint64_t pause_us, bool paused)
{
	if (!samples)
		return;
	char labels[96];
	metrics_labels(labels, sizeof(labels), "outcome", outcome, (const char *)NULL);
	metric_add(samples, labels, 1);
	metric_observe(sample_seconds, NULL, duration_s);
	if (paused)
		metric_observe(pause_seconds, NULL, (double)pause_us / 1e6);
}

void own_metrics_reuse(const char *how)
{
	if (!reuses)
		return;
	char labels[64];
	metrics_labels(labels, sizeof(labels), "how", how, (const char *)NULL);
	metric_add(reuses, labels, 1);
}

void own_metrics_render(bool reused)
{
	if (!renders)
		return;
	char labels[64];
	metrics_labels(labels, sizeof(labels), "reused", reused ? "true" : "false",
		       (const char *)NULL);
	metric_add(renders, labels, 1);
}

void own_metrics_in_flight(int delta)
{
	if (in_flight)
		metric_add(in_flight, NULL, delta);
}

void own_metrics_core(const char *outcome, double duration_s)
{
	if (!cores)
		return;
	char labels[96];
	metrics_labels(labels, sizeof(labels), "outcome", outcome, (const char *)NULL);
	metric_add(cores, labels, 1);
	metric_observe(core_seconds, NULL, duration_s);
}
