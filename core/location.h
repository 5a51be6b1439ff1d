/* SPDX-License-Identifier: MIT */
/* Internal: DWARF location expressions evaluated in one unwound frame (its
 * registers, CFA and frame base), for the variables the unwinder finds in
 * a frame's scopes (the future a block_on pins). */
#ifndef ASYNCDUMP_LOCATION_H
#define ASYNCDUMP_LOCATION_H

#include <elfutils/libdw.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncdump/error.h"
#include "asyncdump/memory.h"
#include "unwind.h"

/* Evaluating a variable's location in a frame. */
enum ad_location_kind {
	AD_LOCATION_MEMORY,    /* the value is stored at `value` */
	AD_LOCATION_REGISTER,  /* the value is held in register `reg`: `value` is its contents */
	AD_LOCATION_IMPLICIT,  /* the value is `value` itself (DW_OP_stack_value) */
};

struct ad_location_value {
	enum ad_location_kind kind;
	uint64_t value;
	unsigned reg;
	uint64_t size;         /* bytes covered (the piece), 0 when the whole variable */
};

/* Evaluates DW_AT_location of `var` (a DW_TAG_variable or
 * DW_TAG_formal_parameter in one of frame->scopes) at frame->lookup_pc and
 * describes its first 8 bytes (or the piece at offset 0). AD_ERROR_NOT_FOUND
 * when the variable has no location there (optimised out); AD_ERROR_DWARF
 * naming the operation for what is not supported. Memory is read through
 * `reader` (DW_OP_deref). */
struct ad_error *ad_unwind_variable_location(const struct ad_unwind_frame *frame,
					     Dwarf_Die *var, const struct ad_reader *reader,
					     struct ad_location_value *ret);

/* Where `var` lives at the other pcs of its function: each entry of its
 * location list that is memory at the stack pointer or the frame base plus
 * a constant, evaluated with this frame's registers (the stack pointer and
 * frame base do not move in a function's body). Up to `max` addresses in
 * `ret`; returns how many. For telling apart candidates, not for reading. */
size_t ad_unwind_variable_stack_slots(const struct ad_unwind_frame *frame, Dwarf_Die *var,
				      const struct ad_reader *reader, uint64_t *ret, size_t max);

#endif
