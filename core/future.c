/* SPDX-License-Identifier: MIT */
/* The future tree: from a future's type and address to a frame and its
 * children, following rustc's and the libraries' own structures.
 *
 * Order of rules, first match wins: transparent wrappers (Pin, Box, &mut,
 * Option, GenFuture, Arc) are stepped through; trait objects are resolved
 * through their vtable's debuginfo; compiler-generated state machines
 * (async fn / block / closure) give name, state and suspension point and
 * continue with `__awaitee`; known leaves say what they wait on and known
 * combinators show every branch — recognised by the tables of the active
 * runtime adapters (runtime.h), then the libraries' (leaves.c,
 * combinators.c); any other future is walked field by field for the
 * futures inside it. No runtime is named here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fault.h"
#include "names.h"
#include "recognisers.h"
#include "runtime.h"

static struct ad_frame *error_frame(struct ad_decode *d, const struct ad_type *t, uint64_t address,
				    struct ad_error *why)
{
	const char *name = t ? t->name : NULL;
	struct ad_frame *f = ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, name, name, address);
	if (f) {
		struct ad_error *err = ad_frame_set_error(f, "%s", why->message);
		ad_error_destroy(err);
	}
	ad_error_destroy(why);
	return f;
}

/* A decode error below the task root becomes the frame's `error`, with
 * what was decoded before it: only lack of memory goes further up. */
static struct ad_error *degrade(struct ad_frame *f, struct ad_error *err)
{
	if (!err || ad_error_is_fatal(err))
		return err;
	struct ad_error *set = ad_frame_set_error(f, "%s", err->message);
	ad_error_destroy(err);
	return set;
}

/* "demo::foo::{async_fn_env#0}<T>" → "demo::foo";
 * "demo::main::{async_block_env#0}" → "demo::main::{async_block#0}";
 * "demo::main::{async_block#0}::{async_block_env#1}" (a block inside that
 * block: rustc names an env in its parent's namespace) →
 * "demo::main::{async_block#0}::{async_block#1}", its full path. */
static char *function_path_of_env(const char *type_name)
{
	const char *cut = NULL;
	int depth = 0;
	for (const char *p = type_name; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && !(p > type_name && p[-1] == '-'))
			depth--; /* "fn(u32) -> T" is no closing bracket */
		else if (depth == 0 && p[0] == ':' && p[1] == ':' && p[2] == '{')
			cut = p;
	}
	if (!cut)
		return strdup(type_name);
	char *path = strndup(type_name, (size_t)(cut - type_name)), *ret;
	static const struct { const char *env, *item; } items[] = {
		{ "::{async_block_env#", "{async_block#" },
		{ "::{async_closure_env#", "{async_closure#" },
	};
	for (size_t i = 0; path && i < 2; i++) {
		size_t n = strlen(items[i].env);
		if (strncmp(cut, items[i].env, n) != 0)
			continue;
		unsigned index = (unsigned)strtoul(cut + n, NULL, 10);
		if (asprintf(&ret, "%s::%s%u}", path, items[i].item, index) < 0)
			ret = NULL;
		free(path);
		return ret;
	}
	return path;
}

static enum ad_frame_state env_state(const struct ad_type *variant_type)
{
	char buf[64];
	const char *base = ad_type_base(variant_type, buf, sizeof(buf));
	if (strcmp(base, "Unresumed") == 0)
		return AD_FRAME_UNRESUMED;
	if (strcmp(base, "Returned") == 0)
		return AD_FRAME_COMPLETED;
	if (strcmp(base, "Panicked") == 0)
		return AD_FRAME_PANICKED;
	if (strncmp(base, "Suspend", 7) == 0)
		return AD_FRAME_SUSPENDED;
	return AD_FRAME_UNKNOWN;
}

static bool is_dependency_source(const char *file)
{
	return strstr(file, "/registry/") || strstr(file, "/.cargo/") || strncmp(file, "/rustc/", 7) == 0 ||
	       strstr(file, "/library/core/") || strstr(file, "/library/std/") ||
	       strstr(file, "/library/alloc/");
}

