/* SPDX-License-Identifier: MIT */
#include "sampler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "own_metrics.h"
#include "asyncdump/procfs.h"

#define MAX_SLOTS 4096 /* pids with a sample running or kept */

struct sample {
	unsigned refs;   /* under the sampler's lock */
	bool locals;
	bool no_stop;    /* read while the process ran */
	bool background; /* decoded at the sampler's decode priority */
	bool done;
	uint64_t done_ms;
	struct ad_trace *trace;
	struct ad_error *error;
};

struct sampler_handle {
	struct sampler *sampler;
	struct sample *sample;
};

struct slot {
	pid_t pid;
	unsigned long long start_time; /* with pid, the process */
	unsigned users;          /* requests looking at this slot */
	struct sample *running;  /* a reference, or NULL */
	struct sample *latest;   /* the last successful sample (a reference), or NULL */
};

struct sampler {
	pthread_mutex_t lock;
	pthread_cond_t finished; /* broadcast whenever a sample is done */
	struct ad_context *ctx;
	sampler_observer_fn observer;
	void *observer_arg;
	unsigned max_in_flight, in_flight;
	enum ad_decode_priority decode_priority;
	/* Snapshot memory admitted for samples in flight, against the budget. */
	pthread_mutex_t memory_lock;
	uint64_t memory_budget, memory_in_use;
	size_t nslots;
	struct slot *slots[MAX_SLOTS];
};

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *sample_source_name(enum sample_source source)
{
	switch (source) {
	case SAMPLE_FRESH: return "fresh";
	case SAMPLE_SHARED: return "shared";
	case SAMPLE_CACHED: return "cached";
	}
	return "fresh";
}

struct ad_error *sampler_create(struct ad_context *ctx, unsigned max_in_flight,
				uint64_t memory_budget, struct sampler **ret)
{
	struct sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return &ad_error_nomem;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->memory_lock, NULL);
	s->memory_budget = memory_budget;
	pthread_cond_init(&s->finished, NULL);
	s->ctx = ctx;
	s->max_in_flight = max_in_flight ? max_in_flight : 1;
	*ret = s;
	return NULL;
}

void sampler_set_decode_priority(struct sampler *s, enum ad_decode_priority priority)
{
	s->decode_priority = priority;
}

void sampler_set_observer(struct sampler *s, sampler_observer_fn fn, void *arg)
{
	s->observer = fn;
	s->observer_arg = arg;
}

/* Lock held. */
static void put_sample(struct sample *sample)
{
	if (!sample || --sample->refs)
		return;
	ad_trace_destroy(sample->trace);
	ad_error_destroy(sample->error);
	free(sample);
}

void sampler_destroy(struct sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nslots; i++) {
		put_sample(s->slots[i]->latest);
		free(s->slots[i]);
	}
	pthread_cond_destroy(&s->finished);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->memory_lock);
	free(s);
}

/* Drops kept samples older than the longest max_age and slots nobody needs.
 * Lock held. */
static void sweep(struct sampler *s, uint64_t now)
{
	for (size_t i = 0; i < s->nslots;) {
		struct slot *slot = s->slots[i];
		if (slot->latest && now - slot->latest->done_ms > SAMPLER_MAX_AGE_MS) {
			put_sample(slot->latest);
			slot->latest = NULL;
		}
		if (!slot->users && !slot->running && !slot->latest) {
			free(slot);
			s->slots[i] = s->slots[--s->nslots];
			continue;
		}
		i++;
	}
}

/* Lock held. */
static struct ad_error *find_slot(struct sampler *s, pid_t pid, unsigned long long start_time,
				  struct slot **ret)
{
	for (size_t i = 0; i < s->nslots; i++) {
		if (s->slots[i]->pid == pid && s->slots[i]->start_time == start_time) {
			*ret = s->slots[i];
			return NULL;
		}
	}
	sweep(s, monotonic_ms());
	if (s->nslots >= MAX_SLOTS)
		return ad_error_create(AD_ERROR_OVERLOADED,
				       "too many processes are being sampled (%d); try again later",
				       MAX_SLOTS);
	struct slot *slot = calloc(1, sizeof(*slot));
	if (!slot)
		return &ad_error_nomem;
	slot->pid = pid;
	slot->start_time = start_time;
	s->slots[s->nslots++] = slot;
	*ret = slot;
	return NULL;
}

static struct ad_error *copy_error(const struct ad_error *e)
{
	struct ad_error *copy = ad_error_create(e->code, "%s", e->message);
	if (copy != &ad_error_nomem) {
		copy->errnum = e->errnum;
		copy->address = e->address;
	}
	return copy;
}

/* The result a request gets from a finished sample: a reference, or a copy
 * of its error. Lock held. */
