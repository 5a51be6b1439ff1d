/* SPDX-License-Identifier: MIT */
/* The design's text format of a trace ("logical stack traces").
 *
 * It is drawn from the JSON document, so that both outputs expand task links,
 * detect cycles and cut big trees in exactly the same way.
 *
 * The document: a line saying which process and when, then one block per
 * task, then the wait-for cycles and the warnings. A block is a header line
 * (it names the first leaf the task waits on; a join or a select that waits
 * on several adds "[+N more below]"), a blank line, the frames indented four
 * columns, a blank line:
 *
 *   task 0x1234 (id 7, idle) ~ blocked on timer 0x789 [unchanged 5m12s]
 *
 *       my_program::sleep() suspended at src/foo.rs:24 [blocked on timer 0x789]
 *       my_program::foo() suspended at src/foo.rs:36
 *
 * Frames go from the innermost outwards: a frame's children come before it.
 * A leaf future that an async fn or block awaits (Sleep, Notified, a
 * JoinHandle…) is drawn on that frame's line as "[blocked on …]", as in the
 * design; the JSON keeps it as a frame of its own.
 * A frame with several children (join!, select!, join_all) is drawn as an
 * upside-down git log graph. Branch 0 runs in the frame's own column, straight
 * down to the frame. Every further branch runs in the lane two columns to the
 * right, with "| " marking the frame's column beside it, and merges into it
 * with "|/" as soon as it ends; the next branch then reuses that lane. A
 * branch that is itself a join nests the same drawing one lane further right.
 * So width grows with the nesting of joins, never with their number of
 * branches. A join of a, of a nested join of d and e, and of c:
 *
 *       a()
 *       | d()
 *       | | e()
 *       | |/
 *       | futures_util::future::join::Join<…>
 *       |/
 *       | c()
 *       |/
 *       my_program::foo() suspended at src/foo.rs:43
 *
 * Adapter layers (futures' Map, Then, Fuse…, marked "adapter" in the JSON)
 * fold into the frame they wrap, which then says "via Map, Then" in the order
 * the code wrote them; the JSON keeps them as frames of their own:
 *
 *       my_program::source() suspended at src/foo.rs:12 via Map, Then [blocked on timer 0x789]
 *       my_program::foo() suspended at src/foo.rs:30
 *
 * Under a frame's line come its locals (with options->locals), two columns in,
 * drawn the same way and marked "(not polled)"; then, when it awaits another
 * task, that task's block: its header at the frame's column and its frames
 * four columns further in, or "[recursion detected, not showing trace]" when
 * the task is one of those already being shown (a cycle).
 *
 * Every string from the target is printed with control characters escaped,
 * so that a thread name cannot drive the reader's terminal. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/render.h"
#include "digits.h"
#include "render_internal.h"

struct text {
	struct ad_outbuf *o;
	const char *source_root;
};

static void out_n(struct text *x, const char *s, size_t n)
{
	ad_outbuf_append(x->o, s, n);
}

static void out(struct text *x, const char *s)
{
	out_n(x, s, strlen(s));
}

/* A number as outf("%" PRId64) writes it, without printf: a line number
 * and an id on every task. */
static void out_int(struct text *x, int64_t v)
{
	char buf[24], *end = buf + sizeof(buf);
	char *start = ad_signed_digits(v, end);
	out_n(x, start, (size_t)(end - start));
}

static void outf(struct text *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct text *x, const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		x->o->oom = true;
		return;
	}
	out_n(x, s, (size_t)n);
	free(s);
}

/* Whether the eight bytes in v hold a control byte, DEL or 0xc2 (the first
 * byte of a C1 control's UTF-8): exact, as word_ends_plain_run() in
 * render_json.c. */
static bool word_may_need_escape(uint64_t v)
{
#define BYTES(b) (0x0101010101010101ull * (b))
	uint64_t del = v ^ BYTES(0x7f), c2 = v ^ BYTES(0xc2);
	uint64_t below_space = (v - BYTES(0x20)) & ~v;
	uint64_t is_del = (del - BYTES(1)) & ~del, is_c2 = (c2 - BYTES(1)) & ~c2;
	return (below_space | is_del | is_c2) & BYTES(0x80);
#undef BYTES
}

/* C0 and C1 control characters (the C1 ones as their UTF-8 encoding) and DEL
 * are written as escapes: they could move a terminal's cursor or recolour it.
 * Almost no string has one: it is looked for eight bytes a step. */
