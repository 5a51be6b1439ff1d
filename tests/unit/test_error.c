/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/error.h"

START_TEST(create_formats_message)
{
	struct ad_error *err = ad_error_create(AD_ERROR_NOT_FOUND, "task %d not found", 7);
	ck_assert_int_eq(err->code, AD_ERROR_NOT_FOUND);
	ck_assert_str_eq(err->message, "task 7 not found");
	ad_error_destroy(err);
}
END_TEST

START_TEST(os_error_appends_strerror)
{
	struct ad_error *err = ad_error_os(ENOENT, "opening %s", "/x");
	ck_assert_int_eq(err->code, AD_ERROR_OS);
	ck_assert_int_eq(err->errnum, ENOENT);
	ck_assert_str_eq(err->message, "opening /x: No such file or directory");
	ad_error_destroy(err);
}
END_TEST

START_TEST(fault_carries_address)
{
	struct ad_error *err = ad_error_fault(0xdead0, 8, "reading task header");
	ck_assert_int_eq(err->code, AD_ERROR_FAULT);
	ck_assert_uint_eq(err->address, 0xdead0);
	ad_error_destroy(err);
}
END_TEST

START_TEST(wrap_prefixes_and_keeps_code)
{
	struct ad_error *err = ad_error_fault(0x10, 1, "bad read");
	err = ad_error_wrap(err, "task %u", 3u);
	ck_assert_str_eq(err->message, "task 3: bad read");
	ck_assert_int_eq(err->code, AD_ERROR_FAULT);
	ck_assert_uint_eq(err->address, 0x10);
	ad_error_destroy(err);
}
END_TEST

START_TEST(nomem_is_static_and_destroy_ignores_it)
{
	ad_error_destroy(&ad_error_nomem);
	ad_error_destroy(NULL);
	ck_assert_ptr_eq(ad_error_wrap(&ad_error_nomem, "x"), &ad_error_nomem);
	ck_assert_str_eq(ad_error_code_name(AD_ERROR_NOMEM), "out_of_memory");
	ck_assert_str_eq(ad_error_code_name(AD_ERROR_NO_PROCESS), "no_such_process");
}
END_TEST

START_TEST(out_of_memory_is_always_the_static_error_and_the_only_fatal_one)
{
	ck_assert_ptr_eq(ad_error_create(AD_ERROR_NOMEM, "out of memory doing %d", 1),
			 &ad_error_nomem);
	ck_assert(ad_error_is_fatal(&ad_error_nomem));
	ck_assert(!ad_error_is_fatal(NULL));
	struct ad_error *e = ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "no field __0");
	ck_assert(!ad_error_is_fatal(e));
	ad_error_destroy(e);
	e = ad_error_fault(0x1000, 8, "reading");
	ck_assert(!ad_error_is_fatal(e));
	ad_error_destroy(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, create_formats_message);
	tcase_add_test(tc, os_error_appends_strerror);
	tcase_add_test(tc, fault_carries_address);
	tcase_add_test(tc, wrap_prefixes_and_keeps_code);
	tcase_add_test(tc, nomem_is_static_and_destroy_ignores_it);
	tcase_add_test(tc, out_of_memory_is_always_the_static_error_and_the_only_fatal_one);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
