/* SPDX-License-Identifier: MIT */
/* Who a unix-socket client is, and whether the kernel would let it read a
 * process as a tracer does.
 *
 * asyncdumpd traces with its own privileges; a client over the unix socket
 * must get only what it could get itself. Rather than compare uids (which
 * misses non-dumpable processes, setgid programs, capabilities and LSMs),
 * the daemon asks the kernel: a short-lived child takes the client's
 * credentials (uid, gid and supplementary groups from SO_PEERCRED and
 * SO_PEERGROUPS, no capabilities) and opens /proc/PID/maps, which the kernel
 * allows under ptrace's PTRACE_MODE_READ_FSCREDS rule. Changing credentials
 * needs CAP_SETUID and CAP_SETGID; without them every non-root client is
 * refused with a message that says so. */
#ifndef ASYNCDUMP_DAEMON_PEER_ACCESS_H
#define ASYNCDUMP_DAEMON_PEER_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "asyncdump/error.h"

#define PEER_MAX_GROUPS 256

struct peer_creds {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[PEER_MAX_GROUPS];
};

/* The credentials of the process that connected `fd` (a unix socket). */
bool peer_creds_of(int fd, struct peer_creds *ret);

/* NULL when the kernel lets `creds` read `pid` as ptrace would; otherwise
 * AD_ERROR_PERMISSION (or AD_ERROR_NO_PROCESS) saying why. */
struct ad_error *peer_may_read(const struct peer_creds *creds, pid_t pid);

#endif
