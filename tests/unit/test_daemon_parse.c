/* SPDX-License-Identifier: MIT */
/* What the daemon accepts from clients: pids and task ids, flags, query
 * strings, percent-encoding, bearer tokens (daemon/parse.c). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

START_TEST(pids_are_plain_decimals_in_range)
{
	pid_t pid;
	ck_assert(parse_pid("1", &pid) && pid == 1);
	ck_assert(parse_pid("4194304", &pid) && pid == 4194304);
	const char *bad[] = { "", "0", "4194305", "-1", "+1", "01", " 1", "1 ", "1x", "0x10",
			      "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!parse_pid(bad[i], &pid), "'%s' accepted as a pid", bad[i]);
}
END_TEST

START_TEST(task_ids_cover_uint64)
{
	uint64_t id;
	ck_assert(parse_task_id("0", &id) && id == 0);
	ck_assert(parse_task_id("18446744073709551615", &id) && id == UINT64_MAX);
	ck_assert(!parse_task_id("18446744073709551616", &id));
	ck_assert(!parse_task_id("007", &id));
}
END_TEST

START_TEST(flags)
{
	bool v = false;
	ck_assert(parse_flag("", &v) && v);
	ck_assert(parse_flag("1", &v) && v);
	ck_assert(parse_flag("true", &v) && v);
	ck_assert(parse_flag("0", &v) && !v);
	ck_assert(parse_flag("false", &v) && !v);
	ck_assert(!parse_flag("yes", &v));
	ck_assert(!parse_flag("TRUE", &v));
}
END_TEST

static void assert_decodes(const char *in, const char *want, size_t want_len)
{
	char buf[64];
	strcpy(buf, in);
	size_t n = percent_decode(buf);
	ck_assert_uint_eq(n, want_len);
	ck_assert_mem_eq(buf, want, want_len + 1);
}

START_TEST(percent_decoding_keeps_nul_escapes)
{
	assert_decodes("/a%20b", "/a b", 4);
	assert_decodes("%2e%2E/x", "../x", 4);
	assert_decodes("/%00/etc", "/%00/etc", 8);   /* a NUL would cut the path short */
	assert_decodes("%zz%4", "%zz%4", 5);          /* malformed escapes stay */
	assert_decodes("%41%42%43", "ABC", 3);
	assert_decodes("", "", 0);
}
END_TEST

START_TEST(tokens_match_exactly)
{
	const char *token = "s3cret";
	ck_assert(token_matches("s3cret", 6, token, 6));
	ck_assert(!token_matches("s3cre", 5, token, 6));
	ck_assert(!token_matches("s3cret!", 7, token, 6));  /* a longer one is no match */
	ck_assert(!token_matches("S3cret", 6, token, 6));
	ck_assert(!token_matches("", 0, token, 6));
	ck_assert(!token_matches("s3cret\0x", 8, token, 6));
}
END_TEST

START_TEST(query_parameters_known_allowed_once)
{
	struct query q;
	unsigned allowed = 1u << P_FORMAT | 1u << P_TASK;
	query_init(&q, allowed);
	ck_assert(query_add(&q, "format", "text"));
	ck_assert(query_add(&q, "task", NULL));
	ck_assert(q.given[P_FORMAT] && strcmp(q.value[P_FORMAT], "text") == 0);
	ck_assert(q.given[P_TASK] && strcmp(q.value[P_TASK], "") == 0);
	ck_assert(!q.given[P_LOCALS]);

	ck_assert(!query_add(&q, "format", "json"));
	ck_assert_str_eq(q.problem, "query parameter format given twice");

	query_init(&q, allowed);
	ck_assert(!query_add(&q, "locals", "1")); /* known, but not allowed here */
	ck_assert_str_eq(q.problem, "unknown query parameter 'locals'; known here: format task");

	query_init(&q, 0);
	ck_assert(!query_add(&q, "x\n\x1b[31m", "1"));
	ck_assert_msg(!strchr(q.problem, '\n') && !strchr(q.problem, '\x1b'),
		      "control characters of a client's key reach the message: %s", q.problem);
	ck_assert(strstr(q.problem, "known here: none"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon_parse");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, pids_are_plain_decimals_in_range);
	tcase_add_test(tc, task_ids_cover_uint64);
	tcase_add_test(tc, flags);
	tcase_add_test(tc, percent_decoding_keeps_nul_escapes);
	tcase_add_test(tc, tokens_match_exactly);
	tcase_add_test(tc, query_parameters_known_allowed_once);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