static void out_clean(struct text *x, const char *s)
{
	size_t len = strlen(s), clean = 0;
	for (uint64_t v; clean + 8 <= len; clean += 8) {
		memcpy(&v, s + clean, 8);
		if (word_may_need_escape(v))
			break;
	}
	const unsigned char *p = (const unsigned char *)s + clean, *run = (const unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x20 || *p == 0x7f			      ? 1
			   : p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2
									  : 0;
		if (!n) {
			p++;
			continue;
		}
		out_n(x, (const char *)run, (size_t)(p - run));
		outf(x, n == 1 ? "\\x%02x" : "\\u%04x", n == 1 ? p[0] : p[1]);
		p += n;
		run = p;
	}
	out_n(x, (const char *)run, (size_t)(p - run));
}

/* Keys are literals: their length is known without strlen. */
#define get(o, key) ad_node_get((o), "" key, sizeof(key) - 1)
#define get_str(o, key) ad_node_str(get((o), key))
#define get_true(o, key) ad_node_is(get((o), key), AD_NODE_TRUE)

static bool is_object(const struct ad_node *n)
{
	return ad_node_is(n, AD_NODE_OBJECT);
}

static bool is_task_link(const struct ad_node *child)
{
	const char *kind = get_str(child, "kind");
	return kind && strcmp(kind, "task") == 0;
}

static bool is_true(const struct ad_node *n)
{
	return ad_node_is(n, AD_NODE_TRUE);
}

/* The members of a frame object that drawing it reads, found in one walk
 * over its members: each is asked for several times, and looking each up
 * by key was the largest part of drawing a task. */
struct frame_view {
	const struct ad_node *kind, *name, *state, *location, *macro_location, *blocked_on,
		*error, *not_polled, *children, *locals, *adapter, *adapter_name, *truncated;
};

/* The keys written and asked for are the same literals, which the linker
 * usually merges: most tests end at the address. */
#define KEY_IS(m, name)                                                                 \
	((m)->key_len == sizeof(name) - 1 &&                                             \
	 ((m)->key == (name) || memcmp((m)->key, name, sizeof(name) - 1) == 0))

static const struct ad_node **view_slot(struct frame_view *v, const struct ad_node *m)
{
	switch (m->key_len) {
	case 4: return KEY_IS(m, "kind") ? &v->kind : KEY_IS(m, "name") ? &v->name : NULL;
	case 5: return KEY_IS(m, "state") ? &v->state : KEY_IS(m, "error") ? &v->error : NULL;
	case 6: return KEY_IS(m, "locals") ? &v->locals : NULL;
	case 7: return KEY_IS(m, "adapter") ? &v->adapter : NULL;
	case 8: return KEY_IS(m, "location") ? &v->location : KEY_IS(m, "children") ? &v->children : NULL;
	case 9: return KEY_IS(m, "truncated") ? &v->truncated : NULL;
	case 10: return KEY_IS(m, "blocked_on") ? &v->blocked_on : KEY_IS(m, "not_polled") ? &v->not_polled : NULL;
	case 12: return KEY_IS(m, "adapter_name") ? &v->adapter_name : NULL;
	case 14: return KEY_IS(m, "macro_location") ? &v->macro_location : NULL;
	default: return NULL;
	}
}

/* As ad_node_get() for each: the first member with the key, NULL for none
 * or when f is no object. */
static struct frame_view view(const struct ad_node *f)
{
	struct frame_view v = { 0 };
	for (const struct ad_node *m = is_object(f) ? f->first : NULL; m; m = m->next) {
		const struct ad_node **slot = view_slot(&v, m);
		if (slot && !*slot)
			*slot = m;
	}
	return v;
}

/* file relative to the program's source root, when it lies under it. */
static const char *short_path(const struct text *x, const char *file)
{
	const char *root = x->source_root;
	if (!root || !*root)
		return file;
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (strncmp(file, root, n) == 0 && file[n] == '/' && file[n + 1])
		return file + n + 1;
	return file;
}

static void out_location(struct text *x, const struct ad_node *loc)
{
	const char *file = get_str(loc, "file");
	out_clean(x, file ? short_path(x, file) : "?");
	int64_t line = ad_node_int(get(loc, "line"));
	if (line > 0) {
		out_n(x, ":", 1);
		out_int(x, line);
	}
}

