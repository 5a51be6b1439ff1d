/* SPDX-License-Identifier: MIT */
/* What memtarget.c puts in its memory, for the tests that read it back. */
#ifndef MEMTARGET_H
#define MEMTARGET_H

#define MEM_INITIAL 0x1111222233334444ull   /* the heap u64 at start */
#define DATA_MARKER 0x0da7a0da7a0da7a0ull   /* a writable global at start */
#define STACK_MARKER 0x57ac000057ac0000ull  /* + N: a local of thread mt-worker-N */
#define RODATA_MARKER "asyncdump rodata marker"
#define MEMTARGET_THREADS 3                 /* main + 2 workers */
/* An anonymous mapping of SPARSE_SIZE bytes touched at one offset only. */
#define SPARSE_SIZE (64u << 20)
#define SPARSE_OFFSET (40u << 20)
#define SPARSE_MARKER 0x5a55e5a55e5a55e5ull
/* An anonymous mapping of DENSE_SIZE bytes, every u64 written with
 * DENSE_VALUE(its offset), mapped after the file mapping (so below it): a
 * snapshot shares a copy this large with its copier, and the file
 * mapping's unreadable pages fall in the copier's half. */
#define DENSE_SIZE (4u << 20)
#define DENSE_VALUE(offset) ((uint64_t)0xde45e00000000000ull ^ (uint64_t)(offset))
/* A private, writable file mapping of 3 pages over a 1-page file: its last
 * two pages cannot be read. */
#define FILE_MARKER "asyncdump file page marker"

#endif