/* DWARF names the variant's file relative to the compilation directory;
 * the trace carries absolute paths. */
static struct ad_error *set_location(struct ad_decode *d, struct ad_frame *f, const char *file,
				     unsigned line, bool macro)
{
	const char *path = ad_debuginfo_source_path(d->di, file);
	if (!path)
		return &ad_error_nomem;
	return macro ? ad_frame_set_macro_location(f, path, line, 0)
		     : ad_frame_set_location(f, path, line, 0);
}

/* The resume function of an env: "a::f::{async_fn_env#0}" → "a::f::{async_fn#0}". */
static char *resume_function_of_env(const char *type_name)
{
	char *name = strdup(type_name);
	if (!name)
		return NULL;
	char *env = strstr(name, "_env#");
	while (env && strstr(env + 1, "_env#"))
		env = strstr(env + 1, "_env#");
	if (env)
		memmove(env, env + 4, strlen(env + 4) + 1);
	char *generic = env ? strchr(env, '<') : NULL;
	if (generic)
		*generic = '\0';
	return name;
}

/* The user's line of a suspension point that another crate's macro declares
 * (select!, join!): the variant points into the macro, while the
 * line table has the call site. Bounded by the neighbouring suspension
 * points that the user's own file declares. */
static bool macro_call_line(struct ad_decode *d, const struct ad_type *env,
			    const struct ad_variant *var, const char *user_file, unsigned *ret)
{
	unsigned after = 0, before = (unsigned)-1;
	for (size_t i = 0; i < env->nvariants; i++) {
		const struct ad_variant *o = &env->variants[i];
		if (o == var || !o->file || strcmp(o->file, user_file) != 0 || !o->line)
			continue;
		if (!o->has_discr || o->discr < 3) {
			/* Unresumed: the fn header; Returned/Panicked: the closing brace. */
			if (o->discr == 0 && o->line > after)
				after = o->line;
			else if (o->discr != 0 && o->line < before)
				before = o->line;
		} else if (o->discr < var->discr && o->line > after) {
			after = o->line;
		} else if (o->discr > var->discr && o->line < before) {
			before = o->line;
		}
	}
	if (before <= after + 1) {
		/* A block that a macro made (#[tracing::instrument]'s body) has
		 * its header and its end on the attribute's line: only the
		 * resume function's own lines bound it. */
		before = after + 65536;
	}
	char *fn = resume_function_of_env(env->name);
	if (!fn)
		return false;
	struct ad_error *err = ad_debuginfo_dominant_line(d->di, var->type_die, fn, user_file, after,
							  before, ret);
	free(fn);
	ad_error_destroy(err);
	return !err;
}

static struct ad_error *env_location(struct ad_decode *d, struct ad_frame *f,
				     const struct ad_type *env, const struct ad_variant *var)
{
	if (!var->file)
		return NULL;
	/* The fn header's variant (Unresumed) names the user's file. */
	const char *user_file = env->nvariants ? env->variants[0].file : NULL;
	if (!is_dependency_source(var->file) || !user_file || is_dependency_source(user_file))
		return set_location(d, f, var->file, var->line, false);
	struct ad_error *err = set_location(d, f, var->file, var->line, true);
	unsigned line;
	if (!err && macro_call_line(d, env, var, user_file, &line))
		err = set_location(d, f, user_file, line, false);
	return err;
}

/* What a state machine in a variant is: its state, where it is suspended
 * and the field it awaits. The same for every instance, so worked out once
 * per variant a sample (d->env_locations) and kept with the trace's shared
 * locations. */
struct env_where {
	struct ad_location *location, *macro_location;
	enum ad_frame_state state;
	const struct ad_field *awaitee; /* "__awaitee", or NULL */
};

/* Sets f's state and location from its variant (of type variant_type); the
 * field it awaits in *awaitee. */
