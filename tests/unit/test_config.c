/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"

/* Parses `text` as "t.conf" and expects success. */
static struct ad_config *parse_ok(const char *text)
{
	struct ad_config *c = NULL;
	struct ad_error *err = ad_config_parse("t.conf", text, &c);
	ck_assert_msg(err == NULL, "unexpected error: %s", err ? err->message : "");
	return c;
}

/* Expects AD_ERROR_CONFIG whose message starts with `prefix` (the file:line)
 * and contains `detail`. */
static void parse_fails(const char *text, const char *prefix, const char *detail)
{
	struct ad_config *c = (struct ad_config *)0x1;
	struct ad_error *err = ad_config_parse("t.conf", text, &c);
	ck_assert_msg(err != NULL, "expected an error for:\n%s", text);
	ck_assert_int_eq(err->code, AD_ERROR_CONFIG);
	ck_assert_msg(strncmp(err->message, prefix, strlen(prefix)) == 0,
		      "message '%s' does not start with '%s'", err->message, prefix);
	ck_assert_msg(strstr(err->message, detail), "message '%s' does not mention '%s'",
		      err->message, detail);
	ck_assert_ptr_eq(c, (struct ad_config *)0x1); /* ret untouched on error */
	ad_error_destroy(err);
}

static unsigned port_of(const struct ad_listen_addr *a)
{
	if (a->addr.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->addr)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->addr)->sin_port);
}

START_TEST(defaults)
{
	struct ad_config *c;
	ck_assert_ptr_null(ad_config_create(&c));
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0].text, "127.0.0.1:7070");
	ck_assert_int_eq(c->listen[0].addr.ss_family, AF_INET);
	ck_assert_uint_eq(port_of(&c->listen[0]), 7070);
	ck_assert(!c->listen_configured);
	ck_assert_ptr_null(c->unix_path);
	ck_assert_ptr_null(c->token_file);
	ck_assert_int_eq(c->log_level, AD_LOG_INFO);
	ck_assert_int_eq(c->decode_priority, AD_DECODE_PRIORITY_NORMAL);
	ck_assert_uint_eq(c->hang.sample_interval_ms, 10000);
	ck_assert_uint_eq(c->hang.stuck_threshold_ms, 60000);
	ck_assert_uint_eq(c->nwatches, 0);
	ad_config_destroy(c);
}
END_TEST

static const char full_file[] =
	"# asyncdumpd\n"
	"\n"
	"listen = 127.0.0.2:8080\n"
	"  listen=[::1]:0  \n"
	"unix = /run/asyncdump.sock\n"
	"token_file = /etc/asyncdump/token\n"
	"web_root = web\n"
	"max_connections = 10\n"
	"max_connections_per_ip = 0\n"
	"max_samples_in_flight = 3\n"
	"rate_limit = 7/s\n"
	"connection_timeout = 2m\n"
	"request_timeout = 1500ms\n"
	"sample_memory = 512MiB\n"
	"log_level = debug\n"
	"decode_priority = idle\n"
	"; another comment style\n"
	"[hang]\n"
	"sample_interval = 500ms\n"
	"stuck_threshold = 90\n"
	"expected_wait_fn = *::accept_loop\n"
	"expected_wait_at = src/idle.rs:*\n"
	"\n"
	"[watch api]\n"
	"exe = /usr/local/bin/api-*\n"
	"stuck_threshold = 2m\n"
	"expected_wait_fn = api::worker::park\n"
	"expected_wait_at = */worker.rs:42\n"
	"[ watch  db.1 ]\n"
	"pid = 4242\n"
	"[watch by-name]\n"
	"comm = tokio-*\n"
	"sample_interval = 1h\n"
	"stuck_threshold = 2h\n"
	"sample_stop = no\n"
	"[daemon]\n"
	"listen = 127.0.0.3:9090\n";

