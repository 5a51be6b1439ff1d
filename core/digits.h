/* SPDX-License-Identifier: MIT */
/* Numbers as text without printf, which is most of the cost of a number in
 * a document of 100,000 tasks (the JSON writer, descriptions). */
#ifndef ASYNCDUMP_DIGITS_H
#define ASYNCDUMP_DIGITS_H

#include <stdint.h>

/* The digits of v in base 10 or 16 (lower case), ending at `end` (not
 * written); returns where they start. 20 bytes hold any. */
static inline char *ad_digits(uint64_t v, unsigned base, char *end)
{
	do
		*--end = "0123456789abcdef"[v % base];
	while (v /= base);
	return end;
}

#endif
