/* SPDX-License-Identifier: MIT */
/* Internal: the one segment walk of the memory readers that serve target
 * memory from pieces (a snapshot's copied segments and read-only spans, a
 * core file's PT_LOAD segments, synthetic memory): which range holds an
 * address, and a read that crosses from one range into the next. Inline,
 * as search.h: every read of target memory goes through it. */
#ifndef ASYNCDUMP_SEGMENTS_H
#define ASYNCDUMP_SEGMENTS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "asyncdump/error.h"
#include "search.h"

/* Ranges are structs that begin with `uint64_t start, end;` ([start, end)),
 * sorted by start and disjoint; AD_RANGE_TYPE(T) checks that T does. */
#define AD_RANGE_TYPE(T)                                                                 \
	_Static_assert(offsetof(T, start) == 0 && offsetof(T, end) == sizeof(uint64_t), \
		       #T " begins with uint64_t start, end")

static inline uint64_t ad_range_start(const void *range)
{
	uint64_t v;
	memcpy(&v, range, sizeof(v));
	return v;
}

static inline uint64_t ad_range_end(const void *range)
{
	uint64_t v;
	memcpy(&v, (const char *)range + sizeof(uint64_t), sizeof(v));
	return v;
}

static inline bool ad_range_ends_at_or_before(const void *range, const void *address)
{
	return ad_range_end(range) <= *(const uint64_t *)address;
}

/* The range of the `n` at `ranges` (each `size` bytes) that holds
 * `address`, or NULL: the first that does not end at or before it, if it
 * starts at or before it. */
static inline const void *ad_range_find(const void *ranges, size_t n, size_t size,
					uint64_t address)
{
	size_t i = ad_partition_point(ranges, n, size, &address, ad_range_ends_at_or_before);
	const void *r = (const char *)ranges + i * size;
	return i < n && ad_range_start(r) <= address ? r : NULL;
}

/* How many of `want` bytes at `at` lie before `end`. */
static inline size_t ad_range_clip(uint64_t end, uint64_t at, size_t want)
{
	return end - at < want ? (size_t)(end - at) : want;
}

/* One step of a read: the whole read (for messages), and what is left of it. */
struct ad_piece_read {
	uint64_t address; /* the whole read: `len` bytes at `address` */
	size_t len;
	uint64_t at;      /* the first byte still to read, into `buf` */
	size_t want;      /* bytes still to read */
	void *buf;
};

/* Reads up to r->want bytes at r->at from the one piece of memory that
 * holds r->at, stopping at its end: *got of them, at least one; or fails
 * (an AD_ERROR_FAULT at r->at when no piece holds it). */
typedef struct ad_error *(*ad_piece_read_fn)(void *ctx, const struct ad_piece_read *r,
					     size_t *got);
/* The error of a read that runs past the top of the address space at
 * r->at, the reader naming itself. */
typedef struct ad_error *(*ad_piece_wraps_fn)(void *ctx, const struct ad_piece_read *r);

/* Reads `len` bytes at `address` piece by piece (a read fills the whole
 * buffer or fails, memory.h). Without `wraps`, a read past the top of the
 * address space fails with a message that names no reader. */
static inline struct ad_error *ad_read_pieces(void *ctx, uint64_t address, void *buf, size_t len,
					      ad_piece_read_fn piece, ad_piece_wraps_fn wraps)
{
	struct ad_piece_read r = { .address = address, .len = len };
	size_t done = 0;
	while (done < len) {
		r.at = address + done;
		r.want = len - done;
		r.buf = (char *)buf + done;
		if (r.at < address)
			return wraps ? wraps(ctx, &r)
				     : ad_error_fault(r.at, r.want, "reading %zu bytes at 0x%" PRIx64
						      " wraps around", len, address);
		size_t got = 0;
		struct ad_error *err = piece(ctx, &r, &got);
		if (err)
			return err;
		done += got;
	}
	return NULL;
}

#endif
