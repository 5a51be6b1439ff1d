/* SPDX-License-Identifier: MIT */
/* The reader interface's helpers, and synthetic memory for tests. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/memory.h"
#include "search.h"
#include "segments.h"

struct ad_error *ad_read_uint(const struct ad_reader *r, uint64_t address, size_t size,
			      uint64_t *ret)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "cannot read a %zu-byte integer at 0x%" PRIx64
				       ": sizes are 1, 2, 4 or 8", size, address);
	uint8_t bytes[8];
	struct ad_error *err = ad_read(r, address, bytes, size);
	if (err)
		return err;
	uint64_t v = 0;
	for (size_t i = size; i-- > 0;)
		v = v << 8 | bytes[i];
	*ret = v;
	return NULL;
}

struct ad_error *ad_read_u8(const struct ad_reader *r, uint64_t address, uint8_t *ret)
{
	return ad_read(r, address, ret, 1);
}

struct ad_error *ad_read_u32(const struct ad_reader *r, uint64_t address, uint32_t *ret)
{
	uint64_t v;
	struct ad_error *err = ad_read_uint(r, address, 4, &v);
	if (!err)
		*ret = (uint32_t)v;
	return err;
}

struct ad_error *ad_read_u64(const struct ad_reader *r, uint64_t address, uint64_t *ret)
{
	return ad_read_uint(r, address, 8, ret);
}

void ad_reader_destroy(struct ad_reader *r)
{
	if (!r)
		return;
	if (r->ops->destroy)
		r->ops->destroy(r->ctx);
	free(r);
}

/* ---- synthetic memory */

struct synthetic {
	size_t n;
	struct ad_segment *segments; /* sorted by address, not overlapping; data owned */
};

/* The segment containing `address`, or NULL; O(log n). */
static bool segment_ends_at_or_before(const void *element, const void *address)
{
	const struct ad_segment *seg = element;
	return *(const uint64_t *)address - seg->address >= seg->len &&
	       *(const uint64_t *)address >= seg->address;
}

static const struct ad_segment *find_segment(const struct synthetic *s, uint64_t address)
{
	size_t i = ad_partition_point(s->segments, s->n, sizeof(*s->segments), &address,
				      segment_ends_at_or_before);
	if (i == s->n || address < s->segments[i].address)
		return NULL;
	return &s->segments[i];
}

/* What one segment holds of a read (segments.h). */
static struct ad_error *synthetic_piece(void *ctx, const struct ad_piece_read *r, size_t *got)
{
	const struct ad_segment *seg = find_segment(ctx, r->at);
	if (!seg)
		return ad_error_fault(r->at, r->want,
				      "reading %zu bytes at 0x%" PRIx64
				      ": 0x%" PRIx64 " is not in the synthetic memory",
				      r->len, r->address, r->at);
	size_t off = (size_t)(r->at - seg->address);
	*got = seg->len - off < r->want ? seg->len - off : r->want;
	memcpy(r->buf, (const char *)seg->data + off, *got);
	return NULL;
}

static struct ad_error *synthetic_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	return ad_read_pieces(ctx, address, buf, len, synthetic_piece, NULL);
}

static void synthetic_destroy(void *ctx)
{
	struct synthetic *s = ctx;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free((void *)s->segments[i].data);
	free(s->segments);
	free(s);
}

static const struct ad_reader_ops synthetic_ops = {
	.read = synthetic_read,
	.destroy = synthetic_destroy,
};

static int compare_segments(const void *a, const void *b)
{
	const struct ad_segment *x = a, *y = b;
	return x->address < y->address ? -1 : x->address > y->address;
}

struct ad_error *ad_reader_synthetic_create(const struct ad_segment *segments, size_t n,
					    struct ad_reader **ret)
{
	struct synthetic *s = calloc(1, sizeof(*s));
	struct ad_reader *r = malloc(sizeof(*r));
	if (!s || !r || (n && !(s->segments = calloc(n, sizeof(*s->segments))))) {
		free(r);
		synthetic_destroy(s);
		return &ad_error_nomem;
	}
	for (size_t i = 0; i < n; i++) {
		void *copy = malloc(segments[i].len ? segments[i].len : 1);
		if (!copy) {
			free(r);
			synthetic_destroy(s);
			return &ad_error_nomem;
		}
		if (segments[i].len)
			memcpy(copy, segments[i].data, segments[i].len);
		s->segments[s->n++] = (struct ad_segment){
			.address = segments[i].address, .data = copy, .len = segments[i].len,
		};
	}
	if (s->n)
		qsort(s->segments, s->n, sizeof(*s->segments), compare_segments);
	for (size_t i = 0; i < s->n; i++) {
		const struct ad_segment *seg = &s->segments[i];
		bool wraps = seg->len && seg->address + seg->len - 1 < seg->address;
		bool overlaps = i + 1 < s->n && seg->address + seg->len > s->segments[i + 1].address;
		if (wraps || overlaps) {
			uint64_t at = seg->address;
			free(r);
			synthetic_destroy(s);
			return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
					       "synthetic segment at 0x%" PRIx64
					       " overlaps the next one or wraps around", at);
		}
	}
	r->ops = &synthetic_ops;
	r->ctx = s;
	*ret = r;
	return NULL;
}
