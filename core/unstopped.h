/* SPDX-License-Identifier: MIT */
/* Internal: the threads of a running process, without stopping it
 * (unstopped.c): those blocked in a system call with their stack pointer,
 * program counter and thread pointer, those on a CPU with their thread
 * pointer only (partial_regs, running). */
#ifndef ASYNCDUMP_UNSTOPPED_H
#define ASYNCDUMP_UNSTOPPED_H

#include <stddef.h>
#include <sys/types.h>

#include "asyncdump/error.h"
#include "asyncdump/process.h"

/* *ret (malloc'ed) gets the *n threads; *nrunning of them were not
 * blocked in a system call. */
struct ad_error *ad_unstopped_threads(pid_t pid, struct ad_thread **ret, size_t *n,
				      size_t *nrunning);

#endif