static struct ad_error *env_variant(struct ad_decode *d, struct ad_frame *f,
				    const struct ad_type *env, const struct ad_variant *var,
				    const struct ad_type *variant_type,
				    const struct ad_field **awaitee)
{
	struct env_where *where =
		f->names ? ad_u64map_get(&d->env_locations, (uintptr_t)var) : NULL;
	if (where) {
		f->state = where->state;
		f->location = where->location;
		f->macro_location = where->macro_location;
		*awaitee = where->awaitee;
		return NULL;
	}
	f->state = env_state(variant_type);
	*awaitee = ad_type_field(variant_type, "__awaitee");
	struct ad_error *err = env_location(d, f, env, var);
	if (err || !f->names)
		return err;
	where = ad_strpool_alloc(&f->names->pool, sizeof(*where));
	if (!where || !ad_u64map_put(&d->env_locations, (uintptr_t)var, where))
		return &ad_error_nomem;
	*where = (struct env_where){ f->location, f->macro_location, f->state, *awaitee };
	return NULL;
}

/* A future nobody polled yet: an async fn/block still Unresumed, or a
 * combinator (join(bar, baz)) all of whose futures are. */
static bool never_polled(const struct ad_frame *f)
{
	if (f->kind != AD_FRAME_FUTURE)
		return f->state == AD_FRAME_UNRESUMED;
	if (!f->nchildren || f->blocked_on)
		return false;
	for (size_t i = 0; i < f->nchildren; i++)
		if (!never_polled(f->children[i]))
			return false;
	return true;
}

static struct ad_error *add_locals(struct ad_decode *d, struct ad_frame *f,
				   const struct ad_value *variant, unsigned depth)
{
	for (size_t i = 0; i < variant->type->nfields; i++) {
		const struct ad_field *field = &variant->type->fields[i];
		const struct ad_type *ft;
		struct ad_error *err;
		if (strcmp(field->name, "__awaitee") == 0)
			continue;
		if ((err = ad_field_type(d->di, field, &ft)))
			return err;
		if (!ad_is_future_like(d, ft))
			continue;
		struct ad_frame *local;
		if ((err = ad_decode_future(d, ft, variant->address + field->offset, depth + 1, &local)))
			return err;
		if (!never_polled(local)) {
			/* Moved from, borrowed by what is awaited, or done: a
			 * field of the state, not a future waiting its turn. */
			ad_frame_destroy(local);
			continue;
		}
		local->not_polled = true;
		if ((err = ad_frame_add_local(f, local)))
			return err;
	}
	return NULL;
}

/* After the awaitee of the async fn `fn` was decoded: the refiners of the
 * active adapters whose prefix fn has complete its leaf from the fn's
 * state (a runtime's lock, channel or socket methods). */
static void refine_leaf(struct ad_decode *d, const struct ad_value *env, const char *fn,
			struct ad_frame *child)
{
	for (size_t i = 0; i < d->nadapters; i++) {
		const struct ad_leaf_refiner *r = d->adapters[i].ops->refiners;
		for (; r && r->fn_prefix; r++)
			if (strncmp(fn, r->fn_prefix, strlen(r->fn_prefix)) == 0)
				r->refine(d, env, fn, child);
	}
}

/* The function path of a state machine's type, worked out once per type a
 * sample (d->env_paths) and kept in the trace. */
static const char *env_path(struct ad_decode *d, const struct ad_type *t)
{
	const char *path = ad_u64map_get(&d->env_paths, (uintptr_t)t);
	if (path)
		return path;
	char *made = function_path_of_env(t->name);
	struct ad_names *names = made ? ad_trace_names(d->trace) : NULL;
	path = names ? ad_names_intern(names, made) : NULL;
	free(made);
	if (!path || !ad_u64map_put(&d->env_paths, (uintptr_t)t, (void *)(uintptr_t)path))
		return NULL;
	return path;
}

