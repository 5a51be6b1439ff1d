/* SPDX-License-Identifier: MIT */
/* The cores directory of asyncdumpd (default /var/lib/systemd/coredump):
 * GET /cores lists its cores, GET /cores/{name}/tasks traces one.
 *
 * Owner rules as for processes: a client whose uid the kernel tells (the
 * unix socket) and that is not root sees and reads only its own cores. A
 * core's owner is the file's, except for root's files named the way
 * systemd-coredump names them (core.COMM.UID.BOOTID.PID.TIME[.zst|.xz|.lz4]):
 * only root writes that directory, so the UID in the name is the crashed
 * process's. Compressed cores are decompressed into a bounded unnamed
 * temporary file for each trace; one core is traced at a time. */
#ifndef ASYNCDUMP_DAEMON_CORES_H
#define ASYNCDUMP_DAEMON_CORES_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "asyncdump/capture.h"

/* Who asks: only_own for a non-root client of the unix socket. */
struct cores_client {
	bool only_own;
	uid_t uid;
};

/* The list document: {"dir": DIR, "cores": [...]}, newest first. */
struct ad_error *cores_list(struct ad_context *ctx, const char *dir,
			    const struct cores_client *client, json_t **ret);

/* Traces the core `name` of `dir`: AD_ERROR_INVALID_ARGUMENT for a name
 * that is not one file's, AD_ERROR_NOT_FOUND when absent,
 * AD_ERROR_PERMISSION when not the client's. */
struct ad_error *cores_trace(struct ad_context *ctx, const char *dir, const char *name,
			     const struct cores_client *client, bool locals,
			     struct ad_trace **ret);

#endif
