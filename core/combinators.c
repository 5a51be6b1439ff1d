/* SPDX-License-Identifier: MIT */
/* Futures made of other futures, where a plain walk over fields would miss
 * or mislabel branches: MaybeDone (a join's branch, possibly finished),
 * FuturesUnordered (a linked list of tasks), PollFn (select!/join! macros'
 * closures hold their futures by reference). Joins, selects, Fuse, Map,
 * Then, Timeout and Instrumented need nothing special: their futures are
 * fields, which the generic walk in future.c finds, as it finds sequences
 * of futures (join_all's boxed slice, SelectAll's Vec). A runtime's own
 * MaybeDone and PollFn use the decoders here from its adapter's table.
 * Child futures are decoded through d->walk. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fault.h"
#include "recognisers.h"
#include "runtime.h"
#include "u64map.h"

#define MAX_LIST 100000

struct ad_error *ad_decode_maybe_done(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				      struct ad_frame **ret)
{
	const struct ad_variant *var;
	struct ad_value variant, inner;
	char name[64];
	*ret = NULL;
	if (v->type->kind != AD_TYPE_ENUM)
		return NULL;
	struct ad_error *err = AD_FAULT("combinator", v->type->name);
	if (err || (err = ad_value_variant(v, &var, &variant)))
		return err;
	if (strcmp(ad_type_base(variant.type, name, sizeof(name)), "Future") == 0) {
		/* Future(F): futures' MaybeDone/TryMaybeDone (checked: futures
		 * 0.3.21, 0.3.31, 0.3.34), a runtime's tuple variant; Future {
		 * future: F }: a pin-project-lite enum (see the adapter's table). */
		const char *field = ad_type_field(variant.type, "future") ? "future" : "__0";
		if ((err = ad_value_member(&variant, field, &inner)))
			return ad_error_wrap(err, "a MaybeDone branch");
		return d->walk(d, inner.type, inner.address, depth + 1, ret);
	}
	/* Done or Gone: the branch finished. Name it by its future type, as
	 * the design shows "baz() completed at src/foo.rs:21". */
	const struct ad_type *fut = NULL;
	err = ad_type_first_param(d->di, v->type, &fut);
	/* rustc < 1.67 wraps every async fn in GenFuture(env). */
	for (int i = 0; !err && i < 2 && ad_type_is(fut, "core::future::from_generator::GenFuture") &&
			ad_type_field(fut, "__0");
	     i++)
		err = ad_field_type(d->di, ad_type_field(fut, "__0"), &fut);
	if (err) {
		ad_error_destroy(err);
		err = NULL;
		fut = NULL;
	}
	struct ad_frame *f;
	if (fut && ad_is_coroutine_env(fut)) {
		/* Decode as if it had returned: name, kind and the Returned line. */
		const struct ad_variant *returned = NULL;
		for (size_t i = 0; i < fut->nvariants; i++) {
			const struct ad_type *vt;
			if (ad_variant_type(d->di, &fut->variants[i], &vt) == NULL &&
			    strcmp(ad_type_base(vt, name, sizeof(name)), "Returned") == 0)
				returned = &fut->variants[i];
		}
		char *fn = strndup(fut->name, strlen(fut->name));
		char *cut = fn ? strstr(fn, "::{async_") : NULL;
		if (cut)
			*cut = '\0';
		enum ad_frame_kind kind = strstr(fut->name, "{async_block_env#") ? AD_FRAME_ASYNC_BLOCK
					  : strstr(fut->name, "{async_closure_env#") ? AD_FRAME_ASYNC_CLOSURE
					  : AD_FRAME_ASYNC_FN;
		f = ad_trace_frame_create(d->trace, kind, fn, fut->name, v->address);
		free(fn);
		if (f && returned && returned->file) {
			const char *path = ad_debuginfo_source_path(d->di, returned->file);
			err = path ? ad_frame_set_location(f, path, returned->line, 0)
				   : &ad_error_nomem;
		}
	} else {
		const char *type = fut ? fut->name : v->type->name;
		f = ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, type, type, v->address);
	}
	if (!f)
		return &ad_error_nomem;
	f->state = AD_FRAME_COMPLETED;
	*ret = f;
	return err;
}

/* FuturesUnordered: head_all → Task { future: UnsafeCell<Option<Fut>>,
 * next_all, … }, ending in null (or the ready queue's stub). */