static struct ad_error *decode_env(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				   struct ad_frame **ret)
{
	static const enum ad_frame_kind kinds[] = {
		[AD_ENV_FN] = AD_FRAME_ASYNC_FN, [AD_ENV_BLOCK] = AD_FRAME_ASYNC_BLOCK,
		[AD_ENV_CLOSURE] = AD_FRAME_ASYNC_CLOSURE, [AD_ENV_COROUTINE] = AD_FRAME_ASYNC_BLOCK,
	};
	const char *name = env_path(d, v->type);
	enum ad_frame_kind kind = kinds[ad_type_env_kind(v->type)];
	struct ad_frame *f =
		name ? ad_trace_frame_create(d->trace, kind, name, v->type->name, v->address) : NULL;
	if (!f)
		return &ad_error_nomem;
	struct ad_value variant, awaitee;
	const struct ad_variant *var;
	const struct ad_field *awaitee_field;
	struct ad_error *err = AD_FAULT("env", v->type->name);
	if (err || (err = ad_value_variant(v, &var, &variant)) ||
	    (err = env_variant(d, f, v->type, var, variant.type, &awaitee_field)))
		goto undecodable;
	if (f->state == AD_FRAME_SUSPENDED && awaitee_field) {
		struct ad_frame *child;
		if ((err = ad_value_field(&variant, awaitee_field, &awaitee)))
			goto undecodable;
		if ((err = ad_decode_future(d, awaitee.type, awaitee.address, depth + 1, &child)))
			goto fail;
		refine_leaf(d, &variant, name, child);
		if ((err = ad_frame_add_child(f, child)))
			goto fail;
	}
	if (d->locals && (err = add_locals(d, f, &variant, depth)))
		goto undecodable;
	goto out;
undecodable:
	/* The frame stands with what was read before the failure. */
	if ((err = degrade(f, err)))
		goto fail;
out:
	*ret = f;
	return NULL;
fail:
	ad_frame_destroy(f);
	return err;
}

/* ---- the generic walk: futures inside a hand-written future */

/* A future at an address: the same bytes seen as another type (a Map and
 * the future it starts with) are another future. Never 0. */