START_TEST(full_file_is_understood)
{
	struct ad_config *c = parse_ok(full_file);
	ck_assert_uint_eq(c->nlisten, 3);
	ck_assert_str_eq(c->listen[0].text, "127.0.0.2:8080");
	ck_assert_uint_eq(port_of(&c->listen[0]), 8080);
	ck_assert_int_eq(c->listen[1].addr.ss_family, AF_INET6);
	ck_assert_uint_eq(port_of(&c->listen[1]), 0);
	ck_assert_str_eq(c->listen[2].text, "127.0.0.3:9090");
	ck_assert(c->listen_configured);
	ck_assert_str_eq(c->unix_path, "/run/asyncdump.sock");
	ck_assert_str_eq(c->token_file, "/etc/asyncdump/token");
	ck_assert_str_eq(c->web_root, "web");
	ck_assert_uint_eq(c->max_connections, 10);
	ck_assert_uint_eq(c->max_connections_per_ip, 0);
	ck_assert_uint_eq(c->max_samples_in_flight, 3);
	ck_assert_uint_eq(c->rate_limit, 7);
	ck_assert_uint_eq(c->connection_timeout_s, 120);
	ck_assert_uint_eq(c->request_timeout_ms, 1500);
	ck_assert_uint_eq(c->sample_memory, (uint64_t)512 << 20);
	ck_assert_int_eq(c->log_level, AD_LOG_DEBUG);
	ck_assert_int_eq(c->decode_priority, AD_DECODE_PRIORITY_IDLE);

	ck_assert_uint_eq(c->hang.sample_interval_ms, 500);
	ck_assert_uint_eq(c->hang.stuck_threshold_ms, 90000);
	ck_assert_uint_eq(c->hang.nexpected, 2);
	ck_assert_int_eq(c->hang.expected[0].kind, AD_EXPECTED_WAIT_FUNCTION);
	ck_assert_str_eq(c->hang.expected[0].pattern, "*::accept_loop");
	ck_assert_int_eq(c->hang.expected[1].kind, AD_EXPECTED_WAIT_LOCATION);
	ck_assert_str_eq(c->hang.expected[1].pattern, "src/idle.rs");
	ck_assert_uint_eq(c->hang.expected[1].line, 0);

	ck_assert_uint_eq(c->nwatches, 3);
	const struct ad_watch *api = &c->watches[0], *db = &c->watches[1], *byname = &c->watches[2];
	ck_assert_str_eq(api->name, "api");
	ck_assert_uint_eq(api->line, 24);
	ck_assert_int_eq(api->selector, AD_WATCH_EXE);
	ck_assert_str_eq(api->glob, "/usr/local/bin/api-*");
	ck_assert_uint_eq(ad_watch_stuck_threshold_ms(c, api), 120000);
	ck_assert_uint_eq(ad_watch_sample_interval_ms(c, api), 500); /* from [hang] */
	ck_assert_uint_eq(api->hang.nexpected, 2);
	ck_assert_str_eq(api->hang.expected[0].pattern, "api::worker::park");
	ck_assert_str_eq(api->hang.expected[1].pattern, "*/worker.rs");
	ck_assert_uint_eq(api->hang.expected[1].line, 42);

	ck_assert_str_eq(db->name, "db.1");
	ck_assert_int_eq(db->selector, AD_WATCH_PID);
	ck_assert_int_eq(db->pid, 4242);
	ck_assert_uint_eq(ad_watch_stuck_threshold_ms(c, db), 90000);

	ck_assert_int_eq(byname->selector, AD_WATCH_COMM);
	ck_assert_str_eq(byname->glob, "tokio-*");
	ck_assert_uint_eq(ad_watch_sample_interval_ms(c, byname), 3600000);
	ck_assert_uint_eq(ad_watch_stuck_threshold_ms(c, byname), 7200000);
	ck_assert(!ad_watch_sample_stop(c, byname));
	ck_assert(ad_watch_sample_stop(c, api)); /* [hang]'s default: stop */
	ad_config_destroy(c);
}
END_TEST

START_TEST(empty_file_gives_defaults)
{
	struct ad_config *c = parse_ok("\n# nothing\n   \n");
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0].text, "127.0.0.1:7070");
	ck_assert_uint_eq(c->max_connections, 128);
	ad_config_destroy(c);
}
END_TEST