static void out_state(struct text *x, const struct frame_view *f)
{
	const char *state = ad_node_str(f->state);
	const struct ad_node *loc = f->location;
	if (!state)
		state = "unknown";
	if (strcmp(state, "panicked") == 0) {
		out(x, " panicked");
		return;
	}
	if (strcmp(state, "unknown") != 0) {
		out(x, " ");
		out(x, state);
	}
	if (is_object(loc)) {
		out(x, " at ");
		out_location(x, loc);
	}
}

/* Adapter layers (futures_util's Map, Then, Fuse, tracing's Instrumented…,
 * "adapter": true in the JSON) fold into the frame they wrap, whose line
 * then says "via Map, Then": the user's frames stay together. The words
 * read in the order the code wrote them (`fut.map(f).then(g)`), innermost
 * first. */
#define MAX_VIA 16

struct via {
	const char *words[MAX_VIA]; /* outermost first, as met going down */
	size_t n;
};

static bool foldable_adapter(const struct frame_view *f)
{
	return is_true(f->adapter) && ad_node_size(f->children) == 1 &&
	       !is_task_link(ad_node_first(f->children)) && !is_object(f->blocked_on) &&
	       !ad_node_str(f->error) && !ad_node_size(f->locals) && !is_true(f->truncated) &&
	       !is_true(f->not_polled);
}

/* The frame that f's adapter layers wrap (f itself when it is none), and
 * its view in *v; their names go to *via. Bounded like the document's
 * nesting. */
static const struct ad_node *skip_adapters(const struct ad_node *f, struct via *via,
					   struct frame_view *v)
{
	via->n = 0;
	*v = view(f);
	for (unsigned i = 0; i < AD_RENDER_MAX_DEPTH && foldable_adapter(v); i++) {
		const char *word = ad_node_str(v->adapter_name);
		if (word && via->n < MAX_VIA && (!via->n || strcmp(via->words[via->n - 1], word) != 0))
			via->words[via->n++] = word;
		f = ad_node_first(v->children);
		*v = view(f);
	}
	return f;
}

static void out_via(struct text *x, const struct via *via, const char *before)
{
	if (!via || !via->n)
		return;
	out(x, before);
	for (size_t i = via->n; i-- > 0;) {
		out_clean(x, via->words[i]);
		if (i)
			out(x, ", ");
	}
}

/* A leaf future (Sleep, Notified, a JoinHandle's task aside) awaited by an
 * async fn/block is drawn on its parent's line, as the design does:
 * "my_program::sleep() suspended at src/foo.rs:24 [blocked on timer 0x789]".
 * The JSON keeps it as a frame of its own. Adapters between them fold too. */
static const struct ad_node *folded_leaf(const struct frame_view *f, struct via *via)
{
	const char *kind = ad_node_str(f->kind);
	if (!kind || strncmp(kind, "async_", 6) != 0 || ad_node_size(f->children) != 1 ||
	    is_object(f->blocked_on))
		return NULL;
	struct frame_view l;
	const struct ad_node *leaf = skip_adapters(ad_node_first(f->children), via, &l), *child;
	const char *leaf_kind = ad_node_str(l.kind);
	if (!leaf_kind || strcmp(leaf_kind, "future") != 0 || !is_object(l.blocked_on) ||
	    ad_node_size(l.locals) || ad_node_str(l.error) || is_true(l.truncated))
		return NULL;
	/* A JoinHandle's only child is the awaited task, drawn below the line. */
	for (child = ad_node_first(l.children); child; child = child->next)
		if (!is_task_link(child))
			return NULL;
	return leaf;
}

/* "my_program::sleep() suspended at src/foo.rs:24 via Map [blocked on timer 0x789]" */
static void frame_line(struct text *x, const char *prefix, const struct frame_view *f,
		       const struct via *via, const struct ad_node *leaf, const struct via *leaf_via)
{
	out(x, prefix);
	if (is_true(f->not_polled))
		out(x, "(not polled) ");
	const char *name = ad_node_str(f->name);
	out_clean(x, name ? name : "?");
	const char *kind = ad_node_str(f->kind);
	if (kind && strcmp(kind, "async_fn") == 0)
		out(x, "()");
	out_state(x, f);
	if (is_object(f->macro_location)) {
		out(x, " (macro at ");
		out_location(x, f->macro_location);
		out(x, ")");
	}
	out_via(x, via, " via ");
	const char *blocked =
		get_str(leaf ? get(leaf, "blocked_on") : f->blocked_on, "description");
	if (blocked) {
		out(x, " [blocked on ");
		out_clean(x, blocked);
		out_via(x, leaf ? leaf_via : NULL, ", via ");
		out(x, "]");
	}
	const char *error = ad_node_str(f->error);
	if (error) {
		out(x, " [undecodable: ");
		out_clean(x, error);
		out(x, "]");
	}
	out(x, "\n");
}

