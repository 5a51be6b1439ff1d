/* SPDX-License-Identifier: MIT */
/* The configuration parser: one table of keys, one setter per key, shared by
 * the file and the daemon's flags so that both validate the same way. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"

#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_LINE_BYTES 4096
#define MAX_LIST_ENTRIES 1024 /* listen addresses, watches, expected waits */
#define MAX_PID 4194304       /* PID_MAX_LIMIT on 64-bit Linux */

#define DEFAULT_MAX_CONNECTIONS 128
#define DEFAULT_MAX_CONNECTIONS_PER_IP 64
#define DEFAULT_MAX_SAMPLES_IN_FLIGHT 8
#define DEFAULT_RATE_LIMIT 50
#define DEFAULT_CONNECTION_TIMEOUT_S 30
#define DEFAULT_REQUEST_TIMEOUT_MS 10000
#define DEFAULT_SAMPLE_MEMORY ((uint64_t)4 << 30)
#define DEFAULT_SAMPLE_INTERVAL_MS 10000
#define DEFAULT_STUCK_THRESHOLD_MS 60000

enum scope { SCOPE_DAEMON = 1, SCOPE_HANG = 2, SCOPE_WATCH = 4 };

/* What a setter may change: the daemon fields, the hang settings of the
 * current section, and the current watch. */
struct target {
	struct ad_config *config;
	struct ad_hang_settings *hang;
	struct ad_watch *watch;
	bool from_flag;
};

typedef struct ad_error *(*setter_fn)(const struct target *t, const char *key, const char *value);

struct key_def {
	const char *name;
	unsigned scopes;
	bool repeatable;
	bool selects_watch; /* pid, exe, comm: exactly one per watch */
	setter_fn set;
};

static struct ad_error *bad_value(const char *key, const char *value, const char *expected)
{
	return ad_error_create(AD_ERROR_CONFIG, "bad value '%s' for %s: expected %s", value, key,
			       expected);
}

static bool parse_number(const char *text, unsigned long long min, unsigned long long max,
			 unsigned long long *ret)
{
	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*ret = n;
	return true;
}

static struct ad_error *parse_uint(const char *key, const char *value, unsigned long long min,
				   unsigned long long max, unsigned long long *ret)
{
	if (parse_number(value, min, max, ret))
		return NULL;
	char expected[96];
	snprintf(expected, sizeof(expected), "an integer from %llu to %llu", min, max);
	return bad_value(key, value, expected);
}

struct ad_error *ad_parse_duration_ms(const char *text, uint64_t *ret)
{
	static const struct { const char *suffix; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (n > UINT64_MAX / units[i].ms)
			goto bad;
		*ret = n * units[i].ms;
		return NULL;
	}
bad:
	return ad_error_create(AD_ERROR_CONFIG,
			       "bad duration '%s': expected an integer with an optional unit "
			       "ms, s, m or h (e.g. 500ms, 10s, 2m)",
			       text);
}

static struct ad_error *parse_duration_in(const char *key, const char *value, uint64_t min_ms,
					  uint64_t max_ms, uint64_t *ret)
{
	uint64_t ms;
	struct ad_error *err = ad_parse_duration_ms(value, &ms);
	if (err)
		return ad_error_wrap(err, "%s", key);
	if (ms < min_ms || ms > max_ms)
		return ad_error_create(AD_ERROR_CONFIG,
				       "%s = %s is out of range: expected %" PRIu64 "ms to %" PRIu64
				       "ms",
				       key, value, min_ms, max_ms);
	*ret = ms;
	return NULL;
}

static struct ad_error *replace_string(char **slot, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return &ad_error_nomem;
	free(*slot);
	*slot = copy;
	return NULL;
}

/* Grows an array of `size`-byte elements by one zeroed element. */
static struct ad_error *grow(void **array, size_t *n, size_t size, const char *what)
{
	if (*n >= MAX_LIST_ENTRIES)
		return ad_error_create(AD_ERROR_CONFIG, "too many %s (at most %d)", what,
				       MAX_LIST_ENTRIES);
	void *bigger = realloc(*array, (*n + 1) * size);
	if (!bigger)
		return &ad_error_nomem;
	memset((char *)bigger + *n * size, 0, size);
	*array = bigger;
	(*n)++;
	return NULL;
}

