/* SPDX-License-Identifier: MIT */
/* The JSON document of a trace, as docs/trace.schema.json describes it,
 * written as it is walked: one task at a time into a small buffer that the
 * caller drains (ad_render_stream_read()), never a tree of the whole
 * document. The same walk builds each task's object as a tree (node.h) for
 * the text format (core/render_text.c draws it), so the two outputs cannot
 * disagree; the tree leaves out what the text never shows (a frame's type
 * and address, a blocked_on's members but its description). The writer of
 * both is json_writer.h. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "asyncdump/render.h"
#include "digits.h"
#include "json_writer.h"
#include "render_internal.h"
#include "search.h"
#include "u64map.h"

/* ------------------------------------------------------------ the walk */

struct task_entry {
	uint64_t id;
	const struct ad_task *task;
};

/* What a frame writes alike to every frame of its type suspended at the
 * same point (kind, name, type; state, location), as the JSON text first
 * written at a nesting depth: a document of 100,000 tasks is mostly the
 * same few frames, which are then copied, not written again. A pointer in
 * the key stands for its string: the trace neither changes nor frees one
 * while it is rendered (render.h: it outlives the stream). */
#define SKELETON_SETS 64 /* a power of two */
#define SKELETON_WAYS 2   /* in a set, the one used last first */

enum skeleton_part {
	SKELETON_HEAD = 1 << 16,   /* from the frame's first member to "address" */
	SKELETON_MIDDLE = 2 << 16, /* after the address, to "blocked_on" */
};

struct skeleton_key {
	const void *a, *b;
	unsigned what;  /* a part | the frame's kind or state */
	unsigned depth; /* the writer's: the indentation */
};

struct skeleton {
	struct skeleton_key key;
	struct ad_outbuf text;
	bool kept; /* false: an empty slot */
};

struct render {
	const struct ad_trace *t;
	struct ad_jw *w;
	bool locals;
	struct task_entry *index; /* tasks with an id, by id: find_task() */
	bool indexed;
	size_t nindex;
	bool keep_warnings;       /* a document's: else cuts are only marked */
	char **warnings;          /* the cuts' warnings, for the document's end */
	size_t nwarnings, warnings_cap;
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
	struct ad_u64map adapters; /* is_adapter()'s answers, by type string */
	struct skeleton skeletons[SKELETON_SETS][SKELETON_WAYS];
	/* The compact JSON of the blocked_on written last: a task's summary
	 * and its leaf are the same one, written one after the other. */
	const struct ad_blocked_on *written;
	struct ad_outbuf written_json;
	/* The last description made: a task's summary and its leaf are the
	 * same blocked_on, rendered one after the other. */
	const struct ad_blocked_on *described;
	char description[AD_DESCRIPTION_MAX];
};

/* Always the static error: creating one may fail too. */
static struct ad_error *nomem(void)
{
	return &ad_error_nomem;
}

