/* SPDX-License-Identifier: MIT */
/* Stopping every thread of a process with PTRACE_SEIZE + PTRACE_INTERRUPT,
 * and giving it back exactly as it was.
 *
 * Why SEIZE and not ATTACH: ATTACH sends a SIGSTOP that the target would see
 * (and that mixes with a real SIGSTOP); SEIZE + INTERRUPT stops a thread with
 * a trap that leaves no trace. Each thread then reports exactly one stop:
 *   - PTRACE_EVENT_STOP: our interrupt, or the group-stop of a process that
 *     was already stopped (SIGSTOP). Detaching leaves a group-stopped
 *     process stopped: the kernel re-arms the group stop on unlink.
 *   - a signal-delivery-stop: a signal arrived before the interrupt. The
 *     tracer now holds that signal; it is handed back with PTRACE_DETACH.
 *   - an exit: the thread ended meanwhile; we reap it and drop it.
 *
 * PTRACE_O_TRACECLONE is not used: a thread cloned by a thread we have not
 * stopped yet would be missed anyway, so /proc/PID/task is re-scanned until a
 * scan made while every known thread is stopped finds no new one (a stopped
 * thread cannot clone, so that scan is complete). Fewer event kinds to handle
 * means fewer ways to leave a thread behind. PTRACE_O_EXITKILL is never set:
 * if asyncdump dies, the kernel detaches and the target runs on. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asyncdump/process.h"
#include "clock.h"
#include "proc.h"
#include "search.h"

/* How long threads get to reach their stop before the sample is abandoned;
 * a thread in uninterruptible sleep (D) stops only when it leaves it. */
#define STOP_TIMEOUT_NS (2 * 1000000000ll)
/* On the way out, how long to wait for a seized thread to stop so that it
 * can be detached (a running tracee cannot be). */
#define CLEANUP_TIMEOUT_NS (10 * 1000000000ll)

enum tracee_state {
	SEIZED,   /* seized, then interrupted; stop not yet reported */
	STOPPED,  /* in a ptrace-stop: can be read and detached */
	GONE,     /* exited (and reaped) */
};

struct tracee {
	struct ad_thread thread;
	enum tracee_state state;
	int signal;  /* from a signal-delivery-stop: re-injected on detach; 0 none */
};

struct known_name {
	pid_t tid;
	char name[16];
};

struct ad_stopped {
	pid_t pid;
	size_t n, cap;
	struct tracee *tracees;    /* sorted by tid after each scan */
	struct ad_tid_list scan;
	size_t nnames;
	struct known_name *names;  /* read before stopping, sorted by tid */
	bool timing;
	struct timespec first_stop;
	sigset_t old_mask;
	bool mask_blocked;
	bool sigchld_wakes;  /* wait_for_stops() may sleep until a SIGCHLD */
	bool leader_exited;
};

static uint64_t us_since(const struct timespec *t0)
{
	int64_t t = (int64_t)t0->tv_sec * 1000000000ll + t0->tv_nsec;
	int64_t d = ad_monotonic_ns() - t;
	return d > 0 ? (uint64_t)d / 1000 : 0;
}

/* ---- signals of the caller */

/* Whether SIGCHLD is at its default, ignored without being set to SIG_IGN:
 * then no handler of the program's misses the one we take, and the kernel
 * sends one for each ptrace-stop (SIG_IGN or SA_NOCLDSTOP would not). */
static bool sigchld_unhandled(void)
{
	struct sigaction sa;
	return sigaction(SIGCHLD, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
	       sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_NOCLDSTOP);
}

/* SIGCHLD is blocked too, so that wait_for_stops() can sleep in
 * sigtimedwait() until a thread stops (see there). */
static void block_interrupting_signals(struct ad_stopped *s)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	s->mask_blocked = pthread_sigmask(SIG_BLOCK, &set, &s->old_mask) == 0;
	s->sigchld_wakes = s->mask_blocked && sigchld_unhandled();
}

static void restore_signals(struct ad_stopped *s)
{
	if (s->mask_blocked)
		pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
	s->mask_blocked = false;
}

/* ---- bookkeeping */

