/* SPDX-License-Identifier: MIT */
#include "watch.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asyncdump/progress.h"
#include "hang_metrics.h"
#include "log.h"
#include "asyncdump/procfs.h"

#define MAX_PROCESSES 65536     /* /proc entries looked at per scan */
#define MIN_RESCAN_MS 100
#define NSEC_PER_MSEC 1000000LL

/* A process on the watch list. */
struct target {
	struct watcher *w;
	const struct ad_watch *watch;
	struct ad_process_info proc;
	char labels[HANG_METRICS_LABELS_MAX];
	uint64_t interval_ms, threshold_ms;
	bool no_stop; /* sample_stop = no */
	size_t nexpected;
	struct ad_expected_wait *expected; /* [hang]'s, then the watch's (patterns borrowed) */
	struct ad_progress *progress;
	pthread_t thread;
	bool stop;    /* asked to stop (the watcher's lock) */
	bool exited;  /* a sample found the process gone */
	size_t last_stuck, last_cycles;
};

struct watcher {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* CLOCK_MONOTONIC; broadcast on stop and on an exit */
	const struct ad_config *config;
	struct sampler *sampler;
	pid_t self;
	bool stopping;
	bool scanning;
	pthread_t scanner;
	uint64_t rescan_ms;
	bool warned_full;
	size_t ntargets;
	struct target *targets[WATCH_MAX_PROCESSES];
};

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Lock held; returns with it held, woken early by a broadcast. */
static void wait_until(struct watcher *w, int64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = deadline_ns / 1000000000,
			       .tv_nsec = deadline_ns % 1000000000 };
	pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

/* ---------------------------------------------------------------- /proc */

/* False for a process that is gone, a zombie or a kernel thread (no exe). */
static bool read_proc_info(pid_t pid, struct ad_process_info *ret)
{
	struct ad_error *err = ad_process_info_read(pid, ret);
	if (err) {
		ad_error_destroy(err);
		return false;
	}
	return ret->exe[0] != '\0';
}

/* An exe glob with a '/' is over the path, else over the file name. A
 * replaced binary still matches ("/usr/bin/api (deleted)"). */
static bool exe_matches(const char *glob, const char *exe)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", exe);
	size_t len = strlen(path), tail = strlen(" (deleted)");
	if (len > tail && strcmp(path + len - tail, " (deleted)") == 0)
		path[len - tail] = '\0';
	const char *subject = path;
	if (!strchr(glob, '/') && strrchr(path, '/'))
		subject = strrchr(path, '/') + 1;
	return fnmatch(glob, subject, 0) == 0;
}

static bool watch_matches(const struct ad_watch *watch, const struct ad_process_info *p)
{
	switch (watch->selector) {
	case AD_WATCH_PID: return watch->pid == p->pid;
	case AD_WATCH_EXE: return exe_matches(watch->glob, p->exe);
	case AD_WATCH_COMM: return fnmatch(watch->glob, p->comm, 0) == 0;
	}
	return false;
}

/* ---------------------------------------------------------------- targets */

static void target_free(struct target *t)
{
	if (!t)
		return;
	ad_progress_destroy(t->progress);
	free(t->expected);
	free(t);
}

/* A fresh tracker: a new process (or a pid watch's process replaced). */
static struct ad_error *reset_progress(struct target *t)
{
	struct ad_progress_options options = {
		.stuck_threshold_ms = t->threshold_ms,
		.nexpected = t->nexpected,
		.expected = t->expected,
	};
	struct ad_progress *p;
	struct ad_error *err = ad_progress_create(&options, &p);
	if (err)
		return err;
	ad_progress_destroy(t->progress);
	t->progress = p;
	t->last_stuck = t->last_cycles = 0;
	return NULL;
}

static void set_labels(struct target *t)
{
	hang_metrics_target_labels(t->labels, sizeof(t->labels), t->proc.pid,
				   t->proc.exe[0] ? t->proc.exe : "unknown", t->watch->name);
}

static struct ad_error *target_create(struct watcher *w, const struct ad_watch *watch,
				      const struct ad_process_info *proc, struct target **ret)
{
	const struct ad_hang_settings *global = &w->config->hang, *own = &watch->hang;
	struct target *t = calloc(1, sizeof(*t));
	if (!t)
		return &ad_error_nomem;
	t->w = w;
	t->watch = watch;
	t->proc = *proc;
	t->interval_ms = ad_watch_sample_interval_ms(w->config, watch);
	t->threshold_ms = ad_watch_stuck_threshold_ms(w->config, watch);
	t->no_stop = !ad_watch_sample_stop(w->config, watch);
	t->nexpected = global->nexpected + own->nexpected;
	if (t->nexpected) {
		t->expected = malloc(t->nexpected * sizeof(*t->expected));
		if (!t->expected) {
			target_free(t);
			return &ad_error_nomem;
		}
		if (global->nexpected)
			memcpy(t->expected, global->expected,
			       global->nexpected * sizeof(*t->expected));
		if (own->nexpected)
			memcpy(t->expected + global->nexpected, own->expected,
			       own->nexpected * sizeof(*t->expected));
	}
	struct ad_error *err = reset_progress(t);
	if (err) {
		target_free(t);
		return err;
	}
	set_labels(t);
	*ret = t;
	return NULL;
}