/* ---------------------------------------------------------------- daemon keys */

static struct ad_error *parse_listen_addr(const char *key, const char *value,
					  struct ad_listen_addr *ret)
{
	static const char expected[] =
		"a numeric address and port, as 127.0.0.1:7070 or [::1]:7070";
	struct ad_listen_addr a = { 0 };
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(value, ':');
	if (!colon || (size_t)(colon - value) >= sizeof(host) || colon == value)
		return bad_value(key, value, expected);
	memcpy(host, value, (size_t)(colon - value));
	host[colon - value] = '\0';
	unsigned long long port;
	if (!parse_number(colon + 1, 0, 65535, &port))
		goto bad_port;

	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.addr;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return bad_value(key, value, expected);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a.addr_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.addr;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return bad_value(key, value, expected);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a.addr_len = sizeof(*sin);
	}
	a.text = strdup(value);
	if (!a.text)
		return &ad_error_nomem;
	*ret = a;
	return NULL;
bad_port:
	return bad_value(key, value, "a port from 0 to 65535 after the last ':'");
}

static void clear_listen(struct ad_config *c)
{
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i].text);
	free(c->listen);
	c->listen = NULL;
	c->nlisten = 0;
}

static struct ad_error *set_listen(const struct target *t, const char *key, const char *value)
{
	struct ad_config *c = t->config;
	struct ad_listen_addr a;
	struct ad_error *err = parse_listen_addr(key, value, &a);
	if (err)
		return err;
	/* The file replaces the default; the first flag replaces the file. */
	bool replace = !c->listen_configured || (t->from_flag && !c->listen_from_flags_);
	size_t n = replace ? 0 : c->nlisten;
	if (n >= MAX_LIST_ENTRIES) {
		free(a.text);
		return ad_error_create(AD_ERROR_CONFIG, "too many listen addresses (at most %d)",
				       MAX_LIST_ENTRIES);
	}
	struct ad_listen_addr *list = malloc((n + 1) * sizeof(*list));
	if (!list) {
		free(a.text);
		return &ad_error_nomem;
	}
	if (replace) {
		clear_listen(c);
	} else {
		memcpy(list, c->listen, n * sizeof(*list));
		free(c->listen);
	}
	list[n] = a;
	c->listen = list;
	c->nlisten = n + 1;
	c->listen_configured = true;
	if (t->from_flag)
		c->listen_from_flags_ = true;
	return NULL;
}

static struct ad_error *set_unix(const struct target *t, const char *key, const char *value)
{
	struct sockaddr_un sun;
	if (value[0] != '/' || strlen(value) >= sizeof(sun.sun_path))
		return bad_value(key, value, "an absolute path shorter than 108 bytes");
	return replace_string(&t->config->unix_path, value);
}

static struct ad_error *set_token_file(const struct target *t, const char *key, const char *value)
{
	return replace_string(&t->config->token_file, value);
}

static struct ad_error *set_web_root(const struct target *t, const char *key, const char *value)
{
	return replace_string(&t->config->web_root, value);
}

static struct ad_error *set_cores_dir(const struct target *t, const char *key, const char *value)
{
	if (value[0] != '/')
		return bad_value(key, value, "an absolute directory path");
	return replace_string(&t->config->cores_dir, value);
}

static struct ad_error *set_unsigned(unsigned *slot, const char *key, const char *value,
				     unsigned min, unsigned max)
{
	unsigned long long n;
	struct ad_error *err = parse_uint(key, value, min, max, &n);
	if (!err)
		*slot = (unsigned)n;
	return err;
}

static struct ad_error *set_max_connections(const struct target *t, const char *key,
					    const char *value)
{
	return set_unsigned(&t->config->max_connections, key, value, 1, 10000);
}

static struct ad_error *set_max_connections_per_ip(const struct target *t, const char *key,
						   const char *value)
{
	return set_unsigned(&t->config->max_connections_per_ip, key, value, 0, 10000);
}

static struct ad_error *set_max_samples_in_flight(const struct target *t, const char *key,
						  const char *value)
{
	return set_unsigned(&t->config->max_samples_in_flight, key, value, 1, 1024);
}

