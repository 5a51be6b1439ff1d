/* SPDX-License-Identifier: MIT */
/* C types for the type model's tests, used twice:
 * - built alone with -g (tests/unit/csample), a C program that
 *   ad_debuginfo_open() must refuse with AD_ERROR_NOT_RUST;
 * - compiled with -DCSAMPLE_NO_MAIN into the Rust program typesamples
 *   (tests/targets/typesamples/build.rs), as Rust programs link C libraries:
 *   test_types reads these types and csample_values' initial contents from
 *   that program's DWARF.
 * test_types.c states the values below again: keep both in sync. */
#include <stdint.h>

struct csample_point {
	int32_t x;
	int32_t y;
};

typedef struct csample_point csample_point_t;

union csample_bits {
	uint32_t word;
	float real;
	unsigned char bytes[4];
};

enum csample_color {
	CSAMPLE_RED = -1,
	CSAMPLE_GREEN = 7,
	CSAMPLE_BLUE = 300,
};

struct csample_all {
	csample_point_t point;
	union csample_bits bits;
	enum csample_color color;
	signed char small;
	unsigned long long big;
	double ratio;
	int16_t history[3];
};

extern struct csample_all csample_values;
struct csample_all csample_values = {
	.point = { .x = -3, .y = 4 },
	.bits = { .word = 0x40490fdbu },
	.color = CSAMPLE_BLUE,
	.small = -5,
	.big = 1ull << 40,
	.ratio = 0.5,
	.history = { 10, -20, 30 },
};

#ifndef CSAMPLE_NO_MAIN
int main(void)
{
	return csample_values.point.x == -3 ? 0 : 1;
}
#endif
