/* SPDX-License-Identifier: MIT */
/* The library's one cache (core/lru.h): bounded, least recently used
 * evicted first, pinned entries kept, and an entry being opened making only
 * those who want the same key wait. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "lru.h"

/* Values are ints counting their destruction. */
static atomic_int destroyed;

static void value_destroy(void *value)
{
	atomic_fetch_add(&destroyed, 1);
	free(value);
}

static int *value(int n)
{
	int *v = malloc(sizeof(*v));
	ck_assert_ptr_nonnull(v);
	*v = n;
	return v;
}

static struct ad_lru_key key(uint64_t n)
{
	return (struct ad_lru_key){ { n } };
}

/* Gets `k`, opening it with value n on a miss; returns the pinned entry. */
static struct ad_lru_entry *get(struct ad_lru *c, uint64_t k, int n, bool *missed)
{
	struct ad_lru_key lk = key(k);
	struct ad_lru_entry *e;
	ck_assert_ptr_null(ad_lru_get(c, &lk, &e));
	if (missed)
		*missed = !e->value;
	if (!e->value)
		ad_lru_publish(c, e, value(n));
	return e;
}

static bool cached(struct ad_lru *c, uint64_t k)
{
	bool missed;
	struct ad_lru_entry *e = get(c, k, -1, &missed);
	ad_lru_release(c, e);
	return !missed;
}

static void setup(struct ad_lru *c, size_t capacity)
{
	atomic_store(&destroyed, 0);
	ck_assert_ptr_null(ad_lru_init(c, capacity, value_destroy));
}

START_TEST(miss_then_hit_gives_the_published_value)
{
	struct ad_lru c;
	setup(&c, 4);
	bool missed;
	struct ad_lru_entry *e = get(&c, 7, 70, &missed);
	ck_assert(missed);
	ad_lru_release(&c, e);
	e = get(&c, 7, 71, &missed);
	ck_assert(!missed);
	ck_assert_int_eq(*(int *)e->value, 70);
	ad_lru_release(&c, e);
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
}
END_TEST

START_TEST(least_recently_used_is_evicted)
{
	struct ad_lru c;
	setup(&c, 2);
	ad_lru_release(&c, get(&c, 1, 10, NULL));
	ad_lru_release(&c, get(&c, 2, 20, NULL));
	ck_assert(cached(&c, 1)); /* 1 used after 2 */
	ad_lru_release(&c, get(&c, 3, 30, NULL));
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	ck_assert(cached(&c, 1));
	ck_assert(cached(&c, 3));
	ck_assert(!cached(&c, 2)); /* evicted; opened again, evicting 1 */
	ck_assert(!cached(&c, 1));
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 5);
}
END_TEST

START_TEST(pinned_entry_is_not_evicted)
{
	struct ad_lru c;
	setup(&c, 2);
	struct ad_lru_entry *old = get(&c, 1, 10, NULL); /* oldest, but pinned */
	ad_lru_release(&c, get(&c, 2, 20, NULL));
	ad_lru_release(&c, get(&c, 3, 30, NULL));
	ck_assert_int_eq(atomic_load(&destroyed), 1); /* 2 went */
	ck_assert_int_eq(*(int *)old->value, 10);
	ad_lru_release(&c, old);
	ck_assert(cached(&c, 1));
	ck_assert(cached(&c, 3));
	ad_lru_deinit(&c);
}
END_TEST

START_TEST(failed_open_evicts_nothing)
{
	struct ad_lru c;
	setup(&c, 1);
	ad_lru_release(&c, get(&c, 1, 10, NULL));
	struct ad_lru_key k2 = key(2);
	struct ad_lru_entry *e;
	ck_assert_ptr_null(ad_lru_get(&c, &k2, &e));
	ck_assert_ptr_null(e->value);
	ad_lru_abandon(&c, e); /* say, the binary has no debuginfo */
	ck_assert_int_eq(atomic_load(&destroyed), 0);
	ck_assert(cached(&c, 1));
	ad_lru_deinit(&c);
}
END_TEST

