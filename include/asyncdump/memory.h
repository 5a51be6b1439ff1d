/* SPDX-License-Identifier: MIT */
/* Reading target memory: one interface, several backends.
 *
 * Decoders only ever see a `struct ad_reader`. A live process, a snapshot
 * taken during a pause, a core file or a test's synthetic memory all plug in
 * behind the same read callback, so no decoder changes when a new source of
 * memory appears. A read either fills the whole buffer or fails with an
 * AD_ERROR_FAULT carrying the first address that could not be read; it never
 * crashes on unmapped or torn memory. */
#ifndef ASYNCDUMP_MEMORY_H
#define ASYNCDUMP_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct ad_reader_ops {
	struct ad_error *(*read)(void *ctx, uint64_t address, void *buf, size_t len);
	void (*destroy)(void *ctx);
	/* Optional: a hint that [address, address + len) will be read soon. */
	void (*prefetch)(void *ctx, uint64_t address, size_t len);
};

struct ad_reader {
	const struct ad_reader_ops *ops;
	void *ctx;
};

static inline struct ad_error *ad_read(const struct ad_reader *r, uint64_t address, void *buf,
				       size_t len)
{
	return r->ops->read(r->ctx, address, buf, len);
}

/* Lets a backend start fetching memory a decoder will read next (a task list
 * walk asks for the next task while it decodes this one); never fails. */
static inline void ad_prefetch(const struct ad_reader *r, uint64_t address, size_t len)
{
	if (r->ops->prefetch)
		r->ops->prefetch(r->ctx, address, len);
}

struct ad_error *ad_read_u8(const struct ad_reader *r, uint64_t address, uint8_t *ret);
struct ad_error *ad_read_u32(const struct ad_reader *r, uint64_t address, uint32_t *ret);
struct ad_error *ad_read_u64(const struct ad_reader *r, uint64_t address, uint64_t *ret);
/* Reads an unsigned little-endian integer of 1, 2, 4 or 8 bytes. */
struct ad_error *ad_read_uint(const struct ad_reader *r, uint64_t address, size_t size,
			      uint64_t *ret);

/* Destroys the reader's backend and frees the reader; accepts NULL. */
void ad_reader_destroy(struct ad_reader *r);

/* Live process memory: process_vm_readv, falling back to /proc/PID/mem. */
struct ad_error *ad_reader_live_create(pid_t pid, struct ad_reader **ret);

/* Synthetic memory for tests: a set of segments copied at creation. */
struct ad_segment {
	uint64_t address;
	const void *data;
	size_t len;
};
struct ad_error *ad_reader_synthetic_create(const struct ad_segment *segments, size_t n,
					    struct ad_reader **ret);

/* A page cache in front of another reader (not owned), for one sample:
 * reads are served from cached blocks of `block_size` bytes (power of two). */
struct ad_error *ad_reader_cached_create(struct ad_reader *backend, size_t block_size,
					 struct ad_reader **ret);

#endif
