/* SPDX-License-Identifier: MIT */
/* The library's one small cache (lru.h): a table small enough to scan.
 * Entries being opened are in the table (those who want them must find
 * them) but count against the capacity only once published, so that an
 * opening that fails evicts nothing. */
#include <stdlib.h>
#include <string.h>

#include "lru.h"

struct ad_error *ad_lru_init(struct ad_lru *c, size_t capacity, void (*destroy)(void *value))
{
	memset(c, 0, sizeof(*c));
	c->capacity = capacity ? capacity : 1;
	c->slots = c->capacity + 4;
	c->destroy = destroy;
	if (!(c->entries = calloc(c->slots, sizeof(*c->entries))))
		return &ad_error_nomem;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->opened, NULL);
	return NULL;
}

static void entry_free(struct ad_lru *c, struct ad_lru_entry *e)
{
	if (!e)
		return;
	if (e->value && c->destroy)
		c->destroy(e->value);
	free(e);
}

void ad_lru_deinit(struct ad_lru *c)
{
	if (!c->entries)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_free(c, c->entries[i]);
	free(c->entries);
	c->entries = NULL;
	c->n = c->nready = 0;
	pthread_cond_destroy(&c->opened);
	pthread_mutex_destroy(&c->lock);
}

static bool same_key(const struct ad_lru_key *a, const struct ad_lru_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Under the lock. */
static size_t find(const struct ad_lru *c, const struct ad_lru_key *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (same_key(&c->entries[i]->key, key))
			return i;
	return c->n;
}

/* Under the lock: takes entry i out of the table. */
static struct ad_lru_entry *remove_at(struct ad_lru *c, size_t i)
{
	struct ad_lru_entry *e = c->entries[i];
	c->entries[i] = c->entries[--c->n];
	if (e->value)
		c->nready--;
	e->cached = false;
	return e;
}

/* Under the lock: puts `e` in the table, growing it if need be; false
 * without memory (e stays out). */
static bool insert(struct ad_lru *c, struct ad_lru_entry *e)
{
	if (c->n == c->slots) {
		struct ad_lru_entry **grown = realloc(c->entries, 2 * c->slots * sizeof(*grown));
		if (!grown)
			return false;
		c->entries = grown;
		c->slots *= 2;
	}
	c->entries[c->n++] = e;
	if (e->value)
		c->nready++;
	e->cached = true;
	return true;
}

/* Under the lock: the least recently used unpinned entry, taken out of the
 * table for the caller to free after unlocking; NULL when all are pinned
 * (entries being opened are: by their opener). */
static struct ad_lru_entry *evict(struct ad_lru *c)
{
	size_t oldest = c->n;
	for (size_t i = 0; i < c->n; i++)
		if (!c->entries[i]->pins &&
		    (oldest == c->n || c->entries[i]->last_used < c->entries[oldest]->last_used))
			oldest = i;
	return oldest < c->n ? remove_at(c, oldest) : NULL;
}

struct ad_error *ad_lru_get(struct ad_lru *c, const struct ad_lru_key *key,
			    struct ad_lru_entry **ret)
{
	pthread_mutex_lock(&c->lock);
	size_t i;
	while ((i = find(c, key)) < c->n) {
		struct ad_lru_entry *e = c->entries[i];
		if (e->value) {
			e->pins++;
			e->last_used = ++c->clock;
			pthread_mutex_unlock(&c->lock);
			*ret = e;
			return NULL;
		}
		pthread_cond_wait(&c->opened, &c->lock); /* another caller opens it */
	}
	struct ad_lru_entry *e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		return &ad_error_nomem;
	}
	e->key = *key;
	e->pins = 1;
	e->last_used = ++c->clock;
	insert(c, e); /* else not cached, but still the caller's to open */
	pthread_mutex_unlock(&c->lock);
	*ret = e;
	return NULL;
}

void ad_lru_publish(struct ad_lru *c, struct ad_lru_entry *e, void *value)
{
	struct ad_lru_entry *victim = NULL;
	pthread_mutex_lock(&c->lock);
	e->value = value;
	if (e->cached) {
		c->nready++;
		if (c->nready > c->capacity && !(victim = evict(c)))
			remove_at(c, find(c, &e->key)); /* every entry is pinned: e goes at its last release */
	}
	pthread_cond_broadcast(&c->opened);
	pthread_mutex_unlock(&c->lock);
	entry_free(c, victim);
}

void ad_lru_abandon(struct ad_lru *c, struct ad_lru_entry *e)
{
	pthread_mutex_lock(&c->lock);
	if (e->cached)
		remove_at(c, find(c, &e->key));
	pthread_cond_broadcast(&c->opened);
	pthread_mutex_unlock(&c->lock);
	entry_free(c, e);
}

void ad_lru_release(struct ad_lru *c, struct ad_lru_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&c->lock);
	bool last = --e->pins == 0 && !e->cached;
	pthread_mutex_unlock(&c->lock);
	if (last)
		entry_free(c, e);
}

void *ad_lru_take(struct ad_lru *c, const struct ad_lru_key *key)
{
	void *value = NULL;
	pthread_mutex_lock(&c->lock);
	size_t i = find(c, key);
	if (i < c->n && !c->entries[i]->pins) {
		struct ad_lru_entry *e = remove_at(c, i);
		value = e->value;
		free(e);
	}
	pthread_mutex_unlock(&c->lock);
	return value;
}

void ad_lru_put(struct ad_lru *c, const struct ad_lru_key *key, void *value)
{
	struct ad_lru_entry *victim = NULL, *e;
	pthread_mutex_lock(&c->lock);
	size_t i = find(c, key);
	if (i < c->n) {
		/* Replaced in place; a pinned one (in use by a caller of
		 * ad_lru_get) stays, and `value` has no room. */
		void *drop = value;
		e = c->entries[i];
		if (!e->pins) {
			drop = e->value;
			e->value = value;
			e->last_used = ++c->clock;
		}
		pthread_mutex_unlock(&c->lock);
		if (drop && c->destroy)
			c->destroy(drop);
		return;
	}
	if (c->nready >= c->capacity)
		victim = evict(c);
	if (c->nready < c->capacity && (e = calloc(1, sizeof(*e)))) {
		*e = (struct ad_lru_entry){ .key = *key, .value = value, .last_used = ++c->clock };
		if (insert(c, e))
			value = NULL;
		else
			free(e);
	}
	pthread_mutex_unlock(&c->lock);
	entry_free(c, victim);
	if (value && c->destroy)
		c->destroy(value); /* no room */
}