START_TEST(many_openings_at_once_are_bounded_once_published)
{
	struct ad_lru c;
	setup(&c, 1);
	struct ad_lru_entry *e[12];
	for (int i = 0; i < 12; i++) { /* more than the table's first size */
		struct ad_lru_key k = key((uint64_t)i);
		ck_assert_ptr_null(ad_lru_get(&c, &k, &e[i]));
		ck_assert_ptr_null(e[i]->value);
		ck_assert(e[i]->cached); /* findable by those who want it */
	}
	for (int i = 0; i < 12; i++)
		ad_lru_publish(&c, e[i], value(i));
	ck_assert(e[0]->cached); /* the first fits; the others are pinned, not kept */
	for (int i = 1; i < 12; i++)
		ck_assert(!e[i]->cached);
	for (int i = 0; i < 12; i++)
		ad_lru_release(&c, e[i]);
	ck_assert_int_eq(atomic_load(&destroyed), 11);
	ck_assert(cached(&c, 0));
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 12);
}
END_TEST

START_TEST(key_zero_is_a_key)
{
	struct ad_lru c;
	setup(&c, 4);
	bool missed;
	struct ad_lru_entry *e = get(&c, 0, 5, &missed);
	ck_assert(missed);
	ad_lru_release(&c, e);
	ck_assert(cached(&c, 0));
	struct ad_lru_key other = { { 0, 0, 0, 1 } }; /* every word counts */
	ck_assert_ptr_null(ad_lru_get(&c, &other, &e));
	ck_assert_ptr_null(e->value);
	ad_lru_abandon(&c, e);
	ck_assert_ptr_null(ad_lru_take(&c, &other));
	int *v = ad_lru_take(&c, &(struct ad_lru_key){ { 0 } });
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(*v, 5);
	free(v);
	ck_assert(!cached(&c, 0));
	ad_lru_deinit(&c);
}
END_TEST

START_TEST(full_of_pinned_entries_serves_uncached)
{
	struct ad_lru c;
	setup(&c, 2);
	struct ad_lru_entry *a = get(&c, 1, 10, NULL), *b = get(&c, 2, 20, NULL);
	bool missed;
	struct ad_lru_entry *extra = get(&c, 3, 30, &missed);
	ck_assert(missed);
	ck_assert(!extra->cached);
	ck_assert_int_eq(*(int *)extra->value, 30);
	ck_assert_int_eq(atomic_load(&destroyed), 0);
	ad_lru_release(&c, extra); /* its last pin: freed */
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	/* Nor can a put make room: its value is destroyed at once. */
	struct ad_lru_key k = key(4);
	ad_lru_put(&c, &k, value(40));
	ck_assert_int_eq(atomic_load(&destroyed), 2);
	ck_assert_ptr_null(ad_lru_take(&c, &k));
	ck_assert_ptr_null(ad_lru_take(&c, &(struct ad_lru_key){ { 1 } })); /* pinned */
	ad_lru_release(&c, a);
	ad_lru_release(&c, b);
	ck_assert(cached(&c, 1));
	ck_assert(cached(&c, 2));
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 4);
}
END_TEST

START_TEST(take_and_put_hand_over_the_value)
{
	struct ad_lru c;
	setup(&c, 2);
	struct ad_lru_key k1 = key(1), k2 = key(2), k3 = key(3);
	ad_lru_put(&c, &k1, value(10));
	ad_lru_put(&c, &k1, value(11)); /* replaces */
	ck_assert_int_eq(atomic_load(&destroyed), 1);
	int *v = ad_lru_take(&c, &k1);
	ck_assert_int_eq(*v, 11);
	ck_assert_ptr_null(ad_lru_take(&c, &k1)); /* taken out */
	ad_lru_put(&c, &k1, v);
	ad_lru_put(&c, &k2, value(20));
	ad_lru_put(&c, &k3, value(30)); /* evicts 1, the least recently put */
	ck_assert_int_eq(atomic_load(&destroyed), 2);
	ck_assert_ptr_null(ad_lru_take(&c, &k1));
	v = ad_lru_take(&c, &k2);
	ck_assert_int_eq(*v, 20);
	free(v);
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 3);
}
END_TEST