static uint64_t visit_key(const struct ad_value *v)
{
	uint64_t h = 14695981039346656037ull ^ v->address;
	for (const char *p = v->type->name; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h ? h : 1;
}

static bool visited(const struct ad_decode *d, const struct ad_value *v)
{
	return ad_u64map_get(&d->visited, visit_key(v)) != NULL;
}

static struct ad_error *mark_visited(struct ad_decode *d, const struct ad_value *v)
{
	return ad_u64map_put(&d->visited, visit_key(v), (void *)1) ? NULL : &ad_error_nomem;
}

static struct ad_error *collect_child_futures(struct ad_decode *d, struct ad_frame *f,
					      const struct ad_value *v, unsigned depth, int level);

/* `&mut F` to a future or stream the future drives (Next<'_, St>,
 * Read<'_, R>): the pointee, when it is future-like; else *v unchanged. */
static struct ad_value follow_borrowed_future(struct ad_decode *d, const struct ad_value *v)
{
	struct ad_value pointee;
	if (v->type->kind != AD_TYPE_POINTER || !v->type->target_die || !ad_is_future_like(d, v->type))
		return *v;
	struct ad_error *err = ad_value_deref(v, &pointee);
	if (!err)
		return pointee;
	ad_error_destroy(err);
	return *v;
}

/* Box<[F]> / Pin<Box<[F]>> ({data_ptr, length}) and Vec<F> ({buf, len}). */
static bool sequence_of(struct ad_decode *d, const struct ad_value *field, uint64_t *base,
			uint64_t *count, const struct ad_type **elem)
{
	struct ad_value v = *field, ptr, len;
	struct ad_error *err = NULL;
	if (ad_type_is(v.type, "core::pin::Pin") && ad_type_field(v.type, "__pointer"))
		err = ad_value_member(&v, "__pointer", &v);
	else if (ad_type_is(v.type, "core::pin::Pin") && ad_type_field(v.type, "pointer") &&
		 !ad_type_field(v.type, "vtable"))
		err = ad_value_member(&v, "pointer", &v);
	if (!err && ad_type_field(v.type, "data_ptr") && ad_type_field(v.type, "length")) {
		if (!(err = ad_value_member(&v, "data_ptr", &ptr)) &&
		    !(err = ad_value_member(&v, "length", &len)) && !(err = ad_value_pointer(&ptr, base)) &&
		    !(err = ad_value_uint(&len, count)))
			err = ad_type_target(d->di, ptr.type, elem);
	} else if (!err && ad_type_is(v.type, "alloc::vec::Vec") && v.type->ntemplate_params) {
		uint64_t off;
		const struct ad_type *pt;
		if (!(err = ad_value_member(&v, "len", &len)) && !(err = ad_value_uint(&len, count)) &&
		    !(err = ad_type_template_param(d->di, v.type, "T", elem)) &&
		    !(err = ad_find_member(d->di, v.type, "pointer", 6, &off, &pt)))
			err = ad_read_u64(d->reader, v.address + off, base);
	} else {
		ad_error_destroy(err);
		return false;
	}
	ad_error_destroy(err);
	return !err;
}

/* A field holding many futures (Box<[F]>, Vec<F>: join_all, SelectAll):
 * each one a child of f. *handled false when the field is no such sequence. */
static struct ad_error *collect_sequence(struct ad_decode *d, struct ad_frame *f,
					 const struct ad_value *field, unsigned depth, bool *handled)
{
	uint64_t base, count;
	const struct ad_type *elem;
	*handled = false;
	if (!sequence_of(d, field, &base, &count, &elem) || !ad_is_future_like(d, elem) ||
	    !elem->size)
		return NULL;
	*handled = true;
	for (uint64_t i = 0; i < count && f->nchildren < AD_MAX_CHILDREN; i++) {
		struct ad_frame *child;
		struct ad_error *err = ad_decode_future(d, elem, base + i * elem->size, depth + 1, &child);
		if (!err)
			err = ad_frame_add_child(f, child);
		if (err)
			return err;
	}
	return NULL;
}

static struct ad_error *collect_field(struct ad_decode *d, struct ad_frame *f,
				      const struct ad_value *in, unsigned depth, int level)
{
	struct ad_value followed = follow_borrowed_future(d, in);
	const struct ad_value *field = &followed;
	if (ad_is_future_like(d, field->type) && ad_type_is(field->type, "core::option::Option")) {
		/* An optional future that is None (hyper's unused accept
		 * timeout) is nothing being awaited. */
		struct ad_value some;
		struct ad_error *none = ad_value_unwrap_option(field, &some);
		bool absent = none && none->code == AD_ERROR_NOT_FOUND;
		ad_error_destroy(none);
		if (absent)
			return NULL;
	}
	if (ad_is_future_like(d, field->type)) {
		/* Already in this task's tree (shared, or a way back up): shown
		 * once, and the walk cannot go round. */
		if (visited(d, field))
			return NULL;
		struct ad_frame *child;
		struct ad_error *err = ad_decode_future(d, field->type, field->address, depth + 1, &child);
		return err ? err : ad_frame_add_child(f, child);
	}
	bool handled;
	struct ad_error *err = collect_sequence(d, f, field, depth, &handled);
	if (err || handled)
		return err;
	if (level + 1 >= AD_MAX_FIELD_DEPTH)
		return NULL;
	return collect_child_futures(d, f, field, depth, level + 1);
}

static struct ad_error *collect_child_futures(struct ad_decode *d, struct ad_frame *f,
					      const struct ad_value *v, unsigned depth, int level)
{
	const struct ad_type *t = v->type;
	struct ad_error *err;
	if (t->kind == AD_TYPE_ENUM) {
		struct ad_value variant;
		if ((err = ad_value_variant(v, NULL, &variant))) {
			if (ad_error_is_fatal(err))
				return err;
			ad_error_destroy(err);
			return NULL;
		}
		return collect_child_futures(d, f, &variant, depth, level);
	}
	if (t->kind != AD_TYPE_STRUCT)
		return NULL;
	for (size_t i = 0; i < t->nfields && f->nchildren < AD_MAX_CHILDREN; i++) {
		struct ad_value field;
		if ((err = ad_value_member(v, t->fields[i].name, &field)))
			return err;
		if ((err = collect_field(d, f, &field, depth, level)))
			return err;
	}
	return NULL;
}

/* ---- the recognisers: the active adapters' tables, then the libraries' */

struct ad_adapter *ad_decode_adapter(struct ad_decode *d, const struct ad_runtime_ops *ops)
{
	for (size_t i = 0; i < d->nadapters; i++)
		if (d->adapters[i].ops == ops)
			return &d->adapters[i];
	return NULL;
}

struct ad_adapter *ad_decode_adapter_kind(struct ad_decode *d, const char *kind)
{
	for (size_t i = 0; i < d->nadapters; i++)
		if (strcmp(d->adapters[i].ops->kind, kind) == 0)
			return &d->adapters[i];
	return NULL;
}

bool ad_recogniser_matches(const struct ad_type *t, const char *name, enum ad_match match)
{
	return match == AD_MATCH_PREFIX ? strncmp(t->name, name, strlen(name)) == 0
					: ad_type_is(t, name);
}

static bool leaf_in(struct ad_decode *d, const struct ad_leaf_recogniser *r,
		    const struct ad_value *v, struct ad_frame *f)
{
	for (; r && r->name; r++)
		if (ad_recogniser_matches(v->type, r->name, r->match) && r->decode(d, v, f))
			return true;
	return false;
}

bool ad_decode_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	for (size_t i = 0; i < d->nadapters; i++)
		if (leaf_in(d, d->adapters[i].ops->leaves, v, f))
			return true;
	return leaf_in(d, ad_library_leaves, v, f);
}

