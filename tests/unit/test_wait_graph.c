/* SPDX-License-Identifier: MIT */
/* The wait-for graph: task → task edges from frames awaiting a JoinHandle,
 * one cycle reported per strongly connected component. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "asyncdump/trace.h"
#include "wait_graph.h"

/* Adds task `id` whose root awaits the tasks in `awaits` (0 ends the list). */
static void add_task(struct ad_trace *t, uint64_t id, const uint64_t *awaits)
{
	struct ad_task *task;
	ck_assert_ptr_null(ad_trace_add_task(t, &task));
	task->has_id = true;
	task->id = id;
	task->root = ad_frame_create(AD_FRAME_ASYNC_FN, "app::f", NULL, 0x1000 + id);
	ck_assert_ptr_nonnull(task->root);
	for (; awaits && *awaits; awaits++) {
		struct ad_frame *jh = ad_frame_create(AD_FRAME_FUTURE, "JoinHandle", NULL, 0);
		ck_assert_ptr_nonnull(jh);
		jh->has_awaits_task = true;
		jh->awaits_task = *awaits;
		ck_assert_ptr_null(ad_frame_add_child(task->root, jh));
	}
}

static void assert_cycle(const struct ad_trace *t, size_t i, const uint64_t *ids, size_t n)
{
	ck_assert_uint_gt(t->ncycles, i);
	ck_assert_uint_eq(t->cycles[i].n, n);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(t->cycles[i].task_ids[k], ids[k]);
}

START_TEST(no_edges_no_cycles)
{
	struct ad_trace *t = ad_trace_create();
	add_task(t, 1, NULL);
	add_task(t, 2, (const uint64_t[]){ 1, 0 });
	ck_assert_ptr_null(ad_wait_graph_cycles(t));
	ck_assert_uint_eq(t->ncycles, 0);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(self_await_is_a_cycle)
{
	struct ad_trace *t = ad_trace_create();
	add_task(t, 15, (const uint64_t[]){ 15, 0 });
	ck_assert_ptr_null(ad_wait_graph_cycles(t));
	ck_assert_uint_eq(t->ncycles, 1);
	assert_cycle(t, 0, (const uint64_t[]){ 15, 15 }, 2);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(two_cycles_each_from_its_smallest_id)
{
	struct ad_trace *t = ad_trace_create();
	add_task(t, 12, (const uint64_t[]){ 7, 0 });
	add_task(t, 7, (const uint64_t[]){ 12, 0 });
	add_task(t, 30, (const uint64_t[]){ 31, 0 });
	add_task(t, 31, (const uint64_t[]){ 32, 0 });
	add_task(t, 32, (const uint64_t[]){ 30, 0 });
	add_task(t, 40, (const uint64_t[]){ 30, 0 }); /* waits on a cycle, is in none */
	ck_assert_ptr_null(ad_wait_graph_cycles(t));
	ck_assert_uint_eq(t->ncycles, 2);
	bool first_is_7 = t->cycles[0].task_ids[0] == 7;
	assert_cycle(t, first_is_7 ? 0 : 1, (const uint64_t[]){ 7, 12, 7 }, 3);
	assert_cycle(t, first_is_7 ? 1 : 0, (const uint64_t[]){ 30, 31, 32, 30 }, 4);
	ad_trace_destroy(t);
}
END_TEST

/* Ids are the runtime's: any uint64 (the graph once keyed them by id + 1). */
START_TEST(largest_ids_form_a_cycle)
{
	struct ad_trace *t = ad_trace_create();
	add_task(t, UINT64_MAX, (const uint64_t[]){ UINT64_MAX - 1, 0 });
	add_task(t, UINT64_MAX - 1, (const uint64_t[]){ UINT64_MAX, 0 });
	ck_assert_ptr_null(ad_wait_graph_cycles(t));
	ck_assert_uint_eq(t->ncycles, 1);
	assert_cycle(t, 0, (const uint64_t[]){ UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 1 }, 3);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(awaiting_a_task_not_in_the_sample_is_no_edge)
{
	struct ad_trace *t = ad_trace_create();
	add_task(t, 1, (const uint64_t[]){ 99, 0 });
	ck_assert_ptr_null(ad_wait_graph_cycles(t));
	ck_assert_uint_eq(t->ncycles, 0);
	ad_trace_destroy(t);
}
END_TEST

/* A chain as long as a big task list, closed into one cycle: no recursion
 * on its length, and no pass over every task per component. */
START_TEST(long_chain_is_one_cycle)
{
	enum { N = 200000 };
	struct ad_trace *t = ad_trace_create();
	for (uint64_t id = 1; id <= N; id++)
		add_task(t, id, (const uint64_t[]){ id == N ? 1 : id + 1, 0 });
	ck_assert_ptr_null(ad_wait_graph_cycles(t));
	ck_assert_uint_eq(t->ncycles, 1);
	ck_assert_uint_eq(t->cycles[0].n, N + 1);
	ck_assert_uint_eq(t->cycles[0].task_ids[0], 1);
	ck_assert_uint_eq(t->cycles[0].task_ids[1], 2);
	ck_assert_uint_eq(t->cycles[0].task_ids[N], 1);
	ad_trace_destroy(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wait_graph");
	TCase *tc = tcase_create("cycles");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, no_edges_no_cycles);
	tcase_add_test(tc, self_await_is_a_cycle);
	tcase_add_test(tc, two_cycles_each_from_its_smallest_id);
	tcase_add_test(tc, largest_ids_form_a_cycle);
	tcase_add_test(tc, awaiting_a_task_not_in_the_sample_is_no_edge);
	tcase_add_test(tc, long_chain_is_one_cycle);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