/* ---- an entry being opened */

struct getter {
	struct ad_lru *c;
	uint64_t k;
	struct ad_lru_entry *entry;
	atomic_bool done;
};

static void *getter_run(void *arg)
{
	struct getter *g = arg;
	struct ad_lru_key k = key(g->k);
	ck_assert_ptr_null(ad_lru_get(g->c, &k, &g->entry));
	atomic_store(&g->done, true);
	return NULL;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Whether the getter returned within about `ms` milliseconds. */
static bool returns_within(struct getter *g, long ms)
{
	for (long waited = 0; waited < ms; waited += 10) {
		if (atomic_load(&g->done))
			return true;
		sleep_ms(10);
	}
	return atomic_load(&g->done);
}

START_TEST(other_keys_served_while_one_is_being_opened)
{
	struct ad_lru c;
	setup(&c, 4);
	struct ad_lru_key k1 = key(1);
	struct ad_lru_entry *opening;
	ck_assert_ptr_null(ad_lru_get(&c, &k1, &opening));
	ck_assert_ptr_null(opening->value);
	/* Another key: served at once, although key 1 is not opened yet. */
	struct getter other = { &c, 2, NULL, false };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, getter_run, &other), 0);
	ck_assert(returns_within(&other, 5000));
	pthread_join(t, NULL);
	ck_assert_ptr_null(other.entry->value);
	ad_lru_publish(&c, other.entry, value(20));
	ad_lru_release(&c, other.entry);
	/* The same key: waits for the opener, then shares its value. */
	struct getter same = { &c, 1, NULL, false };
	ck_assert_int_eq(pthread_create(&t, NULL, getter_run, &same), 0);
	ck_assert(!returns_within(&same, 200));
	ad_lru_publish(&c, opening, value(10));
	pthread_join(t, NULL);
	ck_assert_ptr_eq(same.entry, opening);
	ck_assert_int_eq(*(int *)same.entry->value, 10);
	ad_lru_release(&c, same.entry);
	ad_lru_release(&c, opening);
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 2);
}
END_TEST

START_TEST(abandoned_open_passes_to_a_waiter)
{
	struct ad_lru c;
	setup(&c, 4);
	struct ad_lru_key k1 = key(1);
	struct ad_lru_entry *opening;
	ck_assert_ptr_null(ad_lru_get(&c, &k1, &opening));
	struct getter waiter = { &c, 1, NULL, false };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, getter_run, &waiter), 0);
	ck_assert(!returns_within(&waiter, 200));
	ad_lru_abandon(&c, opening); /* opening failed */
	pthread_join(t, NULL);
	ck_assert_ptr_null(waiter.entry->value); /* the waiter opens it now */
	ad_lru_publish(&c, waiter.entry, value(11));
	ad_lru_release(&c, waiter.entry);
	ck_assert(cached(&c, 1));
	ad_lru_deinit(&c);
	ck_assert_int_eq(atomic_load(&destroyed), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lru");
	TCase *tc = tcase_create("cache");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, miss_then_hit_gives_the_published_value);
	tcase_add_test(tc, least_recently_used_is_evicted);
	tcase_add_test(tc, pinned_entry_is_not_evicted);
	tcase_add_test(tc, failed_open_evicts_nothing);
	tcase_add_test(tc, many_openings_at_once_are_bounded_once_published);
	tcase_add_test(tc, key_zero_is_a_key);
	tcase_add_test(tc, full_of_pinned_entries_serves_uncached);
	tcase_add_test(tc, take_and_put_hand_over_the_value);
	tcase_add_test(tc, other_keys_served_while_one_is_being_opened);
	tcase_add_test(tc, abandoned_open_passes_to_a_waiter);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