START_TEST(unknown_key)
{
	parse_fails("listen = 127.0.0.1:1\n\nlisten_on = x\n", "t.conf:3: ",
		    "unknown key 'listen_on'");
	/* a daemon key inside a watch is unknown there */
	parse_fails("[watch a]\npid = 1\nlog_level = info\n", "t.conf:3: ",
		    "unknown key 'log_level' in [watch a]");
	/* a watch key outside a watch */
	parse_fails("[hang]\nexe = /bin/x\n", "t.conf:2: ", "unknown key 'exe' in [hang]");
	parse_fails("[hang]\nsample_stop = sometimes\n", "t.conf:2: ",
		    "bad value 'sometimes' for sample_stop");
}
END_TEST

START_TEST(bad_values)
{
	parse_fails("max_connections = 0\n", "t.conf:1: ", "bad value '0' for max_connections");
	parse_fails("\nmax_connections = 12x\n", "t.conf:2: ", "max_connections");
	parse_fails("max_connections = -1\n", "t.conf:1: ", "an integer from 1 to 10000");
	parse_fails("listen = localhost:80\n", "t.conf:1: ", "numeric address");
	parse_fails("listen = 127.0.0.1\n", "t.conf:1: ", "listen");
	parse_fails("listen = 127.0.0.1:65536\n", "t.conf:1: ", "port");
	parse_fails("listen = [::1:80\n", "t.conf:1: ", "listen");
	parse_fails("unix = relative.sock\n", "t.conf:1: ", "absolute path");
	parse_fails("rate_limit = fast\n", "t.conf:1: ", "rate_limit");
	parse_fails("rate_limit = 5/m\n", "t.conf:1: ", "rate_limit");
	parse_fails("log_level = verbose\n", "t.conf:1: ", "error, warn, info, debug");
	parse_fails("decode_priority = low\n", "t.conf:1: ", "one of nice, idle, normal");
	parse_fails("connection_timeout = 1500ms\n", "t.conf:1: ", "whole seconds");
	parse_fails("connection_timeout = 10d\n", "t.conf:1: ", "bad duration '10d'");
	parse_fails("request_timeout = 50ms\n", "t.conf:1: ", "request_timeout");
	parse_fails("sample_memory = 4GB\n", "t.conf:1: ", "a size, as 4GiB");
	parse_fails("sample_memory = GiB\n", "t.conf:1: ", "a size, as 4GiB");
	parse_fails("log_level =\n", "t.conf:1: ", "empty value for log_level");
	parse_fails("[hang]\nsample_interval = 10ms\n", "t.conf:2: ", "out of range");
	parse_fails("[watch a]\npid = 0\n", "t.conf:2: ", "bad value '0' for pid");
	parse_fails("[watch a]\npid = 99999999\n", "t.conf:2: ", "pid");
	parse_fails("[watch a]\ncomm = x\nexpected_wait_at = src/a.rs\n", "t.conf:3: ",
		    "FILE_GLOB:LINE");
	parse_fails("[watch a]\ncomm = x\nexpected_wait_at = src/a.rs:0\n", "t.conf:3: ",
		    "expected_wait_at");
	parse_fails("just words\n", "t.conf:1: ", "expected 'key = value'");
}
END_TEST

START_TEST(bad_sections)
{
	parse_fails("[server]\n", "t.conf:1: ", "unknown section [server]");
	parse_fails("\n[watch]\n", "t.conf:2: ", "unknown section [watch]");
	parse_fails("[watch a b]\n", "t.conf:1: ", "bad watch name 'a b'");
	parse_fails("[hang\n", "t.conf:1: ", "bad section header");
	parse_fails("[watch a]\n\n[watch b]\npid = 3\n", "t.conf:1: ",
		    "[watch a] selects no process");
	parse_fails("[watch a]\npid = 3\nstuck_threshold = 5s\n", "t.conf:1: ",
		    "stuck_threshold (5000ms) is shorter than sample_interval (10000ms)");
	parse_fails("x = 1\n", "t.conf:1: ", "known keys there: listen, unix");
}
END_TEST