static struct ad_error *combinator_in(struct ad_decode *d, const struct ad_combinator_recogniser *r,
				      const struct ad_value *v, unsigned depth, struct ad_frame **ret)
{
	for (; r && r->name; r++) {
		if (!ad_recogniser_matches(v->type, r->name, r->match))
			continue;
		struct ad_error *err = r->decode(d, v, depth, ret);
		if (err || *ret)
			return err;
	}
	return NULL;
}

/* A known combinator's frame, each branch a child; *ret NULL when v is
 * none (or one that is walked as any future after noting it). */
static struct ad_error *decode_combinator(struct ad_decode *d, const struct ad_value *v,
					  unsigned depth, struct ad_frame **ret)
{
	struct ad_error *err = NULL;
	*ret = NULL;
	for (size_t i = 0; i < d->nadapters && !err && !*ret; i++)
		err = combinator_in(d, d->adapters[i].ops->combinators, v, depth, ret);
	if (!err && !*ret)
		err = combinator_in(d, ad_library_combinators, v, depth, ret);
	return err;
}

static struct ad_error *decode_generic(struct ad_decode *d, const struct ad_value *v,
				       unsigned depth, struct ad_frame **ret)
{
	struct ad_error *err;
	*ret = NULL;
	struct ad_frame *f = ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, v->type->name,
						   v->type->name, v->address);
	if (!f)
		return &ad_error_nomem;
	f->state = AD_FRAME_PENDING;
	/* Known leaves first: some are PollFns (a runtime's copy or interval
	 * tick) whose captures the combinator walk would enter. */
	if (ad_decode_leaf(d, v, f)) {
		if ((err = AD_FAULT("leaf", v->type->name))) {
			ad_frame_destroy(f);
			f = error_frame(d, v->type, v->address, err);
		}
		*ret = f;
		return f ? NULL : &ad_error_nomem;
	}
	if ((err = decode_combinator(d, v, depth, ret)) || *ret) {
		ad_frame_destroy(f);
		if (!err || ad_error_is_fatal(err))
			return err;
		*ret = error_frame(d, v->type, v->address, err);
		return *ret ? NULL : &ad_error_nomem;
	}
	if ((err = degrade(f, collect_child_futures(d, f, v, depth, 0)))) {
		ad_frame_destroy(f);
		return err;
	}
	if (f->error) {
		*ret = f;
		return NULL;
	}
	if (!f->nchildren && ad_decode_io_fallback(d, v, f)) {
		*ret = f;
		return NULL;
	}
	if (!f->nchildren) {
		/* A future we know nothing of and that holds no other future: a
		 * leaf of its own kind. Say so rather than end silently. */
		struct ad_blocked_on *b;
		if ((err = ad_frame_block_on(f, AD_RESOURCE_OTHER, v->address, &b)) ||
		    (err = ad_blocked_on_set_description(b, "%s", v->type->name))) {
			ad_frame_destroy(f);
			return err;
		}
	}
	*ret = f;
	return NULL;
}