static int compare_tracees(const void *a, const void *b)
{
	const struct tracee *x = a, *y = b;
	return (x->thread.tid > y->thread.tid) - (x->thread.tid < y->thread.tid);
}

static int compare_names(const void *a, const void *b)
{
	const struct known_name *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static bool tracee_before(const void *element, const void *tid)
{
	return ((const struct tracee *)element)->thread.tid < *(const pid_t *)tid;
}

static bool name_before(const void *element, const void *tid)
{
	return ((const struct known_name *)element)->tid < *(const pid_t *)tid;
}

/* Whether a live tracee has this tid; binary search over the first `sorted`
 * tracees (the rest were just added). A tid that exited during the attach
 * may already belong to a new thread: exited tracees do not count. */
static bool is_known(const struct ad_stopped *s, size_t sorted, pid_t tid)
{
	size_t lo = ad_partition_point(s->tracees, sorted, sizeof(*s->tracees), &tid, tracee_before);
	for (; lo < sorted && s->tracees[lo].thread.tid == tid; lo++) {
		if (s->tracees[lo].state != GONE)
			return true;
	}
	return false;
}

static struct ad_error *add_tracee(struct ad_stopped *s, pid_t tid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct tracee *t = realloc(s->tracees, cap * sizeof(*t));
		if (!t)
			return &ad_error_nomem;
		s->tracees = t;
		s->cap = cap;
	}
	s->tracees[s->n++] = (struct tracee){ .thread.tid = tid, .state = SEIZED };
	return NULL;
}

/* Thread names, read before anything is stopped to keep the pause short;
 * threads found during the attach are named from /proc during it. */
static struct ad_error *read_names(struct ad_stopped *s)
{
	struct ad_error *err = ad_proc_list_tasks(s->pid, &s->scan);
	if (err)
		return err;
	s->names = calloc(s->scan.n ? s->scan.n : 1, sizeof(*s->names));
	if (!s->names)
		return &ad_error_nomem;
	for (size_t i = 0; i < s->scan.n; i++) {
		s->names[i].tid = s->scan.tids[i];
		ad_proc_read_comm(s->pid, s->scan.tids[i], s->names[i].name);
	}
	s->nnames = s->scan.n;
	qsort(s->names, s->nnames, sizeof(*s->names), compare_names);
	return NULL;
}

static void name_thread(const struct ad_stopped *s, struct ad_thread *t)
{
	size_t i = ad_partition_point(s->names, s->nnames, sizeof(*s->names), &t->tid, name_before);
	if (i < s->nnames && s->names[i].tid == t->tid)
		memcpy(t->name, s->names[i].name, sizeof(t->name));
	else
		ad_proc_read_comm(s->pid, t->tid, t->name);
}

/* ---- waiting for stops */

/* Applies one wait status to a tracee that had not stopped yet. */
static void record_status(struct ad_stopped *s, struct tracee *t, int status)
{
	if (WIFSTOPPED(status)) {
		t->state = STOPPED;
		/* Event 0 is a signal-delivery-stop: we now hold that signal. Any
		 * event stop (our interrupt, a group-stop) holds none. */
		if ((status >> 16) == 0)
			t->signal = WSTOPSIG(status);
		return;
	}
	t->state = GONE;
	if (t->thread.tid == s->pid)
		s->leader_exited = true;
}

static bool thread_is_dead(pid_t pid, pid_t tid)
{
	struct ad_proc_status st;
	struct ad_error *err = ad_proc_read_status(pid, tid, &st);
	if (err) {
		ad_error_destroy(err);
		return true;
	}
	return st.state == 'Z' || st.state == 'X';
}

static void backoff(unsigned round)
{
	if (round < 64) {
		sched_yield();
		return;
	}
	long ns = round < 128 ? 20000 : round < 256 ? 100000 : 1000000;
	struct timespec ts = { 0, ns };
	nanosleep(&ts, NULL);
}

/* Sleeps until a tracee may have stopped. The caller may be real-time
 * (snapshot.c): polling would keep the target's threads off its CPU while
 * they need it to reach their stops. The kernel sends the tracer a SIGCHLD
 * for each ptrace-stop; a thread in sigtimedwait() is the one it wakes. A
 * SIGCHLD that another thread took, or one sent for a child of the
 * program's, costs at most one timeout: the poll after it is the truth. */
