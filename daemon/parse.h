/* SPDX-License-Identifier: MIT */
/* What the daemon's URLs and the CLI's arguments accept: pids and task ids
 * (one rule for both), flags, query strings, percent-encoding and bearer
 * tokens. Pure functions, unit-tested (tests/unit/test_daemon_parse.c). */
#ifndef ASYNCDUMP_DAEMON_PARSE_H
#define ASYNCDUMP_DAEMON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PID_EXPECTED "a decimal process id"
#define TASK_ID_EXPECTED "a decimal task id"

/* Plain decimal, no sign, no leading zero, at most `max`. */
bool parse_decimal(const char *text, uint64_t max, uint64_t *ret);
/* 1 to 4194304 (PID_MAX_LIMIT). */
bool parse_pid(const char *text, pid_t *ret);
bool parse_task_id(const char *text, uint64_t *ret);
/* "", "1", "true" → true; "0", "false" → false; anything else fails. */
bool parse_flag(const char *text, bool *ret);

/* Percent-decoding in place, except that %00 stays as it is: a decoded NUL
 * would silently cut the path or the value short ("/%00/x" would read as
 * "/"). Returns the new length. */
size_t percent_decode(char *s);

/* Whether `given` is `token`, compared in time that depends on the token's
 * length only. */
bool token_matches(const char *given, size_t given_len, const char *token, size_t len);

/* ---- query strings: each parameter known, allowed where it is used, given once */

enum query_param { P_FORMAT, P_TASK, P_LOCALS, P_MAX_AGE, P_STOP, P_COUNT };

struct query {
	unsigned allowed; /* 1 << enum query_param */
	bool given[P_COUNT];
	const char *value[P_COUNT]; /* borrowed from the caller */
	char problem[256];          /* why the query is refused, or "" */
};

void query_init(struct query *q, unsigned allowed);
/* False, with q->problem set, for a parameter unknown here or given twice. */
bool query_add(struct query *q, const char *key, const char *value);

#endif
