/* SPDX-License-Identifier: MIT */
/* The daemon's configuration (asyncdumpd.conf and its flags), hang detection
 * included: the model and its parser. The library takes none of it: the
 * daemon hands each library call the options it needs.
 *
 * The file is a list of `key = value` lines, grouped by `[section]` headers:
 *
 *     # whole-line comments start with '#' or ';'
 *     listen = 127.0.0.1:7070          # (not here: trailing comments are values)
 *     listen = [::1]:7070              # listen may repeat
 *     unix = /run/asyncdump/asyncdumpd.sock
 *     token_file = /etc/asyncdump/token
 *     web_root = /home/me/asyncdump/web     # instead of the built-in viewer
 *     max_connections = 128
 *     max_connections_per_ip = 64
 *     max_samples_in_flight = 8
 *     sample_memory = 4GiB
 *     rate_limit = 50/s
 *     connection_timeout = 30s
 *     request_timeout = 10s
 *     log_level = info
 *     cores_dir = /var/lib/systemd/coredump
 *
 *     [hang]                           # defaults for every watched target
 *     sample_interval = 10s
 *     stuck_threshold = 60s
 *     sample_stop = yes                # no: read while it runs, never stop it
 *     expected_wait_fn = *::accept_loop
 *     expected_wait_at = src/idle.rs:*
 *
 *     [watch api]                      # one target: exactly one of pid, exe, comm
 *     exe = /usr/local/bin/api-*
 *     stuck_threshold = 2m
 *     expected_wait_fn = api::worker::park
 *
 * Keys before the first section (or in a `[daemon]` section) configure the
 * daemon. A key may be given once per section, except `listen`,
 * `expected_wait_fn` and `expected_wait_at`, which accumulate. `[daemon]` and
 * `[hang]` may appear once; `[watch NAME]` once per NAME (letters, digits,
 * '_', '-', '.'). Values are taken verbatim after trimming blanks: there are
 * no quotes and no trailing comments. Durations are an integer with an
 * optional unit: ms, s (the default), m, h. Globs are fnmatch(3) patterns.
 *
 * Command-line flags of asyncdumpd are the daemon and [hang] keys with '-' for
 * '_' (--max-connections for max_connections) and go through ad_config_set()
 * and ad_config_set_hang(), the same validation as the file; they override it.
 * The first `listen` flag replaces the file's listen addresses; further ones
 * add to them. `--watch SELECTOR=VALUE` adds a watch (ad_config_add_watch()).
 *
 * Errors are AD_ERROR_CONFIG with "FILE:LINE: what is wrong" (or
 * "--flag: what is wrong" from ad_config_set's caller); nothing is printed. */
#ifndef ASYNCDUMP_DAEMON_CONF_H
#define ASYNCDUMP_DAEMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "asyncdump/error.h"
#include "asyncdump/progress.h" /* struct ad_expected_wait */
#include "asyncdump/capture.h" /* enum ad_decode_priority */

#define AD_CONFIG_DEFAULT_PATH "/etc/asyncdump/asyncdumpd.conf"
#define AD_CONFIG_DEFAULT_LISTEN "127.0.0.1:7070"
#define AD_CONFIG_DEFAULT_CORES_DIR "/var/lib/systemd/coredump"

enum ad_log_level { AD_LOG_ERROR, AD_LOG_WARN, AD_LOG_INFO, AD_LOG_DEBUG };