START_TEST(duplicates)
{
	parse_fails("web_root = a\n\nweb_root = b\n", "t.conf:3: ",
		    "duplicate key 'web_root' in the daemon section (first set at line 1)");
	parse_fails("[watch a]\npid = 1\n[watch a]\n", "t.conf:3: ",
		    "duplicate section [watch a] (first at line 1)");
	parse_fails("[hang]\n[watch a]\npid = 1\n[hang]\n", "t.conf:4: ",
		    "duplicate section [hang] (first at line 1)");
	parse_fails("[watch a]\npid = 1\nexe = /bin/x\n", "t.conf:3: ",
		    "exactly one of pid, exe and comm (already selected at line 2)");
	parse_fails("[watch a]\npid = 1\nstuck_threshold = 2m\nstuck_threshold = 3m\n",
		    "t.conf:4: ", "duplicate key 'stuck_threshold' in [watch a]");
	/* repeatable keys, and the same key in different sections, are fine */
	struct ad_config *c = parse_ok("[hang]\nsample_interval = 1s\nexpected_wait_fn = a\n"
				       "expected_wait_fn = b\n[watch w]\npid = 1\n"
				       "sample_interval = 2s\n");
	ck_assert_uint_eq(c->hang.nexpected, 2);
	ck_assert_uint_eq(ad_watch_sample_interval_ms(c, &c->watches[0]), 2000);
	ad_config_destroy(c);
}
END_TEST

START_TEST(line_numbers_count_every_line)
{
	parse_fails("# 1\n\n[hang]\r\n# 4\nsample_interval = 1s\r\nbogus = 1\n", "t.conf:6: ",
		    "unknown key 'bogus'");
}
END_TEST

START_TEST(flags_override_the_file)
{
	struct ad_config *c = parse_ok("listen = 127.0.0.2:1\nlisten = 127.0.0.2:2\n"
				       "max_connections = 10\nlog_level = warn\n");
	ck_assert_ptr_null(ad_config_set(c, "max_connections", "20"));
	ck_assert_uint_eq(c->max_connections, 20);
	ck_assert_ptr_null(ad_config_set(c, "log_level", "debug"));
	ck_assert_int_eq(c->log_level, AD_LOG_DEBUG);
	/* the first listen flag replaces the file's addresses, the next adds */
	ck_assert_ptr_null(ad_config_set(c, "listen", "127.0.0.9:9"));
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0].text, "127.0.0.9:9");
	ck_assert_ptr_null(ad_config_set(c, "listen", "[::1]:10"));
	ck_assert_uint_eq(c->nlisten, 2);
	ck_assert_str_eq(c->listen[1].text, "[::1]:10");
	ad_config_destroy(c);
}
END_TEST

START_TEST(flags_validate_like_the_file)
{
	struct ad_config *c = parse_ok("max_connections = 10\n");
	struct ad_error *err = ad_config_set(c, "max_connections", "0");
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_CONFIG);
	ck_assert_str_eq(err->message,
			 "bad value '0' for max_connections: expected an integer from 1 to 10000");
	ad_error_destroy(err);
	ck_assert_uint_eq(c->max_connections, 10); /* unchanged */

	err = ad_config_set(c, "listen", "nowhere");
	ck_assert_ptr_nonnull(err);
	ad_error_destroy(err);
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0].text, "127.0.0.1:7070");

	err = ad_config_set(c, "stuck_threshold", "1m"); /* not a daemon setting */
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->message, "unknown daemon setting 'stuck_threshold'"), "%s",
		      err->message);
	ad_error_destroy(err);
	ad_config_destroy(c);
}
END_TEST