static void sleep_until_a_stop(const struct ad_stopped *s, unsigned round)
{
	if (!s->sigchld_wakes) {
		backoff(round);
		return;
	}
	struct timespec timeout = { 0, round < 64 ? 100000 : 1000000 };
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigtimedwait(&chld, NULL, &timeout);
}

/* Waits until every SEIZED tracee has stopped or exited, or the deadline. */
static struct ad_error *wait_for_stops(struct ad_stopped *s, int64_t timeout_ns)
{
	int64_t deadline = ad_monotonic_ns() + timeout_ns;
	for (unsigned round = 0;; round++) {
		size_t pending = 0;
		for (size_t i = 0; i < s->n; i++) {
			struct tracee *t = &s->tracees[i];
			if (t->state != SEIZED)
				continue;
			int status;
			pid_t r = waitpid(t->thread.tid, &status, __WALL | WNOHANG);
			if (r == t->thread.tid)
				record_status(s, t, status);
			else if (r < 0 && errno == ECHILD)
				t->state = GONE; /* reaped elsewhere: no longer ours */
			else
				pending++;
		}
		if (!pending)
			return NULL;
		if (ad_monotonic_ns() > deadline)
			break;
		sleep_until_a_stop(s, round);
	}
	struct ad_error *err = NULL;
	for (size_t i = 0; i < s->n && !err; i++) {
		struct tracee *t = &s->tracees[i];
		if (t->state != SEIZED)
			continue;
		/* A main thread that exited while others run is a zombie whose
		 * exit cannot be collected yet: nothing to wait for. */
		if (thread_is_dead(s->pid, t->thread.tid)) {
			t->state = GONE;
			continue;
		}
		struct ad_proc_status st = { .state = '?' };
		ad_error_destroy(ad_proc_read_status(s->pid, t->thread.tid, &st));
		err = ad_error_create(AD_ERROR_OTHER,
				      "stopping pid %d: thread %d did not stop within %lld ms (state "
				      "%c%s); retry later", (int)s->pid, (int)t->thread.tid,
				      (long long)(timeout_ns / 1000000), st.state,
				      st.state == 'D' ? ", uninterruptible sleep" : "");
	}
	return err;
}

/* ---- attaching */

/* Seizes one thread, which runs on until interrupted; *added is false when
 * it must be skipped. */
static struct ad_error *seize_one(struct ad_stopped *s, pid_t tid, bool *added)
{
	*added = false;
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		int e = errno;
		if (e == ESRCH && tid != s->pid)
			return NULL; /* ended before we got to it */
		if (e == ESRCH)
			return s->n ? ad_proc_exited_error(s->pid, "stopping the process")
				    : ad_proc_explain(s->pid, 0, e, "stopping the process");
		if (e == EPERM && tid != s->pid && thread_is_dead(s->pid, tid))
			return NULL; /* exiting: it has nothing left to show */
		if (e == EPERM && tid == s->pid) {
			/* A leader that called pthread_exit is a zombie while its
			 * threads run on: skip it, sample the rest. */
			struct ad_proc_status st;
			struct ad_error *err = ad_proc_read_status(s->pid, 0, &st);
			bool zombie_leader = !err && st.state == 'Z' && st.threads > 1 &&
					     !st.tracer_pid;
			ad_error_destroy(err);
			if (zombie_leader)
				return NULL;
		}
		return ad_proc_explain(s->pid, tid, e, "attaching with PTRACE_SEIZE");
	}
	struct ad_error *err = add_tracee(s, tid);
	if (err) {
		/* A seized thread we cannot record would never be detached. */
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		int status;
		if (waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status))
			ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)((status >> 16) ? 0 :
									    WSTOPSIG(status)));
		return err;
	}
	*added = true;
	return NULL;
}

/* Interrupts the tracees from `first` on. They are all seized before the
 * first interrupt: a seize does not stop a thread, so the pause covers only
 * the interrupts and the waits. */
