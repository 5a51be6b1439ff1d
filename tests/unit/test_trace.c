/* SPDX-License-Identifier: MIT */
/* The trace model: builders, lookups, names, destruction. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/trace.h"
#include "digits.h"
#include "failing_alloc.h"

#define ck_ok(expr) ck_assert_ptr_null(expr)

static struct ad_frame *fn(const char *name, enum ad_frame_state state)
{
	struct ad_frame *f = ad_frame_create(AD_FRAME_ASYNC_FN, name, NULL, 0x1000);
	ck_assert_ptr_nonnull(f);
	f->state = state;
	return f;
}

static void assert_error(struct ad_error *err, enum ad_error_code code, const char *message)
{
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, code);
	ck_assert_str_eq(err->message, message);
	ad_error_destroy(err);
}

START_TEST(new_trace_is_empty)
{
	struct ad_trace *t = ad_trace_create();
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->ntasks, 0);
	ck_assert_uint_eq(t->nruntimes, 0);
	ck_assert_uint_eq(t->nwarnings, 0);
	ck_assert_uint_eq(t->ncycles, 0);
	ck_assert_ptr_null(t->exe);
	ad_trace_destroy(t);
	ad_trace_destroy(NULL);
}
END_TEST

START_TEST(runtimes_get_their_index_as_id_and_copies_of_strings)
{
	struct ad_trace *t = ad_trace_create();
	char kind[] = "tokio", flavor[] = "multi_thread";
	struct ad_runtime *r0, *r1;
	ck_ok(ad_trace_add_runtime(t, kind, flavor, 0x7000, &r0));
	ck_ok(ad_trace_add_runtime(t, "tokio", NULL, 0x8000, &r1));
	kind[0] = flavor[0] = 'X';
	ck_assert_uint_eq(t->nruntimes, 2);
	ck_assert_ptr_eq(r1, &t->runtimes[1]);
	ck_assert_uint_eq(t->runtimes[0].id, 0);
	ck_assert_uint_eq(t->runtimes[1].id, 1);
	ck_assert_str_eq(t->runtimes[0].kind, "tokio");
	ck_assert_str_eq(t->runtimes[0].flavor, "multi_thread");
	ck_assert_ptr_null(t->runtimes[1].flavor);
	ck_assert_uint_eq(t->runtimes[1].address, 0x8000);
	ck_assert_uint_eq(t->runtimes[1].ntasks, 0);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(new_tasks_are_blank_with_unknown_state)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_task *task;
	for (int i = 0; i < 5; i++) {
		ck_ok(ad_trace_add_task(t, &task));
		task->has_id = true;
		task->id = 100 + (uint64_t)i;
	}
	ck_assert_uint_eq(t->ntasks, 5);
	ck_assert_ptr_eq(task, &t->tasks[4]);
	ck_assert_int_eq(task->kind, AD_TASK_KIND_TASK);
	ck_assert_int_eq(task->state, AD_TASK_STATE_UNKNOWN);
	ck_assert_ptr_null(task->root);
	ck_assert_ptr_null(task->note);
	ck_assert(!task->has_unchanged_for);
	ck_assert(!task->expected_wait);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(t->tasks[i].id, 100 + (uint64_t)i);
	ad_trace_destroy(t);
}
END_TEST

/* Tokio keeps its list newest first: the trace lists spawn order, within
 * each runtime's run of tasks; block_on futures (no id) stay where they are. */
