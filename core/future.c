/* SPDX-License-Identifier: MIT */
/* The future tree: from a future's type and address to a frame and its
 * children, following rustc's and the libraries' own structures.
 *
 * Order of rules, first match wins: transparent wrappers (Pin, Box, &mut,
 * Option, GenFuture, Arc) are stepped through; trait objects are resolved
 * through their vtable's debuginfo; compiler-generated state machines
 * (async fn / block / closure) give name, state and suspension point and
 * continue with `__awaitee`; known combinators (combinators.c) show every
 * branch; known leaves (leaves.c) say what they wait on; any other future
 * is walked field by field for the futures inside it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fault.h"

static struct ad_frame *error_frame(const struct ad_type *t, uint64_t address, struct ad_error *why)
{
	struct ad_frame *f = ad_frame_create(AD_FRAME_FUTURE, t ? t->name : NULL,
					     t ? t->name : NULL, address);
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
	if (!err || err->code == AD_ERROR_NOMEM)
		return err;
	struct ad_error *set = ad_frame_set_error(f, "%s", err->message);
	ad_error_destroy(err);
	return set;
}

/* ---- coroutine envs */

enum env_kind { ENV_NONE, ENV_FN, ENV_BLOCK, ENV_CLOSURE, ENV_COROUTINE };

static enum env_kind env_kind_of(const char *name)
{
	/* The last path component, generic arguments aside. */
	char buf[128];
	const char *base = ad_type_base_name(name, buf, sizeof(buf));
	if (strncmp(base, "{async_fn_env#", 14) == 0)
		return ENV_FN;
	if (strncmp(base, "{async_block_env#", 17) == 0)
		return ENV_BLOCK;
	if (strncmp(base, "{async_closure_env#", 19) == 0)
		return ENV_CLOSURE;
	if (strncmp(base, "{coroutine_env#", 15) == 0 || strncmp(base, "{generator_env#", 15) == 0 ||
	    strncmp(base, "{generator#", 11) == 0)
		return ENV_COROUTINE;
	return ENV_NONE;
}

