/* SPDX-License-Identifier: MIT */
/* The daemon's log: one line per event on stderr, with a UTC timestamp and a
 * level, as `key=value` fields that tools can grep. */
#ifndef ASYNCDUMP_DAEMON_LOG_H
#define ASYNCDUMP_DAEMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

void log_set_level(enum ad_log_level level);
bool log_enabled(enum ad_log_level level);
void log_msg(enum ad_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies untrusted text (a client's path, a target's exe) so that it cannot
 * forge a log line or break JSON: bytes outside printable ASCII (space
 * kept), quotes and backslashes become \xNN; the copy is cut at `size` - 1
 * bytes. */
void log_escape(const char *in, char *out, size_t size);

#endif