static struct ad_error *interrupt_from(struct ad_stopped *s, size_t first)
{
	if (first < s->n && !s->timing) {
		clock_gettime(CLOCK_MONOTONIC, &s->first_stop);
		s->timing = true;
	}
	for (size_t i = first; i < s->n; i++) {
		pid_t tid = s->tracees[i].thread.tid;
		/* ESRCH: it is exiting; its exit status will be reaped by the wait. */
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 && errno != ESRCH)
			return ad_error_os(errno, "stopping pid %d: PTRACE_INTERRUPT of thread %d",
					   (int)s->pid, (int)tid);
	}
	return NULL;
}

static struct ad_error *seize_all(struct ad_stopped *s)
{
	for (;;) {
		struct ad_error *err = ad_proc_list_tasks(s->pid, &s->scan);
		if (err) {
			if (!s->n)
				return err;
			ad_error_destroy(err);
			return ad_proc_exited_error(s->pid, "stopping the process");
		}
		size_t sorted = s->n, added = 0;
		for (size_t i = 0; i < s->scan.n; i++) {
			pid_t tid = s->scan.tids[i];
			if (is_known(s, sorted, tid))
				continue;
			bool ok;
			err = seize_one(s, tid, &ok);
			if (err)
				return err;
			added += ok;
		}
		err = interrupt_from(s, sorted);
		if (err)
			return err;
		if (added)
			qsort(s->tracees, s->n, sizeof(*s->tracees), compare_tracees);
		err = wait_for_stops(s, STOP_TIMEOUT_NS);
		if (err)
			return err;
		if (s->leader_exited)
			return ad_proc_exited_error(s->pid, "stopping the process");
		if (!added)
			return NULL;
	}
}

static void reap(pid_t tid)
{
	int status;
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid && !WIFSTOPPED(status))
			return;
		if (r < 0)
			return;
		backoff(64);
	}
}

/* Registers and names; drops threads killed (SIGKILL) while stopped. */
static struct ad_error *read_threads(struct ad_stopped *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct tracee *t = &s->tracees[i];
		if (t->state != STOPPED)
			continue;
		struct user_regs_struct u;
		if (ptrace(PTRACE_GETREGS, t->thread.tid, NULL, &u) < 0) {
			int e = errno;
			if (e != ESRCH)
				return ad_error_os(e, "pid %d: reading the registers of thread %d",
						   (int)s->pid, (int)t->thread.tid);
			reap(t->thread.tid);
			t->state = GONE;
			if (t->thread.tid == s->pid)
				return ad_proc_exited_error(s->pid, "reading registers");
			continue;
		}
		t->thread.regs = (struct ad_regs){
			.rip = u.rip, .rsp = u.rsp, .rbp = u.rbp, .rbx = u.rbx,
			.r12 = u.r12, .r13 = u.r13, .r14 = u.r14, .r15 = u.r15,
			.rax = u.rax, .rcx = u.rcx, .rdx = u.rdx, .rsi = u.rsi, .rdi = u.rdi,
			.r8 = u.r8, .r9 = u.r9, .r10 = u.r10, .r11 = u.r11,
			.fs_base = u.fs_base, .gs_base = u.gs_base,
		};
		name_thread(s, &t->thread);
	}
	/* Keep only the threads we hold, so that indexes name real threads. */
	size_t kept = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->tracees[i].state == STOPPED)
			s->tracees[kept++] = s->tracees[i];
	}
	s->n = kept;
	if (!kept)
		return ad_proc_exited_error(s->pid, "stopping the process");
	return NULL;
}

/* ---- detaching */

/* Detaches every thread we hold; returns the first error but tries all. */
static struct ad_error *detach_all(struct ad_stopped *s)
{
	struct ad_error *first = NULL;
	bool seized_left = false;
	for (size_t i = 0; i < s->n; i++)
		seized_left |= s->tracees[i].state == SEIZED;
	if (seized_left) {
		/* Seized threads must reach a stop before they can go: interrupt
		 * again any whose interrupt may have failed, and wait. */
		for (size_t i = 0; i < s->n; i++) {
			if (s->tracees[i].state == SEIZED)
				ptrace(PTRACE_INTERRUPT, s->tracees[i].thread.tid, NULL, NULL);
		}
		first = wait_for_stops(s, CLEANUP_TIMEOUT_NS);
		first = first ? ad_error_wrap(first, "pid %d stays partly attached until asyncdump "
					      "exits", (int)s->pid) : NULL;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct tracee *t = &s->tracees[i];
		if (t->state != STOPPED)
			continue;
		if (ptrace(PTRACE_DETACH, t->thread.tid, NULL, (void *)(long)t->signal) == 0) {
			t->state = GONE;
			continue;
		}
		int e = errno;
		if (e == ESRCH) { /* killed while stopped: collect it */
			reap(t->thread.tid);
			t->state = GONE;
			continue;
		}
		if (!first)
			first = ad_error_os(e, "resuming pid %d: detaching thread %d", (int)s->pid,
					    (int)t->thread.tid);
	}
	return first;
}

