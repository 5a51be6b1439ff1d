/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "u64map.h"

/* A map cleared for each of many small uses (a task's visited nodes) keeps
 * its table up to this size: allocating and zeroing one per use cost more
 * than the use. */
#define CLEAR_KEEPS_CAP 1024

static size_t slot_of(const uint64_t *keys, size_t cap, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
	while (keys[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	return i;
}

void ad_u64map_init(struct ad_u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void ad_u64map_deinit(struct ad_u64map *m)
{
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

void ad_u64map_clear(struct ad_u64map *m)
{
	if (m->cap > CLEAR_KEEPS_CAP) {
		ad_u64map_deinit(m);
		return;
	}
	if (m->keys)
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->len = 0;
	m->has_zero = false;
	m->zero_value = NULL;
}

static bool grow(struct ad_u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	void **values = calloc(cap, sizeof(*values));
	if (!keys || !values) {
		free(keys);
		free(values);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot_of(keys, cap, m->keys[i]);
		keys[j] = m->keys[i];
		values[j] = m->values[i];
	}
	free(m->keys);
	free(m->values);
	m->keys = keys;
	m->values = values;
	m->cap = cap;
	return true;
}

bool ad_u64map_put(struct ad_u64map *m, uint64_t key, void *value)
{
	if (!key) {
		m->len += !m->has_zero;
		m->has_zero = true;
		m->zero_value = value;
		return true;
	}
	if ((m->len + 1) * 4 > m->cap * 3 && !grow(m))
		return false;
	size_t i = slot_of(m->keys, m->cap, key);
	if (!m->keys[i])
		m->len++;
	m->keys[i] = key;
	m->values[i] = value;
	return true;
}

void *ad_u64map_get(const struct ad_u64map *m, uint64_t key)
{
	if (!key)
		return m->has_zero ? m->zero_value : NULL;
	if (!m->cap)
		return NULL;
	size_t i = slot_of(m->keys, m->cap, key);
	return m->keys[i] ? m->values[i] : NULL;
}