/* Lock held. */
static struct target *find_target(const struct watcher *w, pid_t pid)
{
	for (size_t i = 0; i < w->ntargets; i++)
		if (w->targets[i]->proc.pid == pid)
			return w->targets[i];
	return NULL;
}

static bool is_gone(const struct ad_error *err)
{
	return err->code == AD_ERROR_NO_PROCESS || err->code == AD_ERROR_PROCESS_EXITED ||
	       err->code == AD_ERROR_ZOMBIE;
}

/* A pid watch follows its pid: another process there starts afresh. Lock held. */
static void follow_pid(struct target *t, const struct ad_process_info *now)
{
	if (now->start_time == t->proc.start_time && strcmp(now->exe, t->proc.exe) == 0)
		return;
	struct ad_error *err = reset_progress(t);
	if (err) {
		log_msg(AD_LOG_WARN, "watch name=%s pid=%d: %s", t->watch->name, (int)t->proc.pid,
			err->message);
		ad_error_destroy(err);
		return;
	}
	hang_metrics_target_removed(t->labels);
	t->proc = *now;
	set_labels(t);
	hang_metrics_target_added(t->labels, (double)t->threshold_ms / 1e3);
	char exe[PATH_MAX];
	log_escape(t->proc.exe, exe, sizeof(exe));
	log_msg(AD_LOG_INFO, "watch name=%s pid=%d exe=\"%s\": a new process at the watched pid",
		t->watch->name, (int)t->proc.pid, exe);
}

/* One sample through the sampler; the observer does the rest. Lock held,
 * released meanwhile. */
static void sample_once(struct target *t)
{
	struct watcher *w = t->w;
	pid_t pid = t->proc.pid;
	bool by_pid = t->watch->selector == AD_WATCH_PID;
	pthread_mutex_unlock(&w->lock);
	if (by_pid) {
		struct ad_process_info now;
		bool alive = read_proc_info(pid, &now);
		pthread_mutex_lock(&w->lock);
		if (alive)
			follow_pid(t, &now);
		pthread_mutex_unlock(&w->lock);
	}
	struct sampled sampled;
	struct ad_error *err = sampler_get_background(w->sampler, pid, t->proc.start_time, t->no_stop,
						      &sampled);
	if (!err)
		sampler_release(w->sampler, &sampled);
	pthread_mutex_lock(&w->lock);
	if (!err)
		return;
	hang_metrics_sample_failed(t->labels, ad_error_code_name(err->code));
	if (is_gone(err) && !by_pid) {
		t->exited = true;
		pthread_cond_broadcast(&w->wake); /* the scanner drops it now */
	}
	ad_error_destroy(err);
}

