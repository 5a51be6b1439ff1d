/* SPDX-License-Identifier: MIT */
/* A type model over DWARF, as Rust uses it.
 *
 * Types are converted from DIEs on first use and cached for the life of the
 * debuginfo; they are immutable afterwards and may be shared between
 * threads. Field and variant offsets are absolute within the type (rustc's
 * variant structs are laid over the whole enum). Rust enums are
 * AD_TYPE_ENUM: a struct with a variant part whose discriminant is either a
 * direct tag or a niche; the variant without a discriminant value is the
 * fallback (the dataful variant of a niche layout). */
#ifndef ASYNCDUMP_TYPE_H
#define ASYNCDUMP_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct ad_debuginfo;

enum ad_type_kind {
	AD_TYPE_VOID,
	AD_TYPE_BASE,     /* integers, floats, bool, char */
	AD_TYPE_POINTER,  /* pointers and references (thin part of fat ones) */
	AD_TYPE_STRUCT,   /* struct or tuple (fat pointers too: {pointer, vtable}) */
	AD_TYPE_UNION,
	AD_TYPE_ENUM,     /* Rust enum: struct with a variant part */
	AD_TYPE_CENUM,    /* fieldless enum (DW_TAG_enumeration_type) */
	AD_TYPE_ARRAY,
	AD_TYPE_FUNCTION,
	AD_TYPE_UNKNOWN,
};

struct ad_field {
	const char *name;      /* "" when unnamed */
	uint64_t offset;       /* bytes from the start of the containing type */
	bool artificial;
	uint64_t type_die;     /* resolve with ad_field_type() */
	_Atomic(const struct ad_type *) resolved; /* ad_field_type()'s, once known */
};

struct ad_variant {
	const char *name;      /* the variant member's name ("0", "Some", …) */
	bool has_discr;        /* false: the fallback (niche dataful variant) */
	uint64_t discr;        /* low 64 bits of the discriminant value */
	uint64_t discr_high;   /* high 64 bits (128-bit tags), else 0 */
	uint64_t offset;       /* of the variant member (0 in rustc output) */
	uint64_t type_die;     /* the variant's struct (Suspend0, Some, …) */
	_Atomic(const struct ad_type *) resolved; /* ad_variant_type()'s, once known */
	const char *file;      /* DW_AT_decl_file of the variant member, or NULL */
	unsigned line;         /* DW_AT_decl_line, 0 unknown */
};

struct ad_template_param {
	const char *name;      /* "T" */
	uint64_t type_die;
};

struct ad_type {
	enum ad_type_kind kind;
	const char *name;      /* fully qualified, e.g. "demo::foo::{async_fn_env#0}" */
	const char *base_name; /* its last component without generic arguments, "{async_fn_env#0}";
				* NULL in types made by hand: read it with ad_type_base() */
	uint64_t size;         /* bytes; 0 unknown */
	uint32_t align;        /* 0 unknown */
	uint64_t die;          /* DIE offset (identity within a debuginfo) */
	const char *decl_file;
	unsigned decl_line;
	bool is_signed;        /* AD_TYPE_BASE / AD_TYPE_CENUM */
	size_t nfields;
	struct ad_field *fields;
	/* AD_TYPE_ENUM */
	uint64_t discr_offset;
	uint32_t discr_size;   /* 0: single-variant enum without a tag */
	size_t nvariants;
	struct ad_variant *variants;
	/* AD_TYPE_POINTER (pointee), AD_TYPE_ARRAY (element) */
	uint64_t target_die;   /* 0: void / unknown */
	uint64_t count;        /* AD_TYPE_ARRAY elements */
	/* AD_TYPE_CENUM enumerators */
	size_t nenumerators;
	struct ad_enumerator { const char *name; uint64_t value; } *enumerators;
	size_t ntemplate_params;
	struct ad_template_param *template_params;
	uint64_t containing_die; /* DW_AT_containing_type ({vtable_type}), 0 none */
};

struct ad_error *ad_type_from_die(struct ad_debuginfo *di, uint64_t die, const struct ad_type **ret);
struct ad_error *ad_field_type(struct ad_debuginfo *di, const struct ad_field *f,
			       const struct ad_type **ret);
struct ad_error *ad_variant_type(struct ad_debuginfo *di, const struct ad_variant *v,
				 const struct ad_type **ret);
/* The pointee / element type; AD_ERROR_NOT_FOUND for void pointers. */
struct ad_error *ad_type_target(struct ad_debuginfo *di, const struct ad_type *t,
				const struct ad_type **ret);
struct ad_error *ad_type_template_param(struct ad_debuginfo *di, const struct ad_type *t,
					const char *name, const struct ad_type **ret);

/* The first generic type parameter of `t`. rustc attaches an enum's
 * parameters to its variant structs, so those are searched too. */
struct ad_error *ad_type_first_param(struct ad_debuginfo *di, const struct ad_type *t,
				     const struct ad_type **ret);

/* The field named `name`, or NULL. */
const struct ad_field *ad_type_field(const struct ad_type *t, const char *name);
/* The variant whose discriminant matches `discr`, else the fallback, else NULL. */
const struct ad_variant *ad_type_variant_for(const struct ad_type *t, uint64_t discr);
/* The same for tags wider than 64 bits (#[repr(u128)]). */
const struct ad_variant *ad_type_variant_for_wide(const struct ad_type *t, uint64_t discr,
						  uint64_t discr_high);
/* The variant whose member name or struct name is `name`, or NULL. */
const struct ad_variant *ad_type_variant_named(struct ad_debuginfo *di, const struct ad_type *t,
					       const char *name);

/* The last path component of the name without generic arguments:
 * "alloc::sync::Arc<T>" → "Arc". Writes into buf. */
const char *ad_type_base_name(const char *qualified, char *buf, size_t len);
/* t's base name: the one read with the type, or else written into buf. */
const char *ad_type_base(const struct ad_type *t, char *buf, size_t len);
/* Does the qualified name (generic arguments removed) equal `path`? */
bool ad_name_is(const char *name, const char *path);
bool ad_type_is(const struct ad_type *t, const char *path);

#endif
