/* SPDX-License-Identifier: MIT */
/* The daemon's sampler (daemon/sampler.c): requests for one process share
 * a sample, each holds a reference, and the last reference frees it.
 *
 * ad_capture, ad_trace_destroy and pthread_cond_wait are wrapped at link
 * time (-Wl,--wrap): the capture is a fake that the test lets finish, the
 * traces freed are counted, and a request waiting for a running sample is
 * seen waiting. The process sampled is the test itself (its pid and start
 * time), so the sampler's check that the process did not change holds. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "asyncdump/procfs.h"
#include "log.h"
#include "sampler.h"

struct ad_error *__real_ad_capture(struct ad_context *ctx, pid_t pid,
				   const struct ad_capture_options *options, struct ad_trace **ret);
void __real_ad_trace_destroy(struct ad_trace *t);
int __real_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex);
struct ad_error *__wrap_ad_capture(struct ad_context *ctx, pid_t pid,
				   const struct ad_capture_options *options, struct ad_trace **ret);
void __wrap_ad_trace_destroy(struct ad_trace *t);
int __wrap_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex);

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool hold;            /* captures wait until released */
	bool fail;            /* captures fail */
	unsigned started;     /* captures begun */
	bool last_locals;     /* the last capture's options */
} fake = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0, false };
static atomic_int destroyed, waiting, observed;

struct ad_error *__wrap_ad_capture(struct ad_context *ctx, pid_t pid,
				   const struct ad_capture_options *options, struct ad_trace **ret)
{
	(void)ctx;
	pthread_mutex_lock(&fake.lock);
	fake.started++;
	fake.last_locals = options && options->locals;
	pthread_cond_broadcast(&fake.changed);
	while (fake.hold)
		__real_pthread_cond_wait(&fake.changed, &fake.lock);
	bool fail = fake.fail;
	pthread_mutex_unlock(&fake.lock);
	if (fail)
		return ad_error_create(AD_ERROR_ALREADY_TRACED, "process %d: injected failure", (int)pid);
	struct ad_trace *t = ad_trace_create();
	ck_assert_ptr_nonnull(t);
	t->pid = pid;
	*ret = t;
	return NULL;
}

void __wrap_ad_trace_destroy(struct ad_trace *t)
{
	if (t)
		atomic_fetch_add(&destroyed, 1);
	__real_ad_trace_destroy(t);
}

/* The sampler's waits: a request waiting for another's sample. */
int __wrap_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
	atomic_fetch_add(&waiting, 1);
	int r = __real_pthread_cond_wait(cond, mutex);
	atomic_fetch_sub(&waiting, 1);
	return r;
}

