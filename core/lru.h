/* SPDX-License-Identifier: MIT */
/* Internal: the library's one small cache. Keyed, bounded, the least
 * recently used entry evicted first; thread-safe (its own lock).
 *
 * Two ways to use it:
 *  - shared values (ad_lru_get): an entry is pinned while a caller uses it
 *    and never evicted then. A miss returns a new entry "being opened",
 *    pinned by the caller, who builds the value without holding the cache's
 *    lock and publishes it (ad_lru_publish) or gives up (ad_lru_abandon);
 *    meanwhile others wanting the same key wait, other keys are served.
 *    Publishing evicts (an opening that fails evicts nothing); when every
 *    other entry is pinned the new one is not kept: it lives as long as its
 *    pins.
 *  - owned values (ad_lru_take / ad_lru_put): a value taken out belongs to
 *    the caller alone until put back (state that is not thread-safe).
 * Values are freed with the cache's `destroy`, never under its lock. */
#ifndef ASYNCDUMP_LRU_H
#define ASYNCDUMP_LRU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncdump/error.h"

/* Every key is allowed (all zero too); unused words must be zero. */
struct ad_lru_key {
	uint64_t word[4];
};

struct ad_lru_entry {
	struct ad_lru_key key;
	void *value;        /* NULL while being opened */
	uint64_t last_used;
	unsigned pins;
	bool cached;        /* in the table; else freed at its last release */
};

struct ad_lru {
	pthread_mutex_t lock;
	pthread_cond_t opened; /* an entry was published or abandoned */
	size_t capacity;      /* published entries kept at most */
	size_t n, nready;     /* entries in the table; of them, published */
	size_t slots;         /* of the table (grows with entries being opened) */
	struct ad_lru_entry **entries;
	uint64_t clock;
	void (*destroy)(void *value);
};

/* `capacity` > 0. */
struct ad_error *ad_lru_init(struct ad_lru *c, size_t capacity, void (*destroy)(void *value));
/* Destroys every value; no entry may be pinned. */
void ad_lru_deinit(struct ad_lru *c);

/* The entry of `key`, pinned, with its value (waits while another caller
 * opens it); or, when there is none, a new pinned entry with a NULL value
 * that the caller must publish or abandon. */
struct ad_error *ad_lru_get(struct ad_lru *c, const struct ad_lru_key *key,
			    struct ad_lru_entry **ret);
/* Gives the entry being opened its value (owned by the cache from now on),
 * evicting the least recently used unpinned entry when the cache is full,
 * and wakes those waiting for it; the caller's pin remains. */
void ad_lru_publish(struct ad_lru *c, struct ad_lru_entry *e, void *value);
/* Opening failed: the entry goes (with the caller's pin); one of those
 * waiting for the key opens it next. */
void ad_lru_abandon(struct ad_lru *c, struct ad_lru_entry *e);
/* Drops a pin of ad_lru_get(). */
void ad_lru_release(struct ad_lru *c, struct ad_lru_entry *e);

/* The value of `key` taken out of the cache (the caller owns it), or NULL
 * when none is there unpinned. */
void *ad_lru_take(struct ad_lru *c, const struct ad_lru_key *key);
/* Puts `value` in under `key`, replacing an unpinned value of the same key
 * and evicting the least recently used unpinned entry when full; destroys
 * `value` when nothing can make room (or without memory). */
void ad_lru_put(struct ad_lru *c, const struct ad_lru_key *key, void *value);

#endif
