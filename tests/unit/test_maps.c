/* SPDX-License-Identifier: MIT */
/* The library's hash maps (core/u64map.h, core/strmap.h): every key held,
 * key 0 too, growth keeping what was put, and a cleared map empty however
 * large it grew. And the arena beside them (core/strpool.h): aligned,
 * disjoint blocks through many chunks, large ones too, and after a reset. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "spare.h"
#include "strpool.h"
#include "u64map.h"

/* A value that is never NULL and says its key. */
static void *value_of(uint64_t key)
{
	return (void *)(uintptr_t)(key * 2 + 1);
}

/* Distinct keys spread over the 64 bits (an odd multiplier is a bijection),
 * the first of them 0. */
static uint64_t key_at(uint64_t i)
{
	return i * 0x2545f4914f6cdd1dull;
}

static void put_keys(struct ad_u64map *m, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ck_assert(ad_u64map_put(m, key_at(i), value_of(key_at(i))));
}

static void assert_holds(const struct ad_u64map *m, uint64_t n)
{
	ck_assert_uint_eq(m->len, n);
	for (uint64_t i = 0; i < n; i++)
		ck_assert_ptr_eq(ad_u64map_get(m, key_at(i)), value_of(key_at(i)));
}

START_TEST(u64map_holds_every_key_through_growth)
{
	struct ad_u64map m;
	ad_u64map_init(&m);
	put_keys(&m, 5000); /* key_at(0) is 0 */
	assert_holds(&m, 5000);
	ck_assert_ptr_null(ad_u64map_get(&m, 3));
	ck_assert(ad_u64map_put(&m, key_at(7), value_of(1)));
	ck_assert_ptr_eq(ad_u64map_get(&m, key_at(7)), value_of(1));
	ck_assert_uint_eq(m.len, 5000);
	ad_u64map_deinit(&m);
}
END_TEST

START_TEST(u64map_cleared_is_empty_and_usable)
{
	uint64_t sizes[] = { 0, 3, 200, 5000, 40 };
	struct ad_u64map m;
	ad_u64map_init(&m);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		put_keys(&m, sizes[k]);
		assert_holds(&m, sizes[k]);
		ad_u64map_clear(&m);
		ck_assert_uint_eq(m.len, 0);
		for (uint64_t i = 0; i < sizes[k]; i++)
			ck_assert_ptr_null(ad_u64map_get(&m, key_at(i)));
	}
	ad_u64map_deinit(&m);
}
END_TEST

START_TEST(strmap_holds_every_key_and_keeps_the_first)
{
	enum { N = 3000 };
	static char keys[N][16];
	struct ad_strmap m;
	ad_strmap_init(&m);
	for (uint64_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%llu", (unsigned long long)i);
		ck_assert(ad_strmap_insert_new(&m, keys[i], i));
	}
	ck_assert(ad_strmap_insert_new(&m, keys[5], 99)); /* present: kept as it was */
	for (uint64_t i = 0; i < N; i++) {
		uint64_t v = N;
		ck_assert(ad_strmap_get(&m, keys[i], &v));
		ck_assert_uint_eq(v, i);
	}
	uint64_t v;
	ck_assert(!ad_strmap_get(&m, "absent", &v));
	ad_strmap_deinit(&m);
}
END_TEST

/* Blocks of every size up to past a chunk, each filled with its own byte:
 * all aligned to 16 and none overwriting another (ASan sees each chunk). */
static void fill_and_check(struct ad_strpool *p)
{
	enum { N = 2000 };
	static unsigned char *blocks[N];
	static size_t sizes[N];
	for (size_t i = 0; i < N; i++) {
		sizes[i] = i == N - 1 ? ((size_t)300 << 10) : (i * 37) % 700;
		blocks[i] = ad_strpool_alloc(p, sizes[i]);
		ck_assert_ptr_nonnull(blocks[i]);
		ck_assert_uint_eq((uintptr_t)blocks[i] % 16, 0);
		memset(blocks[i], (int)(i & 0xff), sizes[i]);
	}
	for (size_t i = 0; i < N; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			ck_assert_uint_eq(blocks[i][j], i & 0xff);
		if (i && !sizes[i]) /* a block of 0 bytes has an address of its own */
			ck_assert_ptr_ne(blocks[i], blocks[i - 1]);
	}
}