static struct ad_error *set_rate_limit(const struct target *t, const char *key, const char *value)
{
	char number[32];
	size_t len = strlen(value);
	if (len > 2 && strcmp(value + len - 2, "/s") == 0)
		len -= 2;
	if (len == 0 || len >= sizeof(number))
		return bad_value(key, value, "requests per second, as 50/s (0: unlimited)");
	memcpy(number, value, len);
	number[len] = '\0';
	unsigned long long n;
	if (!parse_number(number, 0, 1000000, &n))
		return bad_value(key, value, "requests per second from 0 to 1000000, as 50/s");
	t->config->rate_limit = (unsigned)n;
	return NULL;
}

static struct ad_error *set_connection_timeout(const struct target *t, const char *key,
					       const char *value)
{
	uint64_t ms = 0;
	struct ad_error *err = parse_duration_in(key, value, 1000, 3600000, &ms);
	if (err)
		return err;
	if (ms % 1000)
		return bad_value(key, value, "whole seconds, as 30s");
	t->config->connection_timeout_s = (unsigned)(ms / 1000);
	return NULL;
}

/* A size: a whole number with B, KiB, MiB, GiB or TiB (or none: bytes). */
static struct ad_error *set_sample_memory(const struct target *t, const char *key,
					  const char *value)
{
	static const struct { const char *unit; unsigned shift; } units[] = {
		{ "", 0 }, { "B", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
	};
	char number[32];
	size_t digits = strspn(value, "0123456789");
	if (digits == 0 || digits >= sizeof(number))
		return bad_value(key, value, "a size, as 4GiB or 512MiB (0: no bound)");
	memcpy(number, value, digits);
	number[digits] = '\0';
	unsigned long long n;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(value + digits, units[i].unit) != 0)
			continue;
		if (!parse_number(number, 0, (1ULL << (62 - units[i].shift)), &n))
			break;
		t->config->sample_memory = (uint64_t)n << units[i].shift;
		return NULL;
	}
	return bad_value(key, value, "a size, as 4GiB or 512MiB (0: no bound)");
}

static struct ad_error *set_request_timeout(const struct target *t, const char *key,
					    const char *value)
{
	uint64_t ms = 0;
	struct ad_error *err = parse_duration_in(key, value, 100, 600000, &ms);
	if (err)
		return err;
	t->config->request_timeout_ms = (unsigned)ms;
	return NULL;
}

static const char *const log_level_names[] = {
	[AD_LOG_ERROR] = "error",
	[AD_LOG_WARN] = "warn",
	[AD_LOG_INFO] = "info",
	[AD_LOG_DEBUG] = "debug",
};

const char *ad_log_level_name(enum ad_log_level level)
{
	if ((unsigned)level < sizeof(log_level_names) / sizeof(log_level_names[0]))
		return log_level_names[level];
	return "info";
}

static struct ad_error *set_log_level(const struct target *t, const char *key, const char *value)
{
	for (unsigned i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(value, log_level_names[i]) == 0) {
			t->config->log_level = (enum ad_log_level)i;
			return NULL;
		}
	}
	return bad_value(key, value, "one of error, warn, info, debug");
}

static struct ad_error *set_decode_priority(const struct target *t, const char *key,
					    const char *value)
{
	static const char *const names[] = { "nice", "idle", "normal" };
	static const enum ad_decode_priority values[] = {
		AD_DECODE_PRIORITY_NICE, AD_DECODE_PRIORITY_IDLE, AD_DECODE_PRIORITY_NORMAL,
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(value, names[i]) == 0) {
			t->config->decode_priority = values[i];
			return NULL;
		}
	}
	return bad_value(key, value, "one of nice, idle, normal");
}

/* ---------------------------------------------------------------- hang keys */

static struct ad_error *set_sample_interval(const struct target *t, const char *key,
					    const char *value)
{
	uint64_t ms = 0;
	struct ad_error *err = parse_duration_in(key, value, 100, 86400000, &ms);
	if (err)
		return err;
	t->hang->has_sample_interval = true;
	t->hang->sample_interval_ms = ms;
	return NULL;
}

static struct ad_error *set_stuck_threshold(const struct target *t, const char *key,
					    const char *value)
{
	uint64_t ms = 0;
	struct ad_error *err = parse_duration_in(key, value, 1000, 7 * 86400000ULL, &ms);
	if (err)
		return err;
	t->hang->has_stuck_threshold = true;
	t->hang->stuck_threshold_ms = ms;
	return NULL;
}

