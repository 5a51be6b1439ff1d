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
/* A private, writable file mapping of 3 pages over a 1-page file: its last
 * two pages cannot be read. */
#define FILE_MARKER "asyncdump file page marker"

#endif
