/* SPDX-License-Identifier: MIT */
/* The reference for the streamed JSON renderer (test_render): the jansson
 * renderer that core/render_json.c replaced, kept verbatim but for its names.
 * The JSON document of a trace, as docs/trace.schema.json describes it.
 *
 * Building never stops half-way on OOM: jansson's *_new functions take their
 * argument even when they fail, so each failure only sets render.oom and the
 * caller checks it once at the end, with nothing leaked in between. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render_json_reference.h"

struct task_entry {
	uint64_t id;
	const struct ad_task *task;
};

struct render {
	const struct ad_trace *t;
	bool locals;
	struct task_entry *index; /* tasks with an id, by id */
	size_t nindex;
	json_t *warnings;         /* the document's, or NULL: cuts are then only marked */
	bool oom;
	size_t max_linked_frames;
	size_t linked_frames;     /* frames reserved under task links so far */
	unsigned max_nesting;     /* task links expanded inside task links */
	bool warned_budget;
	/* Of the task being rendered: */
	const struct ad_task *top;
	uint64_t path[AD_RENDER_MAX_TASK_NESTING + 1]; /* ids from top to the current link */
	size_t npath;
	unsigned nlinks;          /* task links entered */
	bool warned_depth, warned_nesting;
};

static struct ad_error *nomem(const struct ad_trace *t)
{
	return ad_error_create(AD_ERROR_NOMEM, "out of memory rendering the trace of process %d",
			       (int)t->pid);
}

static void put(struct render *r, json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, value))
		r->oom = true;
}

static void append(struct render *r, json_t *array, json_t *value)
{
	if (json_array_append_new(array, value))
		r->oom = true;
}

/* Length of the valid UTF-8 sequence at s (as jansson accepts it), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
					 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

/* Thread names, paths and type names come from the target and need not be
 * UTF-8, which JSON strings must be: invalid bytes become '?'. */
static json_t *utf8_string(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (unsigned char *p = (unsigned char *)copy; *p;) {
		size_t n = utf8_sequence(p);
		if (n) {
			p += n;
		} else {
			*p++ = '?';
		}
	}
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *text_or_null(const char *s)
{
	return s ? utf8_string(s) : json_null();
}

static json_t *address(uint64_t a)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, a);
	return json_string(buf);
}

static json_t *address_or_null(uint64_t a)
{
	return a ? address(a) : json_null();
}

static json_t *uint_json(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static void warn(struct render *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct render *r, const char *fmt, ...)
{
	if (!r->warnings)
		return;
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->oom = true;
		return;
	}
	append(r, r->warnings, utf8_string(s));
	free(s);
}

/* "task 7", or "the block_on future at 0x…" for a task without an id. */
static void name_task(const struct ad_task *task, char *buf, size_t size)
{
	if (task->has_id)
		snprintf(buf, size, "task %" PRIu64, task->id);
	else
		snprintf(buf, size, "the %s future at 0x%" PRIx64, ad_task_kind_name(task->kind),
			 task->address);
}

static void warn_depth(struct render *r)
{
	if (r->warned_depth)
		return;
	r->warned_depth = true;
	char who[64];
	name_task(r->top, who, sizeof(who));
	warn(r, "the future tree of %s (with the tasks it awaits) is nested deeper than %d "
		"levels; deeper frames are not shown (marked \"truncated\")",
	     who, AD_RENDER_MAX_DEPTH);
}

static void warn_nesting(struct render *r)
{
	if (r->warned_nesting)
		return;
	r->warned_nesting = true;
	char who[64];
	name_task(r->top, who, sizeof(who));
	warn(r, "%s awaits a chain of more than %u tasks; the tasks further down are not "
		"expanded (marked \"truncated\"); render them on their own with ?task=ID",
	     who, r->max_nesting);
}

static void warn_budget(struct render *r)
{
	if (r->warned_budget)
		return;
	r->warned_budget = true;
	warn(r, "awaited tasks' trees were repeated under their awaiting frames up to %zu "
		"frames; further task links are not expanded (marked \"truncated\"), each task "
		"is still shown on its own",
	     r->max_linked_frames);
}

