/* SPDX-License-Identifier: MIT */
/* The progress tracker on hand-built traces: fingerprints, how long a task
 * has been unchanged, what resets it, expected waits and where a task waits. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/progress.h"

#define SEC 1000000000LL
/* ad_expected_wait holds a malloc'ed pattern; tests point it at literals. */
#define PATTERN(s) ((char *)(s))

/* One task as decoders build it:
 *   app::worker() suspended at src/worker.rs:LINE
 *     app::inner() suspended at src/inner.rs:7
 *       tokio::time::sleep::Sleep [blocked on timer RESOURCE, deadline DEADLINE] */
struct shape {
	uint64_t id;
	uint64_t address;
	enum ad_task_state state;
	unsigned line;
	uint64_t resource;
	int64_t deadline_ns; /* 0: no deadline */
	int64_t time_left_ns;
	uint64_t frame_address;
};

static const struct shape base = {
	.id = 7, .address = 0x1000, .state = AD_TASK_IDLE, .line = 42, .resource = 0x789,
	.deadline_ns = 5 * SEC, .time_left_ns = 3 * SEC, .frame_address = 0x2000,
};

static struct ad_frame *frame(enum ad_frame_kind kind, const char *name, const char *file,
			      unsigned line, uint64_t address)
{
	struct ad_frame *f = ad_frame_create(kind, name, NULL, address);
	ck_assert_ptr_nonnull(f);
	f->state = AD_FRAME_SUSPENDED;
	if (file)
		ck_assert_ptr_null(ad_frame_set_location(f, file, line, 0));
	return f;
}

static void add_child(struct ad_frame *parent, struct ad_frame *child)
{
	ck_assert_ptr_null(ad_frame_add_child(parent, child));
}

static struct ad_frame *sleep_leaf(const struct shape *s)
{
	struct ad_frame *leaf = frame(AD_FRAME_FUTURE, "tokio::time::sleep::Sleep", NULL, 0,
				      s->frame_address + 0x80);
	leaf->state = AD_FRAME_PENDING;
	struct ad_blocked_on *b;
	ck_assert_ptr_null(ad_frame_block_on(leaf, AD_RESOURCE_TIMER, s->resource, &b));
	if (s->deadline_ns) {
		b->has_deadline = true;
		b->deadline_ns = s->deadline_ns;
		b->time_left_ns = s->time_left_ns;
	}
	return leaf;
}

static struct ad_task *add_task(struct ad_trace *t, const struct shape *s)
{
	struct ad_task *task;
	ck_assert_ptr_null(ad_trace_add_task(t, &task));
	task->has_id = true;
	task->id = s->id;
	task->address = s->address;
	task->state = s->state;
	task->root = frame(AD_FRAME_ASYNC_FN, "app::worker", "/build/app/src/worker.rs", s->line,
			   s->frame_address);
	struct ad_frame *inner =
		frame(AD_FRAME_ASYNC_FN, "app::inner", "src/inner.rs", 7, s->frame_address + 0x40);
	add_child(inner, sleep_leaf(s));
	add_child(task->root, inner);
	return task;
}

static struct ad_trace *trace_of(const struct shape *s)
{
	struct ad_trace *t = ad_trace_create();
	ck_assert_ptr_nonnull(t);
	add_task(t, s);
	return t;
}

static uint64_t fingerprint_of(const struct shape *s)
{
	struct ad_trace *t = trace_of(s);
	uint64_t h = ad_task_fingerprint(&t->tasks[0]);
	ad_trace_destroy(t);
	return h;
}

static struct ad_progress *tracker(uint64_t threshold_ms, const struct ad_expected_wait *expected,
				   size_t nexpected)
{
	struct ad_progress_options options = {
		.stuck_threshold_ms = threshold_ms, .expected = expected, .nexpected = nexpected,
	};
	struct ad_progress *p;
	ck_assert_ptr_null(ad_progress_create(&options, &p));
	return p;
}

/* Feeds a one-task sample of shape `s` at `at_ns` and returns what the
 * tracker says of it; checks that the trace carries the same time. */
