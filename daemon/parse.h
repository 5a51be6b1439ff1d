/* SPDX-License-Identifier: MIT */
/* What the daemon's URLs and the CLI's arguments accept as a pid or a task
 * id: one rule for both. */
#ifndef ASYNCDUMP_DAEMON_PARSE_H
#define ASYNCDUMP_DAEMON_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PID_EXPECTED "a decimal process id"
#define TASK_ID_EXPECTED "a decimal task id"

/* Plain decimal, no sign, no leading zero, at most `max`. */
bool parse_decimal(const char *text, uint64_t max, uint64_t *ret);
/* 1 to 4194304 (PID_MAX_LIMIT). */
bool parse_pid(const char *text, pid_t *ret);
bool parse_task_id(const char *text, uint64_t *ret);

#endif