static struct ad_error *decode_futures_unordered(struct ad_decode *d, const struct ad_value *v,
						 unsigned depth, struct ad_frame **ret)
{
	struct ad_error *injected = AD_FAULT("combinator", v->type->name);
	if (injected)
		return injected;
	struct ad_frame *f = ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, v->type->name,
						   v->type->name, v->address);
	if (!f)
		return &ad_error_nomem;
	f->state = AD_FRAME_PENDING;
	struct ad_value head;
	struct ad_error *err = ad_value_member(v, "head_all", &head);
	uint64_t task = 0;
	const struct ad_type *task_type = NULL;
	if (!err)
		err = ad_value_strip_wrappers(&head, &head);
	if (!err) {
		/* AtomicPtr<Task<Fut>> → UnsafeCell<*mut Task<Fut>> → the pointer. */
		uint64_t off;
		const struct ad_type *pt;
		err = ad_find_member(d->di, head.type, "value", 3, &off, &pt);
		if (!err && pt->kind == AD_TYPE_POINTER) {
			err = ad_read_u64(d->reader, head.address + off, &task);
			if (!err)
				err = ad_type_target(d->di, pt, &task_type);
		}
	}
	/* A corrupt link must not repeat the same futures up to the bounds. */
	struct ad_u64map seen;
	ad_u64map_init(&seen);
	for (size_t n = 0; !err && task && task_type && n < MAX_LIST && f->nchildren < AD_MAX_CHILDREN; n++) {
		if (ad_u64map_get(&seen, task)) {
			err = ad_error_create(AD_ERROR_FAULT, "it comes back to 0x%" PRIx64
					      " after %zu futures (corrupt list)", task, n);
			break;
		}
		if (!ad_u64map_put(&seen, task, f)) {
			err = &ad_error_nomem;
			break;
		}
		struct ad_value t = ad_decode_value(d, task_type, task), fut, next;
		uint64_t off;
		const struct ad_type *nt;
		if ((err = ad_value_member(&t, "future", &fut)) ||
		    (err = ad_value_strip_wrappers(&fut, &fut)))
			break;
		struct ad_value some;
		struct ad_error *none = ad_value_unwrap_option(&fut, &some);
		if (!none) {
			struct ad_frame *child;
			if ((err = d->walk(d, some.type, some.address, depth + 1, &child)) ||
			    (err = ad_frame_add_child(f, child)))
				break;
		}
		ad_error_destroy(none);
		if ((err = ad_value_member(&t, "next_all", &next)) ||
		    (err = ad_find_member(d->di, next.type, "value", 3, &off, &nt)) ||
		    (err = ad_read_u64(d->reader, next.address + off, &task)))
			break;
	}
	ad_u64map_deinit(&seen);
	if (ad_error_is_fatal(err)) {
		ad_frame_destroy(f);
		return err;
	}
	if (err) {
		ad_frame_set_error(f, "the list of futures could not be read: %s", err->message);
		ad_error_destroy(err);
	}
	*ret = f;
	return NULL;
}

/* select!/join! poll a closure over futures they hold by reference:
 * follow the closure's captured references one level. */
struct ad_error *ad_decode_poll_fn(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				   struct ad_frame **ret)
{
	struct ad_value closure;
	*ret = NULL;
	struct ad_error *err = AD_FAULT("combinator", v->type->name);
	if (err)
		return err;
	err = ad_value_member(v, "f", &closure);
	if (err) {
		ad_error_destroy(err);
		return NULL; /* not the PollFn we know: let the generic walk try */
	}
	struct ad_frame *f = ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, v->type->name,
						   v->type->name, v->address);
	if (!f)
		return &ad_error_nomem;
	f->state = AD_FRAME_PENDING;
	for (size_t i = 0; i < closure.type->nfields; i++) {
		struct ad_value cap, target;
		if ((err = ad_value_member(&closure, closure.type->fields[i].name, &cap)))
			goto fail;
		if (cap.type->kind != AD_TYPE_POINTER)
			continue;
		/* select! captures `_ref__futures: &mut &mut (F1, F2)`. */
		target = cap;
		struct ad_error *e = NULL;
		for (int hops = 0; hops < 3 && !e && target.type->kind == AD_TYPE_POINTER; hops++)
			e = ad_value_deref(&target, &target);
		if (e) {
			ad_error_destroy(e);
			continue;
		}
		/* &mut (F1, F2, …) or &mut F */
		bool tuple = target.type->kind == AD_TYPE_STRUCT && target.type->name[0] == '(';
		size_t n = tuple ? target.type->nfields : 1;
		for (size_t k = 0; k < n; k++) {
			struct ad_value elem = target;
			if (tuple && (err = ad_value_member(&target, target.type->fields[k].name, &elem)))
				goto fail;
			if (!ad_is_future_like(d, elem.type))
				continue;
			struct ad_frame *child;
			if ((err = d->walk(d, elem.type, elem.address, depth + 1, &child)) ||
			    (err = ad_frame_add_child(f, child)))
				goto fail;
		}
	}
	if (!f->nchildren) {
		ad_frame_destroy(f);
		return NULL; /* a leaf PollFn (mpsc recv, …): leaves.c names it */
	}
	*ret = f;
	return NULL;
fail:
	if (!ad_error_is_fatal(err)) {
		/* The branches read so far stand; the frame says why no more. */
		struct ad_error *set = ad_frame_set_error(f, "%s", err->message);
		ad_error_destroy(err);
		if (!(err = set)) {
			*ret = f;
			return NULL;
		}
	}
	ad_frame_destroy(f);
	return err;
}

const struct ad_combinator_recogniser ad_library_combinators[] = {
	{ "futures_util::future::maybe_done::MaybeDone", AD_MATCH_TYPE, ad_decode_maybe_done },
	{ "futures_util::future::try_maybe_done::TryMaybeDone", AD_MATCH_TYPE, ad_decode_maybe_done },
	{ "futures_util::stream::futures_unordered::FuturesUnordered", AD_MATCH_TYPE,
	  decode_futures_unordered },
	{ "futures_util::future::poll_fn::PollFn", AD_MATCH_TYPE, ad_decode_poll_fn },
	{ "core::future::poll_fn::PollFn", AD_MATCH_TYPE, ad_decode_poll_fn },
	{ NULL, AD_MATCH_TYPE, NULL },
};