/* A numeric TCP address: "1.2.3.4:PORT" or "[v6]:PORT"; port 0 = any. */
struct ad_listen_addr {
	char *text;
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

enum ad_watch_selector { AD_WATCH_PID, AD_WATCH_EXE, AD_WATCH_COMM };

/* Hang-detection settings; a watch's own values override [hang]'s. */
struct ad_hang_settings {
	bool has_sample_interval;
	uint64_t sample_interval_ms;
	bool has_stuck_threshold;
	uint64_t stuck_threshold_ms;
	/* sample_stop = no: samples read the process while it runs
	 * (ad_capture_options.no_stop) */
	bool has_sample_stop;
	bool sample_stop;
	size_t nexpected;
	struct ad_expected_wait *expected;
};

struct ad_watch {
	char *name;
	unsigned line;               /* of the [watch NAME] header */
	enum ad_watch_selector selector;
	pid_t pid;                   /* AD_WATCH_PID */
	char *glob;                  /* AD_WATCH_EXE: over the path, or over the file name
				      * when the glob has no '/'; AD_WATCH_COMM: the comm */
	struct ad_hang_settings hang;
};

struct ad_config {
	/* daemon */
	size_t nlisten;
	struct ad_listen_addr *listen;
	bool listen_configured;      /* listen given by the file or a flag (not the default) */
	char *unix_path;             /* NULL: no unix socket */
	char *token_file;            /* NULL: no token */
	char *web_root;              /* NULL: the built-in default */
	char *cores_dir;             /* GET /cores; NULL: AD_CONFIG_DEFAULT_CORES_DIR */
	unsigned max_connections;
	unsigned max_connections_per_ip; /* per address (TCP) or uid (unix, not root); 0: none */
	unsigned max_samples_in_flight;
	uint64_t sample_memory;      /* snapshot bytes of all samples in flight; 0: no bound */
	unsigned rate_limit;         /* requests per second, 0: unlimited */
	unsigned connection_timeout_s;
	unsigned request_timeout_ms;  /* a request's head must arrive within this */
	enum ad_log_level log_level;
	enum ad_decode_priority decode_priority; /* after the resume (capture.h) */

	/* hang detection: [hang] with its defaults filled in, then the watches */
	struct ad_hang_settings hang;
	size_t nwatches;
	struct ad_watch *watches;

	/* private to the parser: which sources set listen */
	bool listen_from_flags_;
};

/* The defaults (no file). */
struct ad_error *ad_config_create(struct ad_config **ret);
/* Defaults, then the file at `path`. */
struct ad_error *ad_config_load(const char *path, struct ad_config **ret);
/* Defaults, then `text` as if it were the file named `name` (tests, embedders). */
struct ad_error *ad_config_parse(const char *name, const char *text, struct ad_config **ret);
/* Sets one daemon key from a flag, with the file's validation; `config` is
 * unchanged on error. The message names the key, not a file. */
struct ad_error *ad_config_set(struct ad_config *config, const char *key, const char *value);
/* Sets one [hang] key (sample_interval, stuck_threshold, expected_wait_fn,
 * expected_wait_at) from a flag, as ad_config_set() does a daemon key: it
 * overrides the file's [hang] value, and expected waits add to the file's. */
struct ad_error *ad_config_set_hang(struct ad_config *config, const char *key, const char *value);
/* Adds a watch from a flag: `spec` is pid=PID, exe=GLOB or comm=GLOB. It is
 * named "flag-N" (the Nth such watch) and uses the [hang] settings. */
struct ad_error *ad_config_add_watch(struct ad_config *config, const char *spec);
/* What only the whole configuration can tell, checked again once the flags
 * are applied: every watch's stuck_threshold is at least its sample_interval. */
struct ad_error *ad_config_check(const struct ad_config *config);
void ad_config_destroy(struct ad_config *config);

/* Effective values for a watch (its own, else [hang]'s). */
uint64_t ad_watch_sample_interval_ms(const struct ad_config *config, const struct ad_watch *w);
uint64_t ad_watch_stuck_threshold_ms(const struct ad_config *config, const struct ad_watch *w);
bool ad_watch_sample_stop(const struct ad_config *config, const struct ad_watch *w);

const char *ad_log_level_name(enum ad_log_level level);
/* Parses "10s", "500ms", "2m", "1h", "10" (seconds). */
struct ad_error *ad_parse_duration_ms(const char *text, uint64_t *ret);

#endif
