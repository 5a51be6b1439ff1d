/* SPDX-License-Identifier: MIT */
/* What /proc says of processes, without stopping any: the one reader of
 * /proc for the library and its callers (the daemon's process list, its
 * watch list, and the pid + start time that name one process). */
#ifndef ASYNCDUMP_PROCFS_H
#define ASYNCDUMP_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

struct ad_process_info {
	pid_t pid;
	uid_t uids[3];                 /* real, effective, saved (the kernel's ptrace rule uses all) */
	unsigned long long start_time; /* clock ticks after boot; 0 when unreadable */
	bool no_cmdline;               /* a kernel thread or a zombie: nothing to trace */
	char comm[16];                 /* "" when unreadable */
	char exe[4096];                /* target of /proc/PID/exe; "" when unreadable */
};

/* AD_ERROR_NO_PROCESS when there is no such process (or it exited while
 * being read); fields that only privilege could read are left empty. */
struct ad_error *ad_process_info_read(pid_t pid, struct ad_process_info *ret);

/* Field 22 of /proc/PID/stat: when the process started. With the pid it names
 * one process: a reused pid gets another start time. False when it is gone. */
bool ad_process_start_time(pid_t pid, unsigned long long *ret);

/* Calls `each` for every process of /proc, at most `max` of them, until it
 * returns false. */
struct ad_error *ad_process_scan(size_t max, bool (*each)(void *arg, pid_t pid), void *arg);

#endif