START_TEST(tasks_are_sorted_by_id_within_each_runtime_and_kind)
{
	struct ad_trace *t = ad_trace_create();
	static const struct { unsigned runtime; enum ad_task_kind kind; bool has_id; uint64_t id; } in[] = {
		{ 0, AD_TASK_KIND_TASK, true, 9 },  { 0, AD_TASK_KIND_TASK, true, 3 },
		{ 0, AD_TASK_KIND_TASK, true, 5 },  { 1, AD_TASK_KIND_TASK, true, 2 },
		{ 1, AD_TASK_KIND_TASK, true, 1 },  { 1, AD_TASK_KIND_LOCAL, true, 8 },
		{ 1, AD_TASK_KIND_LOCAL, true, 7 }, { 0, AD_TASK_KIND_BLOCK_ON, false, 0 },
		{ 1, AD_TASK_KIND_BLOCK_ON, false, 0 },
	};
	static const uint64_t want[] = { 3, 5, 9, 1, 2, 7, 8, 0, 0 };
	static const unsigned want_runtime[] = { 0, 0, 0, 1, 1, 1, 1, 0, 1 };
	struct ad_task *task;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_ok(ad_trace_add_task(t, &task));
		task->runtime = in[i].runtime;
		task->kind = in[i].kind;
		task->has_id = in[i].has_id;
		task->id = in[i].id;
		task->address = 0x1000 + i;
	}
	ad_trace_sort_tasks(t);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_uint_eq(t->tasks[i].id, want[i]);
		ck_assert_uint_eq(t->tasks[i].runtime, want_runtime[i]);
	}
	/* The block_on futures kept their order (and their addresses). */
	ck_assert_uint_eq(t->tasks[7].address, 0x1007);
	ck_assert_uint_eq(t->tasks[8].address, 0x1008);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(setters_copy_replace_and_clear_strings)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_task *task;
	ck_ok(ad_trace_add_task(t, &task));
	ck_ok(ad_trace_set_exe(t, "/bin/a"));
	ck_ok(ad_trace_set_exe(t, "/bin/b"));
	ck_assert_str_eq(t->exe, "/bin/b");
	ck_ok(ad_trace_set_build_id(t, "abcd"));
	ck_ok(ad_trace_set_build_id(t, NULL));
	ck_assert_ptr_null(t->build_id);
	ck_ok(ad_trace_set_source_root(t, "/src"));
	ck_assert_str_eq(t->source_root, "/src");
	ck_ok(ad_task_set_thread(task, 42, "worker-1"));
	ck_assert_int_eq(task->tid, 42);
	ck_assert_str_eq(task->thread_name, "worker-1");
	ck_ok(ad_task_set_note(task, "future of %s optimised out", "demo::main"));
	ck_ok(ad_task_set_note(task, "note %d", 2));
	ck_assert_str_eq(task->note, "note 2");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(warnings_are_formatted_and_cycles_copied)
{
	struct ad_trace *t = ad_trace_create();
	ck_ok(ad_trace_add_warning(t, "task %d: %s", 7, "layout unknown"));
	ck_ok(ad_trace_add_warning(t, "second"));
	ck_assert_uint_eq(t->nwarnings, 2);
	ck_assert_str_eq(t->warnings[0], "task 7: layout unknown");
	ck_assert_str_eq(t->warnings[1], "second");
	uint64_t ids[] = { 7, 12, 7 };
	ck_ok(ad_trace_add_cycle(t, ids, 3));
	ids[1] = 99;
	ck_assert_uint_eq(t->ncycles, 1);
	ck_assert_uint_eq(t->cycles[0].n, 3);
	ck_assert_uint_eq(t->cycles[0].task_ids[1], 12);
	assert_error(ad_trace_add_cycle(t, ids, 0), AD_ERROR_INVALID_ARGUMENT,
		     "a wait-for cycle needs at least one task id");
	ck_assert_uint_eq(t->ncycles, 1);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(frame_names_default_to_each_other)
{
	struct ad_frame *a = ad_frame_create(AD_FRAME_FUTURE, NULL, "tokio::time::sleep::Sleep", 1);
	struct ad_frame *b = ad_frame_create(AD_FRAME_ASYNC_FN, "demo::foo", NULL, 2);
	struct ad_frame *c = ad_frame_create(AD_FRAME_FUTURE, NULL, NULL, 3);
	ck_assert_str_eq(a->name, "tokio::time::sleep::Sleep");
	ck_assert_str_eq(a->type, "tokio::time::sleep::Sleep");
	ck_assert_str_eq(b->type, "demo::foo");
	ck_assert_str_eq(c->name, "(unknown)");
	ck_assert_int_eq(c->state, AD_FRAME_UNKNOWN);
	ck_assert_uint_eq(b->address, 2);
	ck_assert_int_eq(b->kind, AD_FRAME_ASYNC_FN);
	ad_frame_destroy(a);
	ad_frame_destroy(b);
	ad_frame_destroy(c);
	ad_frame_destroy(NULL);
}
END_TEST

START_TEST(frames_of_a_trace_share_their_names)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_task *task;
	ck_ok(ad_trace_add_task(t, &task));
	const char *map = "futures_util::future::future::Map<demo::very_long_generic_argument"
			  "_that_is_elided<u32>, demo::handler::{closure_env#0}>";
	char copy[256], reused[32];
	strcpy(copy, map);
	struct ad_frame *a = ad_trace_frame_create(t, AD_FRAME_FUTURE, NULL, map, 1);
	struct ad_frame *b = ad_trace_frame_create(t, AD_FRAME_FUTURE, copy, copy, 2);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	/* One copy of each string, whoever passed it. */
	ck_assert_ptr_eq(a->type, b->type);
	ck_assert_ptr_eq(a->name, b->name);
	ck_assert_ptr_ne(a->type, map);
	ck_assert_str_eq(a->type, map);
	ck_assert_str_eq(a->name, "futures_util::future::future::Map<…>");
	/* A buffer reused for another name is another name. */
	strcpy(reused, "demo::first");
	struct ad_frame *c = ad_trace_frame_create(t, AD_FRAME_ASYNC_FN, reused, reused, 3);
	strcpy(reused, "demo::second");
	struct ad_frame *d = ad_trace_frame_create(t, AD_FRAME_ASYNC_FN, reused, "demo::env", 4);
	ck_assert_str_eq(c->name, "demo::first");
	ck_assert_str_eq(d->name, "demo::second");
	ck_assert_str_eq(d->type, "demo::env");
	ck_assert_int_eq(d->kind, AD_FRAME_ASYNC_FN);
	ck_assert_uint_eq(d->address, 4);
	ck_assert_int_eq(d->state, AD_FRAME_UNKNOWN);
	struct ad_frame *u = ad_trace_frame_create(t, AD_FRAME_FUTURE, NULL, NULL, 5);
	ck_assert_str_eq(u->name, "(unknown)");
	/* A frame destroyed before its trace leaves the shared names be. */
	ad_frame_destroy(b);
	ck_assert_str_eq(a->type, map);
	ck_ok(ad_frame_add_child(a, c));
	ck_ok(ad_frame_add_child(a, d));
	ck_ok(ad_frame_add_local(a, u));
	task->root = a;
	/* Without a trace, a frame has its own strings. */
	struct ad_frame *own = ad_trace_frame_create(NULL, AD_FRAME_FUTURE, NULL, map, 6);
	ck_assert_ptr_ne(own->type, a->type);
	ck_assert_str_eq(own->name, a->name);
	ad_frame_destroy(own);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(locations_of_a_trace_are_shared_and_replaced)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_frame *a = ad_trace_frame_create(t, AD_FRAME_ASYNC_FN, "demo::foo", NULL, 1);
	struct ad_frame *b = ad_trace_frame_create(t, AD_FRAME_ASYNC_FN, "demo::foo", NULL, 2);
	char file[32];
	strcpy(file, "/src/foo.rs");
	ck_ok(ad_frame_set_location(a, "/src/foo.rs", 36, 9));
	ck_ok(ad_frame_set_location(b, file, 36, 9));
	ck_assert_ptr_eq(a->location, b->location);
	ck_assert_str_eq(b->location->file, "/src/foo.rs");
	/* Replacing one frame's location changes no other frame's. */
	ck_ok(ad_frame_set_location(b, file, 40, 0));
	ck_assert_uint_eq(a->location->line, 36);
	ck_assert_uint_eq(a->location->column, 9);
	ck_assert_uint_eq(b->location->line, 40);
	ck_assert_uint_eq(b->location->column, 0);
	strcpy(file, "/src/bar.rs");
	ck_ok(ad_frame_set_macro_location(a, file, 36, 9));
	ck_assert_str_eq(a->macro_location->file, "/src/bar.rs");
	ck_assert_str_eq(a->location->file, "/src/foo.rs");
	ck_ok(ad_frame_set_macro_location(a, NULL, 0, 0));
	ck_assert_ptr_null(a->macro_location);
	ad_frame_destroy(a);
	ck_assert_str_eq(b->location->file, "/src/foo.rs");
	ad_frame_destroy(b);
	ad_trace_destroy(t);
}
END_TEST

