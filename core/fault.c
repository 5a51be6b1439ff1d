/* SPDX-License-Identifier: MIT */
/* The test-only decode fault hook (fault.h). State is per thread: the
 * daemon decodes several captures at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"

#ifdef AD_FAULT_INJECTION

static _Thread_local unsigned long occurrences;
static _Thread_local int walk_depth;

void ad_fault_reset(void)
{
	occurrences = 0;
	walk_depth = 0;
}

void ad_fault_walk(int delta)
{
	walk_depth += delta;
}

/* ASYNCDUMP_FAULT=STEP[:N]: does it name `step`, and which occurrence? */
static bool fault_wanted(const char *step, unsigned long *nth)
{
	const char *spec = getenv("ASYNCDUMP_FAULT");
	size_t n = strlen(step);
	if (!spec || strncmp(spec, step, n) != 0 || (spec[n] != '\0' && spec[n] != ':'))
		return false;
	*nth = spec[n] == ':' ? strtoul(spec + n + 1, NULL, 10) : 0;
	return true;
}

struct ad_error *ad_fault(const char *step, const char *what)
{
	unsigned long nth;
	bool in_walk_only = strcmp(step, "member") == 0 || strcmp(step, "read") == 0;
	if (!fault_wanted(step, &nth) || (in_walk_only && walk_depth <= 0))
		return NULL;
	unsigned long this = ++occurrences;
	if (nth && this != nth)
		return NULL;
	return ad_error_create(strcmp(step, "read") == 0 ? AD_ERROR_FAULT : AD_ERROR_UNKNOWN_LAYOUT,
			       "injected fault: %s #%lu (%s)", step, this, what ? what : "?");
}

static struct ad_error *fault_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	const struct ad_reader *inner = ctx;
	char what[48];
	snprintf(what, sizeof(what), "%zu bytes at 0x%llx", len, (unsigned long long)address);
	struct ad_error *err = ad_fault("read", what);
	return err ? err : ad_read(inner, address, buf, len);
}

static const struct ad_reader_ops fault_ops = { .read = fault_read };

void ad_fault_reader(const struct ad_reader *inner, struct ad_reader *ret)
{
	*ret = (struct ad_reader){ &fault_ops, (void *)inner };
}

void ad_fault_slow_open(const char *path)
{
	const char *spec = getenv("ASYNCDUMP_SLOW_OPEN");
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	if (!colon || !path)
		return;
	size_t n = (size_t)(colon - spec);
	char text[256];
	if (n == 0 || n >= sizeof(text))
		return;
	memcpy(text, spec, n);
	text[n] = '\0';
	if (!strstr(path, text))
		return;
	unsigned long ms = strtoul(colon + 1, NULL, 10);
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#else

/* ISO C wants something in a translation unit. */
typedef int ad_fault_compiled_out;

#endif
