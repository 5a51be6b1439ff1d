/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stddef.h>

#include "failing_alloc.h"

static bool armed;
static long allocations_left;

static bool allocation_fails(void)
{
	return armed && allocations_left-- <= 0;
}

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

void *__wrap_malloc(size_t size)
{
	return allocation_fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return allocation_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return allocation_fails() ? NULL : __real_realloc(p, size);
}

void failing_alloc_arm(long n)
{
	allocations_left = n;
	armed = true;
}

void failing_alloc_disarm(void)
{
	armed = false;
}