/* Two tasks suspended alike, sharing names and a location: NULL when built,
 * else the error (what was built is in t, for ad_trace_destroy()). No check
 * macro in here: Check allocates, and allocations may be failing. */
static struct ad_error *build_tasks_suspended_alike(struct ad_trace *t)
{
	for (int i = 0; i < 2; i++) {
		struct ad_task *task;
		struct ad_error *err = ad_trace_add_task(t, &task);
		if (err)
			return err;
		task->root = ad_trace_frame_create(t, AD_FRAME_ASYNC_FN, "demo::serve",
						   "demo::serve::{async_fn_env#0}", 1);
		if (!task->root)
			return &ad_error_nomem;
		if ((err = ad_frame_set_location(task->root, "/src/main.rs", 12, 5)))
			return err;
		if ((err = ad_frame_add_child(task->root,
					      ad_trace_frame_create(t, AD_FRAME_FUTURE, NULL,
								    "tokio::time::sleep::Sleep", 2))))
			return err;
	}
	return NULL;
}

/* Every allocation fails in turn: each time building reports it, and the
 * trace frees all (ASan, valgrind). */
START_TEST(sharing_names_fails_cleanly_at_every_allocation)
{
	long n;
	for (n = 0;; n++) {
		struct ad_trace *t = ad_trace_create();
		ck_assert_ptr_nonnull(t);
		failing_alloc_arm(n);
		struct ad_error *err = build_tasks_suspended_alike(t);
		failing_alloc_disarm();
		if (!err) {
			ck_assert_ptr_eq(t->tasks[0].root->location, t->tasks[1].root->location);
			ck_assert_ptr_eq(t->tasks[0].root->children[0]->name,
					 t->tasks[1].root->children[0]->name);
			ck_assert_str_eq(t->tasks[1].root->location->file, "/src/main.rs");
			ad_trace_destroy(t);
			break;
		}
		ck_assert_ptr_eq(err, &ad_error_nomem);
		ad_trace_destroy(t);
	}
	/* the loop went through names, locations and frames */
	ck_assert_int_gt(n, 8);
}
END_TEST