static int compare_entries(const void *a, const void *b)
{
	const struct task_entry *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* equal ids (should not happen): the first task in the trace wins */
	return x->task < y->task ? -1 : x->task > y->task;
}

static bool build_index(struct render *r)
{
	const struct ad_trace *t = r->t;
	if (t->ntasks == 0)
		return true;
	r->index = calloc(t->ntasks, sizeof(*r->index));
	if (!r->index)
		return false;
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].has_id)
			r->index[r->nindex++] = (struct task_entry){ t->tasks[i].id, &t->tasks[i] };
	qsort(r->index, r->nindex, sizeof(*r->index), compare_entries);
	return true;
}

static const struct ad_task *find_task(const struct render *r, uint64_t id)
{
	size_t lo = 0, hi = r->nindex;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->index[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nindex && r->index[lo].id == id ? r->index[lo].task : NULL;
}

static struct ad_error *render_init(struct render *r, const struct ad_trace *t,
				    const struct ad_render_options *options)
{
	*r = (struct render){
		.t = t,
		.locals = options && options->locals,
		.max_linked_frames = options && options->max_linked_frames
					     ? options->max_linked_frames
					     : AD_RENDER_MAX_LINKED_FRAMES,
		.max_nesting = options && options->max_task_nesting
				       ? options->max_task_nesting
				       : AD_RENDER_JSON_TASK_NESTING,
	};
	if (r->max_nesting > AD_RENDER_MAX_TASK_NESTING)
		r->max_nesting = AD_RENDER_MAX_TASK_NESTING;
	return build_index(r) ? NULL : nomem(t);
}

static json_t *location_json(struct render *r, const struct ad_location *loc)
{
	if (!loc)
		return json_null();
	json_t *o = json_object();
	put(r, o, "file", text_or_null(loc->file));
	put(r, o, "line", json_integer(loc->line));
	if (loc->column)
		put(r, o, "column", json_integer(loc->column));
	return o;
}

static json_t *socket_json(struct render *r, const struct ad_socket *s)
{
	json_t *o = json_object();
	put(r, o, "inode", uint_json(s->inode));
	put(r, o, "family", utf8_string(s->family));
	put(r, o, "protocol", utf8_string(s->protocol));
	put(r, o, "local", utf8_string(s->local));
	put(r, o, "peer", *s->peer ? utf8_string(s->peer) : json_null());
	put(r, o, "state", utf8_string(s->state));
	if (*s->origin)
		put(r, o, "origin", utf8_string(s->origin));
	if (s->has_queues) {
		put(r, o, "rx_queue", uint_json(s->rx_queue));
		put(r, o, "tx_queue", uint_json(s->tx_queue));
	}
	return o;
}

static json_t *blocked_on_json(struct render *r, const struct ad_blocked_on *b)
{
	if (!b)
		return json_null();
	json_t *o = json_object();
	put(r, o, "kind", json_string(ad_resource_kind_name(b->kind)));
	put(r, o, "address", address_or_null(b->address));
	char description[AD_DESCRIPTION_MAX];
	ad_blocked_on_describe(b, description, sizeof(description));
	put(r, o, "description", utf8_string(description));
	if (b->has_task_id)
		put(r, o, "task_id", uint_json(b->task_id));
	if (b->has_deadline) {
		put(r, o, "deadline_ns", json_integer(b->deadline_ns));
		put(r, o, "time_left_s", json_real((double)b->time_left_ns / 1e9));
	}
	if (b->fd >= 0)
		put(r, o, "fd", json_integer(b->fd));
	if (b->interest)
		put(r, o, "interest", utf8_string(b->interest));
	if (b->socket)
		put(r, o, "socket", socket_json(r, b->socket));
	if (b->other_fd >= 0)
		put(r, o, "other_fd", json_integer(b->other_fd));
	if (b->has_bytes_moved)
		put(r, o, "bytes_moved", uint_json(b->bytes_moved));
	if (b->channel)
		put(r, o, "channel", address_or_null(b->channel));
	if (*b->phase)
		put(r, o, "phase", utf8_string(b->phase));
	if (b->blocking)
		put(r, o, "blocking", json_true());
	if (b->permits_wanted >= 0)
		put(r, o, "permits_wanted", json_integer(b->permits_wanted));
	if (b->permits_available >= 0)
		put(r, o, "permits_available", json_integer(b->permits_available));
	return o;
}

/* Frames of the subtree (children, and locals when rendered), at most limit + 1. */
static size_t count_frames(const struct render *r, const struct ad_frame *f, unsigned depth,
			   size_t limit)
{
	size_t n = 1;
	if (depth >= AD_RENDER_MAX_DEPTH)
		return n;
	for (size_t i = 0; i < f->nchildren && n <= limit; i++)
		n += count_frames(r, f->children[i], depth + 1, limit - n);
	for (size_t i = 0; r->locals && i < f->nlocals && n <= limit; i++)
		n += count_frames(r, f->locals[i], depth + 1, limit - n);
	return n;
}

static json_t *frame_json(struct render *r, const struct ad_frame *f, unsigned depth,
			  bool is_local, const char *inside);

static json_t *task_state_json(const struct ad_task *task)
{
	return json_string(ad_task_state_name(task->state));
}

static json_t *summary_json(struct render *r, const struct ad_task *task)
{
	return blocked_on_json(r, ad_frame_first_blocked_on(task->root));
}

static bool on_path(const struct render *r, uint64_t id, size_t *ret)
{
	for (size_t i = 0; i < r->npath; i++) {
		if (r->path[i] == id) {
			*ret = i;
			return true;
		}
	}
	return false;
}

static json_t *cycle_json(struct render *r, size_t from, uint64_t id)
{
	json_t *a = json_array();
	for (size_t i = from; i < r->npath; i++)
		append(r, a, uint_json(r->path[i]));
	append(r, a, uint_json(id));
	return a;
}

/* Whether B's tree may be shown under a link at `depth`; if not, says why. */
static bool may_expand(struct render *r, const struct ad_task *b, unsigned depth)
{
	if (r->nlinks >= r->max_nesting) {
		/* By design in JSON (one level): only a deeper cut is news. */
		if (r->max_nesting > AD_RENDER_JSON_TASK_NESTING)
			warn_nesting(r);
		return false;
	}
	if (b->root && depth >= AD_RENDER_MAX_DEPTH) {
		warn_depth(r);
		return false;
	}
	size_t left = r->max_linked_frames - r->linked_frames;
	size_t n = b->root ? count_frames(r, b->root, depth + 1, left) : 0;
	if (n > left) {
		warn_budget(r);
		return false;
	}
	r->linked_frames += n;
	return true;
}

/* The extra child of a frame awaiting task `id` (see render.h). */
static json_t *task_link_json(struct render *r, uint64_t id, unsigned depth)
{
	json_t *o = json_object();
	put(r, o, "kind", json_string("task"));
	put(r, o, "task_id", uint_json(id));
	const struct ad_task *b = find_task(r, id);
	if (!b) {
		put(r, o, "address", json_null());
		put(r, o, "state", json_string(ad_task_state_name(AD_TASK_STATE_UNKNOWN)));
		put(r, o, "note", json_null());
		put(r, o, "blocked_on", json_null());
		put(r, o, "missing", json_true());
		return o;
	}
	put(r, o, "address", address(b->address));
	put(r, o, "state", task_state_json(b));
	put(r, o, "note", text_or_null(b->note));
	put(r, o, "blocked_on", summary_json(r, b));
	size_t pos;
	if (on_path(r, id, &pos)) {
		put(r, o, "recursion", json_true());
		put(r, o, "cycle", cycle_json(r, pos, id));
	} else if (!may_expand(r, b, depth)) {
		put(r, o, "truncated", json_true());
	} else {
		r->path[r->npath++] = id;
		r->nlinks++;
		put(r, o, "root", b->root ? frame_json(r, b->root, depth + 1, false, NULL) : json_null());
		r->nlinks--;
		r->npath--;
	}
	return o;
}

/* Marks an adapter layer ("adapter": true) and names the one the user wrote
 * ("adapter_name": "Map"). `inside` is the type of the adapter whose own
 * implementation f belongs to (Then is a Flatten over a Map of what it
 * wraps: neither is the user's), or NULL; returns the same for f's children. */
static const char *mark_adapter(struct render *r, json_t *o, const struct ad_frame *f,
				const char *inside)
{
	const char *word = NULL;
	if (inside && ad_type_is_generic_argument(inside, f->type))
		inside = NULL; /* the future it wraps: the user's level again */
	if (!ad_type_is_adapter(f->type, &word))
		return NULL;
	put(r, o, "adapter", json_true());
	if (word && !inside) {
		put(r, o, "adapter_name", json_string(word));
		return f->type;
	}
	return inside;
}

static json_t *frame_json(struct render *r, const struct ad_frame *f, unsigned depth,
			  bool is_local, const char *inside)
{
	json_t *o = json_object();
	put(r, o, "kind", json_string(ad_frame_kind_name(f->kind)));
	put(r, o, "name", text_or_null(f->name));
	put(r, o, "type", text_or_null(f->type));
	put(r, o, "address", address(f->address));
	put(r, o, "state", json_string(ad_frame_state_name(f->state)));
	put(r, o, "location", location_json(r, f->location));
	if (f->macro_location)
		put(r, o, "macro_location", location_json(r, f->macro_location));
	put(r, o, "blocked_on", blocked_on_json(r, f->blocked_on));
	if (f->error)
		put(r, o, "error", utf8_string(f->error));
	if (f->not_polled)
		put(r, o, "not_polled", json_true());
	bool follow_task = f->has_awaits_task && !is_local;
	if (f->has_awaits_task)
		put(r, o, "awaits_task", uint_json(f->awaits_task));
	inside = mark_adapter(r, o, f, inside);

	json_t *children = json_array();
	bool has_locals = r->locals && f->nlocals;
	if (depth >= AD_RENDER_MAX_DEPTH && (f->nchildren || follow_task || has_locals)) {
		warn_depth(r);
		put(r, o, "children", children);
		put(r, o, "truncated", json_true());
		return o;
	}
	for (size_t i = 0; i < f->nchildren; i++)
		append(r, children, frame_json(r, f->children[i], depth + 1, is_local, inside));
	if (follow_task)
		append(r, children, task_link_json(r, f->awaits_task, depth + 1));
	put(r, o, "children", children);
	if (has_locals) {
		json_t *locals = json_array();
		for (size_t i = 0; i < f->nlocals; i++)
			append(r, locals, frame_json(r, f->locals[i], depth + 1, true, NULL));
		put(r, o, "locals", locals);
	}
	return o;
}

static json_t *thread_json(struct render *r, const struct ad_task *task)
{
	if (!task->tid)
		return json_null();
	json_t *o = json_object();
	put(r, o, "tid", json_integer(task->tid));
	put(r, o, "name", text_or_null(task->thread_name));
	return o;
}

static json_t *task_json(struct render *r, const struct ad_task *task)
{
	r->top = task;
	r->npath = 0;
	r->nlinks = 0;
	r->warned_depth = r->warned_nesting = false;
	if (task->has_id)
		r->path[r->npath++] = task->id;

	json_t *o = json_object();
	put(r, o, "id", task->has_id ? uint_json(task->id) : json_null());
	put(r, o, "kind", json_string(ad_task_kind_name(task->kind)));
	put(r, o, "address", address(task->address));
	put(r, o, "runtime", task->runtime < r->t->nruntimes ? json_integer(task->runtime) : json_null());
	put(r, o, "thread", thread_json(r, task));
	put(r, o, "state", task_state_json(task));
	put(r, o, "note", text_or_null(task->note));
	if (r->t->not_stopped) {
		put(r, o, "consistent", json_boolean(!task->inconsistent));
		put(r, o, "reads", json_integer(task->reads));
	}
	if (task->has_unchanged_for && isfinite(task->unchanged_for_s))
		put(r, o, "unchanged_for_s", json_real(task->unchanged_for_s));
	put(r, o, "blocked_on", summary_json(r, task));
	put(r, o, "root", task->root ? frame_json(r, task->root, 1, false, NULL) : json_null());
	if (task->expected_wait)
		put(r, o, "expected_wait", json_true());
	return o;
}

static json_t *runtimes_json(struct render *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->t->nruntimes; i++) {
		const struct ad_runtime *rt = &r->t->runtimes[i];
		json_t *o = json_object();
		put(r, o, "id", json_integer(rt->id));
		put(r, o, "kind", text_or_null(rt->kind));
		put(r, o, "flavor", text_or_null(rt->flavor));
		put(r, o, "address", address(rt->address));
		put(r, o, "tasks", json_integer((json_int_t)rt->ntasks));
		append(r, a, o);
	}
	return a;
}

