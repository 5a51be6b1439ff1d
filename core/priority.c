/* SPDX-License-Identifier: MIT */
#include "priority.h"

#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t this_thread(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Whether this thread may go back to `nice` after raising its nice value
 * (the kernel's can_nice()): root, or RLIMIT_NICE. CAP_SYS_NICE without root
 * is not looked for: such a daemon decodes at the normal priority. */
static bool may_return_to(int nice)
{
	if (geteuid() == 0)
		return true;
	struct rlimit rl;
	return getrlimit(RLIMIT_NICE, &rl) == 0 &&
	       (rl.rlim_cur == RLIM_INFINITY || (rlim_t)(20 - nice) <= rl.rlim_cur);
}

void ad_priority_lower(enum ad_decode_priority how, struct ad_priority_saved *saved)
{
	*saved = (struct ad_priority_saved){ .lowered = false };
	if (how == AD_DECODE_PRIORITY_NORMAL)
		return;
	pid_t tid = this_thread();
	int policy = sched_getscheduler(tid);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (policy < 0 || (nice == -1 && errno) || policy != SCHED_OTHER || !may_return_to(nice))
		return; /* a real-time or batch caller chose its own */
	struct sched_param param = { .sched_priority = 0 };
	bool done = how == AD_DECODE_PRIORITY_IDLE
			    ? sched_setscheduler(tid, SCHED_IDLE, &param) == 0
			    : setpriority(PRIO_PROCESS, (id_t)tid, 19) == 0;
	if (done)
		*saved = (struct ad_priority_saved){ .lowered = true, .policy = policy, .nice = nice };
}

void ad_priority_restore(const struct ad_priority_saved *saved)
{
	if (!saved->lowered)
		return;
	pid_t tid = this_thread();
	struct sched_param param = { .sched_priority = 0 };
	/* Best effort: may_return_to() said the kernel allows both. */
	(void)sched_setscheduler(tid, saved->policy, &param);
	(void)setpriority(PRIO_PROCESS, (id_t)tid, saved->nice);
}