static void observer(void *arg, pid_t pid, struct ad_trace *trace, int64_t started_ns,
		     double duration_s)
{
	(void)arg;
	(void)started_ns;
	(void)duration_s;
	ck_assert_int_eq(trace->pid, pid);
	atomic_fetch_add(&observed, 1);
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Polls `cond` for up to ten seconds. */
#define EVENTUALLY(cond)                                                   \
	do {                                                               \
		for (int i_ = 0; i_ < 1000 && !(cond); i_++)               \
			sleep_ms(10);                                      \
		ck_assert_msg((cond), "never: %s", #cond);                 \
	} while (0)

static pid_t self;
static unsigned long long self_start;

static struct sampler *setup(void)
{
	fake.hold = fake.fail = false;
	fake.started = 0;
	atomic_store(&destroyed, 0);
	atomic_store(&waiting, 0);
	atomic_store(&observed, 0);
	log_set_level(AD_LOG_ERROR);
	self = getpid();
	ck_assert(ad_process_start_time(self, &self_start));
	struct sampler *s;
	ck_assert_ptr_null(sampler_create(NULL, 4, 0, &s));
	sampler_set_observer(s, observer, NULL);
	return s;
}

static void hold_captures(bool hold)
{
	pthread_mutex_lock(&fake.lock);
	fake.hold = hold;
	pthread_cond_broadcast(&fake.changed);
	pthread_mutex_unlock(&fake.lock);
}

static unsigned captures_started(void)
{
	pthread_mutex_lock(&fake.lock);
	unsigned n = fake.started;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/* A request on a thread of its own. */
struct request {
	struct sampler *s;
	bool locals;
	uint64_t max_age_ms;
	pthread_t thread;
	struct ad_error *err;
	struct sampled sampled;
};

static void *request_run(void *arg)
{
	struct request *r = arg;
	r->err = sampler_get(r->s, self, self_start, r->locals, false, r->max_age_ms, &r->sampled);
	return NULL;
}

static void start(struct request *r, struct sampler *s, bool locals)
{
	*r = (struct request){ .s = s, .locals = locals };
	ck_assert_int_eq(pthread_create(&r->thread, NULL, request_run, r), 0);
}

static void finish(struct request *r)
{
	pthread_join(r->thread, NULL);
	ck_assert_ptr_null(r->err);
}

START_TEST(concurrent_requests_share_one_sample)
{
	struct sampler *s = setup();
	hold_captures(true);
	struct request a, b;
	start(&a, s, false);
	EVENTUALLY(captures_started() == 1);
	start(&b, s, false);
	EVENTUALLY(atomic_load(&waiting) == 1); /* b waits for a's sample */
	hold_captures(false);
	finish(&a);
	finish(&b);
	ck_assert_uint_eq(captures_started(), 1);
	ck_assert_int_eq(atomic_load(&observed), 1);
	ck_assert_ptr_eq(a.sampled.trace, b.sampled.trace);
	ck_assert_int_eq(a.sampled.source, SAMPLE_FRESH);
	ck_assert_int_eq(b.sampled.source, SAMPLE_SHARED);
	sampler_release(s, &a.sampled);
	sampler_release(s, &b.sampled);
	ck_assert_ptr_null(a.sampled.handle);
	ck_assert_int_eq(atomic_load(&destroyed), 0); /* kept for reuse */
	sampler_destroy(s);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
}
END_TEST

START_TEST(a_waiter_that_leaves_early_keeps_the_sample_for_the_others)
{
	struct sampler *s = setup();
	hold_captures(true);
	struct request a, b, c;
	start(&a, s, false);
	EVENTUALLY(captures_started() == 1);
	start(&b, s, false);
	start(&c, s, false);
	EVENTUALLY(atomic_load(&waiting) == 2);
	hold_captures(false);
	finish(&a);
	finish(&b);
	finish(&c);
	ck_assert_uint_eq(captures_started(), 1);
	/* b is done with it first, then the one that took it. */
	sampler_release(s, &b.sampled);
	sampler_release(s, &a.sampled);
	ck_assert_int_eq(atomic_load(&destroyed), 0);
	ck_assert_int_eq(c.sampled.trace->pid, self); /* still c's to read */
	sampler_release(s, &c.sampled);
	sampler_destroy(s);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
}
END_TEST

START_TEST(a_waiter_needing_more_takes_its_own_sample)
{
	struct sampler *s = setup();
	hold_captures(true);
	struct request plain, with_locals;
	start(&plain, s, false);
	EVENTUALLY(captures_started() == 1);
	start(&with_locals, s, true);
	EVENTUALLY(atomic_load(&waiting) == 1);
	hold_captures(false);
	finish(&plain);
	finish(&with_locals);
	ck_assert_uint_eq(captures_started(), 2); /* the shared one decoded no locals */
	ck_assert(fake.last_locals);
	ck_assert_int_eq(with_locals.sampled.source, SAMPLE_FRESH);
	ck_assert_ptr_ne(plain.sampled.trace, with_locals.sampled.trace);
	/* The newer sample is the one kept: the first goes with its last
	 * reference, the request's. */
	sampler_release(s, &with_locals.sampled);
	ck_assert_int_eq(atomic_load(&destroyed), 0);
	sampler_release(s, &plain.sampled);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	sampler_destroy(s);
	ck_assert_int_eq(atomic_load(&destroyed), 2);
}
END_TEST

START_TEST(the_last_reference_frees_a_replaced_sample)
{
	struct sampler *s = setup();
	struct sampled first, second, cached;
	ck_assert_ptr_null(sampler_get(s, self, self_start, false, false, 0, &first));
	ck_assert_ptr_null(sampler_get(s, self, self_start, false, false, 0, &second)); /* max_age 0: fresh */
	ck_assert_uint_eq(captures_started(), 2);
	ck_assert_ptr_ne(first.trace, second.trace);
	ck_assert_int_eq(atomic_load(&destroyed), 0); /* first is still held */
	/* A streamed response holds it past the request. */
	struct sampler_handle *h = sampler_hand_over(s, &first);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_null(first.handle);
	sampler_release(s, &first); /* nothing: handed over */
	ck_assert_int_eq(atomic_load(&destroyed), 0);
	sampler_release_handle(h);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	/* The kept one is reused while young enough. */
	ck_assert_ptr_null(sampler_get(s, self, self_start, false, false, SAMPLER_MAX_AGE_MS, &cached));
	ck_assert_int_eq(cached.source, SAMPLE_CACHED);
	ck_assert_ptr_eq(cached.trace, second.trace);
	ck_assert_uint_eq(captures_started(), 2);
	sampler_release(s, &second);
	sampler_release(s, &cached);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	sampler_destroy(s);
	ck_assert_int_eq(atomic_load(&destroyed), 2);
}
END_TEST

START_TEST(a_new_sample_does_not_keep_the_last_one_alive)
{
	struct sampler *s = setup();
	struct sampled first;
	ck_assert_ptr_null(sampler_get(s, self, self_start, false, false, 0, &first));
	sampler_release(s, &first); /* only the slot keeps it now */
	ck_assert_int_eq(atomic_load(&destroyed), 0);
	hold_captures(true);
	struct request r;
	start(&r, s, false); /* max_age 0: a fresh one */
	EVENTUALLY(captures_started() == 2);
	/* The new capture runs: the kept one is gone already. */
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	hold_captures(false);
	finish(&r);
	sampler_release(s, &r.sampled);
	sampler_destroy(s);
	ck_assert_int_eq(atomic_load(&destroyed), 2);
}
END_TEST

START_TEST(failed_samples_are_shared_but_not_kept)
{
	struct sampler *s = setup();
	fake.fail = true;
	hold_captures(true);
	struct request a, b;
	start(&a, s, false);
	EVENTUALLY(captures_started() == 1);
	start(&b, s, false);
	EVENTUALLY(atomic_load(&waiting) == 1);
	hold_captures(false);
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
	ck_assert_ptr_nonnull(a.err);
	ck_assert_ptr_nonnull(b.err); /* a copy of the same error */
	ck_assert_ptr_ne(a.err, b.err);
	ck_assert_int_eq(b.err->code, AD_ERROR_ALREADY_TRACED);
	ck_assert_str_eq(a.err->message, b.err->message);
	ck_assert_uint_eq(captures_started(), 1);
	ck_assert_int_eq(atomic_load(&observed), 0);
	ad_error_destroy(a.err);
	ad_error_destroy(b.err);
	fake.fail = false;
	struct sampled again;
	ck_assert_ptr_null(sampler_get(s, self, self_start, false, false, SAMPLER_MAX_AGE_MS, &again));
	ck_assert_int_eq(again.source, SAMPLE_FRESH); /* nothing was kept */
	sampler_release(s, &again);
	sampler_destroy(s);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sampler");
	TCase *tc = tcase_create("references");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_requests_share_one_sample);
	tcase_add_test(tc, a_waiter_that_leaves_early_keeps_the_sample_for_the_others);
	tcase_add_test(tc, a_waiter_needing_more_takes_its_own_sample);
	tcase_add_test(tc, the_last_reference_frees_a_replaced_sample);
	tcase_add_test(tc, failed_samples_are_shared_but_not_kept);
	tcase_add_test(tc, a_new_sample_does_not_keep_the_last_one_alive);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