static struct ad_task_progress sample(struct ad_progress *p, const struct shape *s, int64_t at_ns)
{
	struct ad_trace *t = trace_of(s);
	struct ad_progress_report r;
	ck_assert_ptr_null(ad_progress_update(p, t, at_ns, &r));
	ck_assert_uint_eq(r.ntasks, 1);
	struct ad_task_progress tp = r.tasks[0];
	ck_assert(t->tasks[0].has_unchanged_for == tp.tracked);
	if (tp.tracked)
		ck_assert_double_eq(t->tasks[0].unchanged_for_s, tp.unchanged_for_s);
	tp.wait_frame = NULL; /* points into the trace, freed here */
	ad_progress_report_deinit(&r);
	ad_trace_destroy(t);
	return tp;
}

START_TEST(fingerprint_is_the_chain_and_the_resource)
{
	uint64_t h = fingerprint_of(&base);
	ck_assert_uint_ne(h, 0);
	ck_assert_uint_eq(h, fingerprint_of(&base)); /* built twice, hashed the same */

	struct shape s = base;
	s.time_left_ns = 1 * SEC; /* changes by itself between samples */
	ck_assert_uint_eq(h, fingerprint_of(&s));
	s = base;
	s.frame_address = 0x9000; /* the same futures elsewhere in memory */
	ck_assert_uint_eq(h, fingerprint_of(&s));
	s = base;
	s.state = AD_TASK_RUNNING; /* the state is tracked apart */
	ck_assert_uint_eq(h, fingerprint_of(&s));

	s = base;
	s.line = 43; /* another suspension point */
	ck_assert_uint_ne(h, fingerprint_of(&s));
	s = base;
	s.resource = 0x78a; /* another resource */
	ck_assert_uint_ne(h, fingerprint_of(&s));
	s = base;
	s.deadline_ns += 100000000; /* the timer was re-armed */
	ck_assert_uint_ne(h, fingerprint_of(&s));
	s = base;
	s.deadline_ns = 0; /* no deadline known */
	ck_assert_uint_ne(h, fingerprint_of(&s));
}
END_TEST

START_TEST(fingerprint_sees_frame_types_and_states)
{
	struct ad_trace *t = trace_of(&base);
	struct ad_task *task = &t->tasks[0];
	uint64_t h = ad_task_fingerprint(task);
	task->root->children[0]->state = AD_FRAME_UNRESUMED;
	uint64_t h_state = ad_task_fingerprint(task);
	ck_assert_uint_ne(h, h_state);
	task->root->children[0]->state = AD_FRAME_SUSPENDED;
	ck_assert_uint_eq(h, ad_task_fingerprint(task));
	/* The same frame but for its type (which the frame owns). */
	struct ad_frame *was = task->root->children[0];
	struct ad_frame *other =
		ad_frame_create(was->kind, was->name, "app::other::{async_fn_env#0}", was->address);
	ck_assert_ptr_nonnull(other);
	other->state = was->state;
	if (was->location)
		ck_assert_ptr_null(ad_frame_set_location(other, was->location->file,
							 was->location->line, was->location->column));
	other->children = was->children;
	other->nchildren = was->nchildren;
	other->blocked_on = was->blocked_on;
	was->children = NULL;
	was->nchildren = 0;
	was->blocked_on = NULL;
	ad_frame_destroy(was);
	task->root->children[0] = other;
	ck_assert_uint_ne(h, ad_task_fingerprint(task));
	ad_trace_destroy(t);

	/* A task with no tree hashes, and differently from one with a tree. */
	struct ad_trace *empty = ad_trace_create();
	struct ad_task *bare;
	ck_assert_ptr_null(ad_trace_add_task(empty, &bare));
	ck_assert_uint_ne(ad_task_fingerprint(bare), 0);
	ck_assert_uint_ne(ad_task_fingerprint(bare), h);
	ad_trace_destroy(empty);
}
END_TEST