static void stopped_free(struct ad_stopped *s)
{
	restore_signals(s);
	ad_tid_list_deinit(&s->scan);
	free(s->names);
	free(s->tracees);
	free(s);
}

/* ---- the API */

struct ad_error *ad_process_check(pid_t pid)
{
	if (pid <= 0)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "invalid pid %d", (int)pid);
	if (pid == getpid())
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "pid %d is asyncdump itself: it cannot sample itself",
				       (int)pid);
	struct ad_proc_status st;
	struct ad_error *err = ad_proc_read_status(pid, 0, &st);
	if (err) {
		int e = err->errnum ? err->errnum : ENOENT;
		ad_error_destroy(err);
		return ad_proc_explain(pid, 0, e, "checking the process");
	}
	char comm[16];
	ad_proc_read_comm(pid, 0, comm);
	if (st.tgid != pid)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "pid %d (%s) is a thread of process %d: sample pid %d instead",
				       (int)pid, comm, (int)st.tgid, (int)st.tgid);
	if (st.kernel_thread)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "pid %d (%s) is a kernel thread: it has no user memory to "
				       "sample", (int)pid, comm);
	if ((st.state == 'Z' || st.state == 'X') && st.threads <= 1)
		return ad_proc_explain(pid, 0, EPERM, "checking the process");
	if (st.tracer_pid)
		return ad_proc_explain(pid, 0, EPERM, "checking the process");
	/* Opening /proc/PID/mem takes the same permission check as attaching
	 * (PTRACE_MODE_ATTACH, Yama included), without touching the process. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ad_proc_explain(pid, 0, errno, "checking the process");
	close(fd);
	return NULL;
}

struct ad_error *ad_process_stop(pid_t pid, struct ad_stopped **ret)
{
	struct ad_error *err = ad_process_check(pid);
	return err ? err : ad_process_stop_checked(pid, ret);
}

struct ad_error *ad_process_stop_checked(pid_t pid, struct ad_stopped **ret)
{
	struct ad_error *err;
	struct ad_stopped *s = calloc(1, sizeof(*s));
	if (!s)
		return &ad_error_nomem;
	s->pid = pid;
	err = read_names(s);
	if (err) {
		stopped_free(s);
		return err;
	}
	block_interrupting_signals(s);
	err = seize_all(s);
	if (!err)
		err = read_threads(s);
	if (err) {
		ad_error_destroy(detach_all(s));
		stopped_free(s);
		return err;
	}
	*ret = s;
	return NULL;
}

struct ad_error *ad_process_resume_timed(struct ad_stopped *s, uint64_t *pause_us)
{
	if (!s) {
		if (pause_us)
			*pause_us = 0;
		return NULL;
	}
	struct ad_error *err = detach_all(s);
	if (pause_us)
		*pause_us = s->timing ? us_since(&s->first_stop) : 0;
	stopped_free(s);
	return err;
}

struct ad_error *ad_process_resume(struct ad_stopped *s)
{
	return ad_process_resume_timed(s, NULL);
}

pid_t ad_stopped_pid(const struct ad_stopped *s)
{
	return s->pid;
}

size_t ad_stopped_thread_count(const struct ad_stopped *s)
{
	return s->n;
}

const struct ad_thread *ad_stopped_thread(const struct ad_stopped *s, size_t i)
{
	return i < s->n ? &s->tracees[i].thread : NULL;
}

uint64_t ad_stopped_elapsed_us(const struct ad_stopped *s)
{
	return s->timing ? us_since(&s->first_stop) : 0;
}