START_TEST(children_and_locals_keep_their_order)
{
	struct ad_frame *p = fn("demo::join_all", AD_FRAME_SUSPENDED);
	char name[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "demo::branch%d", i);
		ck_ok(ad_frame_add_child(p, fn(name, AD_FRAME_SUSPENDED)));
	}
	ck_ok(ad_frame_add_local(p, fn("demo::later", AD_FRAME_UNRESUMED)));
	ck_assert_uint_eq(p->nchildren, 1000);
	ck_assert_uint_eq(p->nlocals, 1);
	ck_assert_str_eq(p->children[0]->name, "demo::branch0");
	ck_assert_str_eq(p->children[513]->name, "demo::branch513");
	ck_assert_str_eq(p->children[999]->name, "demo::branch999");
	ck_assert_str_eq(p->locals[0]->name, "demo::later");
	ad_frame_destroy(p);
}
END_TEST

START_TEST(adding_a_null_child_reports_oom_and_changes_nothing)
{
	struct ad_frame *p = fn("demo::foo", AD_FRAME_SUSPENDED);
	/* Out of memory is always the one static error (nothing to allocate). */
	ck_assert_ptr_eq(ad_frame_add_child(p, NULL), &ad_error_nomem);
	ck_assert_ptr_eq(ad_frame_add_local(p, NULL), &ad_error_nomem);
	ck_assert_uint_eq(p->nchildren, 0);
	ck_assert_uint_eq(p->nlocals, 0);
	ad_frame_destroy(p);
}
END_TEST

START_TEST(locations_and_errors_are_copied_and_replaced)
{
	struct ad_frame *f = fn("demo::foo", AD_FRAME_SUSPENDED);
	ck_ok(ad_frame_set_location(f, "/src/foo.rs", 36, 9));
	ck_ok(ad_frame_set_location(f, "/src/foo.rs", 40, 0));
	ck_assert_str_eq(f->location->file, "/src/foo.rs");
	ck_assert_uint_eq(f->location->line, 40);
	ck_assert_uint_eq(f->location->column, 0);
	ck_ok(ad_frame_set_macro_location(f, "/src/foo.rs", 41, 5));
	ck_assert_uint_eq(f->macro_location->line, 41);
	ck_ok(ad_frame_set_macro_location(f, NULL, 0, 0));
	ck_assert_ptr_null(f->macro_location);
	ck_ok(ad_frame_set_error(f, "cannot read 0x%x", 0xdead));
	ck_ok(ad_frame_set_error(f, "state %d unknown", 9));
	ck_assert_str_eq(f->error, "state 9 unknown");
	ad_frame_destroy(f);
}
END_TEST

