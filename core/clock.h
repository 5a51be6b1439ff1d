/* SPDX-License-Identifier: MIT */
/* Internal: CLOCK_MONOTONIC in nanoseconds, for the waits that have a
 * deadline (attach.c's stops, copier.c's spin). */
#ifndef ASYNCDUMP_CLOCK_H
#define ASYNCDUMP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t ad_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

#endif
