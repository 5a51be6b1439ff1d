/* SPDX-License-Identifier: MIT */
/* Allocations that fail on demand: the library's malloc, calloc and realloc
 * through the linker (-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc in
 * Makefile.am), for tests that make every allocation fail in turn. */
#ifndef ASYNCDUMP_TEST_FAILING_ALLOC_H
#define ASYNCDUMP_TEST_FAILING_ALLOC_H

/* From now on, n allocations succeed and every later one fails. */
void failing_alloc_arm(long n);
/* Every allocation succeeds again. */
void failing_alloc_disarm(void);

#endif
