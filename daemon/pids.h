/* SPDX-License-Identifier: MIT */
/* The processes a client may inspect, and what their binaries say about
 * whether asyncdump can trace them (decided without stopping anything). */
#ifndef ASYNCDUMP_DAEMON_PIDS_H
#define ASYNCDUMP_DAEMON_PIDS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "asyncdump/capture.h"
#include "asyncdump/error.h"

/* The real, effective and saved uids of `pid` must all be `uid` for it to
 * belong to that user (the kernel's rule for ptrace without privileges).
 * AD_ERROR_NO_PROCESS when there is no such process. */
struct ad_error *pid_owned_by(pid_t pid, uid_t uid, bool *ret);

/* {"pids": [{pid, comm, exe, uid, traceable, reason, rust, type_debuginfo,
 * tokio, build_id}, …]}: every user process except `self`; only those of
 * `only_uid` when `filter_uid`. */
struct ad_error *pids_list(struct ad_context *ctx, pid_t self, bool filter_uid, uid_t only_uid,
			   json_t **ret);

#endif