static bool cycle_has_task(const struct ad_cycle *c, uint64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->task_ids[i] == id)
			return true;
	return false;
}

static json_t *cycles_json(struct render *r, const struct ad_task *only)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->t->ncycles; i++) {
		const struct ad_cycle *c = &r->t->cycles[i];
		if (only && !cycle_has_task(c, only->id))
			continue;
		json_t *ids = json_array();
		for (size_t k = 0; k < c->n; k++)
			append(r, ids, uint_json(c->task_ids[k]));
		append(r, a, ids);
	}
	return a;
}

/* RFC 3339, UTC, microseconds: "2024-05-01T12:00:00.000412Z". */
static json_t *timestamp_json(struct timespec ts)
{
	struct tm tm;
	time_t secs = ts.tv_sec;
	if (!gmtime_r(&secs, &tm))
		return json_null();
	char date[32], buf[64];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned micros = (unsigned)(ts.tv_nsec / 1000) % 1000000u;
	snprintf(buf, sizeof(buf), "%s.%06uZ", date, micros);
	return json_string(buf);
}

static json_t *document_json(struct render *r, const struct ad_task *only)
{
	const struct ad_trace *t = r->t;
	r->warnings = json_array();
	for (size_t i = 0; i < t->nwarnings; i++)
		append(r, r->warnings, utf8_string(t->warnings[i]));

	json_t *tasks = json_array();
	for (size_t i = 0; i < t->ntasks; i++)
		if (!only || only == &t->tasks[i])
			append(r, tasks, task_json(r, &t->tasks[i]));

	json_t *doc = json_object();
	put(r, doc, "pid", json_integer(t->pid));
	put(r, doc, "exe", text_or_null(t->exe));
	put(r, doc, "build_id", text_or_null(t->build_id));
	put(r, doc, "source_root", text_or_null(t->source_root));
	put(r, doc, "captured_at", timestamp_json(t->captured_at));
	put(r, doc, "pause_us", t->from_core || t->not_stopped ? json_null()
							       : json_integer((json_int_t)t->pause_us));
	put(r, doc, "stopped", t->from_core ? json_null() : json_boolean(!t->not_stopped));
	put(r, doc, "source", json_string(t->from_core ? "core" : "live"));
	put(r, doc, "runtimes", runtimes_json(r));
	put(r, doc, "tasks", tasks);
	put(r, doc, "cycles", cycles_json(r, only));
	put(r, doc, "warnings", r->warnings);
	return doc;
}

struct ad_error *ref_render_json(const struct ad_trace *t, const struct ad_render_options *options,
				json_t **ret)
{
	const struct ad_task *only = NULL;
	if (options && options->has_task) {
		only = ad_trace_find_task(t, options->task);
		if (!only)
			return ad_error_create(AD_ERROR_NOT_FOUND,
					       "no task with id %" PRIu64 " in process %d",
					       options->task, (int)t->pid);
	}
	struct render r;
	struct ad_error *err = render_init(&r, t, options);
	if (err)
		return err;
	json_t *doc = document_json(&r, only);
	free(r.index);
	if (r.oom || !doc) {
		json_decref(doc);
		return nomem(t);
	}
	*ret = doc;
	return NULL;
}

struct ad_error *ref_render_task_json(const struct ad_trace *t, const struct ad_task *task,
				     const struct ad_render_options *options, json_t **ret)
{
	struct render r;
	struct ad_error *err = render_init(&r, t, options);
	if (err)
		return err;
	json_t *o = task_json(&r, task);
	free(r.index);
	if (r.oom || !o) {
		json_decref(o);
		return nomem(t);
	}
	*ret = o;
	return NULL;
}