bool ad_is_coroutine_env(const struct ad_type *t)
{
	return t->kind == AD_TYPE_ENUM && env_kind_of(t->name) != ENV_NONE;
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
	const char *base = ad_type_base_name(variant_type->name, buf, sizeof(buf));
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
	const char *root = ad_debuginfo_source_root(d->di);
	char *abs = NULL;
	if (file[0] != '/' && root && asprintf(&abs, "%s/%s", root, file) < 0)
		return &ad_error_nomem;
	struct ad_error *err = macro ? ad_frame_set_macro_location(f, abs ? abs : file, line, 0)
				     : ad_frame_set_location(f, abs ? abs : file, line, 0);
	free(abs);
	return err;
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
 * (tokio::select!, join!): the variant points into the macro, while the
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

static bool is_future_like(struct ad_debuginfo *di, const struct ad_type *t);

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
		if (!is_future_like(d->di, ft))
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

/* A future awaited inside tokio's lock/channel/io methods gets its resource
 * kind from the method it is awaited in. */
static void refine_leaf_kind(const char *fn, struct ad_frame *child)
{
	struct ad_blocked_on *b = child->blocked_on;
	if (!b)
		return;
	if (b->kind == AD_RESOURCE_SEMAPHORE && strncmp(fn, "tokio::sync::mutex::", 20) == 0)
		b->kind = AD_RESOURCE_MUTEX;
	else if (b->kind == AD_RESOURCE_SEMAPHORE && strncmp(fn, "tokio::sync::rwlock::", 21) == 0)
		b->kind = AD_RESOURCE_RWLOCK;
	else if ((b->kind == AD_RESOURCE_OTHER) && strstr(fn, "tokio::sync::mpsc::") && strstr(fn, "recv"))
		b->kind = AD_RESOURCE_MPSC;
}

static struct ad_error *decode_env(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				   struct ad_frame **ret)
{
	static const enum ad_frame_kind kinds[] = {
		[ENV_FN] = AD_FRAME_ASYNC_FN, [ENV_BLOCK] = AD_FRAME_ASYNC_BLOCK,
		[ENV_CLOSURE] = AD_FRAME_ASYNC_CLOSURE, [ENV_COROUTINE] = AD_FRAME_ASYNC_BLOCK,
	};
	char *name = function_path_of_env(v->type->name);
	if (!name)
		return &ad_error_nomem;
	struct ad_frame *f = ad_frame_create(kinds[env_kind_of(v->type->name)], name, v->type->name,
					     v->address);
	if (!f) {
		free(name);
		return &ad_error_nomem;
	}
	struct ad_value variant, awaitee;
	const struct ad_variant *var;
	struct ad_error *err = AD_FAULT("env", v->type->name);
	if (err || (err = ad_value_variant(v, &var, &variant)))
		goto undecodable;
	f->state = env_state(variant.type);
	if ((err = env_location(d, f, v->type, var)))
		goto undecodable;
	if (f->state == AD_FRAME_SUSPENDED && ad_type_field(variant.type, "__awaitee")) {
		struct ad_frame *child;
		if ((err = ad_value_member(&variant, "__awaitee", &awaitee)))
			goto undecodable;
		if ((err = ad_decode_future(d, awaitee.type, awaitee.address, depth + 1, &child)))
			goto fail;
		refine_leaf_kind(name, child);
		ad_refine_leaf(d, &variant, name, child);
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
	free(name);
	*ret = f;
	return NULL;
fail:
	free(name);
	ad_frame_destroy(f);
	return err;
}

/* ---- what counts as a future, for walks over hand-written futures
 *
 * The program says: a type is a future when the program has a
 * `<T as Future>::poll` for it (debuginfo.c indexes them per binary).
 * The name prefixes below are only for a binary where none could be read
 * (symbols not in rustc's default legacy mangling). */

static bool name_has_prefix(const char *name, const char *const *prefixes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static const char *const future_prefixes[] = {
	"tokio::time::sleep::Sleep", "tokio::time::timeout::Timeout",
	"tokio::runtime::task::join::JoinHandle", "tokio::task::join_set::JoinSet",
	"tokio::sync::", "tokio::future::", "tokio::io::util::", "tokio::runtime::io::scheduled_io::Readiness",
	"tokio::task::local::RunUntil", "tokio::task::yield_now::",
	"futures_util::future::", "futures_util::stream::futures_unordered::FuturesUnordered",
	"futures_util::stream::futures_ordered::FuturesOrdered", "futures_util::stream::stream::next::Next",
	"futures_util::stream::select_all::SelectAll", "core::future::", "tracing::instrument::Instrumented",
	"tracing_futures::Instrumented", "std::future::",
	"hyper::proto::h1::dispatch::Dispatcher", /* a connection: a leaf when idle (leaves.c) */
};

static bool is_boxed_dyn_future(const struct ad_type *t)
{
	return strstr(t->name, "dyn core::future::future::Future") != NULL;
}

/* Option<T>'s T: rustc puts an enum's generic parameters on its variant
 * structs, not on the enum, so read Some's payload. */
static struct ad_error *option_payload_type(struct ad_debuginfo *di, const struct ad_type *t,
					    const struct ad_type **ret)
{
	const struct ad_variant *some = ad_type_variant_named(di, t, "Some");
	const struct ad_type *st;
	struct ad_error *err;
	if (!some)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "%s has no Some variant", t->name);
	if ((err = ad_variant_type(di, some, &st)))
		return err;
	const struct ad_field *f = ad_type_field(st, "__0");
	if (!f)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "%s::Some has no payload", t->name);
	return ad_field_type(di, f, ret);
}

static bool implements_future(struct ad_debuginfo *di, const struct ad_type *t)
{
	if (ad_debuginfo_future_impl_count(di))
		return ad_debuginfo_implements_future(di, t->name);
	if (name_has_prefix(t->name, future_prefixes,
			    sizeof(future_prefixes) / sizeof(future_prefixes[0])))
		return !ad_type_is(t, "tokio::sync::mpsc::bounded::Sender") &&
		       !strstr(t->name, "Semaphore<") && !ad_type_is(t, "tokio::sync::notify::Notify");
	return false;
}

static bool is_wrapper(const struct ad_type *t)
{
	return t->kind == AD_TYPE_POINTER || ad_type_is(t, "core::pin::Pin") ||
	       ad_type_is(t, "alloc::boxed::Box") || ad_type_is(t, "core::option::Option");
}

static bool is_future_like(struct ad_debuginfo *di, const struct ad_type *t)
{
	for (int i = 0; i < 6; i++) {
		if (ad_is_coroutine_env(t) || is_boxed_dyn_future(t))
			return true;
		if (!is_wrapper(t))
			return implements_future(di, t);
		/* Nothing polls a future through a shared reference (there is
		 * no Future for &F): RunUntil's &LocalSet is the executor. */
		if (t->kind == AD_TYPE_POINTER && t->name && t->name[0] == '&' &&
		    strncmp(t->name, "&mut ", 5) != 0)
			return false;
		/* Pin<Box<F>>, Box<F> (a pointer in DWARF), &mut F, Option<F>:
		 * look at what they hold. */
		const struct ad_type *inner = NULL;
		struct ad_error *err = NULL;
		if (t->kind == AD_TYPE_POINTER && t->target_die)
			err = ad_type_target(di, t, &inner);
		else if ((ad_type_is(t, "core::pin::Pin") || ad_type_is(t, "alloc::boxed::Box")) &&
			 t->ntemplate_params)
			err = ad_type_template_param(di, t, t->template_params[0].name, &inner);
		else if (ad_type_is(t, "core::option::Option"))
			err = option_payload_type(di, t, &inner);
		if (err || !inner) {
			ad_error_destroy(err);
			return false;
		}
		t = inner;
	}
	return false;
}

bool ad_is_future_like(struct ad_debuginfo *di, const struct ad_type *t)
{
	return is_future_like(di, t);
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
	if (v->type->kind != AD_TYPE_POINTER || !v->type->target_die || !is_future_like(d->di, v->type))
		return *v;
	struct ad_error *err = ad_value_deref(v, &pointee);
	if (!err)
		return pointee;
	ad_error_destroy(err);
	return *v;
}

static struct ad_error *collect_field(struct ad_decode *d, struct ad_frame *f,
				      const struct ad_value *in, unsigned depth, int level)
{
	struct ad_value followed = follow_borrowed_future(d, in);
	const struct ad_value *field = &followed;
	if (is_future_like(d->di, field->type) && ad_type_is(field->type, "core::option::Option")) {
		/* An optional future that is None (hyper's unused accept
		 * timeout) is nothing being awaited. */
		struct ad_value some;
		struct ad_error *none = ad_value_unwrap_option(field, &some);
		bool absent = none && none->code == AD_ERROR_NOT_FOUND;
		ad_error_destroy(none);
		if (absent)
			return NULL;
	}
	if (is_future_like(d->di, field->type)) {
		/* Already in this task's tree (shared, or a way back up): shown
		 * once, and the walk cannot go round. */
		if (visited(d, field))
			return NULL;
		struct ad_frame *child;
		struct ad_error *err = ad_decode_future(d, field->type, field->address, depth + 1, &child);
		return err ? err : ad_frame_add_child(f, child);
	}
	bool handled;
	struct ad_error *err = ad_collect_sequence(d, f, field, depth, &handled);
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
			if (err->code == AD_ERROR_NOMEM)
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

static struct ad_error *decode_generic(struct ad_decode *d, const struct ad_value *v,
				       unsigned depth, struct ad_frame **ret)
{
	struct ad_error *err;
	*ret = NULL;
	struct ad_frame *f = ad_frame_create(AD_FRAME_FUTURE, v->type->name, v->type->name, v->address);
	if (!f)
		return &ad_error_nomem;
	f->state = AD_FRAME_PENDING;
	/* Known leaves first: some are PollFns (copy_bidirectional, Interval::tick
	 * since tokio 1.4x) whose captures the combinator walk would enter. */
	if (ad_decode_leaf(d, v, f)) {
		if ((err = AD_FAULT("leaf", v->type->name))) {
			ad_frame_destroy(f);
			f = error_frame(v->type, v->address, err);
		}
		*ret = f;
		return f ? NULL : &ad_error_nomem;
	}
	if ((err = ad_decode_combinator(d, v, depth, ret)) || *ret) {
		ad_frame_destroy(f);
		if (!err || err->code == AD_ERROR_NOMEM)
			return err;
		*ret = error_frame(v->type, v->address, err);
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

/* One step through a wrapper; *stepped false when v is not a wrapper. */
static struct ad_error *unwrap_once(struct ad_decode *d, const struct ad_value *v,
				    struct ad_value *ret, bool *stepped)
{
	const struct ad_type *t = v->type;
	*stepped = true;
	if (t->kind == AD_TYPE_POINTER)
		return ad_value_deref(v, ret);
	if (t->kind == AD_TYPE_STRUCT && ad_type_field(t, "pointer") && ad_type_field(t, "vtable"))
		return resolve_dyn(d, v, ret);
	if (ad_type_is(t, "core::pin::Pin")) {
		const char *inner = ad_type_field(t, "__pointer") ? "__pointer" : "pointer";
		return ad_value_member(v, inner, ret);
	}
	if (ad_type_is(t, "alloc::boxed::Box") || ad_type_is(t, "alloc::sync::Arc") ||
	    ad_type_is(t, "core::ptr::non_null::NonNull") || ad_type_is(t, "core::ptr::unique::Unique"))
		return ad_value_deref(v, ret);
	if (ad_type_is(t, "alloc::sync::ArcInner"))
		return ad_value_member(v, "data", ret);
	if (ad_type_is(t, "core::future::from_generator::GenFuture"))
		return ad_value_member(v, "__0", ret);
	if (ad_type_is(t, "core::option::Option") && is_future_like(d->di, t))
		return ad_value_unwrap_option(v, ret);
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
		*ret = error_frame(type, address, err);
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
			if (err->code == AD_ERROR_NOMEM)
				return err;
			if (err->code == AD_ERROR_NOT_FOUND && ad_type_is(v.type, "core::option::Option")) {
				/* None: a future already taken or never set. */
				ad_error_destroy(err);
				*ret = ad_frame_create(AD_FRAME_FUTURE, v.type->name, v.type->name, v.address);
				if (*ret)
					(*ret)->state = AD_FRAME_COMPLETED;
				return *ret ? NULL : &ad_error_nomem;
			}
			*ret = error_frame(v.type, v.address, err);
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
		ad_u64map_deinit(&d->visited);
		d->task_nodes = 0;
	}
	AD_FAULT_WALK(+1);
	struct ad_error *err = decode_future(d, type, address, depth, ret);
	AD_FAULT_WALK(-1);
	if (err && err->code != AD_ERROR_NOMEM) {
		/* The decoders above give their frame the error where they
		 * can; this keeps any they did not from leaving the frame. */
		*ret = error_frame(type, address, err);
		return *ret ? NULL : &ad_error_nomem;
	}
	return err;
}
