/* SPDX-License-Identifier: MIT */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_PID 4194304

bool parse_decimal(const char *text, uint64_t max, uint64_t *ret)
{
	if (!isdigit((unsigned char)text[0]) || (text[0] == '0' && text[1]))
		return false;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || *end || n > max)
		return false;
	*ret = n;
	return true;
}

bool parse_pid(const char *text, pid_t *ret)
{
	uint64_t n;
	if (!parse_decimal(text, MAX_PID, &n) || n == 0)
		return false;
	*ret = (pid_t)n;
	return true;
}

bool parse_task_id(const char *text, uint64_t *ret)
{
	return parse_decimal(text, UINT64_MAX, ret);
}

bool parse_flag(const char *text, bool *ret)
{
	if (!*text || !strcmp(text, "1") || !strcmp(text, "true")) {
		*ret = true;
		return true;
	}
	if (!strcmp(text, "0") || !strcmp(text, "false")) {
		*ret = false;
		return true;
	}
	return false;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t percent_decode(char *s)
{
	char *out = s;
	for (const char *in = s; *in;) {
		int hi, lo;
		if (in[0] == '%' && (hi = hex_value(in[1])) >= 0 && (lo = hex_value(in[2])) >= 0 &&
		    (hi || lo)) {
			*out++ = (char)(hi << 4 | lo);
			in += 3;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

bool token_matches(const char *given, size_t given_len, const char *token, size_t len)
{
	unsigned char diff = given_len != len;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(i < given_len ? given[i] : 0) ^ (unsigned char)token[i];
	return diff == 0;
}

static const char *const param_names[P_COUNT] = { "format", "task", "locals", "max_age_ms",
								  "stop" };

void query_init(struct query *q, unsigned allowed)
{
	memset(q, 0, sizeof(*q));
	q->allowed = allowed;
}

bool query_add(struct query *q, const char *key, const char *value)
{
	char name[64];
	log_escape(key, name, sizeof(name));
	for (unsigned i = 0; i < P_COUNT; i++) {
		if (strcmp(key, param_names[i]) != 0 || !(q->allowed & (1u << i)))
			continue;
		if (q->given[i]) {
			snprintf(q->problem, sizeof(q->problem), "query parameter %s given twice",
				 name);
			return false;
		}
		q->given[i] = true;
		q->value[i] = value ? value : "";
		return true;
	}
	size_t used = (size_t)snprintf(q->problem, sizeof(q->problem),
				       "unknown query parameter '%s'; known here:", name);
	for (unsigned i = 0; i < P_COUNT && used < sizeof(q->problem); i++)
		if (q->allowed & (1u << i))
			used += (size_t)snprintf(q->problem + used, sizeof(q->problem) - used,
						 " %s", param_names[i]);
	if (!q->allowed)
		snprintf(q->problem + used, sizeof(q->problem) - used, " none");
	return false;
}
