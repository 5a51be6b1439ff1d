/* SPDX-License-Identifier: MIT */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

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
