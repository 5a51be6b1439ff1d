/* SPDX-License-Identifier: MIT */
/* The library's one hash map: uint64 → pointer, open addressing. Every key
 * is allowed (0 too); a NULL value reads as absent. */
#ifndef ASYNCDUMP_U64MAP_H
#define ASYNCDUMP_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_u64map {
	size_t cap, len;
	uint64_t *keys;   /* 0: empty slot; key 0 lives beside the table */
	void **values;
	bool has_zero;
	void *zero_value;
};

void ad_u64map_init(struct ad_u64map *m);
void ad_u64map_deinit(struct ad_u64map *m);
/* Empties the map, keeping a small table for the next use. */
void ad_u64map_clear(struct ad_u64map *m);
bool ad_u64map_put(struct ad_u64map *m, uint64_t key, void *value);
void *ad_u64map_get(const struct ad_u64map *m, uint64_t key);

#endif
