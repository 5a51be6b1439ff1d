/* SPDX-License-Identifier: MIT */
/* Internal: mappings a sample is done with, kept for the next one.
 *
 * Each sample fills large fresh mappings (the snapshot's copy buffer, the
 * trace's pool) and the kernel zeroes every page of them on first touch:
 * at 100,000 tasks that was 40 % of a warm request's time, measured here.
 * Kept between samples they are written again without a fault. Kept memory
 * is advised MADV_FREE, so that the kernel may take it back whenever it
 * needs it (a page it took reads as zeros again: the copy overwrites what
 * it reads and nothing reads what it did not write), and is unmapped once
 * it has sat unused for the holder's idle time (ad_spare_trim()). */
#ifndef ASYNCDUMP_SPARE_H
#define ASYNCDUMP_SPARE_H

#include <stddef.h>
#include <stdint.h>

struct ad_spare;

/* NULL on OOM (callers then map and unmap as before). */
struct ad_spare *ad_spare_create(void);
/* Another holder: the spare lives until its last ad_spare_unref(). NULL is
 * returned for NULL. */
struct ad_spare *ad_spare_ref(struct ad_spare *s);
/* Unmaps everything kept when the last holder lets go. NULL is ignored. */
void ad_spare_unref(struct ad_spare *s);

/* A kept mapping (of mmap(), readable and writable, private and anonymous)
 * of at least len bytes and not much more, its length in *got; NULL when
 * none fits or s is NULL: map one. */
void *ad_spare_take(struct ad_spare *s, size_t len, size_t *got);
/* Keeps the mapping [p, p + len) for a later take, or unmaps it (s NULL,
 * or too many kept). */
void ad_spare_give(struct ad_spare *s, void *p, size_t len);
/* Unmaps what has been kept for idle_ms or longer (0: everything). */
void ad_spare_trim(struct ad_spare *s, uint64_t idle_ms);
/* Bytes of mappings kept now (their length, not what is resident). */
uint64_t ad_spare_kept_bytes(struct ad_spare *s);

#endif