static void *target_main(void *arg)
{
	struct target *t = arg;
	struct watcher *w = t->w;
	int64_t interval_ns = (int64_t)t->interval_ms * NSEC_PER_MSEC;
	pthread_mutex_lock(&w->lock);
	int64_t next = monotonic_ns();
	while (!t->stop) {
		if (monotonic_ns() < next) {
			wait_until(w, next);
			continue;
		}
		if (!t->exited)
			sample_once(t);
		/* Missed slots are skipped, never caught up in a burst of pauses. */
		next += interval_ns;
		int64_t now = monotonic_ns();
		if (next <= now)
			next = now + interval_ns;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Lock held. */
static void add_target(struct watcher *w, const struct ad_watch *watch,
		       const struct ad_process_info *proc)
{
	if (w->ntargets >= WATCH_MAX_PROCESSES) {
		if (!w->warned_full)
			log_msg(AD_LOG_WARN,
				"watch name=%s pid=%d not watched: %d processes are watched "
				"already (the limit)",
				watch->name, (int)proc->pid, WATCH_MAX_PROCESSES);
		w->warned_full = true;
		return;
	}
	struct target *t;
	struct ad_error *err = target_create(w, watch, proc, &t);
	if (!err && pthread_create(&t->thread, NULL, target_main, t) != 0) {
		err = ad_error_os(errno, "starting the sampling thread");
		target_free(t);
	}
	if (err) {
		log_msg(AD_LOG_WARN, "watch name=%s pid=%d not watched: %s", watch->name,
			(int)proc->pid, err->message);
		ad_error_destroy(err);
		return;
	}
	w->targets[w->ntargets++] = t;
	hang_metrics_target_added(t->labels, (double)t->threshold_ms / 1e3);
	hang_metrics_watched(w->ntargets);
	char exe[PATH_MAX];
	log_escape(proc->exe, exe, sizeof(exe));
	log_msg(AD_LOG_INFO,
		"watch name=%s pid=%d exe=\"%s\" interval_ms=%llu threshold_ms=%llu stop=%d: watching",
		watch->name, (int)proc->pid, exe, (unsigned long long)t->interval_ms,
		(unsigned long long)t->threshold_ms, !t->no_stop);
}

/* Stops and forgets targets[i]. Lock held on entry and return, released
 * while its thread finishes (a sample in progress first). Only the scanner
 * and watcher_destroy() change the list, one at a time. */
static void drop_target(struct watcher *w, struct target *t, const char *why)
{
	t->stop = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->ntargets; i++) {
		if (w->targets[i] == t) {
			w->targets[i] = w->targets[--w->ntargets];
			break;
		}
	}
	hang_metrics_target_removed(t->labels);
	hang_metrics_watched(w->ntargets);
	log_msg(w->stopping ? AD_LOG_DEBUG : AD_LOG_INFO, "watch name=%s pid=%d: %s",
		t->watch->name, (int)t->proc.pid, why);
	target_free(t);
}

/* ---------------------------------------------------------------- the scanner */

struct match {
	const struct ad_watch *watch;
	struct ad_process_info proc;
};

/* The first exe or comm watch that selects `p`, or NULL. */
static const struct ad_watch *glob_watch_of(const struct ad_config *c, const struct ad_process_info *p)
{
	for (size_t i = 0; i < c->nwatches; i++)
		if (c->watches[i].selector != AD_WATCH_PID && watch_matches(&c->watches[i], p))
			return &c->watches[i];
	return NULL;
}

static bool pid_watched(const struct ad_config *c, pid_t pid)
{
	for (size_t i = 0; i < c->nwatches; i++)
		if (c->watches[i].selector == AD_WATCH_PID && c->watches[i].pid == pid)
			return true;
	return false;
}

struct matching {
	const struct watcher *w;
	struct match *matches; /* WATCH_MAX_PROCESSES of them */
	size_t n;
};

static bool match_one(void *arg, pid_t pid)
{
	struct matching *m = arg;
	if (pid == m->w->self || pid_watched(m->w->config, pid))
		return true;
	struct ad_process_info *p = &m->matches[m->n].proc;
	if (!read_proc_info(pid, p))
		return true;
	const struct ad_watch *watch = glob_watch_of(m->w->config, p);
	if (watch)
		m->matches[m->n++].watch = watch;
	return m->n < WATCH_MAX_PROCESSES;
}

/* Every process an exe or comm watch selects, at most WATCH_MAX_PROCESSES. */
static void list_matches(const struct watcher *w, struct match *ret, size_t *ret_n)
{
	struct matching m = { w, ret, 0 };
	struct ad_error *err = ad_process_scan(MAX_PROCESSES, match_one, &m);
	if (err) {
		log_msg(AD_LOG_WARN, "watch: %s", err->message);
		ad_error_destroy(err);
	}
	*ret_n = m.n;
}

static const struct match *find_match(const struct match *m, size_t n, const struct target *t)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].proc.pid == t->proc.pid)
			return &m[i];
	return NULL;
}

/* Brings the glob watches' targets in line with /proc. Lock held. */
static void reconcile(struct watcher *w, const struct match *m, size_t n)
{
	for (size_t i = 0; i < w->ntargets && !w->stopping;) {
		struct target *t = w->targets[i];
		const struct match *now = find_match(m, n, t);
		const char *why = NULL;
		if (t->watch->selector != AD_WATCH_PID) {
			if (!now || now->proc.start_time != t->proc.start_time)
				why = "the process exited; no longer watched";
			else if (now->watch != t->watch)
				why = "the process no longer matches this watch";
			else if (strcmp(now->proc.exe, t->proc.exe) != 0)
				why = "the process runs another program now; watched afresh";
		}
		if (!why) {
			t->exited = false; /* /proc says it lives: sample on */
			i++;
			continue;
		}
		drop_target(w, t, why); /* the list changed: look at index i again */
	}
	for (size_t i = 0; i < n && !w->stopping; i++)
		if (!find_target(w, m[i].proc.pid))
			add_target(w, m[i].watch, &m[i].proc);
}

static void *scanner_main(void *arg)
{
	struct watcher *w = arg;
	struct match *m = malloc(WATCH_MAX_PROCESSES * sizeof(*m));
	pthread_mutex_lock(&w->lock);
	if (!m)
		log_msg(AD_LOG_ERROR,
			"watch: out of memory: processes by exe or comm are not watched");
	while (m && !w->stopping) {
		pthread_mutex_unlock(&w->lock);
		size_t n;
		list_matches(w, m, &n);
		pthread_mutex_lock(&w->lock);
		reconcile(w, m, n);
		if (!w->stopping)
			wait_until(w, monotonic_ns() + (int64_t)w->rescan_ms * NSEC_PER_MSEC);
	}
	pthread_mutex_unlock(&w->lock);
	free(m);
	return NULL;
}

