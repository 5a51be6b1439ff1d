/* SPDX-License-Identifier: MIT */
/* Stopping and resuming every thread of a live process with ptrace.
 *
 * ad_process_stop() PTRACE_SEIZEs and PTRACE_INTERRUPTs every thread listed
 * in /proc/PID/task, re-scanning until no new thread appears, and waits for
 * each to stop. Signals that arrive meanwhile are remembered and re-injected
 * on resume, so the target loses nothing. ad_process_resume() detaches every
 * thread and restores what the process was: a process that was stopped by
 * SIGSTOP stays stopped; one that ran runs. PTRACE_O_EXITKILL is never used:
 * if the tracer dies, the kernel detaches and the target keeps running.
 *
 * Only the thread that called ad_process_stop() may call ad_process_resume()
 * (a ptrace rule). While stopped, SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked
 * in the calling thread and delivered after resume, so the tool cannot be
 * interrupted between stop and resume. SIGCHLD is blocked there too: where
 * the program leaves it at its default, the wait for the stops sleeps in
 * sigtimedwait() on it (a tracer gets one per ptrace-stop) and may take one
 * that a child of the program's sent; a program with a SIGCHLD handler
 * keeps every one.
 *
 * The stops are collected with waitpid(tid, …, __WALL) per thread: a caller
 * that reaps with waitpid(-1, …, __WALL) in another thread meanwhile would
 * take them. */
#ifndef ASYNCDUMP_PROCESS_H
#define ASYNCDUMP_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* The registers needed to find thread-locals and to unwind (x86_64). */
struct ad_regs {
	uint64_t rip, rsp, rbp, rbx, r12, r13, r14, r15;
	uint64_t rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11;
	uint64_t fs_base, gs_base;
};

struct ad_thread {
	pid_t tid;
	char name[16];      /* /proc/PID/task/TID/comm */
	struct ad_regs regs;
	/* Read without stopping the thread (a sample that does not stop):
	 * only rip, rsp and fs_base (0: unknown) are known; and of one that
	 * was running on a CPU (not blocked in a system call) only fs_base:
	 * its stack cannot be unwound. */
	bool partial_regs;
	bool running;
};

struct ad_stopped; /* opaque: a process whose threads we hold */

struct ad_error *ad_process_stop(pid_t pid, struct ad_stopped **ret);
/* Detaches every thread, re-injects pending signals, frees `s`; accepts NULL.
 * Returns the first error met, but always tries every thread. */
struct ad_error *ad_process_resume(struct ad_stopped *s);
/* ad_process_resume(), and *pause_us (when not NULL) always gets the time from
 * the first thread stopped to the last one resumed (CLOCK_MONOTONIC). */
struct ad_error *ad_process_resume_timed(struct ad_stopped *s, uint64_t *pause_us);

pid_t ad_stopped_pid(const struct ad_stopped *s);
size_t ad_stopped_thread_count(const struct ad_stopped *s);
const struct ad_thread *ad_stopped_thread(const struct ad_stopped *s, size_t i);
/* Microseconds since the first thread was stopped (CLOCK_MONOTONIC). */
uint64_t ad_stopped_elapsed_us(const struct ad_stopped *s);

/* Checks that `pid` exists, is not a zombie and is not traced by another
 * process, without stopping it: the same clear errors ad_process_stop()
 * gives. */
struct ad_error *ad_process_check(pid_t pid);

#endif
