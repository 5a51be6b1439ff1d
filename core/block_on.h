/* SPDX-License-Identifier: MIT */
/* Internal: the future a thread passed to `block_on`.
 *
 * The future given to tokio's `Runtime::block_on` (the body of
 * `#[tokio::main]`) is in no task list: block_on pins it on the stack of the
 * calling thread and polls it there. We find it in the unwound stack: the
 * frame of the function that pins it, and in it the pinned variable, whose
 * DWARF location gives the address and whose type is the future's.
 *
 * Functions that pin the future they are given (tokio 1.24 and later, the
 * futures crate), the outermost one on the stack wins:
 *   tokio::runtime::park::CachedParkThread::block_on          `f`
 *       (multi_thread Runtime::block_on, Handle::block_on)
 *   tokio::runtime::scheduler::current_thread::CurrentThread::block_on  `future`
 *   futures_executor::local_pool::block_on                     `f`
 * In each, the pinned variable is the local `let mut f = f;` of type F (the
 * parameter of the same name is the moved-from copy: never read it) or the
 * `Pin<&mut F>` shadowing it. Release builds often keep neither in memory;
 * that is reported as such, not guessed around. */
#ifndef ASYNCDUMP_BLOCK_ON_H
#define ASYNCDUMP_BLOCK_ON_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncdump/error.h"
#include "asyncdump/memory.h"
#include "unwind.h"

struct ad_block_on {
	uint64_t address;     /* the future, in the target */
	Dwarf_Die type;       /* its DWARF type (valid while the unwinder lives) */
	char *type_name;      /* qualified: "demo::main::{async_block_env#0}" */
	/* The function that pinned it: "tokio::runtime::park::CachedParkThread::block_on". */
	char *function;
	size_t frame;         /* index into the unwind's frames */
};

/* Whether the thread is inside one of the block_on functions above: the
 * caller reports such a thread even when ad_block_on_find() cannot give the
 * future. */
bool ad_block_on_present(const struct ad_unwind *uw);

/* Finds the future of the outermost block_on frame of `uw`, reading the
 * target through `reader` (the snapshot's). Errors:
 * AD_ERROR_NOT_FOUND when the thread is in no block_on, or when the future
 * is optimised out in this build (the message says which);
 * AD_ERROR_DWARF for a location this cannot evaluate (naming the operation);
 * AD_ERROR_FAULT when the pinned pointer cannot be read. */
struct ad_error *ad_block_on_find(const struct ad_unwind *uw, const struct ad_reader *reader,
				  struct ad_block_on *ret);
void ad_block_on_deinit(struct ad_block_on *b);

#endif