START_TEST(unchanged_grows_until_stuck)
{
	struct ad_progress *p = tracker(1500, NULL, 0);
	struct ad_task_progress tp = sample(p, &base, 10 * SEC);
	ck_assert(tp.tracked);
	ck_assert_double_eq(tp.unchanged_for_s, 0);
	ck_assert(!tp.stuck);
	tp = sample(p, &base, 11 * SEC);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 1.0, 1e-9);
	ck_assert(!tp.stuck);
	tp = sample(p, &base, 11 * SEC + SEC / 2);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 1.5, 1e-9);
	ck_assert(tp.stuck); /* the threshold itself counts */
	tp = sample(p, &base, 15 * SEC);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 5.0, 1e-9);
	ck_assert(tp.stuck);

	/* Moving on resets; staying there again counts from the move. */
	struct shape moved = base;
	moved.line = 50;
	tp = sample(p, &moved, 16 * SEC);
	ck_assert_double_eq(tp.unchanged_for_s, 0);
	ck_assert(!tp.stuck);
	tp = sample(p, &moved, 18 * SEC);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 2.0, 1e-9);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(moving_deadline_is_progress)
{
	/* loop { sleep(100ms).await }: the same chain and timer, a new deadline. */
	struct ad_progress *p = tracker(1000, NULL, 0);
	struct shape s = base;
	for (int i = 0; i < 10; i++) {
		s.deadline_ns = 10 * SEC + i * (SEC / 5) + SEC / 10;
		struct ad_task_progress tp = sample(p, &s, 10 * SEC + i * (SEC / 5));
		ck_assert_double_eq(tp.unchanged_for_s, 0);
		ck_assert(!tp.stuck);
	}
	/* A deadline that stays (a timer that never fires) is no progress. */
	s.deadline_ns = 19 * SEC;
	ck_assert_double_eq(sample(p, &s, 20 * SEC).unchanged_for_s, 0);
	struct ad_task_progress tp = sample(p, &s, 22 * SEC);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 2.0, 1e-9);
	ck_assert(tp.stuck);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(state_change_is_progress)
{
	struct ad_progress *p = tracker(1000, NULL, 0);
	struct shape s = base;
	sample(p, &s, 0);
	ck_assert_double_eq_tol(sample(p, &s, 2 * SEC).unchanged_for_s, 2.0, 1e-9);
	s.state = AD_TASK_SCHEDULED; /* NOTIFIED: woken since the last sample */
	ck_assert_double_eq(sample(p, &s, 3 * SEC).unchanged_for_s, 0);
	s.state = AD_TASK_IDLE; /* polled, and back at the same point */
	ck_assert_double_eq(sample(p, &s, 4 * SEC).unchanged_for_s, 0);
	s.state = AD_TASK_RUNNING;
	ck_assert_double_eq(sample(p, &s, 5 * SEC).unchanged_for_s, 0);
	/* RUNNING in both samples with the same tree: inside one poll all along */
	struct ad_task_progress tp = sample(p, &s, 7 * SEC);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 2.0, 1e-9);
	ck_assert(tp.stuck);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(reappearing_task_is_new)
{
	struct ad_progress *p = tracker(1000, NULL, 0);
	sample(p, &base, 0);
	ck_assert_double_eq_tol(sample(p, &base, 2 * SEC).unchanged_for_s, 2.0, 1e-9);

	/* A sample without the task: forgotten. */
	struct shape other = base;
	other.id = 8;
	other.address = 0x5000;
	sample(p, &other, 3 * SEC);
	struct ad_task_progress tp = sample(p, &base, 4 * SEC);
	ck_assert_double_eq(tp.unchanged_for_s, 0);
	ck_assert_double_eq_tol(sample(p, &base, 5 * SEC).unchanged_for_s, 1.0, 1e-9);

	/* The same id at another address is another task. */
	struct shape moved = base;
	moved.address = 0x6000;
	ck_assert_double_eq(sample(p, &moved, 6 * SEC).unchanged_for_s, 0);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(tasks_without_id_are_told_apart_by_address)
{
	struct ad_progress *p = tracker(1000, NULL, 0);
	struct shape s = base;
	struct ad_trace *t = trace_of(&s);
	t->tasks[0].has_id = false;
	t->tasks[0].kind = AD_TASK_KIND_BLOCK_ON;
	struct ad_progress_report r;
	ck_assert_ptr_null(ad_progress_update(p, t, 0, &r));
	ad_progress_report_deinit(&r);
	ck_assert_ptr_null(ad_progress_update(p, t, 3 * SEC, &r));
	ck_assert_double_eq_tol(r.tasks[0].unchanged_for_s, 3.0, 1e-9);
	ck_assert_uint_eq(r.nstuck, 1);
	ad_progress_report_deinit(&r);
	t->tasks[0].address = 0x1008; /* another block_on */
	ck_assert_ptr_null(ad_progress_update(p, t, 4 * SEC, &r));
	ck_assert_double_eq(r.tasks[0].unchanged_for_s, 0);
	ad_progress_report_deinit(&r);
	ad_trace_destroy(t);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(time_never_goes_backwards)
{
	struct ad_progress *p = tracker(1000, NULL, 0);
	sample(p, &base, 10 * SEC);
	sample(p, &base, 12 * SEC);
	struct ad_task_progress tp = sample(p, &base, 11 * SEC);
	ck_assert_double_eq_tol(tp.unchanged_for_s, 2.0, 1e-9);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(finished_tasks_are_not_tracked)
{
	struct ad_progress *p = tracker(1000, NULL, 0);
	struct shape s = base;
	s.state = AD_TASK_COMPLETE;
	sample(p, &s, 0);
	struct ad_task_progress tp = sample(p, &s, 5 * SEC);
	ck_assert(!tp.tracked);
	ck_assert(!tp.stuck);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(expected_wait_patterns)
{
	struct ad_trace *t = trace_of(&base);
	const struct ad_frame *worker = t->tasks[0].root, *inner = worker->children[0],
			      *leaf = inner->children[0];
	struct ad_expected_wait fn = { AD_EXPECTED_WAIT_FUNCTION, PATTERN("*::worker"), 0 };
	ck_assert(ad_expected_wait_matches(&fn, worker));
	ck_assert(!ad_expected_wait_matches(&fn, inner));
	fn.pattern = PATTERN("app::*");
	ck_assert(ad_expected_wait_matches(&fn, inner));
	ck_assert(!ad_expected_wait_matches(&fn, leaf));

	/* the whole path, or a trailing part after a '/' */
	struct ad_expected_wait at = { AD_EXPECTED_WAIT_LOCATION, PATTERN("src/worker.rs"), 42 };
	ck_assert(ad_expected_wait_matches(&at, worker));
	at.pattern = PATTERN("/build/app/src/worker.rs");
	ck_assert(ad_expected_wait_matches(&at, worker));
	at.pattern = PATTERN("*/worker.rs");
	ck_assert(ad_expected_wait_matches(&at, worker));
	at.pattern = PATTERN("rc/worker.rs"); /* not at a '/' */
	ck_assert(!ad_expected_wait_matches(&at, worker));
	at.pattern = PATTERN("src/worker.rs");
	at.line = 41;
	ck_assert(!ad_expected_wait_matches(&at, worker));
	at.line = 0; /* any line */
	ck_assert(ad_expected_wait_matches(&at, worker));
	ck_assert(!ad_expected_wait_matches(&at, leaf)); /* no location */

	/* a macro's call site counts too */
	struct ad_frame *m = frame(AD_FRAME_FUTURE, "tokio::select", "tokio/src/macros/select.rs",
				   500, 0);
	ck_assert_ptr_null(ad_frame_set_macro_location(m, "src/idle.rs", 12, 0));
	struct ad_expected_wait idle = { AD_EXPECTED_WAIT_LOCATION, PATTERN("src/idle.rs"), 12 };
	ck_assert(ad_expected_wait_matches(&idle, m));
	ad_frame_destroy(m);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(expected_waits_are_not_stuck)
{
	struct ad_expected_wait expected[] = {
		{ AD_EXPECTED_WAIT_FUNCTION, PATTERN("*::accept_loop"), 0 },
		{ AD_EXPECTED_WAIT_LOCATION, PATTERN("src/worker.rs"), 42 },
	};
	struct ad_progress *p = tracker(1000, expected, 2);
	struct ad_trace *t = ad_trace_create();
	add_task(t, &base); /* waits at src/worker.rs:42: expected */
	struct shape elsewhere = base;
	elsewhere.id = 8;
	elsewhere.address = 0x3000;
	elsewhere.line = 60; /* not expected */
	add_task(t, &elsewhere);

	struct ad_progress_report r;
	ck_assert_ptr_null(ad_progress_update(p, t, 0, &r));
	ad_progress_report_deinit(&r);
	ck_assert_ptr_null(ad_progress_update(p, t, 90 * SEC, &r));
	ck_assert_uint_eq(r.ntasks, 2);
	ck_assert(r.tasks[0].expected_wait);
	ck_assert(!r.tasks[0].stuck);
	ck_assert_double_eq_tol(r.tasks[0].unchanged_for_s, 90.0, 1e-9); /* still reported */
	ck_assert(t->tasks[0].has_unchanged_for);
	ck_assert(t->tasks[0].expected_wait); /* in the model, for the renderers */
	ck_assert(!t->tasks[1].expected_wait);
	ck_assert(!r.tasks[1].expected_wait);
	ck_assert(r.tasks[1].stuck);
	ck_assert_uint_eq(r.nstuck, 1);
	ck_assert_uint_eq(r.nexpected_waits, 1);
	ck_assert_double_eq_tol(r.longest_unchanged_s, 90.0, 1e-9);
	ad_progress_report_deinit(&r);
	ad_trace_destroy(t);
	ad_progress_destroy(p);
}
END_TEST

START_TEST(every_branch_must_be_expected)
{
	/* join(accept_loop(), stuck()) waits forever in one branch by design
	 * and in the other by accident: not an expected wait. */
	struct ad_trace *t = ad_trace_create();
	struct ad_task *task;
	ck_assert_ptr_null(ad_trace_add_task(t, &task));
	task->root = frame(AD_FRAME_ASYNC_FN, "app::main", "src/main.rs", 5, 0x100);
	struct ad_frame *join = frame(AD_FRAME_FUTURE, "futures_util::future::join::Join<…>",
				      NULL, 0, 0x140);
	struct ad_frame *accept =
		frame(AD_FRAME_ASYNC_FN, "app::net::accept_loop", "src/net.rs", 20, 0x180);
	struct ad_frame *stuck = frame(AD_FRAME_ASYNC_FN, "app::stuck", "src/stuck.rs", 3, 0x1c0);
	struct ad_frame *done = frame(AD_FRAME_ASYNC_FN, "app::done", "src/done.rs", 9, 0x200);
	done->state = AD_FRAME_COMPLETED;
	add_child(join, accept);
	add_child(join, stuck);
	add_child(join, done);
	add_child(task->root, join);

	struct ad_expected_wait expected[] = {
		{ AD_EXPECTED_WAIT_FUNCTION, PATTERN("*::accept_loop"), 0 },
		{ AD_EXPECTED_WAIT_FUNCTION, PATTERN("app::stuck"), 0 },
	};
	ck_assert(!ad_task_in_expected_wait(task, expected, 1));
	/* the completed branch needs no match */
	ck_assert(ad_task_in_expected_wait(task, expected, 2));
	ck_assert(!ad_task_in_expected_wait(task, expected, 0));
	struct ad_expected_wait at_main = { AD_EXPECTED_WAIT_FUNCTION, PATTERN("app::main"), 0 };
	ck_assert(ad_task_in_expected_wait(task, &at_main, 1)); /* the root covers all */
	ad_trace_destroy(t);
}
END_TEST

START_TEST(wait_frame_is_the_innermost_suspension_point)
{
	struct ad_trace *t = trace_of(&base);
	const struct ad_frame *f = ad_task_wait_frame(&t->tasks[0]);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->name, "app::inner");
	ck_assert_str_eq(f->location->file, "src/inner.rs");

	/* The first branch that says what it waits on, depth first. */
	struct ad_task *task;
	ck_assert_ptr_null(ad_trace_add_task(t, &task));
	task->root = frame(AD_FRAME_ASYNC_FN, "app::main", "src/main.rs", 5, 0x100);
	struct ad_frame *idle = frame(AD_FRAME_ASYNC_FN, "app::idle", "src/idle.rs", 8, 0x140);
	struct ad_frame *waits = frame(AD_FRAME_ASYNC_FN, "app::waits", "src/waits.rs", 4, 0x180);
	struct ad_frame *leaf = frame(AD_FRAME_FUTURE, "tokio::sync::notify::Notified", NULL, 0,
				      0x1c0);
	struct ad_blocked_on *b;
	ck_assert_ptr_null(ad_frame_block_on(leaf, AD_RESOURCE_NOTIFY, 0x10, &b));
	add_child(waits, leaf);
	add_child(task->root, idle);
	add_child(task->root, waits);
	f = ad_task_wait_frame(task);
	ck_assert_str_eq(f->name, "app::waits");

	/* Nothing blocked and no location: the first leaf. */
	struct ad_task *bare;
	ck_assert_ptr_null(ad_trace_add_task(t, &bare));
	ck_assert_ptr_null(ad_task_wait_frame(bare));
	bare->root = frame(AD_FRAME_FUTURE, "hand::Written", NULL, 0, 0x300);
	add_child(bare->root, frame(AD_FRAME_FUTURE, "hand::Inner", NULL, 0, 0x340));
	f = ad_task_wait_frame(bare);
	ck_assert_str_eq(f->name, "hand::Inner");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(deep_trees_are_bounded)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_task *task;
	ck_assert_ptr_null(ad_trace_add_task(t, &task));
	task->root = frame(AD_FRAME_ASYNC_FN, "app::deep", "src/deep.rs", 1, 0);
	struct ad_frame *f = task->root;
	for (int i = 0; i < 3 * AD_FRAME_MAX_DEPTH; i++) {
		struct ad_frame *child = frame(AD_FRAME_ASYNC_FN, "app::deep", "src/deep.rs", 1, 0);
		add_child(f, child);
		f = child;
	}
	ck_assert_uint_ne(ad_task_fingerprint(task), 0);
	struct ad_expected_wait deep = { AD_EXPECTED_WAIT_FUNCTION, PATTERN("nothing"), 0 };
	ck_assert(!ad_task_in_expected_wait(task, &deep, 1));
	ck_assert_ptr_nonnull(ad_task_wait_frame(task));
	ad_trace_destroy(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("progress");
	TCase *fp = tcase_create("fingerprint");
	tcase_add_test(fp, fingerprint_is_the_chain_and_the_resource);
	tcase_add_test(fp, fingerprint_sees_frame_types_and_states);
	tcase_add_test(fp, deep_trees_are_bounded);
	suite_add_tcase(s, fp);
	TCase *tr = tcase_create("tracker");
	tcase_add_test(tr, unchanged_grows_until_stuck);
	tcase_add_test(tr, moving_deadline_is_progress);
	tcase_add_test(tr, state_change_is_progress);
	tcase_add_test(tr, reappearing_task_is_new);
	tcase_add_test(tr, tasks_without_id_are_told_apart_by_address);
	tcase_add_test(tr, time_never_goes_backwards);
	tcase_add_test(tr, finished_tasks_are_not_tracked);
	suite_add_tcase(s, tr);
	TCase *ew = tcase_create("expected waits");
	tcase_add_test(ew, expected_wait_patterns);
	tcase_add_test(ew, expected_waits_are_not_stuck);
	tcase_add_test(ew, every_branch_must_be_expected);
	tcase_add_test(ew, wait_frame_is_the_innermost_suspension_point);
	suite_add_tcase(s, ew);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