START_TEST(hang_flags_override_the_file)
{
	struct ad_config *c = parse_ok("[hang]\nsample_interval = 5s\nexpected_wait_fn = a::*\n");
	ck_assert_ptr_null(ad_config_set_hang(c, "sample_interval", "200ms"));
	ck_assert_uint_eq(c->hang.sample_interval_ms, 200);
	ck_assert_ptr_null(ad_config_set_hang(c, "stuck_threshold", "1s"));
	ck_assert_uint_eq(c->hang.stuck_threshold_ms, 1000);
	/* expected waits add to the file's */
	ck_assert_ptr_null(ad_config_set_hang(c, "expected_wait_at", "src/idle.rs:12"));
	ck_assert_uint_eq(c->hang.nexpected, 2);
	ck_assert_str_eq(c->hang.expected[0].pattern, "a::*");
	ck_assert_int_eq(c->hang.expected[1].kind, AD_EXPECTED_WAIT_LOCATION);
	ck_assert_str_eq(c->hang.expected[1].pattern, "src/idle.rs");
	ck_assert_uint_eq(c->hang.expected[1].line, 12);
	ck_assert_ptr_null(ad_config_check(c));

	struct ad_error *err = ad_config_set_hang(c, "sample_interval", "50ms");
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->message, "sample_interval = 50ms is out of range"), "%s",
		      err->message);
	ad_error_destroy(err);
	ck_assert_uint_eq(c->hang.sample_interval_ms, 200); /* unchanged */
	err = ad_config_set_hang(c, "listen", "127.0.0.1:1"); /* a daemon key */
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->message, "unknown hang-detection setting 'listen'"), "%s",
		      err->message);
	ad_error_destroy(err);

	/* Only the whole configuration tells a threshold below the interval. */
	ck_assert_ptr_null(ad_config_set_hang(c, "sample_interval", "2s"));
	err = ad_config_check(c);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_CONFIG);
	ck_assert_str_eq(err->message,
			 "[hang]: stuck_threshold (1000ms) is shorter than sample_interval "
			 "(2000ms); a hang could never be seen twice");
	ad_error_destroy(err);
	ad_config_destroy(c);
}
END_TEST

START_TEST(watch_flags)
{
	struct ad_config *c = parse_ok("[watch flag-1]\npid = 5\n");
	ck_assert_ptr_null(ad_config_add_watch(c, "exe=/usr/bin/api-*"));
	ck_assert_ptr_null(ad_config_add_watch(c, "comm=worker"));
	ck_assert_ptr_null(ad_config_add_watch(c, "pid=42"));
	ck_assert_uint_eq(c->nwatches, 4);
	ck_assert_str_eq(c->watches[1].name, "flag-2"); /* flag-1 is the file's */
	ck_assert_int_eq(c->watches[1].selector, AD_WATCH_EXE);
	ck_assert_str_eq(c->watches[1].glob, "/usr/bin/api-*");
	ck_assert_str_eq(c->watches[2].name, "flag-3");
	ck_assert_int_eq(c->watches[2].selector, AD_WATCH_COMM);
	ck_assert_int_eq(c->watches[3].selector, AD_WATCH_PID);
	ck_assert_int_eq(c->watches[3].pid, 42);
	ck_assert_uint_eq(ad_watch_stuck_threshold_ms(c, &c->watches[3]), 60000);

	static const char *const bad[] = { "exe", "exe=", "=x", "name=x", "pid=0", "pid=x",
					   "listen=127.0.0.1:1", "sample_interval=1s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ad_error *err = ad_config_add_watch(c, bad[i]);
		ck_assert_msg(err != NULL, "'%s' was accepted", bad[i]);
		ck_assert_int_eq(err->code, AD_ERROR_CONFIG);
		ad_error_destroy(err);
		ck_assert_uint_eq(c->nwatches, 4); /* unchanged */
	}
	ad_config_destroy(c);
}
END_TEST

START_TEST(durations)
{
	uint64_t ms;
	ck_assert_ptr_null(ad_parse_duration_ms("250ms", &ms));
	ck_assert_uint_eq(ms, 250);
	ck_assert_ptr_null(ad_parse_duration_ms("10", &ms));
	ck_assert_uint_eq(ms, 10000);
	ck_assert_ptr_null(ad_parse_duration_ms("3m", &ms));
	ck_assert_uint_eq(ms, 180000);
	ck_assert_ptr_null(ad_parse_duration_ms("2h", &ms));
	ck_assert_uint_eq(ms, 7200000);
	const char *bad[] = { "", "s", "-1s", "1.5s", "1 s", "99999999999999999999s", "1sm" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ad_error *err = ad_parse_duration_ms(bad[i], &ms);
		ck_assert_msg(err != NULL, "'%s' accepted", bad[i]);
		ad_error_destroy(err);
	}
}
END_TEST

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/test_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	chmod(tmpdir, 0755);
}

