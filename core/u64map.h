/* SPDX-License-Identifier: MIT */
/* A uint64 → pointer hash map (open addressing; key 0 is not allowed). */
#ifndef ASYNCDUMP_U64MAP_H
#define ASYNCDUMP_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_u64map {
	size_t cap, len;
	uint64_t *keys;
	void **values;
};

void ad_u64map_init(struct ad_u64map *m);
void ad_u64map_deinit(struct ad_u64map *m);
bool ad_u64map_put(struct ad_u64map *m, uint64_t key, void *value);
void *ad_u64map_get(const struct ad_u64map *m, uint64_t key);

#endif