START_TEST(strpool_blocks_are_aligned_and_disjoint_before_and_after_a_reset)
{
	struct ad_strpool p;
	ad_strpool_init(&p);
	fill_and_check(&p);
	const char *s = ad_strpool_add(&p, "tokio::time::sleep::Sleep", 25);
	ck_assert_str_eq(s, "tokio::time::sleep::Sleep");
	ad_strpool_reset(&p);
	fill_and_check(&p);
	ck_assert_ptr_null(ad_strpool_alloc(&p, SIZE_MAX - 8));
	ck_assert_ptr_null(ad_strpool_alloc(&p, SIZE_MAX - 4096)); /* a chunk's size would wrap */
	ad_strpool_deinit(&p);
	ad_strpool_deinit(&p); /* twice: nothing left to free */
}
END_TEST

/* A pool that grows to tens of MiB takes larger chunks, past the size
 * where they are mappings of their own (strpool.c); every block still
 * holds what was written to it, a block larger than any chunk too, and a
 * reset keeps the pool usable. */
START_TEST(strpool_grown_to_large_chunks_keeps_every_block)
{
	enum { N = 6000 };
	static unsigned char *blocks[N];
	static size_t sizes[N];
	struct ad_strpool p;
	ad_strpool_init(&p);
	for (int round = 0; round < 2; round++) {
		size_t total = 0;
		for (size_t i = 0; i < N; i++) {
			sizes[i] = i == N / 2 ? ((size_t)20 << 20) : 1 + (i * 7919) % 6000;
			blocks[i] = ad_strpool_alloc(&p, sizes[i]);
			ck_assert_ptr_nonnull(blocks[i]);
			ck_assert_uint_eq((uintptr_t)blocks[i] % 16, 0);
			memset(blocks[i], (int)(i * 31 & 0xff), sizes[i]);
			total += sizes[i];
		}
		ck_assert_uint_gt(total, (size_t)36 << 20);
		for (size_t i = 0; i < N; i++) {
			ck_assert_uint_eq(blocks[i][0], i * 31 & 0xff);
			ck_assert_uint_eq(blocks[i][sizes[i] - 1], i * 31 & 0xff);
			ck_assert_uint_eq(blocks[i][sizes[i] / 2], i * 31 & 0xff);
		}
		ad_strpool_reset(&p);
	}
	ad_strpool_deinit(&p);
}
END_TEST

/* Pools of successive samples share their large chunks through a spare
 * (spare.h): the second pool takes what the first gave back, and every
 * block in it still holds what was written to it, not the first's bytes. */
START_TEST(strpool_takes_large_chunks_another_pool_gave_back)
{
	enum { N = 3000 };
	static unsigned char *blocks[N];
	struct ad_spare *spare = ad_spare_create();
	ck_assert_ptr_nonnull(spare);
	uint64_t kept_after_first = 0;
	for (int round = 0; round < 2; round++) {
		struct ad_strpool p;
		ad_strpool_init(&p);
		ad_strpool_keep_chunks(&p, spare);
		for (size_t i = 0; i < N; i++) {
			blocks[i] = ad_strpool_alloc(&p, 4000);
			ck_assert_ptr_nonnull(blocks[i]);
			memset(blocks[i], (int)((i + (size_t)round) & 0xff), 4000);
		}
		if (round == 1) /* it took back what the first round left */
			ck_assert_uint_lt(ad_spare_kept_bytes(spare), kept_after_first);
		for (size_t i = 0; i < N; i++) {
			ck_assert_uint_eq(blocks[i][0], (i + (size_t)round) & 0xff);
			ck_assert_uint_eq(blocks[i][3999], (i + (size_t)round) & 0xff);
		}
		ad_strpool_deinit(&p);
		if (round == 0) {
			kept_after_first = ad_spare_kept_bytes(spare);
			ck_assert_uint_ge(kept_after_first, (uint64_t)2 << 20);
		}
	}
	ad_spare_unref(spare);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maps");
	TCase *tc = tcase_create("maps");
	tcase_add_test(tc, u64map_holds_every_key_through_growth);
	tcase_add_test(tc, u64map_cleared_is_empty_and_usable);
	tcase_add_test(tc, strmap_holds_every_key_and_keeps_the_first);
	tcase_add_test(tc, strpool_blocks_are_aligned_and_disjoint_before_and_after_a_reset);
	tcase_add_test(tc, strpool_grown_to_large_chunks_keeps_every_block);
	tcase_add_test(tc, strpool_takes_large_chunks_another_pool_gave_back);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
