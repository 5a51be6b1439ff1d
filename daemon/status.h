/* SPDX-License-Identifier: MIT */
/* What an error code means to a client: an HTTP status for asyncdumpd, an
 * exit status for the asyncdump CLI. One table, so both agree. */
#ifndef ASYNCDUMP_DAEMON_STATUS_H
#define ASYNCDUMP_DAEMON_STATUS_H

#include "asyncdump/error.h"

/* Exit statuses of the asyncdump CLI (documented in its --help). */
enum exit_status {
	EXIT_OK = 0,
	EXIT_INTERNAL = 1,       /* a bug, out of memory, a failed system call */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_NO_PROCESS = 3,     /* no such process, or it exited during the sample */
	EXIT_PERMISSION = 4,     /* not permitted to trace it */
	EXIT_ALREADY_TRACED = 5, /* another tracer (gdb, strace, …) holds it */
	EXIT_NOT_ANALYZABLE = 6, /* not Rust, no debuginfo, no tokio, unknown layout, zombie */
	EXIT_NOT_FOUND = 7,      /* no such task */
	EXIT_INTERRUPTED = 8,    /* stopped by a signal */
	EXIT_CONFIG = 78,        /* asyncdumpd: bad configuration (EX_CONFIG) */
};

unsigned status_http(enum ad_error_code code);
int status_exit(enum ad_error_code code);

#endif