/* ---- transparent wrappers and trait objects */

static struct ad_error *resolve_dyn(struct ad_decode *d, const struct ad_value *fat,
				    struct ad_value *ret)
{
	struct ad_value data, vtable;
	uint64_t data_ptr, vtable_ptr;
	struct ad_error *err;
	if ((err = ad_value_member(fat, "pointer", &data)) ||
	    (err = ad_value_member(fat, "vtable", &vtable)) ||
	    (err = ad_read_u64(d->reader, data.address, &data_ptr)) ||
	    (err = ad_read_u64(d->reader, vtable.address, &vtable_ptr)))
		return err;
	const struct ad_type *concrete;
	if ((err = ad_debuginfo_vtable_type(d->di, vtable_ptr - d->bias, &concrete)))
		return ad_error_wrap(err, "resolving the trait object %s", fat->type->name);
	*ret = ad_decode_value(d, concrete, data_ptr);
	return NULL;
}

/* How a future of a type is unwrapped towards the future it holds: the
 * type's name and fields say, so it is worked out once a type per sample
 * (d->unwrap_steps) instead of once a future. */
enum unwrap_step {
	STEP_NONE = 1, /* not a wrapper (0 is the map's "absent") */
	STEP_DEREF,
	STEP_DYN,
	STEP_PIN_POINTER,   /* Pin's field, "pointer" (Rust < 1.67: "__pointer") */
	STEP_PIN_POINTER_OLD,
	STEP_ARC_DATA,
	STEP_GEN_FUTURE,
	STEP_OPTION,        /* when its payload is future-like */
};

static enum unwrap_step unwrap_step_of(const struct ad_type *t)
{
	if (t->kind == AD_TYPE_POINTER)
		return STEP_DEREF;
	if (t->kind == AD_TYPE_STRUCT && ad_type_field(t, "pointer") && ad_type_field(t, "vtable"))
		return STEP_DYN;
	if (ad_type_is(t, "core::pin::Pin"))
		return ad_type_field(t, "__pointer") ? STEP_PIN_POINTER_OLD : STEP_PIN_POINTER;
	if (ad_type_is(t, "alloc::boxed::Box") || ad_type_is(t, "alloc::sync::Arc") ||
	    ad_type_is(t, "core::ptr::non_null::NonNull") || ad_type_is(t, "core::ptr::unique::Unique"))
		return STEP_DEREF;
	if (ad_type_is(t, "alloc::sync::ArcInner"))
		return STEP_ARC_DATA;
	if (ad_type_is(t, "core::future::from_generator::GenFuture"))
		return STEP_GEN_FUTURE;
	if (ad_type_is(t, "core::option::Option"))
		return STEP_OPTION;
	return STEP_NONE;
}

static enum unwrap_step cached_unwrap_step(struct ad_decode *d, const struct ad_type *t)
{
	uintptr_t step = (uintptr_t)ad_u64map_get(&d->unwrap_steps, (uintptr_t)t);
	if (step)
		return (enum unwrap_step)step;
	step = unwrap_step_of(t);
	/* Without memory for the note, it is worked out again next time. */
	ad_u64map_put(&d->unwrap_steps, (uintptr_t)t, (void *)step);
	return (enum unwrap_step)step;
}