static struct ad_error *hand_out(struct sample *sample, enum sample_source source,
				 struct sampled *ret)
{
	if (sample->error)
		return copy_error(sample->error);
	sample->refs++;
	ret->trace = sample->trace;
	ret->source = source;
	ret->handle = sample;
	return NULL;
}

static void log_sample(pid_t pid, bool locals, const struct sample *sample, double duration_s)
{
	if (sample->error) {
		char message[512]; /* it may quote the target's exe path: no line breaks */
		log_escape(sample->error->message, message, sizeof(message));
		log_msg(AD_LOG_WARN,
			"sample pid=%d locals=%d outcome=%s duration_ms=%.1f message=\"%s\"",
			(int)pid, locals, ad_error_code_name(sample->error->code),
			duration_s * 1e3, message);
		own_metrics_sample(ad_error_code_name(sample->error->code), duration_s, 0, false);
		return;
	}
	const struct ad_trace *t = sample->trace;
	char reads[64] = "";
	if (t->not_stopped) {
		/* what reading without a stop cost and found */
		size_t reread = 0, inconsistent = 0;
		for (size_t i = 0; i < t->ntasks; i++) {
			reread += t->tasks[i].reads > 1;
			inconsistent += t->tasks[i].inconsistent;
		}
		snprintf(reads, sizeof(reads), " reread=%zu inconsistent=%zu", reread, inconsistent);
	}
	log_msg(AD_LOG_INFO,
		"sample pid=%d locals=%d stop=%d outcome=ok pause_us=%llu tasks=%zu%s duration_ms=%.1f",
		(int)pid, locals, !t->not_stopped, (unsigned long long)t->pause_us, t->ntasks, reads,
		duration_s * 1e3);
	/* A sample that did not stop the process paused nothing. */
	own_metrics_sample("ok", duration_s, sample->trace->pause_us, !sample->trace->not_stopped);
}

/* A sample taken while `pid` still named the process that started at
 * `start_time` before and after it is of that process: a pid is not reused
 * while its process exists. */
static struct ad_error *check_same_process(pid_t pid, unsigned long long start_time)
{
	unsigned long long now;
	if (ad_process_start_time(pid, &now) && now == start_time)
		return NULL;
	return ad_error_create(AD_ERROR_NO_PROCESS,
			       "process %d exited during the sample%s", (int)pid,
			       ad_process_start_time(pid, &now) ?
				       " and its pid now names another process" : "");
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

/* Snapshots of samples in flight share the budget (sample_memory): a sample
 * that does not fit beside the others is refused before anything stops. */
static struct ad_error *admit_memory(void *arg, uint64_t bytes)
{
	struct sampler *s = arg;
	if (!s->memory_budget)
		return NULL;
	if (bytes > s->memory_budget)
		return ad_error_create(AD_ERROR_TOO_LARGE,
				       "the snapshot needs %.1f MiB, more than the whole memory budget "
				       "for samples (sample_memory, %.1f MiB); raise it to sample this "
				       "process", mib(bytes), mib(s->memory_budget));
	pthread_mutex_lock(&s->memory_lock);
	bool fits = s->memory_in_use + bytes <= s->memory_budget;
	uint64_t in_use = s->memory_in_use;
	if (fits)
		s->memory_in_use += bytes;
	pthread_mutex_unlock(&s->memory_lock);
	if (fits)
		return NULL;
	return ad_error_create(AD_ERROR_OVERLOADED,
			       "samples in flight hold %.1f MiB of the %.1f MiB memory budget "
			       "(sample_memory) and this one needs %.1f MiB; try again in a moment",
			       mib(in_use), mib(s->memory_budget), mib(bytes));
}

static void release_memory(void *arg, uint64_t bytes)
{
	struct sampler *s = arg;
	if (!s->memory_budget)
		return;
	pthread_mutex_lock(&s->memory_lock);
	s->memory_in_use -= bytes < s->memory_in_use ? bytes : s->memory_in_use;
	pthread_mutex_unlock(&s->memory_lock);
}

/* Takes the sample on this thread, with the lock released meanwhile. */
static void take_sample(struct sampler *s, pid_t pid, unsigned long long start_time,
			struct sample *sample)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_unlock(&s->lock);
	own_metrics_in_flight(1);

	struct ad_capture_options options = {
		.locals = sample->locals,
		.no_stop = sample->no_stop,
		.decode_priority = sample->background ? s->decode_priority
						      : AD_DECODE_PRIORITY_NORMAL,
		.admit_memory = admit_memory,
		.release_memory = release_memory,
		.memory_arg = s,
	};
	struct ad_trace *trace = NULL;
	struct ad_error *err = ad_capture(s->ctx, pid, &options, &trace);
	if (!err) {
		err = check_same_process(pid, start_time);
		if (err) {
			ad_trace_destroy(trace);
			trace = NULL;
		}
	}
	sample->trace = err ? NULL : trace;
	sample->error = err;

