/* SPDX-License-Identifier: MIT */
/* Numbers as text without printf, which is most of the cost of a number in
 * a document of 100,000 tasks (the JSON writer, descriptions). */
#ifndef ASYNCDUMP_DIGITS_H
#define ASYNCDUMP_DIGITS_H

#include <stdint.h>
#include <string.h>

/* The digits of v in base 10 or 16 (lower case), ending at `end` (not
 * written); returns where they start. 20 bytes hold any. Two digits a
 * step: an address is twelve. */
static inline char *ad_digits(uint64_t v, unsigned base, char *end)
{
	static const char decimal_pairs[] = "00010203040506070809101112131415161718192021222324"
					    "25262728293031323334353637383940414243444546474849"
					    "50515253545556575859606162636465666768697071727374"
					    "75767778798081828384858687888990919293949596979899";
	static const char hex[] = "0123456789abcdef";
	if (base == 16) {
		char *last = end;
		for (; v >= 0x10; v >>= 8) {
			*--end = hex[v & 0xf];
			*--end = hex[(v >> 4) & 0xf];
		}
		if (v || end == last) /* a last digit, or 0's "0" */
			*--end = hex[v];
		return end;
	}
	for (; v >= 100; v /= 100) {
		end -= 2;
		memcpy(end, decimal_pairs + 2 * (v % 100), 2);
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, decimal_pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

/* The decimal digits of v with its sign, ending at `end` (not written);
 * returns where they start. 21 bytes hold any. */
static inline char *ad_signed_digits(int64_t v, char *end)
{
	char *start = ad_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, end);
	if (v < 0)
		*--start = '-';
	return start;
}

#endif
