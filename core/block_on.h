/* SPDX-License-Identifier: MIT */
/* Internal: the future a thread passed to `block_on`.
 *
 * The future given to a runtime's `block_on` (the body of its `main`
 * attribute) is in no task list: block_on pins it on the stack of the
 * calling thread and polls it there. We find it in the unwound stack: the
 * frame of the function that pins it, and in it the pinned variable, whose
 * DWARF location gives the address and whose type is the future's.
 *
 * Functions that pin the future they are given: each runtime adapter's
 * block_on_functions (runtime.h), each with the name of its pinned
 * variable. The outermost one on the stack wins. In each, the pinned
 * variable is the local `let mut f = f;` of type F (the
 * parameter of the same name is the moved-from copy: never read it) or the
 * `Pin<&mut F>` shadowing it. Release builds often give neither a location
 * at the pc where the thread waits (the value is in the frame, DWARF just
 * does not say where): then the frame's stack is searched for a value of
 * type F that validates (ad_block_on_scan()), and it is used only when
 * exactly one does. */
#ifndef ASYNCDUMP_BLOCK_ON_H
#define ASYNCDUMP_BLOCK_ON_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncdump/error.h"
#include "asyncdump/memory.h"
#include "unwind.h"

struct ad_decode;
struct ad_type;

struct ad_block_on {
	bool has_address;     /* DWARF gave the future's address */
	uint64_t address;     /* the future, in the target (has_address) */
	uint64_t type_die;    /* its type, a DIE of the unwind's debuginfo */
	/* Qualified: "demo::main::{async_block_env#0}"; lives as long as that
	 * debuginfo. */
	const char *type_name;
	/* The function that pinned it: "a_crate::executor::block_on". */
	char *function;
	size_t frame;         /* index into the unwind's frames */
	/* Without an address: why DWARF gives none, and the stack of the
	 * physical frame that pinned the future, [frame_low, frame_high),
	 * where the pinned value lives. */
	char *no_location;
	uint64_t frame_low, frame_high;
	/* Addresses DWARF gives to variables of type F (or pointing to an F)
	 * in frames outside the block_on call chain: other futures of the
	 * same type (a local of the caller), never the one passed. */
	size_t nexcluded;
	uint64_t excluded[16];
	/* Where the pinned variable's location list puts it at other pcs of
	 * the pinning function: preferred when several places validate. */
	size_t nhinted;
	uint64_t hinted[8];
	/* The calls the pinning frame is inside: their stack [inner_low,
	 * frame_low) and the registers they had. The live future is polled
	 * through a Pin<&mut F> they keep; a stale copy is pointed at by
	 * nothing there. */
	uint64_t inner_low;
	size_t nregisters;
	uint64_t registers[48];
};

/* Whether the thread is inside one of the block_on functions above: the
 * caller reports such a thread even when ad_block_on_find() cannot give the
 * future. Both take the debuginfo's lock to read the frames' DIEs. */
bool ad_block_on_present(const struct ad_unwind *uw);

/* Finds the future of the outermost block_on frame of `uw`, reading the
 * target through `reader` (the snapshot's). Without a DWARF location for it
 * but with its type known, succeeds with has_address false and the frame
 * to search (ad_block_on_scan()). Errors:
 * AD_ERROR_NOT_FOUND when the thread is in no block_on, or when the future
 * cannot be looked for (the message says why);
 * AD_ERROR_DWARF for a location this cannot evaluate (naming the operation);
 * AD_ERROR_FAULT when the pinned pointer cannot be read. */
struct ad_error *ad_block_on_find(const struct ad_unwind *uw, const struct ad_reader *reader,
				  struct ad_block_on *ret);
void ad_block_on_deinit(struct ad_block_on *b);

/* For a future without a DWARF location: searches the pinning frame's stack
 * for the one value of type `type` that validates: the discriminant of every
 * enum in it names a variant (a state machine that was polled, when the
 * thread is `parked`, is in a Suspend state), references and boxes point to
 * readable memory, bools and chars hold valid values, its tree of futures
 * decodes without an undecodable frame and every JoinHandle in it points at
 * a task of the runtime. On success *ret is its address and *how (malloc'ed)
 * says how it was found, for the task's note. When several validate (a
 * stale copy left by a move), the one the pinned variable's location list
 * gives at other pcs is taken if exactly one is, or else the one alone that
 * the calls the pinning frame is inside point at (a current_thread runtime
 * polls it through the Pin<&mut F> it passes down; 1 or 2 of a frame's
 * 76 to 1,160 words were pointed at so in the corpus' servers), or else the one alone that memory
 * outside the thread's stack points into (the runtime's registration of a
 * timer or waiter inside it). AD_ERROR_NOT_FOUND when none validates,
 * or several and neither tells them apart (the message says which). */
struct ad_error *ad_block_on_scan(struct ad_decode *d, const struct ad_block_on *b,
				  const struct ad_type *type, bool parked, uint64_t *ret,
				  char **how);

/* Adds a task of kind block_on for every thread of the sample inside a
 * block_on function, unwound with `u` (block_on_task.c): its root is the
 * future, or its note says why the future is not shown. Fails only for lack
 * of memory. */
struct ad_error *ad_collect_block_on(struct ad_decode *d, struct ad_unwinder *u);

#endif
