/* SPDX-License-Identifier: MIT */
/* The example configuration installed as /etc/asyncdump/asyncdumpd.conf
 * (systemd/asyncdumpd.conf) says what it promises: as installed it changes
 * nothing, and every commented-out value it shows is the built-in default,
 * so that uncommenting a line and editing it is the whole how-to. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#ifndef EXAMPLE_CONFIG
#error "EXAMPLE_CONFIG (the path of systemd/asyncdumpd.conf) must be defined"
#endif

static char *read_example(void)
{
	FILE *f = fopen(EXAMPLE_CONFIG, "re");
	ck_assert_msg(f != NULL, "cannot open %s", EXAMPLE_CONFIG);
	static char buf[64 * 1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	ck_assert_msg(!ferror(f) && feof(f), "cannot read all of %s", EXAMPLE_CONFIG);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* The file with its commented-out settings ("#key = value", "#[section]")
 * turned on; prose comments ("# ...") stay comments. */
static char *uncommented_example(void)
{
	char *text = read_example();
	char *out = malloc(strlen(text) + 1), *o = out;
	ck_assert_ptr_nonnull(out);
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (line[0] == '#' && (islower((unsigned char)line[1]) || line[1] == '[')) {
			line++;
			len--;
		}
		memcpy(o, line, len);
		o += len;
		line += len;
	}
	*o = '\0';
	free(text);
	return out;
}

static struct ad_config *defaults(void)
{
	struct ad_config *c;
	struct ad_error *err = ad_config_create(&c);
	ck_assert_msg(err == NULL, "ad_config_create: %s", err ? err->message : "");
	return c;
}

static void assert_same_daemon_limits(const struct ad_config *got, const struct ad_config *want)
{
	ck_assert_uint_eq(got->nlisten, want->nlisten);
	for (size_t i = 0; i < want->nlisten; i++)
		ck_assert_str_eq(got->listen[i].text, want->listen[i].text);
	ck_assert_uint_eq(got->max_connections, want->max_connections);
	ck_assert_uint_eq(got->max_connections_per_ip, want->max_connections_per_ip);
	ck_assert_uint_eq(got->max_samples_in_flight, want->max_samples_in_flight);
	ck_assert_uint_eq(got->rate_limit, want->rate_limit);
	ck_assert_uint_eq(got->connection_timeout_s, want->connection_timeout_s);
	ck_assert_int_eq(got->log_level, want->log_level);
	ck_assert_uint_eq(got->hang.sample_interval_ms, want->hang.sample_interval_ms);
	ck_assert_uint_eq(got->hang.stuck_threshold_ms, want->hang.stuck_threshold_ms);
}

START_TEST(installed_file_changes_nothing)
{
	struct ad_config *c, *d = defaults();
	struct ad_error *err = ad_config_load(EXAMPLE_CONFIG, &c);
	ck_assert_msg(err == NULL, "%s", err ? err->message : "");
	assert_same_daemon_limits(c, d);
	ck_assert(!c->listen_configured);
	ck_assert_ptr_null(c->unix_path);
	ck_assert_ptr_null(c->token_file);
	ck_assert_ptr_null(c->web_root);
	ck_assert_uint_eq(c->hang.nexpected, 0);
	ck_assert_uint_eq(c->nwatches, 0);
	ad_config_destroy(c);
	ad_config_destroy(d);
}
END_TEST

START_TEST(shown_values_are_the_defaults)
{
	char *text = uncommented_example();
	struct ad_config *c, *d = defaults();
	struct ad_error *err = ad_config_parse("asyncdumpd.conf (uncommented)", text, &c);
	ck_assert_msg(err == NULL, "the example's settings, uncommented, do not parse: %s",
		      err ? err->message : "");
	assert_same_daemon_limits(c, d);
	/* Settings without a default show an example value. */
	ck_assert_ptr_nonnull(c->unix_path);
	ck_assert_ptr_nonnull(c->token_file);
	ck_assert_ptr_nonnull(c->web_root);
	ck_assert_uint_ge(c->hang.nexpected, 1);
	ck_assert_uint_eq(c->nwatches, 1);
	ck_assert_int_eq(c->watches[0].selector, AD_WATCH_EXE);
	ad_config_destroy(c);
	ad_config_destroy(d);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example_config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, installed_file_changes_nothing);
	tcase_add_test(tc, shown_values_are_the_defaults);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