/* One step through a wrapper; *stepped false when v is not a wrapper. */
static struct ad_error *unwrap_once(struct ad_decode *d, const struct ad_value *v,
				    struct ad_value *ret, bool *stepped)
{
	*stepped = true;
	switch (cached_unwrap_step(d, v->type)) {
	case STEP_DEREF:
		return ad_value_deref(v, ret);
	case STEP_DYN:
		return resolve_dyn(d, v, ret);
	case STEP_PIN_POINTER:
		return ad_value_member(v, "pointer", ret);
	case STEP_PIN_POINTER_OLD:
		return ad_value_member(v, "__pointer", ret);
	case STEP_ARC_DATA:
		return ad_value_member(v, "data", ret);
	case STEP_GEN_FUTURE:
		return ad_value_member(v, "__0", ret);
	case STEP_OPTION:
		if (ad_is_future_like(d, v->type))
			return ad_value_unwrap_option(v, ret);
		break;
	case STEP_NONE:
		break;
	}
	*stepped = false;
	return NULL;
}

static struct ad_error *decode_future(struct ad_decode *d, const struct ad_type *type,
				      uint64_t address, unsigned depth, struct ad_frame **ret)
{
	struct ad_value v = ad_decode_value(d, type, address);
	struct ad_error *err;
	if (depth > AD_MAX_FUTURE_DEPTH || d->nodes >= AD_MAX_NODES ||
	    d->task_nodes >= AD_MAX_TASK_NODES) {
		err = ad_error_create(AD_ERROR_TOO_LARGE,
				      "not decoded further: deeper than %d futures, or more than %d "
				      "frames in the task or %d in the trace",
				      AD_MAX_FUTURE_DEPTH, AD_MAX_TASK_NODES, AD_MAX_NODES);
		*ret = error_frame(d, type, address, err);
		return *ret ? NULL : &ad_error_nomem;
	}
	d->nodes++;
	d->task_nodes++;
	for (int i = 0; i < 16; i++) {
		bool stepped;
		struct ad_value next;
		if ((err = mark_visited(d, &v)))
			return err;
		if ((err = unwrap_once(d, &v, &next, &stepped))) {
			if (ad_error_is_fatal(err))
				return err;
			if (err->code == AD_ERROR_NOT_FOUND && ad_type_is(v.type, "core::option::Option")) {
				/* None: a future already taken or never set. */
				ad_error_destroy(err);
				*ret = ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, v.type->name,
							     v.type->name, v.address);
				if (*ret)
					(*ret)->state = AD_FRAME_COMPLETED;
				return *ret ? NULL : &ad_error_nomem;
			}
			*ret = error_frame(d, v.type, v.address, err);
			return *ret ? NULL : &ad_error_nomem;
		}
		if (!stepped)
			break;
		v = next;
	}
	if (ad_is_coroutine_env(v.type))
		return decode_env(d, &v, depth, ret);
	return decode_generic(d, &v, depth, ret);
}

struct ad_error *ad_decode_future(struct ad_decode *d, const struct ad_type *type,
				  uint64_t address, unsigned depth, struct ad_frame **ret)
{
	if (depth == 0) {
		/* A task's root: a new tree. */
		ad_u64map_clear(&d->visited);
		d->task_nodes = 0;
	}
	AD_FAULT_WALK(+1);
	struct ad_error *err = decode_future(d, type, address, depth, ret);
	AD_FAULT_WALK(-1);
	if (err && !ad_error_is_fatal(err)) {
		/* The decoders above give their frame the error where they
		 * can; this keeps any they did not from leaving the frame. */
		*ret = error_frame(d, type, address, err);
		return *ret ? NULL : &ad_error_nomem;
	}
	return err;
}