static void remove_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

START_TEST(load_reads_a_file_and_names_it)
{
	make_tmpdir();
	char path[128];
	snprintf(path, sizeof(path), "%s/asyncdumpd.conf", tmpdir);
	write_file(path, "log_level = warn\n[watch x]\ncomm = x*\n", 0644);
	struct ad_config *c;
	ck_assert_ptr_null(ad_config_load(path, &c));
	ck_assert_int_eq(c->log_level, AD_LOG_WARN);
	ck_assert_uint_eq(c->nwatches, 1);
	ad_config_destroy(c);

	write_file(path, "log_level = warn\n\n[nope]\n", 0644);
	struct ad_error *err = ad_config_load(path, &c);
	ck_assert_ptr_nonnull(err);
	char prefix[160];
	snprintf(prefix, sizeof(prefix), "%s:3: unknown section [nope]", path);
	ck_assert_msg(strncmp(err->message, prefix, strlen(prefix)) == 0, "%s", err->message);
	ad_error_destroy(err);

	/* a NUL byte: not a text file */
	int fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "log_level = warn\nb\0c\n", 21), 21);
	close(fd);
	err = ad_config_load(path, &c);
	ck_assert_ptr_nonnull(err);
	snprintf(prefix, sizeof(prefix), "%s:2: NUL byte", path);
	ck_assert_msg(strncmp(err->message, prefix, strlen(prefix)) == 0, "%s", err->message);
	ad_error_destroy(err);
	remove_tmpdir();
}
END_TEST

START_TEST(missing_file)
{
	struct ad_config *c = (struct ad_config *)0x1;
	struct ad_error *err = ad_config_load("/nonexistent/asyncdumpd.conf", &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_CONFIG);
	ck_assert_str_eq(err->message, "/nonexistent/asyncdumpd.conf: cannot read the "
				       "configuration: No such file or directory");
	ck_assert_ptr_eq(c, (struct ad_config *)0x1);
	ad_error_destroy(err);
}
END_TEST

START_TEST(directory_is_not_a_config)
{
	struct ad_config *c;
	struct ad_error *err = ad_config_load("/tmp", &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_CONFIG);
	ck_assert_str_eq(err->message, "/tmp: the configuration is not a regular file");
	ad_error_destroy(err);
}
END_TEST

/* Root reads any file, so the unreadable case runs as nobody in a child. */
START_TEST(unreadable_file)
{
	make_tmpdir();
	char path[128];
	snprintf(path, sizeof(path), "%s/secret.conf", tmpdir);
	write_file(path, "log_level = warn\n", 0000);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(10);
		struct ad_config *c;
		struct ad_error *err = ad_config_load(path, &c);
		if (!err)
			_exit(11);
		char expected[256];
		snprintf(expected, sizeof(expected),
			 "%s: cannot read the configuration: Permission denied", path);
		_exit(err->code == AD_ERROR_CONFIG && strcmp(err->message, expected) == 0 ? 0 : 12);
	}
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	remove_tmpdir();
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, full_file_is_understood);
	tcase_add_test(tc, empty_file_gives_defaults);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, bad_sections);
	tcase_add_test(tc, duplicates);
	tcase_add_test(tc, line_numbers_count_every_line);
	tcase_add_test(tc, flags_override_the_file);
	tcase_add_test(tc, flags_validate_like_the_file);
	tcase_add_test(tc, hang_flags_override_the_file);
	tcase_add_test(tc, watch_flags);
	tcase_add_test(tc, durations);
	suite_add_tcase(s, tc);
	TCase *files = tcase_create("files");
	tcase_add_test(files, load_reads_a_file_and_names_it);
	tcase_add_test(files, missing_file);
	tcase_add_test(files, directory_is_not_a_config);
	tcase_add_test(files, unreadable_file);
	suite_add_tcase(s, files);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