/* ---------------------------------------------------------------- observing samples */

static void log_changes(struct target *t, const struct ad_trace *trace,
			const struct ad_progress_report *r)
{
	if (r->nstuck == t->last_stuck && trace->ncycles == t->last_cycles)
		return;
	bool worse = r->nstuck > t->last_stuck || trace->ncycles > t->last_cycles;
	char at[512] = "";
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct ad_frame *f = r->tasks[i].wait_frame;
		if (!r->tasks[i].stuck || !f)
			continue;
		char where[400];
		if (f->location && f->location->file)
			snprintf(where, sizeof(where), "%.200s %.180s:%u", f->name ? f->name : "?",
				 f->location->file, f->location->line);
		else
			snprintf(where, sizeof(where), "%.200s", f->name ? f->name : "?");
		log_escape(where, at, sizeof(at));
		break;
	}
	log_msg(worse ? AD_LOG_WARN : AD_LOG_INFO,
		"hang watch=%s pid=%d stuck=%zu cycles=%zu longest_unchanged_s=%.1f%s%s%s",
		t->watch->name, (int)t->proc.pid, r->nstuck, trace->ncycles,
		r->longest_unchanged_s, at[0] ? " first_stuck_at=\"" : "", at, at[0] ? "\"" : "");
	t->last_stuck = r->nstuck;
	t->last_cycles = trace->ncycles;
}

static void observe(void *arg, pid_t pid, struct ad_trace *trace, int64_t started_ns,
		    double duration_s)
{
	struct watcher *w = arg;
	pthread_mutex_lock(&w->lock);
	struct target *t = find_target(w, pid);
	if (t && !t->stop) {
		struct ad_progress_report report;
		struct ad_error *err = ad_progress_update(t->progress, trace, started_ns, &report);
		if (err) {
			log_msg(AD_LOG_WARN, "hang watch=%s pid=%d: tracking progress: %s",
				t->watch->name, (int)pid, err->message);
			ad_error_destroy(err);
		} else {
			hang_metrics_sampled(t->labels, trace, &report, duration_s);
			log_changes(t, trace, &report);
			ad_progress_report_deinit(&report);
		}
	}
	pthread_mutex_unlock(&w->lock);
}

/* ---------------------------------------------------------------- the watcher */

struct ad_error *watcher_create(const struct ad_config *config, struct sampler *sampler,
				struct metrics *metrics, struct watcher **ret)
{
	struct ad_error *err = hang_metrics_register(metrics);
	if (err)
		return err;
	struct watcher *w = calloc(1, sizeof(*w));
	if (!w)
		return &ad_error_nomem;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	w->config = config;
	w->sampler = sampler;
	w->self = getpid();
	sampler_set_observer(sampler, observe, w);
	*ret = w;
	return NULL;
}

struct ad_error *watcher_start(struct watcher *w)
{
	const struct ad_config *c = w->config;
	pthread_mutex_lock(&w->lock);
	w->rescan_ms = 0;
	for (size_t i = 0; i < c->nwatches; i++) {
		const struct ad_watch *watch = &c->watches[i];
		if (watch->selector != AD_WATCH_PID) {
			uint64_t ms = ad_watch_sample_interval_ms(c, watch);
			if (!w->rescan_ms || ms < w->rescan_ms)
				w->rescan_ms = ms;
			continue;
		}
		if (watch->pid == w->self || find_target(w, watch->pid))
			continue;
		struct ad_process_info proc = { .pid = watch->pid };
		if (!read_proc_info(watch->pid, &proc)) {
			memset(&proc, 0, sizeof(proc));
			proc.pid = watch->pid;
		}
		add_target(w, watch, &proc);
	}
	if (w->rescan_ms && w->rescan_ms < MIN_RESCAN_MS)
		w->rescan_ms = MIN_RESCAN_MS;
	struct ad_error *err = NULL;
	if (w->rescan_ms) {
		if (pthread_create(&w->scanner, NULL, scanner_main, w) != 0)
			err = ad_error_os(errno, "starting the watch list's scanner thread");
		else
			w->scanning = true;
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

void watcher_destroy(struct watcher *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->scanning)
		pthread_join(w->scanner, NULL);
	pthread_mutex_lock(&w->lock);
	while (w->ntargets)
		drop_target(w, w->targets[w->ntargets - 1], "stopped");
	pthread_mutex_unlock(&w->lock);
	sampler_set_observer(w->sampler, NULL, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
