/* SPDX-License-Identifier: MIT */
/* Decoding at a low priority (core/priority.c, issue 18): the thread is
 * lowered as asked and raised back to exactly where it was. */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "priority.h"

static id_t tid(void)
{
	return (id_t)syscall(SYS_gettid);
}

static int nice_now(void)
{
	errno = 0;
	int n = getpriority(PRIO_PROCESS, tid());
	ck_assert_int_eq(errno, 0);
	return n;
}

/* Whether this process may raise a lowered thread back (else nothing is lowered). */
static bool may_restore(void)
{
	struct rlimit rl;
	return geteuid() == 0 ||
	       (getrlimit(RLIMIT_NICE, &rl) == 0 &&
		(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)(20 - nice_now())));
}

START_TEST(idle_then_back)
{
	int policy = sched_getscheduler((pid_t)tid()), nice = nice_now();
	ck_assert_int_eq(policy, SCHED_OTHER);
	struct ad_priority_saved saved;
	ad_priority_lower(AD_DECODE_PRIORITY_IDLE, &saved);
	ck_assert(saved.lowered == may_restore());
	ck_assert_int_eq(sched_getscheduler((pid_t)tid()), saved.lowered ? SCHED_IDLE : SCHED_OTHER);
	ad_priority_restore(&saved);
	ck_assert_int_eq(sched_getscheduler((pid_t)tid()), policy);
	ck_assert_int_eq(nice_now(), nice);
}
END_TEST

START_TEST(nice_then_back)
{
	int nice = nice_now();
	struct ad_priority_saved saved;
	ad_priority_lower(AD_DECODE_PRIORITY_NICE, &saved);
	ck_assert(saved.lowered == may_restore());
	ck_assert_int_eq(nice_now(), saved.lowered ? 19 : nice);
	ad_priority_restore(&saved);
	ck_assert_int_eq(nice_now(), nice);
	ck_assert_int_eq(sched_getscheduler((pid_t)tid()), SCHED_OTHER);
}
END_TEST

START_TEST(normal_changes_nothing)
{
	int nice = nice_now();
	struct ad_priority_saved saved;
	ad_priority_lower(AD_DECODE_PRIORITY_NORMAL, &saved);
	ck_assert(!saved.lowered);
	ck_assert_int_eq(nice_now(), nice);
	ad_priority_restore(&saved);
	ck_assert_int_eq(nice_now(), nice);
}
END_TEST

START_TEST(a_batch_caller_is_left_alone)
{
	struct sched_param p = { .sched_priority = 0 };
	ck_assert_int_eq(sched_setscheduler((pid_t)tid(), SCHED_BATCH, &p), 0);
	struct ad_priority_saved saved;
	ad_priority_lower(AD_DECODE_PRIORITY_IDLE, &saved);
	ck_assert(!saved.lowered);
	ck_assert_int_eq(sched_getscheduler((pid_t)tid()), SCHED_BATCH);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("priority");
	TCase *tc = tcase_create("lower and restore");
	tcase_add_test(tc, idle_then_back);
	tcase_add_test(tc, nice_then_back);
	tcase_add_test(tc, normal_changes_nothing);
	tcase_add_test(tc, a_batch_caller_is_left_alone);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
