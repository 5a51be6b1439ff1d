/* SPDX-License-Identifier: MIT */
#include "peer_access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

bool peer_creds_of(int fd, struct peer_creds *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	ret->uid = cred.uid;
	ret->gid = cred.gid;
	len = sizeof(ret->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, ret->groups, &len) < 0)
		return false; /* ERANGE (too many groups) too: fewer would grant less */
	ret->ngroups = len / sizeof(gid_t);
	return true;
}

/* Outcomes the child reports as its exit status. */
enum { MAY_READ = 0, NOT_PERMITTED = 1, NO_PROCESS = 2, CANNOT_SWITCH = 3, FAILED = 4 };

/* In the child of a multi-threaded parent: only system calls. The raw
 * set*id calls change this process alone, which is all there is of it. */
static _Noreturn void check_as(const struct peer_creds *creds, const char *path)
{
	if (syscall(SYS_setgroups, creds->ngroups, creds->groups) != 0 ||
	    syscall(SYS_setresgid, creds->gid, creds->gid, creds->gid) != 0 ||
	    syscall(SYS_setresuid, creds->uid, creds->uid, creds->uid) != 0)
		_exit(CANNOT_SWITCH);
	/* A uid change from 0 to non-zero clears every capability. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		_exit(MAY_READ);
	_exit(errno == EACCES || errno == EPERM ? NOT_PERMITTED
	      : errno == ENOENT || errno == ESRCH ? NO_PROCESS
						   : FAILED);
}

struct ad_error *peer_may_read(const struct peer_creds *creds, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	pid_t child = fork();
	if (child < 0)
		return ad_error_os(errno, "cannot check uid %u's access to process %d: fork",
				   (unsigned)creds->uid, (int)pid);
	if (child == 0)
		check_as(creds, path);
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return ad_error_os(errno, "cannot check uid %u's access to process %d",
					   (unsigned)creds->uid, (int)pid);
	int outcome = WIFEXITED(status) ? WEXITSTATUS(status) : FAILED;
	switch (outcome) {
	case MAY_READ:
		return NULL;
	case NO_PROCESS:
		return ad_error_create(AD_ERROR_NO_PROCESS, "no process %d", (int)pid);
	case NOT_PERMITTED:
		return ad_error_create(AD_ERROR_PERMISSION,
				       "the kernel does not let uid %u read process %d as a tracer "
				       "would (another owner, a non-dumpable or setgid program, or a "
				       "security module): over the unix socket a user may inspect "
				       "only what it could trace itself",
				       (unsigned)creds->uid, (int)pid);
	case CANNOT_SWITCH:
		return ad_error_create(AD_ERROR_PERMISSION,
				       "asyncdumpd cannot take uid %u's credentials to ask the kernel "
				       "whether it may read process %d (it needs CAP_SETUID and "
				       "CAP_SETGID for unix-socket clients other than root)",
				       (unsigned)creds->uid, (int)pid);
	default:
		return ad_error_create(AD_ERROR_OTHER,
				       "could not check uid %u's access to process %d",
				       (unsigned)creds->uid, (int)pid);
	}
}
