/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <string.h>

#include "asyncdump/value.h"
#include "fault.h"

static struct ad_value at(const struct ad_value *v, const struct ad_type *t, uint64_t address)
{
	return (struct ad_value){ v->di, v->reader, t, address };
}

struct ad_error *ad_value_discr(const struct ad_value *v, uint64_t *ret)
{
	const struct ad_type *t = v->type;
	if (t->kind != AD_TYPE_ENUM)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "%s is not an enum", t->name);
	if (!t->discr_size) {
		*ret = 0;
		return NULL;
	}
	/* A 128-bit tag: its low half here, the high half read by the caller. */
	size_t size = t->discr_size > 8 ? 8 : t->discr_size;
	struct ad_error *err = ad_read_uint(v->reader, v->address + t->discr_offset, size, ret);
	return err ? ad_error_wrap(err, "reading the discriminant of %s", t->name) : NULL;
}

/* An enum without a tag: every variant but one is uninhabited (it holds a
 * `!` or an empty enum, like hyper's ProtoServer::H2 without http2), and
 * rustc lays out only the inhabited one, which is as large as the enum. */
/* `!`, or an enum without variants (core::convert::Infallible). */
static bool is_uninhabited(const struct ad_type *t)
{
	return (t->kind == AD_TYPE_ENUM && t->nvariants == 0) ||
	       (t->kind == AD_TYPE_CENUM && t->nenumerators == 0) ||
	       (t->kind == AD_TYPE_BASE && strcmp(t->name, "!") == 0);
}

static struct ad_error *has_uninhabited_field(struct ad_debuginfo *di, const struct ad_type *t,
					      bool *ret)
{
	*ret = false;
	for (size_t i = 0; i < t->nfields && !*ret; i++) {
		const struct ad_type *ft;
		struct ad_error *err = ad_field_type(di, &t->fields[i], &ft);
		if (err)
			return err;
		*ret = is_uninhabited(ft);
	}
	return NULL;
}

static struct ad_error *only_inhabited_variant(const struct ad_value *v,
					       const struct ad_variant **ret)
{
	const struct ad_variant *best = NULL;
	uint64_t best_size = 0;
	for (size_t i = 0; i < v->type->nvariants; i++) {
		const struct ad_type *vt;
		bool uninhabited;
		struct ad_error *err = ad_variant_type(v->di, &v->type->variants[i], &vt);
		if (!err)
			err = has_uninhabited_field(v->di, vt, &uninhabited);
		if (err)
			return err;
		if (uninhabited)
			continue;
		if (!best || vt->size > best_size) {
			best = &v->type->variants[i];
			best_size = vt->size;
		}
	}
	*ret = best;
	return NULL;
}

struct ad_error *ad_value_variant(const struct ad_value *v, const struct ad_variant **variant_ret,
				  struct ad_value *ret)
{
	uint64_t discr;
	struct ad_error *err = ad_value_discr(v, &discr);
	if (err)
		return err;
	const struct ad_variant *var;
	if (v->type->discr_size > 8) {
		uint64_t high;
		if ((err = ad_read_uint(v->reader, v->address + v->type->discr_offset + 8,
					v->type->discr_size - 8, &high)))
			return ad_error_wrap(err, "reading the discriminant of %s", v->type->name);
		var = ad_type_variant_for_wide(v->type, discr, high);
	} else if (v->type->discr_size) {
		var = ad_type_variant_for(v->type, discr);
	} else if ((err = only_inhabited_variant(v, &var))) {
		return err;
	}
	if (!var)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
				       "%s at 0x%" PRIx64 " has discriminant %" PRIu64
				       " that matches no variant (corrupt memory?)",
				       v->type->name, v->address, discr);
	const struct ad_type *vt;
	if ((err = ad_variant_type(v->di, var, &vt)))
		return err;
	if (variant_ret)
		*variant_ret = var;
	*ret = at(v, vt, v->address + var->offset);
	return NULL;
}

struct ad_error *ad_value_field(const struct ad_value *v, const struct ad_field *f,
			       struct ad_value *ret)
{
	const struct ad_type *ft;
	struct ad_error *err = AD_FAULT("member", f->name);
	if (err || (err = ad_field_type(v->di, f, &ft)))
		return err;
	*ret = at(v, ft, v->address + f->offset);
	return NULL;
}

struct ad_error *ad_value_member(const struct ad_value *v, const char *name, struct ad_value *ret)
{
	const struct ad_type *t = v->type;
	const struct ad_field *f = ad_type_field(t, name);
	if (f)
		return ad_value_field(v, f, ret);
	struct ad_error *fault = AD_FAULT("member", name);
	if (fault)
		return fault;
	if (t->kind == AD_TYPE_ENUM) {
		const struct ad_variant *want = ad_type_variant_named(v->di, t, name), *active;
		struct ad_value var;
		struct ad_error *err;
		if (want && !(err = ad_value_variant(v, &active, &var))) {
			if (active == want) {
				*ret = var;
				return NULL;
			}
			return ad_error_create(AD_ERROR_NOT_FOUND,
					       "%s at 0x%" PRIx64 " is not the %s variant", t->name,
					       v->address, name);
		} else if (want) {
			return err;
		}
	}
	return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "type %s has no field %s", t->name, name);
}