static void line(struct text *x, const char *prefix, const char *s)
{
	out(x, prefix);
	out(x, s);
	out(x, "\n");
}

/* prefix + suffix in a new string, or NULL (x->o->oom set). */
static char *extend(struct text *x, const char *prefix, const char *suffix)
{
	char *s;
	if (asprintf(&s, "%s%s", prefix, suffix) < 0) {
		x->o->oom = true;
		return NULL;
	}
	return s;
}

static void write_link(struct text *x, const char *prefix, const struct ad_node *link);

/* Recursion follows the JSON document, whose nesting ad_render_json() bounds. */
static void write_subtree(struct text *x, const char *prefix, const struct ad_node *f)
{
	if (x->o->oom)
		return;
	struct via via, leaf_via = { .n = 0 };
	struct frame_view v;
	skip_adapters(f, &via, &v);
	if (is_true(v.truncated))
		line(x, prefix, "[deeper frames not shown]");
	const struct ad_node *leaf = folded_leaf(&v, &leaf_via);
	const struct ad_node *children = leaf ? NULL : v.children, *child;
	size_t nbranches = 0;
	for (child = ad_node_first(children); child; child = child->next)
		nbranches += !is_task_link(child);
	char *lane = nbranches > 1 ? extend(x, prefix, "| ") : NULL;
	char *merge = nbranches > 1 ? extend(x, prefix, "|/") : NULL;
	size_t branch = 0;
	for (child = ad_node_first(children); child; child = child->next) {
		if (is_task_link(child))
			continue;
		if (branch++ == 0) {
			write_subtree(x, prefix, child);
		} else if (lane && merge) {
			write_subtree(x, lane, child);
			line(x, merge, "");
		}
	}
	free(lane);
	free(merge);

	frame_line(x, prefix, &v, &via, leaf, &leaf_via);

	const struct ad_node *locals = v.locals, *local;
	char *local_prefix = ad_node_size(locals) ? extend(x, prefix, "  ") : NULL;
	for (local = ad_node_first(locals); local; local = local->next)
		if (local_prefix)
			write_subtree(x, local_prefix, local);
	free(local_prefix);

	for (child = ad_node_first(leaf ? get(leaf, "children") : children); child; child = child->next)
		if (is_task_link(child))
			write_link(x, prefix, child);
}