static struct ad_error *set_sample_stop(const struct target *t, const char *key,
					const char *value)
{
	static const char *const yes[] = { "yes", "true", "1" }, *const no[] = { "no", "false", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
			t->hang->has_sample_stop = true;
			t->hang->sample_stop = strcmp(value, yes[i]) == 0;
			return NULL;
		}
	}
	return bad_value(key, value, "yes or no");
}

static struct ad_error *add_expected_wait(struct ad_hang_settings *h,
					  enum ad_expected_wait_kind kind, const char *pattern,
					  size_t pattern_len, unsigned line)
{
	char *copy = strndup(pattern, pattern_len);
	if (!copy)
		return &ad_error_nomem;
	struct ad_error *err =
		grow((void **)&h->expected, &h->nexpected, sizeof(*h->expected), "expected waits");
	if (err) {
		free(copy);
		return err;
	}
	struct ad_expected_wait *w = &h->expected[h->nexpected - 1];
	w->kind = kind;
	w->pattern = copy;
	w->line = line;
	return NULL;
}

static struct ad_error *set_expected_wait_fn(const struct target *t, const char *key,
					     const char *value)
{
	return add_expected_wait(t->hang, AD_EXPECTED_WAIT_FUNCTION, value, strlen(value), 0);
}

static struct ad_error *set_expected_wait_at(const struct target *t, const char *key,
					     const char *value)
{
	static const char expected[] = "FILE_GLOB:LINE or FILE_GLOB:*, as src/worker.rs:42";
	const char *colon = strrchr(value, ':');
	if (!colon || colon == value)
		return bad_value(key, value, expected);
	unsigned long long line = 0;
	if (strcmp(colon + 1, "*") != 0 &&
	    !parse_number(colon + 1, 1, UINT_MAX, &line))
		return bad_value(key, value, expected);
	return add_expected_wait(t->hang, AD_EXPECTED_WAIT_LOCATION, value,
				 (size_t)(colon - value), (unsigned)line);
}

/* ---------------------------------------------------------------- watch keys */

static struct ad_error *set_pid(const struct target *t, const char *key, const char *value)
{
	unsigned long long pid;
	struct ad_error *err = parse_uint(key, value, 1, MAX_PID, &pid);
	if (err)
		return err;
	t->watch->selector = AD_WATCH_PID;
	t->watch->pid = (pid_t)pid;
	return NULL;
}

static struct ad_error *set_glob_selector(const struct target *t, enum ad_watch_selector s,
					  const char *value)
{
	struct ad_error *err = replace_string(&t->watch->glob, value);
	if (!err)
		t->watch->selector = s;
	return err;
}

static struct ad_error *set_exe(const struct target *t, const char *key, const char *value)
{
	return set_glob_selector(t, AD_WATCH_EXE, value);
}

static struct ad_error *set_comm(const struct target *t, const char *key, const char *value)
{
	return set_glob_selector(t, AD_WATCH_COMM, value);
}