START_TEST(block_on_starts_with_unknown_fd_and_permits)
{
	struct ad_frame *f = fn("demo::sleep", AD_FRAME_SUSPENDED);
	struct ad_blocked_on *b, *b2;
	ck_ok(ad_frame_block_on(f, AD_RESOURCE_SEMAPHORE, 0x789, &b));
	ck_assert_ptr_eq(f->blocked_on, b);
	ck_assert_int_eq(b->fd, -1);
	ck_assert_int_eq(b->permits_wanted, -1);
	ck_assert_int_eq(b->permits_available, -1);
	ck_assert(!b->has_task_id && !b->has_deadline);
	ck_ok(ad_blocked_on_set_description(b, "semaphore %#x", 0x789));
	ck_ok(ad_blocked_on_set_interest(b, "readable"));
	ck_ok(ad_frame_block_on(f, AD_RESOURCE_TIMER, 0xabc, &b2));
	ck_assert_ptr_eq(f->blocked_on, b2);
	ck_assert_int_eq(b2->kind, AD_RESOURCE_TIMER);
	ck_assert_ptr_null(b2->description);
	ad_frame_destroy(f);
}
END_TEST

static char *describe(const struct ad_blocked_on *b)
{
	char buf[AD_DESCRIPTION_MAX];
	ad_blocked_on_describe(b, buf, sizeof(buf));
	char *s = strdup(buf);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void assert_description(const struct ad_blocked_on *b, const char *expected)
{
	char *s = describe(b);
	ck_assert_str_eq(s, expected);
	free(s);
}

START_TEST(descriptions_default_to_what_is_known)
{
	struct ad_frame *f = fn("demo::leaf", AD_FRAME_PENDING);
	struct ad_blocked_on *b;
	ck_ok(ad_frame_block_on(f, AD_RESOURCE_TIMER, 0x789, &b));
	assert_description(b, "timer 0x789");
	b->has_deadline = true;
	b->deadline_ns = 5000000000000;
	b->time_left_ns = 3599500000000;
	assert_description(b, "timer 0x789, fires in 3599 s");
	b->time_left_ns = -250000000;
	assert_description(b, "timer 0x789, overdue by 250 ms");

	ck_ok(ad_frame_block_on(f, AD_RESOURCE_TASK, 0x5000, &b));
	b->has_task_id = true;
	b->task_id = 12;
	assert_description(b, "task 0x5000 (id 12)");

	ck_ok(ad_frame_block_on(f, AD_RESOURCE_IO, 0x10, &b));
	b->fd = 5;
	ck_ok(ad_blocked_on_set_interest(b, "readable"));
	assert_description(b, "fd 5 readable");
	struct ad_socket sock = {
		.inode = 77, .family = "ipv4", .protocol = "tcp", .local = "127.0.0.1:6379",
		.peer = "127.0.0.1:54022", .state = "ESTABLISHED", .origin = "accepted",
		.has_queues = true, .rx_queue = 3, .tx_queue = 9,
	};
	ck_ok(ad_blocked_on_set_socket(b, &sock));
	assert_description(b, "fd 5 readable: tcp 127.0.0.1:6379 ← 127.0.0.1:54022 ESTABLISHED, 3 B queued");
	b->other_fd = 7;
	b->has_bytes_moved = true;
	b->bytes_moved = 100;
	ck_ok(ad_blocked_on_set_interest(b, "writable"));
	assert_description(b, "fd 5 writable: tcp 127.0.0.1:6379 ← 127.0.0.1:54022 ESTABLISHED, 9 B queued "
			      "(copying from fd 7, 100 B moved)");
	snprintf(b->phase, sizeof(b->phase), "HTTP/1 server: idle");
	b->other_fd = -1;
	assert_description(b, "fd 5 writable: tcp 127.0.0.1:6379 ← 127.0.0.1:54022 ESTABLISHED, 9 B queued "
			      "(HTTP/1 server: idle)");
	ck_ok(ad_frame_block_on(f, AD_RESOURCE_IO, 0x10, &b));
	assert_description(b, "io 0x10");

	ck_ok(ad_frame_block_on(f, AD_RESOURCE_SEMAPHORE, 0, &b));
	b->permits_wanted = 1;
	b->permits_available = 0;
	assert_description(b, "semaphore, wants 1 of 0 permits");

	ck_ok(ad_blocked_on_set_description(b, "the pool's semaphore"));
	assert_description(b, "the pool's semaphore");
	ad_frame_destroy(f);
}
END_TEST

START_TEST(descriptions_are_cut_to_the_buffer)
{
	struct ad_frame *f = fn("demo::leaf", AD_FRAME_PENDING);
	struct ad_blocked_on *b;
	ck_ok(ad_frame_block_on(f, AD_RESOURCE_TIMER, 0x789, &b));
	b->has_deadline = true;
	b->time_left_ns = 3599500000000;
	char buf[12];
	memset(buf, 'x', sizeof(buf));
	ad_blocked_on_describe(b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "timer 0x789");
	ad_blocked_on_describe(b, buf, 1);
	ck_assert_str_eq(buf, "");
	ck_ok(ad_blocked_on_set_description(b, "a description longer than the buffer"));
	ad_blocked_on_describe(b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a descripti");
	ad_frame_destroy(f);
}
END_TEST

START_TEST(first_blocked_on_is_depth_first_and_ignores_locals)
{
	/* foo -> [bar -> [x], baz (blocked on notify)], locals: [l (blocked on timer)];
	 * x is blocked on a oneshot: depth first finds x before baz. */
	struct ad_frame *foo = fn("demo::foo", AD_FRAME_SUSPENDED);
	struct ad_frame *bar = fn("demo::bar", AD_FRAME_SUSPENDED);
	struct ad_frame *x = fn("demo::x", AD_FRAME_SUSPENDED);
	struct ad_frame *baz = fn("demo::baz", AD_FRAME_SUSPENDED);
	struct ad_frame *l = fn("demo::l", AD_FRAME_UNRESUMED);
	struct ad_blocked_on *bx, *bbaz, *bl;
	ck_ok(ad_frame_block_on(baz, AD_RESOURCE_NOTIFY, 0x2, &bbaz));
	ck_ok(ad_frame_block_on(l, AD_RESOURCE_TIMER, 0x3, &bl));
	ck_ok(ad_frame_add_local(foo, l));
	ck_ok(ad_frame_add_child(foo, bar));
	ck_ok(ad_frame_add_child(foo, baz));
	ck_assert_ptr_eq(ad_frame_first_blocked_on(foo), bbaz);
	ck_assert_uint_eq(ad_frame_count_blocked_on(foo), 1);
	ck_ok(ad_frame_add_child(bar, x));
	ck_ok(ad_frame_block_on(x, AD_RESOURCE_ONESHOT, 0x1, &bx));
	ck_assert_ptr_eq(ad_frame_first_blocked_on(foo), bx);
	ck_assert_ptr_null(ad_frame_first_blocked_on(NULL));
	/* x and baz wait; l is a local, not polled */
	ck_assert_uint_eq(ad_frame_count_blocked_on(foo), 2);
	ck_assert_uint_eq(ad_frame_count_blocked_on(bar), 1);
	ck_assert_uint_eq(ad_frame_count_blocked_on(NULL), 0);
	ad_frame_destroy(foo);
}
END_TEST

START_TEST(first_blocked_on_stops_at_the_depth_bound)
{
	struct ad_frame *root = fn("demo::f0", AD_FRAME_SUSPENDED), *f = root;
	for (int i = 1; i < AD_FRAME_MAX_DEPTH + 1; i++) {
		struct ad_frame *c = fn("demo::f", AD_FRAME_SUSPENDED);
		ck_ok(ad_frame_add_child(f, c));
		f = c;
	}
	struct ad_blocked_on *b;
	ck_ok(ad_frame_block_on(f, AD_RESOURCE_TIMER, 0x1, &b));
	/* the leaf is at depth AD_FRAME_MAX_DEPTH + 1 */
	ck_assert_ptr_null(ad_frame_first_blocked_on(root));
	ck_assert_ptr_eq(ad_frame_first_blocked_on(root->children[0]), b);
	ck_assert_uint_eq(ad_frame_count_blocked_on(root), 0);
	ck_assert_uint_eq(ad_frame_count_blocked_on(root->children[0]), 1);
	ad_frame_destroy(root);
}
END_TEST

START_TEST(find_task_by_id_skips_tasks_without_id)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_task *task;
	ck_ok(ad_trace_add_task(t, &task)); /* block_on: no id, id field 0 */
	task->kind = AD_TASK_KIND_BLOCK_ON;
	ck_ok(ad_trace_add_task(t, &task));
	task->has_id = true;
	task->id = 0;
	ck_ok(ad_trace_add_task(t, &task));
	task->has_id = true;
	task->id = 12;
	ck_assert_ptr_eq(ad_trace_find_task(t, 0), &t->tasks[1]);
	ck_assert_ptr_eq(ad_trace_find_task(t, 12), &t->tasks[2]);
	ck_assert_ptr_null(ad_trace_find_task(t, 13));
	ad_trace_destroy(t);
}
END_TEST

START_TEST(names_are_the_schema_enums)
{
	ck_assert_str_eq(ad_task_kind_name(AD_TASK_KIND_TASK), "task");
	ck_assert_str_eq(ad_task_kind_name(AD_TASK_KIND_BLOCK_ON), "block_on");
	ck_assert_str_eq(ad_task_kind_name(AD_TASK_KIND_LOCAL), "local");
	ck_assert_str_eq(ad_task_state_name(AD_TASK_IDLE), "idle");
	ck_assert_str_eq(ad_task_state_name(AD_TASK_SCHEDULED), "scheduled");
	ck_assert_str_eq(ad_task_state_name(AD_TASK_RUNNING), "running");
	ck_assert_str_eq(ad_task_state_name(AD_TASK_COMPLETE), "complete");
	ck_assert_str_eq(ad_task_state_name(AD_TASK_CANCELLED), "cancelled");
	ck_assert_str_eq(ad_task_state_name(AD_TASK_STATE_UNKNOWN), "unknown");
	ck_assert_str_eq(ad_frame_kind_name(AD_FRAME_ASYNC_FN), "async_fn");
	ck_assert_str_eq(ad_frame_kind_name(AD_FRAME_ASYNC_BLOCK), "async_block");
	ck_assert_str_eq(ad_frame_kind_name(AD_FRAME_ASYNC_CLOSURE), "async_closure");
	ck_assert_str_eq(ad_frame_kind_name(AD_FRAME_FUTURE), "future");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_UNRESUMED), "unresumed");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_SUSPENDED), "suspended");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_COMPLETED), "completed");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_PANICKED), "panicked");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_PENDING), "pending");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_READY), "ready");
	ck_assert_str_eq(ad_frame_state_name(AD_FRAME_UNKNOWN), "unknown");
	const char *resources[] = { "timer", "task", "mutex", "rwlock", "semaphore", "notify",
				    "oneshot", "mpsc", "io", "signal", "process", "other" };
	for (int k = AD_RESOURCE_TIMER; k <= AD_RESOURCE_OTHER; k++)
		ck_assert_str_eq(ad_resource_kind_name((enum ad_resource_kind)k), resources[k]);
}
END_TEST

