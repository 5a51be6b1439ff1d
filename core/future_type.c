/* SPDX-License-Identifier: MIT */
/* What a type says of a future, before any memory is read: whether it is
 * a compiler-generated state machine (and which kind), and whether it is
 * future-like (a future, or a pointer / Box / Pin / Option to one). Shared
 * by the walk (future.c), the combinators and block_on.c; calls none of
 * them. */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "runtime.h"

/* ---- coroutine envs */

/* By the last path component, generic arguments aside. */
static enum ad_env_kind env_kind_of_base(const char *base)
{
	if (base[0] != '{')
		return AD_ENV_NONE;
	if (strncmp(base, "{async_fn_env#", 14) == 0)
		return AD_ENV_FN;
	if (strncmp(base, "{async_block_env#", 17) == 0)
		return AD_ENV_BLOCK;
	if (strncmp(base, "{async_closure_env#", 19) == 0)
		return AD_ENV_CLOSURE;
	if (strncmp(base, "{coroutine_env#", 15) == 0 || strncmp(base, "{generator_env#", 15) == 0 ||
	    strncmp(base, "{generator#", 11) == 0)
		return AD_ENV_COROUTINE;
	return AD_ENV_NONE;
}

enum ad_env_kind ad_env_kind(const char *name)
{
	if (!strchr(name, '{')) /* most types, at the cost of one scan */
		return AD_ENV_NONE;
	char buf[128];
	return env_kind_of_base(ad_type_base_name(name, buf, sizeof(buf)));
}

enum ad_env_kind ad_type_env_kind(const struct ad_type *t)
{
	return t->base_name ? env_kind_of_base(t->base_name) : ad_env_kind(t->name);
}

bool ad_is_coroutine_env(const struct ad_type *t)
{
	return t->kind == AD_TYPE_ENUM && ad_type_env_kind(t) != AD_ENV_NONE;
}

/* ---- what counts as a future, for walks over hand-written futures
 *
 * The program says: a type is a future when the program has a
 * `<T as Future>::poll` for it (debuginfo.c indexes them per binary).
 * The name prefixes below are only for a binary where none could be read
 * (symbols not in rustc's default legacy mangling). */

static const char *const future_prefixes[] = {
	"futures_util::future::", "futures_util::stream::futures_unordered::FuturesUnordered",
	"futures_util::stream::futures_ordered::FuturesOrdered", "futures_util::stream::stream::next::Next",
	"futures_util::stream::select_all::SelectAll", "core::future::", "tracing::instrument::Instrumented",
	"tracing_futures::Instrumented", "std::future::",
	"hyper::proto::h1::dispatch::Dispatcher", /* a connection: a leaf when idle (leaves.c) */
	NULL,
};

static bool name_in(const char *const *names, const struct ad_type *t, bool prefix)
{
	for (; names && *names; names++)
		if (prefix ? strncmp(t->name, *names, strlen(*names)) == 0 : ad_type_is(t, *names))
			return true;
	return false;
}

/* By name: the libraries' prefixes and the active adapters'. */
static bool named_future(const struct ad_decode *d, const struct ad_type *t)
{
	if (strstr(t->name, "Semaphore<"))
		return false;
	for (size_t i = 0; i < d->nadapters; i++)
		if (name_in(d->adapters[i].ops->not_futures, t, false))
			return false;
	if (name_in(future_prefixes, t, true))
		return true;
	for (size_t i = 0; i < d->nadapters; i++)
		if (name_in(d->adapters[i].ops->future_prefixes, t, true))
			return true;
	return false;
}

/* A trait object polled like a future: a dyn Future, or a dyn Stream that
 * a future drives through poll_next (a listener's incoming-connections
 * stream, boxed by the future that yields them). */
static bool is_boxed_dyn_future(const struct ad_type *t)
{
	return strstr(t->name, "dyn core::future::future::Future") != NULL ||
	       strstr(t->name, "dyn futures_core::stream::Stream") != NULL;
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

static bool implements_future(const struct ad_decode *d, const struct ad_type *t)
{
	if (ad_debuginfo_future_impl_count(d->di))
		return ad_debuginfo_implements_future(d->di, t->name);
	return named_future(d, t);
}

static bool is_wrapper(const struct ad_type *t)
{
	return t->kind == AD_TYPE_POINTER || ad_type_is(t, "core::pin::Pin") ||
	       ad_type_is(t, "alloc::boxed::Box") || ad_type_is(t, "core::option::Option");
}

bool ad_is_future_like(const struct ad_decode *d, const struct ad_type *t)
{
	struct ad_debuginfo *di = d->di;
	for (int i = 0; i < 6; i++) {
		if (ad_is_coroutine_env(t) || is_boxed_dyn_future(t))
			return true;
		if (!is_wrapper(t))
			return implements_future(d, t);
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