	own_metrics_in_flight(-1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double duration_s =
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	log_sample(pid, sample->locals, sample, duration_s);
	if (trace && !err && s->observer)
		s->observer(s->observer_arg, pid, trace,
			    (int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec, duration_s);
	pthread_mutex_lock(&s->lock);
}

/* Whether `sample` decoded at least what a request wants: its locals when
 * asked for, and a stopped sample unless an unstopped one will do. */
static bool serves(const struct sample *sample, bool locals, bool no_stop)
{
	return (sample->locals || !locals) && (!sample->no_stop || no_stop);
}

static struct ad_error *get_sample(struct sampler *s, pid_t pid, unsigned long long start_time,
				   bool locals, bool no_stop, uint64_t max_age_ms, bool background,
				   struct sampled *ret)
{
	struct ad_error *err;
	struct slot *slot = NULL;
	pthread_mutex_lock(&s->lock);
	err = find_slot(s, pid, start_time, &slot);
	if (err)
		goto unlock;
	slot->users++;
	for (;;) {
		struct sample *latest = slot->latest;
		if (max_age_ms && latest && serves(latest, locals, no_stop) &&
		    monotonic_ms() - latest->done_ms <= max_age_ms) {
			err = hand_out(latest, SAMPLE_CACHED, ret);
			break;
		}
		struct sample *running = slot->running;
		if (running) {
			running->refs++;
			while (!running->done)
				pthread_cond_wait(&s->finished, &s->lock);
			bool fits = serves(running, locals, no_stop);
			if (fits)
				err = hand_out(running, SAMPLE_SHARED, ret);
			put_sample(running);
			if (fits)
				break;
			continue; /* it decoded less than we need: take our own */
		}
		if (s->in_flight >= s->max_in_flight) {
			err = ad_error_create(AD_ERROR_OVERLOADED,
					      "%u samples are already being taken (the limit "
					      "max_samples_in_flight); try again in a moment",
					      s->in_flight);
			break;
		}
		struct sample *mine = calloc(1, sizeof(*mine));
		if (!mine) {
			err = &ad_error_nomem;
			break;
		}
		mine->refs = 1; /* the slot's, while running */
		mine->locals = locals;
		mine->no_stop = no_stop;
		mine->background = background;
		/* The kept sample is not kept through the new one: two decoded
		 * traces of a large process at once would double the daemon's
		 * peak memory. Whoever still holds it keeps it alive. */
		put_sample(slot->latest);
		slot->latest = NULL;
		slot->running = mine;
		s->in_flight++;
		take_sample(s, pid, start_time, mine);
		s->in_flight--;
		mine->done = true;
		mine->done_ms = monotonic_ms();
		slot->running = NULL;
		if (!mine->error) {
			put_sample(slot->latest);
			slot->latest = mine;
			mine->refs++;
		}
		pthread_cond_broadcast(&s->finished);
		err = hand_out(mine, SAMPLE_FRESH, ret);
		put_sample(mine);
		break;
	}
	slot->users--;
unlock:
	pthread_mutex_unlock(&s->lock);
	if (!err && ret->source != SAMPLE_FRESH)
		own_metrics_reuse(sample_source_name(ret->source));
	return err;
}

struct ad_error *sampler_get(struct sampler *s, pid_t pid, unsigned long long start_time,
			     bool locals, bool no_stop, uint64_t max_age_ms, struct sampled *ret)
{
	return get_sample(s, pid, start_time, locals, no_stop, max_age_ms, false, ret);
}

struct ad_error *sampler_get_background(struct sampler *s, pid_t pid,
					unsigned long long start_time, bool no_stop,
					struct sampled *ret)
{
	return get_sample(s, pid, start_time, false, no_stop, 0, true, ret);
}

void sampler_release(struct sampler *s, struct sampled *sampled)
{
	if (!sampled->handle)
		return;
	pthread_mutex_lock(&s->lock);
	put_sample(sampled->handle);
	pthread_mutex_unlock(&s->lock);
	sampled->handle = NULL;
}

struct sampler_handle *sampler_hand_over(struct sampler *s, struct sampled *sampled)
{
	struct sampler_handle *h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	h->sampler = s;
	h->sample = sampled->handle;
	sampled->handle = NULL;
	return h;
}

void sampler_release_handle(void *handle)
{
	struct sampler_handle *h = handle;
	if (!h)
		return;
	struct sampled sampled = { .handle = h->sample };
	sampler_release(h->sampler, &sampled);
	free(h);
}