/* Destroying must not recurse on depth: a chain far deeper than any stack would
 * hold as recursion (under ASan), plus wide trees with locals on many tasks.
 * ASan's leak check (and valgrind) verify that everything is freed. */
/* Numbers are written two digits a step: every length, both bases. */
START_TEST(digits_are_printf_s)
{
	uint64_t edges[] = { 0, 1, 9, 10, 15, 16, 99, 100, 255, 256, 999, 1000, 4095, 4096,
			     0x7ffc0000dead, UINT64_MAX };
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 64; i++) {
		/* then every power of two and its neighbours */
		uint64_t v = i < sizeof(edges) / sizeof(edges[0])
				     ? edges[i]
				     : ((uint64_t)1 << (i - sizeof(edges) / sizeof(edges[0]))) - 1;
		for (uint64_t d = 0; d < 3; d++) {
			char buf[24], *end = buf + sizeof(buf) - 1, want[24];
			*end = '\0';
			snprintf(want, sizeof(want), "%" PRIu64, v + d);
			ck_assert_str_eq(ad_digits(v + d, 10, end), want);
			snprintf(want, sizeof(want), "%" PRIx64, v + d);
			ck_assert_str_eq(ad_digits(v + d, 16, end), want);
		}
	}
}
END_TEST

START_TEST(destroying_a_large_trace_frees_everything)
{
	struct ad_trace *t = ad_trace_create();
	struct ad_runtime *rt;
	ck_ok(ad_trace_add_runtime(t, "tokio", "multi_thread", 0x7000, &rt));
	ck_ok(ad_trace_set_exe(t, "/bin/demo"));
	struct ad_task *task;
	for (unsigned i = 0; i < 10000; i++) {
		ck_ok(ad_trace_add_task(t, &task));
		task->has_id = true;
		task->id = i + 1;
		ck_ok(ad_task_set_thread(task, 100, "worker"));
		ck_ok(ad_task_set_note(task, "task %u", i));
		struct ad_frame *root = fn("demo::main", AD_FRAME_SUSPENDED);
		ck_ok(ad_frame_set_location(root, "/src/main.rs", i, 1));
		for (int k = 0; k < 4; k++) {
			struct ad_frame *c = fn("demo::child", AD_FRAME_SUSPENDED);
			struct ad_blocked_on *b;
			ck_ok(ad_frame_block_on(c, AD_RESOURCE_IO, 0x10, &b));
			ck_ok(ad_blocked_on_set_interest(b, "readable"));
			ck_ok(ad_frame_add_local(c, fn("demo::local", AD_FRAME_UNRESUMED)));
			ck_ok(ad_frame_add_child(root, c));
		}
		task->root = root;
	}
	ck_ok(ad_trace_add_task(t, &task));
	struct ad_frame *deep = fn("demo::deep", AD_FRAME_SUSPENDED), *f = deep;
	for (int i = 0; i < 200000; i++) {
		struct ad_frame *c = fn("demo::deeper", AD_FRAME_SUSPENDED);
		ck_ok(ad_frame_add_child(f, c));
		f = c;
	}
	task->root = deep;
	for (int i = 0; i < 1000; i++)
		ck_ok(ad_trace_add_warning(t, "warning %d", i));
	ck_assert_uint_eq(t->ntasks, 10001);
	ck_assert_uint_eq(t->tasks[9999].root->nchildren, 4);
	ad_trace_destroy(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("model");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, new_trace_is_empty);
	tcase_add_test(tc, runtimes_get_their_index_as_id_and_copies_of_strings);
	tcase_add_test(tc, new_tasks_are_blank_with_unknown_state);
	tcase_add_test(tc, tasks_are_sorted_by_id_within_each_runtime_and_kind);
	tcase_add_test(tc, setters_copy_replace_and_clear_strings);
	tcase_add_test(tc, warnings_are_formatted_and_cycles_copied);
	tcase_add_test(tc, frame_names_default_to_each_other);
	tcase_add_test(tc, frames_of_a_trace_share_their_names);
	tcase_add_test(tc, locations_of_a_trace_are_shared_and_replaced);
	tcase_add_test(tc, sharing_names_fails_cleanly_at_every_allocation);
	tcase_add_test(tc, children_and_locals_keep_their_order);
	tcase_add_test(tc, adding_a_null_child_reports_oom_and_changes_nothing);
	tcase_add_test(tc, locations_and_errors_are_copied_and_replaced);
	tcase_add_test(tc, block_on_starts_with_unknown_fd_and_permits);
	tcase_add_test(tc, descriptions_default_to_what_is_known);
	tcase_add_test(tc, descriptions_are_cut_to_the_buffer);
	tcase_add_test(tc, first_blocked_on_is_depth_first_and_ignores_locals);
	tcase_add_test(tc, first_blocked_on_stops_at_the_depth_bound);
	tcase_add_test(tc, find_task_by_id_skips_tasks_without_id);
	tcase_add_test(tc, names_are_the_schema_enums);
	tcase_add_test(tc, digits_are_printf_s);
	tcase_add_test(tc, destroying_a_large_trace_frees_everything);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
