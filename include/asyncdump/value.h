/* SPDX-License-Identifier: MIT */
/* A typed view of target memory: a type and an address, read through a
 * reader. Decoders navigate the runtimes' and rustc's structures with these
 * helpers by field *name*, never by hard-coded offsets. */
#ifndef ASYNCDUMP_VALUE_H
#define ASYNCDUMP_VALUE_H

#include <stdbool.h>
#include <stdint.h>

#include "debuginfo.h"
#include "error.h"
#include "memory.h"
#include "type.h"

struct ad_value {
	struct ad_debuginfo *di;
	const struct ad_reader *reader;
	const struct ad_type *type;
	uint64_t address;
};

/* A member by name. For an enum, `name` may also name a variant (by member
 * or struct name): that variant's struct at the same address, if active. */
struct ad_error *ad_value_member(const struct ad_value *v, const char *name, struct ad_value *ret);
/* A field of v's type (found before, e.g. once for every value of a type). */
struct ad_error *ad_value_field(const struct ad_value *v, const struct ad_field *f,
				struct ad_value *ret);
/* Dotted path of members: "data.shared.owned". */
struct ad_error *ad_value_path(const struct ad_value *v, const char *path, struct ad_value *ret);
/* The active variant of an enum (its struct, at the same address). */
struct ad_error *ad_value_variant(const struct ad_value *v, const struct ad_variant **variant_ret,
				  struct ad_value *ret);
/* Reads an integer/pointer/bool of the value's size (1, 2, 4, 8). */
struct ad_error *ad_value_uint(const struct ad_value *v, uint64_t *ret);
/* Follows a pointer (or a struct with a single pointer-like member, such as
 * NonNull/Unique/Box/&T): the pointee value. */
struct ad_error *ad_value_deref(const struct ad_value *v, struct ad_value *ret);
/* The address a pointer-like value points to, without typing the target. */
struct ad_error *ad_value_pointer(const struct ad_value *v, uint64_t *ret);
/* The discriminant stored in an enum value (raw). */
struct ad_error *ad_value_discr(const struct ad_value *v, uint64_t *ret);

/* Steps through Rust's transparent containers (UnsafeCell, Cell, RefCell,
 * MaybeUninit, ManuallyDrop, CachePadded, loom shims) to the value inside. */
struct ad_error *ad_value_strip_wrappers(const struct ad_value *v, struct ad_value *ret);
/* For an Option<T>: the T inside Some, or AD_ERROR_NOT_FOUND for None. A
 * value of another type is returned unchanged. */
struct ad_error *ad_value_unwrap_option(const struct ad_value *v, struct ad_value *ret);

#endif