static void out_duration(struct text *x, double seconds)
{
	uint64_t s = seconds > 0 && isfinite(seconds) ? (uint64_t)seconds : 0;
	if (s < 60)
		outf(x, "%" PRIu64 "s", s);
	else if (s < 3600)
		outf(x, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		outf(x, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600, s / 60 % 60, s % 60);
}

/* "task 0x1234 (id 7, idle) on thread 42 "worker" ~ blocked on … [unchanged 5m12s]",
 * for a task object and for a task link alike. */
static void task_header(struct text *x, const char *prefix, const struct ad_node *task)
{
	const char *kind = get_str(task, "kind");
	bool block_on = kind && strcmp(kind, "block_on") == 0;
	const struct ad_node *id = get(task, "id") ? get(task, "id") : get(task, "task_id");
	const char *address = get_str(task, "address");
	const char *state = get_str(task, "state");
	const struct ad_node *thread = get(task, "thread");

	out(x, prefix);
	out(x, kind && strcmp(kind, "local") == 0 ? "local task" : block_on ? "block_on" : "task");
	if (address && !(block_on && is_object(thread))) {
		out_n(x, " ", 1);
		out(x, address);
	}
	if (!block_on) {
		out(x, " (");
		if (ad_node_is(id, AD_NODE_INT)) {
			out(x, "id ");
			out_int(x, ad_node_int(id));
			out(x, state && !get_true(task, "missing") ? ", " : "");
		}
		if (!get_true(task, "missing"))
			out(x, state ? state : "unknown");
		out(x, ")");
	}
	if (is_object(thread)) {
		out(x, " on thread ");
		out_int(x, ad_node_int(get(thread, "tid")));
		const char *name = get_str(thread, "name");
		if (name) {
			out(x, " \"");
			out_clean(x, name);
			out(x, "\"");
		}
	}
	const char *blocked = get_str(get(task, "blocked_on"), "description");
	if (blocked) {
		/* The task's blocked_on is its first waiting leaf's; a join or a
		 * select waits on the others too, drawn below. */
		const struct ad_node *more = get(task, "more_blocked_on");
		out(x, " ~ blocked on ");
		out_clean(x, blocked);
		if (ad_node_is(more, AD_NODE_INT)) {
			out(x, " [+");
			out_int(x, ad_node_int(more));
			out(x, " more below]");
		}
	}
	if (ad_node_is(get(task, "consistent"), AD_NODE_FALSE))
		out(x, " [inconsistent: changed while read]");
	const struct ad_node *unchanged = get(task, "unchanged_for_s");
	if (ad_node_is(unchanged, AD_NODE_INT) || ad_node_is(unchanged, AD_NODE_REAL)) {
		out(x, " [unchanged ");
		out_duration(x, ad_node_number(unchanged));
		out(x, "]");
	}
	out(x, "\n");
}

/* The frames of a task (object or link) under its header, or why there are none. */
static void task_body(struct text *x, const char *prefix, const struct ad_node *task)
{
	const struct ad_node *root = get(task, "root");
	const char *note = get_str(task, "note");
	if (get_true(task, "recursion")) {
		line(x, prefix, "[recursion detected, not showing trace]");
	} else if (get_true(task, "missing")) {
		line(x, prefix, "[not in this sample]");
	} else if (get_true(task, "truncated")) {
		line(x, prefix,
		     "[not expanded here: output limit reached, see the task on its own]");
	} else if (!is_object(root)) {
		out(x, prefix);
		out(x, "[undecodable: ");
		out_clean(x, note ? note : "the task's future could not be decoded");
		out(x, "]\n");
		return;
	} else {
		write_subtree(x, prefix, root);
	}
	if (note) {
		out(x, prefix);
		out(x, "(note: ");
		out_clean(x, note);
		out(x, ")\n");
	}
}

static void write_link(struct text *x, const char *prefix, const struct ad_node *link)
{
	task_header(x, prefix, link);
	char *inner = extend(x, prefix, "    ");
	if (inner)
		task_body(x, inner, link);
	free(inner);
}

void ad_text_head(struct ad_outbuf *o, const struct ad_trace *t, const char *captured_at)
{
	struct text x = { .o = o, .source_root = t->source_root };
	outf(&x, "process %d", (int)t->pid);
	if (t->exe) {
		out(&x, " ");
		out_clean(&x, t->exe);
	}
	if (t->from_core)
		outf(&x, ", from a core written at %s\n\n", captured_at ? captured_at : "?");
	else if (t->not_stopped)
		outf(&x, ", read at %s without stopping it\n\n", captured_at ? captured_at : "?");
	else
		outf(&x, ", captured at %s, paused %" PRIu64 " us\n\n",
		     captured_at ? captured_at : "?", t->pause_us);
}

void ad_text_no_tasks(struct ad_outbuf *o)
{
	ad_outbuf_append(o, "(no tasks)\n\n", 12);
}

void ad_text_task(struct ad_outbuf *o, const char *source_root, const struct ad_node *task)
{
	struct text x = { .o = o, .source_root = source_root };
	task_header(&x, "", task);
	out(&x, "\n");
	task_body(&x, "    ", task);
	out(&x, "\n");
}

void ad_text_cycle(struct ad_outbuf *o, const uint64_t *task_ids, size_t n)
{
	struct text x = { .o = o };
	out(&x, "cycle:");
	for (size_t k = 0; k < n; k++)
		outf(&x, "%s task %" PRIu64, k ? " ->" : "", task_ids[k]);
	out(&x, "\n");
}

void ad_text_warning(struct ad_outbuf *o, const char *warning)
{
	struct text x = { .o = o };
	out(&x, "warning: ");
	out_clean(&x, warning);
	out(&x, "\n");
}
