/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

static uint64_t hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void ad_strmap_init(struct ad_strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void ad_strmap_deinit(struct ad_strmap *m)
{
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

static size_t find_slot(const char **keys, size_t cap, const char *key)
{
	size_t i = hash_string(key) & (cap - 1);
	while (keys[i] && strcmp(keys[i], key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static bool grow(struct ad_strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	const char **keys = calloc(cap, sizeof(*keys));
	uint64_t *values = calloc(cap, sizeof(*values));
	if (!keys || !values) {
		free(keys);
		free(values);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = find_slot(keys, cap, m->keys[i]);
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

bool ad_strmap_insert_new(struct ad_strmap *m, const char *key, uint64_t value)
{
	if ((m->len + 1) * 4 > m->cap * 3 && !grow(m))
		return false;
	size_t i = find_slot(m->keys, m->cap, key);
	if (m->keys[i])
		return true;
	m->keys[i] = key;
	m->values[i] = value;
	m->len++;
	return true;
}

bool ad_strmap_get(const struct ad_strmap *m, const char *key, uint64_t *ret)
{
	if (!m->cap)
		return false;
	size_t i = find_slot(m->keys, m->cap, key);
	if (!m->keys[i])
		return false;
	*ret = m->values[i];
	return true;
}