static const struct key_def keys[] = {
	{ "listen", SCOPE_DAEMON, true, false, set_listen },
	{ "unix", SCOPE_DAEMON, false, false, set_unix },
	{ "token_file", SCOPE_DAEMON, false, false, set_token_file },
	{ "web_root", SCOPE_DAEMON, false, false, set_web_root },
	{ "cores_dir", SCOPE_DAEMON, false, false, set_cores_dir },
	{ "max_connections", SCOPE_DAEMON, false, false, set_max_connections },
	{ "max_connections_per_ip", SCOPE_DAEMON, false, false, set_max_connections_per_ip },
	{ "max_samples_in_flight", SCOPE_DAEMON, false, false, set_max_samples_in_flight },
	{ "sample_memory", SCOPE_DAEMON, false, false, set_sample_memory },
	{ "rate_limit", SCOPE_DAEMON, false, false, set_rate_limit },
	{ "connection_timeout", SCOPE_DAEMON, false, false, set_connection_timeout },
	{ "request_timeout", SCOPE_DAEMON, false, false, set_request_timeout },
	{ "log_level", SCOPE_DAEMON, false, false, set_log_level },
	{ "decode_priority", SCOPE_DAEMON, false, false, set_decode_priority },
	{ "sample_interval", SCOPE_HANG | SCOPE_WATCH, false, false, set_sample_interval },
	{ "stuck_threshold", SCOPE_HANG | SCOPE_WATCH, false, false, set_stuck_threshold },
	{ "sample_stop", SCOPE_HANG | SCOPE_WATCH, false, false, set_sample_stop },
	{ "expected_wait_fn", SCOPE_HANG | SCOPE_WATCH, true, false, set_expected_wait_fn },
	{ "expected_wait_at", SCOPE_HANG | SCOPE_WATCH, true, false, set_expected_wait_at },
	{ "pid", SCOPE_WATCH, false, true, set_pid },
	{ "exe", SCOPE_WATCH, false, true, set_exe },
	{ "comm", SCOPE_WATCH, false, true, set_comm },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key_def *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* "a, b, c" of the keys valid in `scope`, into buf. */
static const char *key_list(unsigned scope, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		if (!(keys[i].scopes & scope))
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", keys[i].name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* ---------------------------------------------------------------- model */

static void hang_settings_deinit(struct ad_hang_settings *h)
{
	for (size_t i = 0; i < h->nexpected; i++)
		free(h->expected[i].pattern);
	free(h->expected);
}

void ad_config_destroy(struct ad_config *c)
{
	if (!c)
		return;
	clear_listen(c);
	free(c->unix_path);
	free(c->token_file);
	free(c->web_root);
	free(c->cores_dir);
	hang_settings_deinit(&c->hang);
	for (size_t i = 0; i < c->nwatches; i++) {
		free(c->watches[i].name);
		free(c->watches[i].glob);
		hang_settings_deinit(&c->watches[i].hang);
	}
	free(c->watches);
	free(c);
}

struct ad_error *ad_config_create(struct ad_config **ret)
{
	struct ad_config *c = calloc(1, sizeof(*c));
	if (!c)
		return &ad_error_nomem;
	c->max_connections = DEFAULT_MAX_CONNECTIONS;
	c->max_connections_per_ip = DEFAULT_MAX_CONNECTIONS_PER_IP;
	c->max_samples_in_flight = DEFAULT_MAX_SAMPLES_IN_FLIGHT;
	c->sample_memory = DEFAULT_SAMPLE_MEMORY;
	/* Not nice by default: on saturated CPUs a sample decoded at nice 19
	 * took 1.4-3.6 s instead of about 30 ms (issue 18, RESULTS.md). */
	c->decode_priority = AD_DECODE_PRIORITY_NORMAL;
	c->rate_limit = DEFAULT_RATE_LIMIT;
	c->connection_timeout_s = DEFAULT_CONNECTION_TIMEOUT_S;
	c->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	c->log_level = AD_LOG_INFO;
	c->hang.has_sample_interval = true;
	c->hang.sample_interval_ms = DEFAULT_SAMPLE_INTERVAL_MS;
	c->hang.has_stuck_threshold = true;
	c->hang.stuck_threshold_ms = DEFAULT_STUCK_THRESHOLD_MS;
	c->hang.has_sample_stop = true;
	c->hang.sample_stop = true;

	struct target t = { .config = c };
	struct ad_error *err = set_listen(&t, "listen", AD_CONFIG_DEFAULT_LISTEN);
	if (err) {
		ad_config_destroy(c);
		return err;
	}
	c->listen_configured = false;
	*ret = c;
	return NULL;
}

uint64_t ad_watch_sample_interval_ms(const struct ad_config *c, const struct ad_watch *w)
{
	return w->hang.has_sample_interval ? w->hang.sample_interval_ms
					   : c->hang.sample_interval_ms;
}

bool ad_watch_sample_stop(const struct ad_config *c, const struct ad_watch *w)
{
	return w->hang.has_sample_stop ? w->hang.sample_stop : c->hang.sample_stop;
}

uint64_t ad_watch_stuck_threshold_ms(const struct ad_config *c, const struct ad_watch *w)
{
	return w->hang.has_stuck_threshold ? w->hang.stuck_threshold_ms
					   : c->hang.stuck_threshold_ms;
}

struct ad_error *ad_config_set(struct ad_config *c, const char *key, const char *value)
{
	const struct key_def *k = find_key(key);
	if (!k || !(k->scopes & SCOPE_DAEMON)) {
		char known[512];
		return ad_error_create(AD_ERROR_CONFIG, "unknown daemon setting '%s'; known: %s",
				       key, key_list(SCOPE_DAEMON, known, sizeof(known)));
	}
	if (!value[0])
		return ad_error_create(AD_ERROR_CONFIG, "empty value for %s", key);
	struct target t = { .config = c, .hang = &c->hang, .from_flag = true };
	return k->set(&t, key, value);
}

static struct ad_error *thresholds_error(const char *section, uint64_t interval_ms,
					 uint64_t stuck_ms)
{
	if (stuck_ms >= interval_ms)
		return NULL;
	return ad_error_create(AD_ERROR_CONFIG,
			       "%s: stuck_threshold (%" PRIu64 "ms) is shorter than "
			       "sample_interval (%" PRIu64 "ms); a hang could never be seen twice",
			       section, stuck_ms, interval_ms);
}

struct ad_error *ad_config_set_hang(struct ad_config *c, const char *key, const char *value)
{
	const struct key_def *k = find_key(key);
	if (!k || !(k->scopes & SCOPE_HANG)) {
		char known[512];
		return ad_error_create(AD_ERROR_CONFIG,
				       "unknown hang-detection setting '%s'; known: %s", key,
				       key_list(SCOPE_HANG, known, sizeof(known)));
	}
	if (!value[0])
		return ad_error_create(AD_ERROR_CONFIG, "empty value for %s", key);
	struct target t = { .config = c, .hang = &c->hang, .from_flag = true };
	return k->set(&t, key, value);
}

static bool has_watch_named(const struct ad_config *c, const char *name)
{
	for (size_t i = 0; i < c->nwatches; i++)
		if (strcmp(c->watches[i].name, name) == 0)
			return true;
	return false;
}

struct ad_error *ad_config_add_watch(struct ad_config *c, const char *spec)
{
	static const char expected[] = "pid=PID, exe=GLOB or comm=GLOB";
	const char *eq = strchr(spec, '=');
	char selector[8];
	if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= sizeof(selector))
		return bad_value("watch", spec, expected);
	memcpy(selector, spec, (size_t)(eq - spec));
	selector[eq - spec] = '\0';
	const struct key_def *k = find_key(selector);
	if (!k || !k->selects_watch)
		return bad_value("watch", spec, expected);

	char name[32];
	unsigned n = 1;
	do
		snprintf(name, sizeof(name), "flag-%u", n++);
	while (has_watch_named(c, name));
	char *copy = strdup(name);
	if (!copy)
		return &ad_error_nomem;
	struct ad_error *err =
		grow((void **)&c->watches, &c->nwatches, sizeof(*c->watches), "watches");
	if (err) {
		free(copy);
		return err;
	}
	struct ad_watch *w = &c->watches[c->nwatches - 1];
	w->name = copy;
	struct target t = { .config = c, .hang = &w->hang, .watch = w, .from_flag = true };
	if ((err = k->set(&t, selector, eq + 1))) {
		free(w->name);
		free(w->glob);
		c->nwatches--;
	}
	return err;
}

struct ad_error *ad_config_check(const struct ad_config *c)
{
	struct ad_error *err =
		thresholds_error("[hang]", c->hang.sample_interval_ms, c->hang.stuck_threshold_ms);
	for (size_t i = 0; !err && i < c->nwatches; i++) {
		const struct ad_watch *w = &c->watches[i];
		char section[160];
		snprintf(section, sizeof(section), "[watch %s]", w->name);
		err = thresholds_error(section, ad_watch_sample_interval_ms(c, w),
				       ad_watch_stuck_threshold_ms(c, w));
	}
	return err;
}

/* ---------------------------------------------------------------- the file */

struct parser {
	const char *name;
	unsigned line;
	struct ad_config *config;
	unsigned scope;
	size_t watch;              /* index of the current watch (SCOPE_WATCH) */
	unsigned daemon_line;      /* of an explicit [daemon], 0 none */
	unsigned hang_line;        /* of [hang], 0 none */
	unsigned selector_line;    /* of the current watch's pid/exe/comm, 0 none */
	unsigned key_line[NKEYS];  /* where each key was set in the current section */
};

static struct ad_error *parse_error(const struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct ad_error *parse_error(const struct parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct ad_error *err = ad_error_vcreate(AD_ERROR_CONFIG, 0, 0, fmt, ap);
	va_end(ap);
	return ad_error_wrap(err, "%s:%u", p->name, p->line);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool valid_section_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

static void enter_section(struct parser *p, unsigned scope)
{
	p->scope = scope;
	p->selector_line = 0;
	memset(p->key_line, 0, sizeof(p->key_line));
}

static struct ad_error *begin_watch(struct parser *p, const char *name)
{
	struct ad_config *c = p->config;
	if (!valid_section_name(name))
		return parse_error(p, "bad watch name '%s': use letters, digits, '_', '-', '.'",
				   name);
	for (size_t i = 0; i < c->nwatches; i++)
		if (strcmp(c->watches[i].name, name) == 0)
			return parse_error(p, "duplicate section [watch %s] (first at line %u)",
					   name, c->watches[i].line);
	char *copy = strdup(name);
	if (!copy)
		return &ad_error_nomem;
	struct ad_error *err = grow((void **)&c->watches, &c->nwatches, sizeof(*c->watches),
				    "watch sections");
	if (err) {
		free(copy);
		return ad_error_wrap(err, "%s:%u", p->name, p->line);
	}
	struct ad_watch *w = &c->watches[c->nwatches - 1];
	w->name = copy;
	w->line = p->line;
	w->selector = AD_WATCH_PID;
	p->watch = c->nwatches - 1;
	enter_section(p, SCOPE_WATCH);
	return NULL;
}

static struct ad_error *parse_section(struct parser *p, char *header)
{
	size_t len = strlen(header);
	if (header[len - 1] != ']')
		return parse_error(p, "bad section header '%s': expected [daemon], [hang] or "
				      "[watch NAME]", header);
	header[len - 1] = '\0';
	char *inner = trim(header + 1);

	if (strcmp(inner, "daemon") == 0 || strcmp(inner, "hang") == 0) {
		bool daemon = inner[0] == 'd';
		unsigned *seen = daemon ? &p->daemon_line : &p->hang_line;
		if (*seen)
			return parse_error(p, "duplicate section [%s] (first at line %u)", inner,
					   *seen);
		*seen = p->line;
		enter_section(p, daemon ? SCOPE_DAEMON : SCOPE_HANG);
		return NULL;
	}
	if (strncmp(inner, "watch", 5) == 0 && (inner[5] == ' ' || inner[5] == '\t'))
		return begin_watch(p, trim(inner + 5));
	return parse_error(p, "unknown section [%s]: expected [daemon], [hang] or [watch NAME]",
			   inner);
}

static const char *scope_name(const struct parser *p, char *buf, size_t size)
{
	switch (p->scope) {
	case SCOPE_HANG: return "[hang]";
	case SCOPE_WATCH:
		snprintf(buf, size, "[watch %s]", p->config->watches[p->watch].name);
		return buf;
	default: return "the daemon section";
	}
}

static struct ad_error *parse_assignment(struct parser *p, char *text)
{
	char *eq = strchr(text, '=');
	if (!eq)
		return parse_error(p, "expected 'key = value' or a [section] header, got '%s'",
				   text);
	*eq = '\0';
	char *key = trim(text), *value = trim(eq + 1);
	char where[160], known[512];
	const struct key_def *k = find_key(key);
	if (!k || !(k->scopes & p->scope))
		return parse_error(p, "unknown key '%s' in %s; known keys there: %s", key,
				   scope_name(p, where, sizeof(where)),
				   key_list(p->scope, known, sizeof(known)));
	if (!*value)
		return parse_error(p, "empty value for %s", key);
	unsigned *first = &p->key_line[k - keys];
	if (*first && !k->repeatable)
		return parse_error(p, "duplicate key '%s' in %s (first set at line %u)", key,
				   scope_name(p, where, sizeof(where)), *first);
	if (k->selects_watch && p->selector_line)
		return parse_error(p, "%s: a watch selects its target by exactly one of pid, exe "
				      "and comm (already selected at line %u)",
				   key, p->selector_line);

	struct ad_config *c = p->config;
	struct ad_watch *w = p->scope == SCOPE_WATCH ? &c->watches[p->watch] : NULL;
	struct target t = { .config = c, .hang = w ? &w->hang : &c->hang, .watch = w };
	struct ad_error *err = k->set(&t, key, value);
	if (err)
		return ad_error_wrap(err, "%s:%u", p->name, p->line);
	*first = p->line;
	if (k->selects_watch)
		p->selector_line = p->line;
	return NULL;
}

static struct ad_error *check_thresholds(const struct parser *p, const char *section,
					 unsigned line, uint64_t interval_ms, uint64_t stuck_ms)
{
	struct ad_error *err = thresholds_error(section, interval_ms, stuck_ms);
	return err ? ad_error_wrap(err, "%s:%u", p->name, line) : NULL;
}

/* What can only be checked once the whole file is read. */
static struct ad_error *check_complete(struct parser *p)
{
	struct ad_config *c = p->config;
	struct ad_error *err = check_thresholds(p, "[hang]", p->hang_line,
						c->hang.sample_interval_ms,
						c->hang.stuck_threshold_ms);
	if (err)
		return err;
	for (size_t i = 0; i < c->nwatches; i++) {
		struct ad_watch *w = &c->watches[i];
		char section[160];
		snprintf(section, sizeof(section), "[watch %s]", w->name);
		if (w->selector != AD_WATCH_PID ? !w->glob : !w->pid)
			return ad_error_create(AD_ERROR_CONFIG,
					       "%s:%u: %s selects no process: give one of pid, "
					       "exe or comm",
					       p->name, w->line, section);
		err = check_thresholds(p, section, w->line, ad_watch_sample_interval_ms(c, w),
				       ad_watch_stuck_threshold_ms(c, w));
		if (err)
			return err;
	}
	return NULL;
}

static struct ad_error *parse_line(struct parser *p, char *raw)
{
	char *text = trim(raw);
	if (!*text || *text == '#' || *text == ';')
		return NULL;
	if (*text == '[')
		return parse_section(p, text);
	return parse_assignment(p, text);
}

static struct ad_error *parse_text(struct parser *p, const char *text, size_t len)
{
	char line[MAX_LINE_BYTES + 1];
	size_t pos = 0;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		p->line++;
		if (memchr(start, '\0', n))
			return parse_error(p, "NUL byte in the line: is this a text file?");
		if (n > MAX_LINE_BYTES)
			return parse_error(p, "line longer than %d bytes", MAX_LINE_BYTES);
		memcpy(line, start, n);
		line[n] = '\0';
		struct ad_error *err = parse_line(p, line);
		if (err)
			return err;
	}
	return check_complete(p);
}

static struct ad_error *parse_new(const char *name, const char *text, size_t len,
				 struct ad_config **ret)
{
	struct ad_config *c;
	struct ad_error *err = ad_config_create(&c);
	if (err)
		return err;
	struct parser p = { .name = name, .config = c, .scope = SCOPE_DAEMON };
	err = parse_text(&p, text, len);
	if (err) {
		ad_config_destroy(c);
		return err;
	}
	*ret = c;
	return NULL;
}

struct ad_error *ad_config_parse(const char *name, const char *text, struct ad_config **ret)
{
	return parse_new(name, text, strlen(text), ret);
}

static struct ad_error *read_config_file(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto os_error;
	struct stat st;
	if (fstat(fd, &st) < 0)
		goto os_error_close;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ad_error_create(AD_ERROR_CONFIG,
				       "%s: the configuration is not a regular file", path);
	}
	if (st.st_size > MAX_FILE_BYTES) {
		close(fd);
		return ad_error_create(AD_ERROR_CONFIG,
				       "%s: the configuration is larger than %d bytes", path,
				       MAX_FILE_BYTES);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return &ad_error_nomem;
	}
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			goto os_error_close;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > (size_t)st.st_size) { /* the file grew: parse what fstat saw */
			len = (size_t)st.st_size;
			break;
		}
	}
	close(fd);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return NULL;

os_error_close:;
	int saved = errno;
	close(fd);
	errno = saved;
os_error:;
	struct ad_error *err = ad_error_os(errno, "%s: cannot read the configuration", path);
	if (err != &ad_error_nomem)
		err->code = AD_ERROR_CONFIG;
	return err;
}

struct ad_error *ad_config_load(const char *path, struct ad_config **ret)
{
	char *text = NULL;
	size_t len = 0;
	struct ad_error *err = read_config_file(path, &text, &len);
	if (err)
		return err;
	err = parse_new(path, text, len, ret);
	free(text);
	return err;
}