struct ad_error *ad_value_path(const struct ad_value *v, const char *path, struct ad_value *ret)
{
	struct ad_value cur = *v;
	char part[128];
	const char *p = path;
	while (*p) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof(part))
			return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "path component too long: %s", p);
		memcpy(part, p, n);
		part[n] = '\0';
		struct ad_error *err = ad_value_member(&cur, part, &cur);
		if (err)
			return err;
		p += n;
		if (*p == '.')
			p++;
	}
	*ret = cur;
	return NULL;
}

struct ad_error *ad_value_uint(const struct ad_value *v, uint64_t *ret)
{
	uint64_t size = v->type->size;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
				       "%s has size %" PRIu64 ", not an integer size", v->type->name,
				       size);
	return ad_read_uint(v->reader, v->address, size, ret);
}

/* NonNull<T>, Unique<T>, Box<T>, Pin<P>: structs whose first pointer-like
 * member leads to the pointee. Bounded: a handful of wrappers at most. */
static struct ad_error *unwrap_to_pointer(const struct ad_value *v, struct ad_value *ret)
{
	struct ad_value cur = *v;
	for (int depth = 0; depth < 8; depth++) {
		if (cur.type->kind == AD_TYPE_POINTER) {
			*ret = cur;
			return NULL;
		}
		if (cur.type->kind != AD_TYPE_STRUCT || cur.type->nfields == 0)
			break;
		/* A fat pointer {pointer, vtable}: the data pointer is "pointer"
		 * (or "data_ptr" in old rustc). */
		const struct ad_field *f = ad_type_field(cur.type, "pointer");
		if (!f)
			f = ad_type_field(cur.type, "data_ptr");
		if (!f)
			f = &cur.type->fields[0];
		const struct ad_type *ft;
		struct ad_error *err = ad_field_type(cur.di, f, &ft);
		if (err)
			return err;
		cur = at(&cur, ft, cur.address + f->offset);
	}
	return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "%s is not pointer-like", v->type->name);
}

struct ad_error *ad_value_pointer(const struct ad_value *v, uint64_t *ret)
{
	struct ad_value p;
	struct ad_error *err = unwrap_to_pointer(v, &p);
	if (err)
		return err;
	return ad_read_u64(p.reader, p.address, ret);
}

struct ad_error *ad_value_deref(const struct ad_value *v, struct ad_value *ret)
{
	struct ad_value p;
	struct ad_error *err = unwrap_to_pointer(v, &p);
	if (err)
		return err;
	uint64_t address;
	const struct ad_type *target;
	if ((err = ad_read_u64(p.reader, p.address, &address)) ||
	    (err = ad_type_target(p.di, p.type, &target)))
		return err;
	if (!address)
		return ad_error_create(AD_ERROR_FAULT, "null pointer in %s", v->type->name);
	*ret = at(v, target, address);
	return NULL;
}

static bool is_transparent_wrapper(const struct ad_type *t)
{
	static const char *const wrappers[] = {
		"core::cell::UnsafeCell", "core::cell::Cell", "core::cell::RefCell",
		"core::mem::maybe_uninit::MaybeUninit", "core::mem::manually_drop::ManuallyDrop",
		"core::mem::maybe_dangling::MaybeDangling",
		"core::cell::SyncUnsafeCell",
	};
	for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (ad_type_is(t, wrappers[i]))
			return true;
	/* Libraries' own shims of the same (loom's UnsafeCell in a runtime,
	 * crossbeam's and runtimes' CachePadded): any crate's, by name. */
	char base[32];
	if (t->kind != AD_TYPE_STRUCT || !t->name)
		return false;
	const char *name = ad_type_base(t, base, sizeof(base));
	return strcmp(name, "UnsafeCell") == 0 || strcmp(name, "CachePadded") == 0;
}

struct ad_error *ad_value_strip_wrappers(const struct ad_value *v, struct ad_value *ret)
{
	struct ad_value cur = *v;
	for (int i = 0; i < 16 && is_transparent_wrapper(cur.type); i++) {
		static const char *const inner[] = { "value", "__0" };
		struct ad_error *err = NULL;
		bool found = false;
		for (size_t k = 0; k < 2 && !found; k++) {
			if (!ad_type_field(cur.type, inner[k]))
				continue;
			if ((err = ad_value_member(&cur, inner[k], &cur)))
				return err;
			found = true;
		}
		if (!found)
			return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "wrapper %s has no value field",
					       cur.type->name);
	}
	*ret = cur;
	return NULL;
}

struct ad_error *ad_value_unwrap_option(const struct ad_value *v, struct ad_value *ret)
{
	if (!ad_type_is(v->type, "core::option::Option")) {
		*ret = *v;
		return NULL;
	}
	struct ad_value var;
	struct ad_error *err = ad_value_member(v, "Some", &var);
	if (err)
		return err;
	return ad_value_member(&var, "__0", ret);
}