static void warn(struct render *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct render *r, const char *fmt, ...)
{
	if (!r->keep_warnings)
		return;
	if (r->nwarnings == r->warnings_cap) {
		size_t cap = r->warnings_cap ? 2 * r->warnings_cap : 8;
		char **p = realloc(r->warnings, cap * sizeof(*p));
		if (!p) {
			r->oom = true;
			return;
		}
		r->warnings = p;
		r->warnings_cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&r->warnings[r->nwarnings], fmt, ap);
	va_end(ap);
	if (n < 0)
		r->oom = true;
	else
		r->nwarnings++;
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

static bool entry_before(const void *element, const void *id)
{
	return ((const struct task_entry *)element)->id < *(const uint64_t *)id;
}

/* The index is made at the first task link: most documents have none, and
 * sorting 100,000 ids for nothing is a tenth of rendering them. */
static const struct ad_task *find_task(struct render *r, uint64_t id)
{
	if (!r->indexed) {
		r->indexed = true;
		if (!build_index(r))
			r->oom = true;
	}
	size_t lo = ad_partition_point(r->index, r->nindex, sizeof(*r->index), &id, entry_before);
	return lo < r->nindex && r->index[lo].id == id ? r->index[lo].task : NULL;
}

static void render_init(struct render *r, const struct ad_trace *t,
			const struct ad_render_options *options, struct ad_jw *w)
{
	*r = (struct render){
		.t = t,
		.w = w,
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
}

static void render_fini(struct render *r)
{
	for (size_t i = 0; i < SKELETON_SETS; i++)
		for (size_t j = 0; j < SKELETON_WAYS; j++)
			free(r->skeletons[i][j].text.buf);
	free(r->written_json.buf);
	ad_u64map_deinit(&r->adapters);
	free(r->index);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
}

/* By the first string only (a name, a location): parts that share it but
 * differ in the rest (a state, a depth, a select!'s location) are rare in
 * one document, and share a set. Two ways, so that two parts used in turn
 * whose strings mix to one set are kept both. */
static struct skeleton *skeleton_set(struct render *r, const struct skeleton_key *k)
{
	uint64_t h = (uintptr_t)k->a * 0x9e3779b97f4a7c15ull;
	return r->skeletons[(h >> 32) & (SKELETON_SETS - 1)];
}

static bool same_key(const struct skeleton_key *x, const struct skeleton_key *y)
{
	return x->a == y->a && x->b == y->b && x->what == y->what && x->depth == y->depth;
}

/* Makes way i of a set the first; the others keep their order. */
static void move_first(struct skeleton *set, size_t i)
{
	struct skeleton found = set[i];
	memmove(set + 1, set, i * sizeof(*set));
	set[0] = found;
}

/* Writes the part k names if it was kept, leaving the writer as writing it
 * would have: inside the frame's object, its last key written. */
static bool copy_skeleton(struct render *r, const struct skeleton_key *k)
{
	struct ad_jw *w = r->w;
	if (!w->out)
		return false;
	struct skeleton *set = skeleton_set(r, k);
	for (size_t i = 0; i < SKELETON_WAYS; i++) {
		if (!set[i].kept || !same_key(&set[i].key, k))
			continue;
		move_first(set, i);
		ad_outbuf_append(w->out, set[0].text.buf, set[0].text.len);
		w->has_items[w->depth - 1] = true;
		w->after_key = true;
		return true;
	}
	return false;
}

/* Where the writer is in its text: what a copy is kept from. */
static size_t text_mark(const struct render *r)
{
	return r->w->out ? r->w->out->len : 0;
}

/* Makes *kept what the writer wrote since `from`; false (kept empty) when
 * it could not be kept: the part is then only written again. */
static bool keep_text(const struct ad_jw *w, size_t from, struct ad_outbuf *kept)
{
	kept->len = 0;
	kept->oom = false;
	if (!w->out || w->out->oom)
		return false;
	ad_outbuf_append(kept, w->out->buf + from, w->out->len - from);
	bool ok = !kept->oom;
	kept->oom = false;
	return ok;
}

/* Keeps what the writer wrote since `from` as the part k names, in place
 * of the set's way used longest ago. */
static void keep_skeleton(struct render *r, const struct skeleton_key *k, size_t from)
{
	if (!r->w->out)
		return;
	struct skeleton *set = skeleton_set(r, k);
	move_first(set, SKELETON_WAYS - 1);
	set[0].key = *k;
	set[0].kept = keep_text(r->w, from, &set[0].text);
}

static void location_json(struct ad_jw *w, const struct ad_location *loc)
{
	if (!loc) {
		ad_jw_null(w);
		return;
	}
	ad_jw_object(w);
	ad_jw_key(w, "file");
	ad_jw_kept_string_or_null(w, loc->file);
	ad_jw_key(w, "line");
	ad_jw_int(w, loc->line);
	if (loc->column) {
		ad_jw_key(w, "column");
		ad_jw_int(w, loc->column);
	}
	ad_jw_end_object(w);
}

static void socket_json(struct ad_jw *w, const struct ad_socket *s)
{
	ad_jw_object(w);
	ad_jw_key(w, "inode");
	ad_jw_uint(w, s->inode);
	ad_jw_key(w, "family");
	ad_jw_string(w, s->family);
	ad_jw_key(w, "protocol");
	ad_jw_string(w, s->protocol);
	ad_jw_key(w, "local");
	ad_jw_string(w, s->local);
	ad_jw_key(w, "peer");
	ad_jw_string_or_null(w, *s->peer ? s->peer : NULL);
	ad_jw_key(w, "state");
	ad_jw_string(w, s->state);
	if (*s->origin) {
		ad_jw_key(w, "origin");
		ad_jw_string(w, s->origin);
	}
	if (s->has_queues) {
		ad_jw_key(w, "rx_queue");
		ad_jw_uint(w, s->rx_queue);
		ad_jw_key(w, "tx_queue");
		ad_jw_uint(w, s->tx_queue);
	}
	ad_jw_end_object(w);
}

static void blocked_on_members(struct render *r, const struct ad_blocked_on *b);

/* Compact JSON does not depend on where a value is written: the second
 * time in a row that b is, its text is copied. */
static void blocked_on_json(struct render *r, const struct ad_blocked_on *b)
{
	struct ad_jw *w = r->w;
	if (!b) {
		ad_jw_null(w);
		return;
	}
	bool compact = w->out && !w->indent;
	if (compact && r->written == b) {
		ad_jw_separate(w);
		ad_jw_text(w, r->written_json.buf, r->written_json.len);
		return;
	}
	size_t from = text_mark(r);
	blocked_on_members(r, b);
	/* ad_jw_separate() wrote nothing there: a blocked_on is a member's value. */
	if (compact)
		r->written = keep_text(w, from, &r->written_json) ? b : NULL;
}

static void blocked_on_members(struct render *r, const struct ad_blocked_on *b)
{
	struct ad_jw *w = r->w;
	ad_jw_object(w);
	if (w->out) {
		ad_jw_key(w, "kind");
		ad_jw_string(w, ad_resource_kind_name(b->kind));
		ad_jw_key(w, "address");
		ad_jw_address_or_null(w, b->address);
	}
	ad_jw_key(w, "description");
	if (b->description) {
		ad_jw_kept_string(w, b->description);
	} else {
		if (r->described != b)
			ad_blocked_on_describe(b, r->description, sizeof(r->description));
		r->described = b;
		ad_jw_string(w, r->description);
	}
	if (!w->out) {
		ad_jw_end_object(w); /* what the text format shows of it */
		return;
	}
	if (b->has_task_id) {
		ad_jw_key(w, "task_id");
		ad_jw_uint(w, b->task_id);
	}
	if (b->has_deadline) {
		ad_jw_key(w, "deadline_ns");
		ad_jw_int(w, b->deadline_ns);
		ad_jw_key(w, "time_left_s");
		ad_jw_seconds(w, b->time_left_ns);
	}
	if (b->fd >= 0) {
		ad_jw_key(w, "fd");
		ad_jw_int(w, b->fd);
	}
	if (b->interest) {
		ad_jw_key(w, "interest");
		ad_jw_string(w, b->interest);
	}
	if (b->socket) {
		ad_jw_key(w, "socket");
		socket_json(w, b->socket);
	}
	if (b->other_fd >= 0) {
		ad_jw_key(w, "other_fd");
		ad_jw_int(w, b->other_fd);
	}
	if (b->has_bytes_moved) {
		ad_jw_key(w, "bytes_moved");
		ad_jw_uint(w, b->bytes_moved);
	}
	if (b->has_buffered) {
		ad_jw_key(w, "buffered_bytes");
		ad_jw_uint(w, b->buffered_bytes);
	}
	if (b->channel) {
		ad_jw_key(w, "channel");
		ad_jw_address(w, b->channel);
	}
	if (*b->phase) {
		ad_jw_key(w, "phase");
		ad_jw_string(w, b->phase);
	}
	if (b->blocking) {
		ad_jw_key(w, "blocking");
		ad_jw_bool(w, true);
	}
	if (b->permits_wanted >= 0) {
		ad_jw_key(w, "permits_wanted");
		ad_jw_int(w, b->permits_wanted);
	}
	if (b->permits_available >= 0) {
		ad_jw_key(w, "permits_available");
		ad_jw_int(w, b->permits_available);
	}
	ad_jw_end_object(w);
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

static void frame_json(struct render *r, const struct ad_frame *f, unsigned depth,
		       bool is_local, const char *inside);

static void summary_json(struct render *r, const struct ad_task *task)
{
	blocked_on_json(r, ad_frame_first_blocked_on(task->root));
}

/* The text's header names the summary and counts the task's other waiting
 * leaves (a join's, a select's): a member of the tree only. */
static void more_blocked_on_json(struct render *r, const struct ad_task *task)
{
	size_t n = r->w->out ? 0 : ad_frame_count_blocked_on(task->root);
	if (n > 1) {
		ad_jw_key(r->w, "more_blocked_on");
		ad_jw_uint(r->w, n - 1);
	}
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

static void cycle_json(struct render *r, size_t from, uint64_t id)
{
	ad_jw_array(r->w);
	for (size_t i = from; i < r->npath; i++)
		ad_jw_uint(r->w, r->path[i]);
	ad_jw_uint(r->w, id);
	ad_jw_end_array(r->w);
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
static void task_link_json(struct render *r, uint64_t id, unsigned depth)
{
	struct ad_jw *w = r->w;
	ad_jw_object(w);
	ad_jw_key(w, "kind");
	ad_jw_string(w, "task");
	ad_jw_key(w, "task_id");
	ad_jw_uint(w, id);
	const struct ad_task *b = find_task(r, id);
	if (!b) {
		ad_jw_key(w, "address");
		ad_jw_null(w);
		ad_jw_key(w, "state");
		ad_jw_string(w, ad_task_state_name(AD_TASK_STATE_UNKNOWN));
		ad_jw_key(w, "note");
		ad_jw_null(w);
		ad_jw_key(w, "blocked_on");
		ad_jw_null(w);
		ad_jw_key(w, "missing");
		ad_jw_bool(w, true);
		ad_jw_end_object(w);
		return;
	}
	ad_jw_key(w, "address");
	ad_jw_address(w, b->address);
	ad_jw_key(w, "state");
	ad_jw_kept_string(w, ad_task_state_name(b->state));
	ad_jw_key(w, "note");
	ad_jw_string_or_null(w, b->note);
	ad_jw_key(w, "blocked_on");
	summary_json(r, b);
	more_blocked_on_json(r, b);
	size_t pos;
	if (on_path(r, id, &pos)) {
		ad_jw_key(w, "recursion");
		ad_jw_bool(w, true);
		ad_jw_key(w, "cycle");
		cycle_json(r, pos, id);
	} else if (!may_expand(r, b, depth)) {
		ad_jw_key(w, "truncated");
		ad_jw_bool(w, true);
	} else {
		r->path[r->npath++] = id;
		r->nlinks++;
		ad_jw_key(w, "root");
		if (b->root)
			frame_json(r, b->root, depth + 1, false, NULL);
		else
			ad_jw_null(w);
		r->nlinks--;
		r->npath--;
	}
	ad_jw_end_object(w);
}

/* ad_type_is_adapter(), answered once per type string a rendering: the
 * decoder's frames share theirs, one per type in a trace (r->adapters:
 * the word, no_word or not_adapter). A lookup that cannot be kept for lack
 * of memory is only asked again. */
static const char not_adapter[] = "", no_word[] = "";

static bool is_adapter(struct render *r, const char *type, const char **word)
{
	const char *known = ad_u64map_get(&r->adapters, (uintptr_t)type);
	if (!known) {
		bool adapter = ad_type_is_adapter(type, word);
		known = !adapter ? not_adapter : *word ? *word : no_word;
		ad_u64map_put(&r->adapters, (uintptr_t)type, (void *)(uintptr_t)known);
	}
	*word = known == no_word || known == not_adapter ? NULL : known;
	return known != not_adapter;
}

/* Marks an adapter layer ("adapter": true) and names the one the user wrote
 * ("adapter_name": "Map"). `inside` is the type of the adapter whose own
 * implementation f belongs to (Then is a Flatten over a Map of what it
 * wraps: neither is the user's), or NULL; returns the same for f's children. */
static const char *mark_adapter(struct render *r, const struct ad_frame *f, const char *inside)
{
	struct ad_jw *w = r->w;
	const char *word = NULL;
	if (inside && ad_type_is_generic_argument(inside, f->type))
		inside = NULL; /* the future it wraps: the user's level again */
	if (!is_adapter(r, f->type, &word))
		return NULL;
	ad_jw_key(w, "adapter");
	ad_jw_bool(w, true);
	if (word && !inside) {
		ad_jw_key(w, "adapter_name");
		ad_jw_string(w, word);
		return f->type;
	}
	return inside;
}

static void frame_json(struct render *r, const struct ad_frame *f, unsigned depth,
		       bool is_local, const char *inside)
{
	struct ad_jw *w = r->w;
	ad_jw_object(w);
	struct skeleton_key head = { f->name, f->type, SKELETON_HEAD | f->kind, w->depth };
	if (!copy_skeleton(r, &head)) {
		size_t from = text_mark(r);
		ad_jw_key(w, "kind");
		ad_jw_kept_string(w, ad_frame_kind_name(f->kind));
		ad_jw_key(w, "name");
		ad_jw_kept_string_or_null(w, f->name);
		if (w->out) { /* the text format shows neither */
			ad_jw_key(w, "type");
			ad_jw_string_or_null(w, f->type);
			ad_jw_key(w, "address");
		}
		keep_skeleton(r, &head, from);
	}
	if (w->out)
		ad_jw_address(w, f->address);
	struct skeleton_key middle = { f->location, f->macro_location, SKELETON_MIDDLE | f->state,
				       w->depth };
	if (!copy_skeleton(r, &middle)) {
		size_t from = text_mark(r);
		ad_jw_key(w, "state");
		ad_jw_kept_string(w, ad_frame_state_name(f->state));
		ad_jw_key(w, "location");
		location_json(w, f->location);
		if (f->macro_location) {
			ad_jw_key(w, "macro_location");
			location_json(w, f->macro_location);
		}
		ad_jw_key(w, "blocked_on");
		keep_skeleton(r, &middle, from);
	}
	blocked_on_json(r, f->blocked_on);
	if (f->error) {
		ad_jw_key(w, "error");
		ad_jw_string(w, f->error);
	}
	if (f->not_polled) {
		ad_jw_key(w, "not_polled");
		ad_jw_bool(w, true);
	}
	bool follow_task = f->has_awaits_task && !is_local;
	if (f->has_awaits_task) {
		ad_jw_key(w, "awaits_task");
		ad_jw_uint(w, f->awaits_task);
	}
	inside = mark_adapter(r, f, inside);

	bool has_locals = r->locals && f->nlocals;
	ad_jw_key(w, "children");
	ad_jw_array(w);
	if (depth >= AD_RENDER_MAX_DEPTH && (f->nchildren || follow_task || has_locals)) {
		warn_depth(r);
		ad_jw_end_array(w);
		ad_jw_key(w, "truncated");
		ad_jw_bool(w, true);
		ad_jw_end_object(w);
		return;
	}
	for (size_t i = 0; i < f->nchildren; i++)
		frame_json(r, f->children[i], depth + 1, is_local, inside);
	if (follow_task)
		task_link_json(r, f->awaits_task, depth + 1);
	ad_jw_end_array(w);
	if (has_locals) {
		ad_jw_key(w, "locals");
		ad_jw_array(w);
		for (size_t i = 0; i < f->nlocals; i++)
			frame_json(r, f->locals[i], depth + 1, true, NULL);
		ad_jw_end_array(w);
	}
	ad_jw_end_object(w);
}

static void thread_json(struct ad_jw *w, const struct ad_task *task)
{
	if (!task->tid) {
		ad_jw_null(w);
		return;
	}
	ad_jw_object(w);
	ad_jw_key(w, "tid");
	ad_jw_int(w, task->tid);
	ad_jw_key(w, "name");
	ad_jw_string_or_null(w, task->thread_name);
	ad_jw_end_object(w);
}

static void task_json(struct render *r, const struct ad_task *task)
{
	struct ad_jw *w = r->w;
	r->top = task;
	r->npath = 0;
	r->nlinks = 0;
	r->warned_depth = r->warned_nesting = false;
	if (task->has_id)
		r->path[r->npath++] = task->id;

	ad_jw_object(w);
	ad_jw_key(w, "id");
	if (task->has_id)
		ad_jw_uint(w, task->id);
	else
		ad_jw_null(w);
	ad_jw_key(w, "kind");
	ad_jw_kept_string(w, ad_task_kind_name(task->kind));
	ad_jw_key(w, "address");
	ad_jw_address(w, task->address);
	ad_jw_key(w, "runtime");
	if (task->runtime < r->t->nruntimes)
		ad_jw_int(w, task->runtime);
	else
		ad_jw_null(w);
	ad_jw_key(w, "thread");
	thread_json(w, task);
	ad_jw_key(w, "state");
	ad_jw_kept_string(w, ad_task_state_name(task->state));
	ad_jw_key(w, "note");
	ad_jw_string_or_null(w, task->note);
	if (r->t->not_stopped) {
		ad_jw_key(w, "consistent");
		ad_jw_bool(w, !task->inconsistent);
		ad_jw_key(w, "reads");
		ad_jw_uint(w, task->reads);
	}
	if (task->has_unchanged_for && isfinite(task->unchanged_for_s)) {
		ad_jw_key(w, "unchanged_for_s");
		ad_jw_real(w, task->unchanged_for_s);
	}
	ad_jw_key(w, "blocked_on");
	summary_json(r, task);
	more_blocked_on_json(r, task);
	ad_jw_key(w, "root");
	if (task->root)
		frame_json(r, task->root, 1, false, NULL);
	else
		ad_jw_null(w);
	if (task->expected_wait) {
		ad_jw_key(w, "expected_wait");
		ad_jw_bool(w, true);
	}
	ad_jw_end_object(w);
}

static void runtimes_json(struct ad_jw *w, const struct ad_trace *t)
{
	ad_jw_array(w);
	for (size_t i = 0; i < t->nruntimes; i++) {
		const struct ad_runtime *rt = &t->runtimes[i];
		ad_jw_object(w);
		ad_jw_key(w, "id");
		ad_jw_int(w, rt->id);
		ad_jw_key(w, "kind");
		ad_jw_string_or_null(w, rt->kind);
		ad_jw_key(w, "flavor");
		ad_jw_string_or_null(w, rt->flavor);
		ad_jw_key(w, "address");
		ad_jw_address(w, rt->address);
		ad_jw_key(w, "tasks");
		ad_jw_uint(w, rt->ntasks);
		ad_jw_end_object(w);
	}
	ad_jw_end_array(w);
}

static bool cycle_has_task(const struct ad_cycle *c, uint64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->task_ids[i] == id)
			return true;
	return false;
}

static bool cycle_shown(const struct ad_cycle *c, const struct ad_task *only)
{
	return !only || cycle_has_task(c, only->id);
}

static void cycles_json(struct ad_jw *w, const struct ad_trace *t, const struct ad_task *only)
{
	ad_jw_array(w);
	for (size_t i = 0; i < t->ncycles; i++) {
		const struct ad_cycle *c = &t->cycles[i];
		if (!cycle_shown(c, only))
			continue;
		ad_jw_array(w);
		for (size_t k = 0; k < c->n; k++)
			ad_jw_uint(w, c->task_ids[k]);
		ad_jw_end_array(w);
	}
	ad_jw_end_array(w);
}

/* RFC 3339, UTC, microseconds: "2024-05-01T12:00:00.000412Z"; false when
 * the time cannot be written. */
static bool timestamp(struct timespec ts, char *buf, size_t size)
{
	struct tm tm;
	time_t secs = ts.tv_sec;
	if (!gmtime_r(&secs, &tm))
		return false;
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned micros = (unsigned)(ts.tv_nsec / 1000) % 1000000u;
	snprintf(buf, size, "%s.%06uZ", date, micros);
	return true;
}

/* ------------------------------------------------------------ the stream */

enum phase { PHASE_HEAD, PHASE_TASKS, PHASE_TAIL, PHASE_DONE };

struct ad_render_stream {
	struct render r;
	struct ad_jw w;
	struct ad_outbuf out;
	size_t sent;              /* bytes of out already read */
	enum ad_render_format format;
	const struct ad_task *only;
	enum phase phase;
	size_t next_task;
	bool any_task;
	bool failed;              /* out of memory: the stream stays failed */
	struct ad_strpool nodes;  /* text: the tree of the task being drawn */
};

static void json_head(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	struct ad_jw *w = &s->w;
	char when[64];
	ad_jw_object(w);
	ad_jw_key(w, "pid");
	ad_jw_int(w, t->pid);
	ad_jw_key(w, "exe");
	ad_jw_string_or_null(w, t->exe);
	ad_jw_key(w, "build_id");
	ad_jw_string_or_null(w, t->build_id);
	ad_jw_key(w, "source_root");
	ad_jw_string_or_null(w, t->source_root);
	ad_jw_key(w, "captured_at");
	ad_jw_string_or_null(w, timestamp(t->captured_at, when, sizeof(when)) ? when : NULL);
	ad_jw_key(w, "pause_us");
	if (t->from_core || t->not_stopped)
		ad_jw_null(w); /* nothing was paused */
	else
		ad_jw_uint(w, t->pause_us);
	ad_jw_key(w, "stopped");
	if (t->from_core)
		ad_jw_null(w);
	else
		ad_jw_bool(w, !t->not_stopped);
	ad_jw_key(w, "source");
	ad_jw_string(w, t->from_core ? "core" : "live");
	ad_jw_key(w, "runtimes");
	runtimes_json(w, t);
	ad_jw_key(w, "tasks");
	ad_jw_array(w);
}

static void json_tail(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	struct ad_jw *w = &s->w;
	ad_jw_end_array(w);
	ad_jw_key(w, "cycles");
	cycles_json(w, t, s->only);
	ad_jw_key(w, "warnings");
	ad_jw_array(w);
	for (size_t i = 0; i < t->nwarnings; i++)
		ad_jw_string(w, t->warnings[i]);
	for (size_t i = 0; i < s->r.nwarnings; i++)
		ad_jw_string(w, s->r.warnings[i]);
	ad_jw_end_array(w);
	ad_jw_end_object(w);
}

/* The text format: each task's object as a tree, drawn, then dropped. */
static void text_task(struct ad_render_stream *s, const struct ad_task *task)
{
	struct ad_jw tree = { .out = NULL, .pool = &s->nodes };
	s->r.w = &tree;
	task_json(&s->r, task);
	s->r.w = &s->w;
	if (tree.oom || !tree.root)
		s->r.oom = true;
	else
		ad_text_task(&s->out, s->r.t->source_root, tree.root);
	ad_strpool_reset(&s->nodes);
}

static void text_tail(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	if (!s->any_task)
		ad_text_no_tasks(&s->out);
	for (size_t i = 0; i < t->ncycles; i++)
		if (cycle_shown(&t->cycles[i], s->only))
			ad_text_cycle(&s->out, t->cycles[i].task_ids, t->cycles[i].n);
	for (size_t i = 0; i < t->nwarnings; i++)
		ad_text_warning(&s->out, t->warnings[i]);
	for (size_t i = 0; i < s->r.nwarnings; i++)
		ad_text_warning(&s->out, s->r.warnings[i]);
}

/* Renders the next piece of the document into s->out. */
static void render_piece(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	bool text = s->format == AD_RENDER_TEXT;
	switch (s->phase) {
	case PHASE_HEAD:
		if (text) {
			char when[64];
			ad_text_head(&s->out, t,
				     timestamp(t->captured_at, when, sizeof(when)) ? when : NULL);
		} else {
			json_head(s);
		}
		s->phase = PHASE_TASKS;
		break;
	case PHASE_TASKS:
		while (s->next_task < t->ntasks && s->only && s->only != &t->tasks[s->next_task])
			s->next_task++;
		if (s->next_task >= t->ntasks) {
			s->phase = PHASE_TAIL;
			break;
		}
		s->any_task = true;
		if (text)
			text_task(s, &t->tasks[s->next_task]);
		else
			task_json(&s->r, &t->tasks[s->next_task]);
		s->next_task++;
		break;
	case PHASE_TAIL:
		if (text)
			text_tail(s);
		else
			json_tail(s);
		s->phase = PHASE_DONE;
		break;
	case PHASE_DONE:
		break;
	}
}

struct ad_error *ad_render_stream_create(const struct ad_trace *t, enum ad_render_format format,
					 const struct ad_render_options *options,
					 struct ad_render_stream **ret)
{
	const struct ad_task *only = NULL;
	if (options && options->has_task) {
		only = ad_trace_find_task(t, options->task);
		if (!only)
			return ad_error_create(AD_ERROR_NOT_FOUND,
					       "no task with id %" PRIu64 " in process %d",
					       options->task, (int)t->pid);
	}
	struct ad_render_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return nomem();
	struct ad_render_options o = options ? *options : (struct ad_render_options){ 0 };
	if (format == AD_RENDER_TEXT && !o.max_task_nesting)
		o.max_task_nesting = AD_RENDER_MAX_TASK_NESTING; /* the design nests */
	render_init(&s->r, t, &o, &s->w);
	s->r.keep_warnings = true;
	s->w.out = &s->out;
	s->w.indent = format == AD_RENDER_JSON_PRETTY ? 2 : 0;
	s->format = format;
	s->only = only;
	*ret = s;
	return NULL;
}

/* Fills `buf` with as many pieces as fit: a piece is one task (about a
 * kilobyte), and a reader that got one per call (an HTTP response) paid a
 * send and a poll for each. */
struct ad_error *ad_render_stream_read(struct ad_render_stream *s, char *buf, size_t size,
				       size_t *len)
{
	*len = 0;
	while (*len < size) {
		while (!s->failed && s->sent == s->out.len && s->phase != PHASE_DONE) {
			s->out.len = s->sent = 0;
			render_piece(s);
			s->failed = s->out.oom || s->w.oom || s->r.oom;
		}
		if (s->failed) /* after what is in buf: the next call says it */
			return *len ? NULL : nomem();
		size_t n = s->out.len - s->sent;
		if (!n)
			break;
		if (n > size - *len)
			n = size - *len;
		memcpy(buf + *len, s->out.buf + s->sent, n);
		s->sent += n;
		*len += n;
	}
	return NULL;
}

void ad_render_stream_destroy(struct ad_render_stream *s)
{
	if (!s)
		return;
	render_fini(&s->r);
	ad_strpool_deinit(&s->nodes);
	free(s->out.buf);
	free(s);
}

/* The whole of a stream into one string. */
static struct ad_error *read_all(struct ad_render_stream *s, char **ret, size_t *len)
{
	struct ad_outbuf all = { 0 };
	ad_outbuf_append(&all, "", 0); /* an empty document is still a string */
	char chunk[65536];
	size_t n;
	struct ad_error *err;
	while (!(err = ad_render_stream_read(s, chunk, sizeof(chunk), &n)) && n)
		ad_outbuf_append(&all, chunk, n);
	if (!err && all.oom)
		err = nomem();
	if (err) {
		free(all.buf);
		return err;
	}
	*ret = all.buf;
	if (len)
		*len = all.len;
	return NULL;
}

static struct ad_error *render_whole(const struct ad_trace *t, enum ad_render_format format,
				    const struct ad_render_options *options, char **ret,
				    size_t *len)
{
	struct ad_render_stream *s;
	struct ad_error *err = ad_render_stream_create(t, format, options, &s);
	if (err)
		return err;
	err = read_all(s, ret, len);
	ad_render_stream_destroy(s);
	return err;
}

struct ad_error *ad_render_json(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret, size_t *len)
{
	return render_whole(t, AD_RENDER_JSON, options, ret, len);
}

struct ad_error *ad_render_text(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret)
{
	return render_whole(t, AD_RENDER_TEXT, options, ret, NULL);
}

struct ad_error *ad_render_task_json(const struct ad_trace *t, const struct ad_task *task,
				     const struct ad_render_options *options, char **ret,
				     size_t *len)
{
	struct ad_outbuf out = { 0 };
	struct ad_jw w = { .out = &out };
	struct render r;
	render_init(&r, t, options, &w);
	task_json(&r, task);
	bool oom = r.oom || w.oom || out.oom;
	render_fini(&r);
	if (oom) {
		free(out.buf);
		return nomem();
	}
	*ret = out.buf;
	if (len)
		*len = out.len;
	return NULL;
}
