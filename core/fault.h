/* SPDX-License-Identifier: MIT */
/* Internal, tests only: a hook that fails a chosen decode step, to prove
 * that one broken frame never loses the document (issue 13).
 *
 * Built with --enable-fault-injection, the environment variable
 * ASYNCDUMP_FAULT=STEP[:N] fails the Nth occurrence (counted per capture,
 * from 1) of STEP, or every occurrence without :N. Steps:
 *   member      a member lookup (ad_value_member) inside a future walk
 *   read        a memory read inside a future walk
 *   env         decoding an async fn/block's state machine
 *   combinator  decoding a combinator (MaybeDone, PollFn, FuturesUnordered)
 *   leaf        decoding a leaf future
 *   task        decoding a task's root future
 *   prepare     an adapter's prepare() of a binary (`what`: its kind; counted
 *               per process, not per capture: prepare runs once per binary)
 * The failure is an error whose message starts "injected fault: STEP".
 * And ASYNCDUMP_SLOW_OPEN=TEXT:MS makes opening (indexing) a binary whose
 * path contains TEXT take MS milliseconds longer, to show that others are
 * served meanwhile. Without the option every hook compiles to nothing. */
#ifndef ASYNCDUMP_FAULT_H
#define ASYNCDUMP_FAULT_H

#include "asyncdump/error.h"
#include "asyncdump/memory.h"

#ifdef AD_FAULT_INJECTION

/* Starts counting occurrences anew (one capture). */
void ad_fault_reset(void);
/* Marks the calling thread as inside (+1) or outside (-1) a future walk:
 * the member and read steps fail only inside one. */
void ad_fault_walk(int delta);
/* The injected error for this occurrence of `step`, or NULL. */
struct ad_error *ad_fault(const char *step, const char *what);
/* A reader that fails reads as the `read` step says, else reads `inner`. */
void ad_fault_reader(const struct ad_reader *inner, struct ad_reader *ret);
/* Sleeps as ASYNCDUMP_SLOW_OPEN says before the binary `path` is opened. */
void ad_fault_slow_open(const char *path);

#define AD_FAULT(step, what) ad_fault(step, what)
#define AD_FAULT_WALK(delta) ad_fault_walk(delta)
#define AD_FAULT_SLOW_OPEN(path) ad_fault_slow_open(path)

#else

#define AD_FAULT(step, what) ((struct ad_error *)NULL)
#define AD_FAULT_WALK(delta) ((void)0)
#define AD_FAULT_SLOW_OPEN(path) ((void)0)

#endif

#endif
