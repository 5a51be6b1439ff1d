/* SPDX-License-Identifier: MIT */
/* A string → uint64 hash map (open addressing, FNV-1a). Keys are not
 * copied: they must outlive the map (the debuginfo interns them). */
#ifndef ASYNCDUMP_STRMAP_H
#define ASYNCDUMP_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_strmap {
	size_t cap, len;
	const char **keys;
	uint64_t *values;
};

void ad_strmap_init(struct ad_strmap *m);
void ad_strmap_deinit(struct ad_strmap *m);
/* Inserts unless present; returns false only on allocation failure. */
bool ad_strmap_insert_new(struct ad_strmap *m, const char *key, uint64_t value);
bool ad_strmap_get(const struct ad_strmap *m, const char *key, uint64_t *ret);

#endif
