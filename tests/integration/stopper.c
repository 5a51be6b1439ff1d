/* SPDX-License-Identifier: MIT */
/* Driver of the attach tests: stops and resumes a process through the
 * library, once or in a loop, and checks what it can while it holds it.
 *
 *   stopper [options] PID
 *     --count N        cycles (default 1)
 *     --interval-us U  pause between cycles
 *     --snapshot       take snapshots (ad_snapshot_take) instead of stop/resume
 *     --check          only ad_process_check()
 *     --max-bytes B    snapshot limit
 *     --verify         while stopped, check that every thread in
 *                      /proc/PID/task is held and in tracing stop ('t')
 *     --hold-ms M      (test only) print "STOPPED" and keep the process
 *                      stopped M ms before resuming
 *
 * Prints "ok cycles=N threads_min=A threads_max=B pause_max_us=P" and exits
 * 0; on a library error prints "error: <code name>: <message>" and exits 2;
 * on a failed verification exits 1. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asyncdump/process.h"
#include "asyncdump/snapshot.h"

struct options {
	long count, interval_us, hold_ms;
	bool snapshot, check, verify;
	uint64_t max_bytes;
	pid_t pid;
};

struct stats {
	size_t threads_min, threads_max;
	uint64_t pause_max_us;
};

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int fail_with(struct ad_error *err)
{
	printf("error: %s: %s\n", ad_error_code_name(err->code), err->message);
	ad_error_destroy(err);
	return 2;
}

static char thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* comm may hold spaces and parens */
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Every thread the kernel lists is one we hold, in tracing stop. */
static bool verify_all_held(const struct ad_stopped *s)
{
	pid_t pid = ad_stopped_pid(s);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "stopper: %s: %s\n", path, strerror(errno));
		return false;
	}
	bool ok = true;
	size_t listed = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid_t tid = (pid_t)atol(de->d_name);
		char state = thread_state(pid, tid);
		if (state == 'Z' || state == 'X')
			continue;
		listed++;
		bool held = false;
		for (size_t i = 0; i < ad_stopped_thread_count(s); i++)
			held |= ad_stopped_thread(s, i)->tid == tid;
		if (!held || state != 't') {
			fprintf(stderr, "stopper: thread %d of %d is %s, state %c\n", (int)tid,
				(int)pid, held ? "held" : "NOT held", state);
			ok = false;
		}
	}
	closedir(dir);
	if (listed != ad_stopped_thread_count(s)) {
		fprintf(stderr, "stopper: %zu threads listed, %zu held\n", listed,
			ad_stopped_thread_count(s));
		ok = false;
	}
	for (size_t i = 0; i < ad_stopped_thread_count(s); i++) {
		const struct ad_thread *t = ad_stopped_thread(s, i);
		if (!t->regs.rsp || !t->regs.rip || !t->regs.fs_base) {
			fprintf(stderr, "stopper: thread %d has no rsp/rip/fs_base\n", (int)t->tid);
			ok = false;
		}
	}
	return ok;
}

static void account(struct stats *st, size_t threads, uint64_t pause_us)
{
	if (!st->threads_min || threads < st->threads_min)
		st->threads_min = threads;
	if (threads > st->threads_max)
		st->threads_max = threads;
	if (pause_us > st->pause_max_us)
		st->pause_max_us = pause_us;
}

static void hold(long ms)
{
	printf("STOPPED\n");
	fflush(stdout);
	sleep_us(ms * 1000);
}

static int stop_cycle(const struct options *o, struct stats *st)
{
	struct ad_stopped *s;
	struct ad_error *err = ad_process_stop(o->pid, &s);
	if (err)
		return fail_with(err);
	bool ok = !o->verify || verify_all_held(s);
	if (o->hold_ms)
		hold(o->hold_ms);
	size_t threads = ad_stopped_thread_count(s);
	uint64_t pause_us;
	err = ad_process_resume_timed(s, &pause_us);
	if (err)
		return fail_with(err);
	account(st, threads, pause_us);
	return ok ? 0 : 1;
}

static int snapshot_cycle(const struct options *o, struct stats *st)
{
	struct ad_snapshot_options so = { .max_bytes = o->max_bytes };
	struct ad_snapshot *snap;
	struct ad_error *err = ad_snapshot_take(o->pid, &so, &snap);
	if (err)
		return fail_with(err);
	account(st, snap->nthreads, snap->pause_us);
	ad_snapshot_destroy(snap);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .count = 1 };
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (strcmp(a, "--snapshot") == 0)
			o.snapshot = true;
		else if (strcmp(a, "--check") == 0)
			o.check = true;
		else if (strcmp(a, "--verify") == 0)
			o.verify = true;
		else if (strcmp(a, "--count") == 0 && ++i)
			o.count = atol(v);
		else if (strcmp(a, "--interval-us") == 0 && ++i)
			o.interval_us = atol(v);
		else if (strcmp(a, "--hold-ms") == 0 && ++i)
			o.hold_ms = atol(v);
		else if (strcmp(a, "--max-bytes") == 0 && ++i)
			o.max_bytes = strtoull(v, NULL, 0);
		else
			break;
	}
	if (i != argc - 1 || o.count < 1) {
		fprintf(stderr, "usage: stopper [--count N] [--interval-us U] [--snapshot] "
				"[--check] [--max-bytes B] [--verify] [--hold-ms M] PID\n");
		return 64;
	}
	o.pid = (pid_t)atol(argv[i]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.check) {
		struct ad_error *err = ad_process_check(o.pid);
		if (err)
			return fail_with(err);
		printf("ok check\n");
		return 0;
	}
	struct stats st = { 0 };
	for (long c = 0; c < o.count; c++) {
		int r = o.snapshot ? snapshot_cycle(&o, &st) : stop_cycle(&o, &st);
		if (r)
			return r;
		if (o.interval_us)
			sleep_us(o.interval_us);
	}
	printf("ok cycles=%ld threads_min=%zu threads_max=%zu pause_max_us=%llu\n", o.count,
	       st.threads_min, st.threads_max, (unsigned long long)st.pause_max_us);
	return 0;
}
