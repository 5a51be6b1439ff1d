/* SPDX-License-Identifier: MIT */
#include "spare.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "clock.h"

/* A sample gives back one copy buffer and its pool's chunks (up to 8 MiB
 * each: 100,000 tasks take a dozen); a second sample in flight as many. */
#define MAX_KEPT 64
/* A kept mapping serves a request of at least this share of it: a pool's
 * chunk does not take the copy buffer the next snapshot wants whole. */
#define MIN_USE_DIVISOR 2

struct kept {
	void *p;
	size_t len;
	int64_t since_ns;
};

struct ad_spare {
	atomic_uint refs;
	pthread_mutex_t lock;
	size_t n;
	struct kept kept[MAX_KEPT]; /* oldest first */
};

struct ad_spare *ad_spare_create(void)
{
	struct ad_spare *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

struct ad_spare *ad_spare_ref(struct ad_spare *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void ad_spare_unref(struct ad_spare *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	ad_spare_trim(s, 0);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Lock held. */
static struct kept remove_kept(struct ad_spare *s, size_t i)
{
	struct kept k = s->kept[i];
	for (size_t j = i + 1; j < s->n; j++)
		s->kept[j - 1] = s->kept[j];
	s->n--;
	return k;
}

void *ad_spare_take(struct ad_spare *s, size_t len, size_t *got)
{
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	size_t best = s->n;
	for (size_t i = 0; i < s->n; i++) {
		size_t have = s->kept[i].len;
		if (have >= len && have / MIN_USE_DIVISOR <= len &&
		    (best == s->n || have < s->kept[best].len))
			best = i;
	}
	struct kept k = { 0 };
	if (best < s->n)
		k = remove_kept(s, best);
	pthread_mutex_unlock(&s->lock);
	*got = k.len;
	return k.p;
}

void ad_spare_give(struct ad_spare *s, void *p, size_t len)
{
	if (!p)
		return;
	if (!s) {
		munmap(p, len);
		return;
	}
	/* Best effort: without it the pages stay ours until the trim. */
	madvise(p, len, MADV_FREE);
	struct kept oldest = { 0 };
	pthread_mutex_lock(&s->lock);
	if (s->n == MAX_KEPT)
		oldest = remove_kept(s, 0);
	s->kept[s->n++] = (struct kept){ p, len, ad_monotonic_ns() };
	pthread_mutex_unlock(&s->lock);
	if (oldest.p)
		munmap(oldest.p, oldest.len);
}

void ad_spare_trim(struct ad_spare *s, uint64_t idle_ms)
{
	if (!s)
		return;
	int64_t now = ad_monotonic_ns();
	for (;;) {
		struct kept k = { 0 };
		pthread_mutex_lock(&s->lock);
		/* Oldest first: the first one still young ends the trim. */
		if (s->n && (uint64_t)(now - s->kept[0].since_ns) >= idle_ms * 1000000u)
			k = remove_kept(s, 0);
		pthread_mutex_unlock(&s->lock);
		if (!k.p)
			return;
		munmap(k.p, k.len);
	}
}

uint64_t ad_spare_kept_bytes(struct ad_spare *s)
{
	uint64_t bytes = 0;
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		bytes += s->kept[i].len;
	pthread_mutex_unlock(&s->lock);
	return bytes;
}
