/* SPDX-License-Identifier: MIT */
/* The JSON and text renderers, on traces built by hand with the builder API:
 * the design's three suspension points, joins, tasks awaiting tasks, cycles,
 * undecodable frames, locals, the bounds; every document is validated against
 * docs/trace.schema.json with Python's jsonschema. The expected text is the
 * design's format (/work/shared/seed/logical-stack-traces.md) as render_text.c
 * documents it. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asyncdump/render.h"
#include "failing_alloc.h"
#include "render_json_reference.h"

#define ck_ok(expr) ck_assert_ptr_null(expr)

#define SRC "/home/u/my_program"
#define HEADER                                                                                  \
	"process 4242 " SRC "/target/debug/my_program, captured at 2024-05-01T12:00:00.000412Z, " \
	"paused 412 us\n\n"
#define NO_ID UINT64_MAX

/* ---------------------------------------------------------------- building traces */

static struct ad_trace *new_trace(void)
{
	struct ad_trace *t = ad_trace_create();
	ck_assert_ptr_nonnull(t);
	t->pid = 4242;
	ck_ok(ad_trace_set_exe(t, SRC "/target/debug/my_program"));
	ck_ok(ad_trace_set_build_id(t, "abc123"));
	ck_ok(ad_trace_set_source_root(t, SRC));
	t->captured_at = (struct timespec){ .tv_sec = 1714564800, .tv_nsec = 412000 };
	t->pause_us = 412;
	struct ad_runtime *rt;
	ck_ok(ad_trace_add_runtime(t, "tokio", "multi_thread", 0x7000, &rt));
	return t;
}

static struct ad_task *add_task(struct ad_trace *t, uint64_t id, uint64_t address,
				enum ad_task_state state, struct ad_frame *root)
{
	struct ad_task *task;
	ck_ok(ad_trace_add_task(t, &task));
	task->has_id = id != NO_ID;
	task->id = id != NO_ID ? id : 0;
	task->address = address;
	task->state = state;
	task->root = root;
	t->runtimes[0].ntasks++;
	return task;
}

/* file is relative to SRC, or NULL for no location. */
static struct ad_frame *frame(enum ad_frame_kind kind, const char *name, uint64_t address,
			      enum ad_frame_state state, const char *file, unsigned line)
{
	char type[256];
	snprintf(type, sizeof(type), "%s%s", name,
		 kind == AD_FRAME_ASYNC_FN ? "::{async_fn_env#0}" : "");
	struct ad_frame *f = ad_frame_create(kind, name, type, address);
	ck_assert_ptr_nonnull(f);
	f->state = state;
	if (file) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", SRC, file);
		ck_ok(ad_frame_set_location(f, path, line, 0));
	}
	return f;
}

static struct ad_frame *async_fn(const char *name, uint64_t address, enum ad_frame_state state,
				 const char *file, unsigned line)
{
	return frame(AD_FRAME_ASYNC_FN, name, address, state, file, line);
}

static struct ad_frame *future(const char *name, uint64_t address, enum ad_frame_state state)
{
	return frame(AD_FRAME_FUTURE, name, address, state, NULL, 0);
}

static struct ad_frame *add(struct ad_frame *parent, struct ad_frame *child)
{
	ck_ok(ad_frame_add_child(parent, child));
	return child;
}

static struct ad_frame *add_local(struct ad_frame *parent, struct ad_frame *local)
{
	local->not_polled = true;
	ck_ok(ad_frame_add_local(parent, local));
	return local;
}

static struct ad_blocked_on *block(struct ad_frame *f, enum ad_resource_kind kind,
				   uint64_t address)
{
	struct ad_blocked_on *b;
	ck_ok(ad_frame_block_on(f, kind, address, &b));
	return b;
}

/* The leaf of a task awaiting another: a JoinHandle, blocked on the task, whose
 * tree continues there. */
static struct ad_frame *join_handle(uint64_t address, uint64_t task_address, uint64_t task_id)
{
	struct ad_frame *f = future("tokio::runtime::task::join::JoinHandle<()>", address,
				    AD_FRAME_PENDING);
	struct ad_blocked_on *b = block(f, AD_RESOURCE_TASK, task_address);
	b->has_task_id = true;
	b->task_id = task_id;
	f->has_awaits_task = true;
	f->awaits_task = task_id;
	return f;
}

/* ---------------------------------------------------------------- rendering helpers */

static const struct ad_render_options no_options = { 0 };
static const struct ad_render_options with_locals = { .locals = true };

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *v = json_loads(text, 0, &error);
	ck_assert_msg(v != NULL, "not JSON: %s at %d: %.200s", error.text, error.position, text);
	return v;
}

/* The whole of a stream, read `chunk` bytes at a time. */
static char *read_stream(const struct ad_trace *t, enum ad_render_format format,
			 const struct ad_render_options *o, size_t chunk)
{
	struct ad_render_stream *s = NULL;
	ck_ok(ad_render_stream_create(t, format, o, &s));
	size_t len = 0, cap = 64, n = chunk, last;
	char *all = malloc(cap);
	ck_assert_ptr_nonnull(all);
	do {
		if (cap - len <= chunk) {
			cap = 2 * cap + chunk;
			ck_assert_ptr_nonnull(all = realloc(all, cap));
		}
		last = n;
		ck_ok(ad_render_stream_read(s, all + len, chunk, &n));
		ck_assert_uint_le(n, chunk);
		/* A read comes back short only at the end of the document. */
		ck_assert_msg(last == chunk || n == 0, "a read of %zu bytes after a short one", n);
		len += n;
	} while (n);
	all[len] = '\0';
	ad_render_stream_destroy(s);
	return all;
}

/* text with each "time_left_s" number written as jansson writes the double
 * it reads as: the renderer writes those seconds exactly in decimal
 * ("3580.976010972"), jansson in 17 digits ("3580.9760109720001"). Every
 * other byte is compared as it is. */
static char *seconds_as_jansson(const char *text)
{
	static const char key[] = "\"time_left_s\":";
	size_t cap = strlen(text) + 1, len = 0;
	for (const char *p = text; (p = strstr(p, key)); p++)
		cap += 32;
	char *out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	const char *p = text, *k;
	while ((k = strstr(p, key))) {
		const char *number = k + strlen(key);
		while (*number == ' ')
			number++;
		memcpy(out + len, p, (size_t)(number - p));
		len += (size_t)(number - p);
		char *end;
		double v = strtod(number, &end);
		ck_assert_ptr_ne(end, number);
		json_t *real = json_real(v);
		char *as_jansson = json_dumps(real, JSON_ENCODE_ANY);
		ck_assert_ptr_nonnull(as_jansson);
		ck_assert_uint_lt(strlen(as_jansson), 32);
		memcpy(out + len, as_jansson, strlen(as_jansson));
		len += strlen(as_jansson);
		free(as_jansson);
		json_decref(real);
		p = end;
	}
	strcpy(out + len, p);
	return out;
}

/* a and b byte for byte, but for how time_left_s's digits are written. */
static void assert_same_text(const char *a, const char *b)
{
	char *na = seconds_as_jansson(a), *nb = seconds_as_jansson(b);
	ck_assert_str_eq(na, nb);
	free(na);
	free(nb);
}

/* The document, checked against the jansson renderer it replaced (the same
 * JSON value), and the same when streamed in small pieces or indented. */
static json_t *render_json(const struct ad_trace *t, const struct ad_render_options *o)
{
	char *text = NULL;
	size_t len = 0;
	ck_ok(ad_render_json(t, o, &text, &len));
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	json_t *doc = parse(text);

	json_t *reference = NULL;
	ck_ok(ref_render_json(t, o, &reference));
	ck_assert_msg(json_equal(doc, reference), "streamed and reference documents differ: %.300s",
		      text);
	char *reference_text = json_dumps(reference, JSON_COMPACT);
	assert_same_text(text, reference_text); /* even byte for byte */
	free(reference_text);
	json_decref(reference);

	char *streamed = read_stream(t, AD_RENDER_JSON, o, 7);
	ck_assert_str_eq(streamed, text);
	free(streamed);
	char *pretty = read_stream(t, AD_RENDER_JSON_PRETTY, o, 4096);
	reference_text = json_dumps(doc, JSON_INDENT(2));
	assert_same_text(pretty, reference_text);
	free(reference_text);
	free(pretty);
	free(text);
	return doc;
}

/* One task's object, checked as render_json() checks the document. */
static json_t *render_task_json(const struct ad_trace *t, const struct ad_task *task,
				const struct ad_render_options *o)
{
	char *text = NULL;
	ck_ok(ad_render_task_json(t, task, o, &text, NULL));
	json_t *one = parse(text);
	json_t *reference = NULL;
	ck_ok(ref_render_task_json(t, task, o, &reference));
	ck_assert(json_equal(one, reference));
	json_decref(reference);
	free(text);
	return one;
}

static char *render_text(const struct ad_trace *t, const struct ad_render_options *o)
{
	char *s = NULL;
	ck_ok(ad_render_text(t, o, &s));
	ck_assert_ptr_nonnull(s);
	return s;
}

static void assert_text(const struct ad_trace *t, const struct ad_render_options *o,
			const char *expected)
{
	char *s = render_text(t, o);
	ck_assert_str_eq(s, expected);
	free(s);
}

/* The value at a path like "tasks/0/root/children/1/name", or NULL. */
static json_t *at(json_t *v, const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *part = strtok_r(buf, "/", &save); part && v; part = strtok_r(NULL, "/", &save)) {
		char *end;
		unsigned long i = strtoul(part, &end, 10);
		bool index = json_is_array(v) && *end == '\0';
		v = index ? json_array_get(v, i) : json_object_get(v, part);
	}
	return v;
}

static const char *str_at(json_t *v, const char *path)
{
	json_t *s = at(v, path);
	ck_assert_msg(json_is_string(s), "%s is not a string", path);
	return json_string_value(s);
}

static json_int_t int_at(json_t *v, const char *path)
{
	json_t *i = at(v, path);
	ck_assert_msg(json_is_integer(i), "%s is not an integer", path);
	return json_integer_value(i);
}

static size_t size_at(json_t *v, const char *path)
{
	json_t *a = at(v, path);
	ck_assert_msg(json_is_array(a), "%s is not an array", path);
	return json_array_size(a);
}

static void assert_null_at(json_t *v, const char *path)
{
	json_t *n = at(v, path);
	ck_assert_msg(json_is_null(n), "%s is not null", path);
}

static void assert_absent(json_t *v, const char *path)
{
	ck_assert_msg(at(v, path) == NULL, "%s should be absent", path);
}

static void assert_ids_at(json_t *v, const char *path, const json_int_t *ids, size_t n)
{
	ck_assert_uint_eq(size_at(v, path), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(json_integer_value(json_array_get(at(v, path), i)), ids[i]);
}

static void assert_error(struct ad_error *err, enum ad_error_code code, const char *message)
{
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, code);
	ck_assert_str_eq(err->message, message);
	ad_error_destroy(err);
}

/* ---------------------------------------------------------------- fixtures */

/* The design's suspension point #1: foo awaits sleep; bar and baz are created
 * but not polled (locals). */
static struct ad_trace *design_point1(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *foo = async_fn("my_program::foo", 0x1300, AD_FRAME_SUSPENDED, NULL, 0);
	ck_ok(ad_frame_set_location(foo, SRC "/src/foo.rs", 36, 5));
	struct ad_frame *sleep = add(foo, async_fn("my_program::sleep", 0x1380, AD_FRAME_SUSPENDED,
						   "src/foo.rs", 24));
	block(sleep, AD_RESOURCE_TIMER, 0x789);
	add_local(foo, async_fn("my_program::bar", 0x1310, AD_FRAME_UNRESUMED, "src/foo.rs", 18));
	add_local(foo, async_fn("my_program::baz", 0x1340, AD_FRAME_UNRESUMED, "src/foo.rs", 20));
	add_task(t, 7, 0x1234, AD_TASK_IDLE, foo);
	return t;
}

/* #2: `joined` (a Join of bar and baz) is created but not polled. */
static struct ad_trace *design_point2(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *foo =
		async_fn("my_program::foo", 0x1300, AD_FRAME_SUSPENDED, "src/foo.rs", 40);
	struct ad_frame *sleep = add(foo, async_fn("my_program::sleep", 0x1380, AD_FRAME_SUSPENDED,
						   "src/foo.rs", 24));
	block(sleep, AD_RESOURCE_TIMER, 0xabc);
	struct ad_frame *joined = add_local(
		foo, future("futures_util::future::join::Join", 0x1310, AD_FRAME_UNKNOWN));
	add(joined, async_fn("my_program::bar", 0x1320, AD_FRAME_UNRESUMED, "src/foo.rs", 18));
	add(joined, async_fn("my_program::baz", 0x1350, AD_FRAME_UNRESUMED, "src/foo.rs", 20));
	add_task(t, 7, 0x1234, AD_TASK_IDLE, foo);
	return t;
}

/* #3: foo awaits the join of bar (blocked on something) and baz (completed). */
static struct ad_trace *design_point3(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *foo =
		async_fn("my_program::foo", 0x1300, AD_FRAME_SUSPENDED, "src/foo.rs", 43);
	struct ad_frame *bar =
		add(foo, async_fn("my_program::bar", 0x1310, AD_FRAME_SUSPENDED, "src/foo.rs", 19));
	ck_ok(ad_blocked_on_set_description(block(bar, AD_RESOURCE_OTHER, 0), "something"));
	add(foo, async_fn("my_program::baz", 0x1340, AD_FRAME_COMPLETED, "src/foo.rs", 21));
	add_task(t, 7, 0x1234, AD_TASK_IDLE, foo);
	return t;
}

/* foo joins three branches: a; a nested join of d and e; an async block. */
static struct ad_trace *join3_nested(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *foo =
		async_fn("my_program::foo", 0x1300, AD_FRAME_SUSPENDED, "src/foo.rs", 50);
	struct ad_frame *a = add(foo, async_fn("my_program::a", 0x1310, AD_FRAME_SUSPENDED,
					       "src/foo.rs", 60));
	block(a, AD_RESOURCE_TIMER, 0x789);
	struct ad_frame *join =
		add(foo, future("futures_util::future::join::Join", 0x1400, AD_FRAME_PENDING));
	ck_ok(ad_frame_set_macro_location(join, SRC "/src/foo.rs", 51, 9));
	struct ad_frame *d =
		add(join, async_fn("my_program::d", 0x1410, AD_FRAME_SUSPENDED, "src/foo.rs", 70));
	struct ad_frame *notified =
		add(d, future("tokio::sync::notify::Notified", 0x1420, AD_FRAME_PENDING));
	block(notified, AD_RESOURCE_NOTIFY, 0x880);
	add(join, async_fn("my_program::e", 0x1480, AD_FRAME_COMPLETED, "src/foo.rs", 75));
	struct ad_frame *blk = add(foo, frame(AD_FRAME_ASYNC_BLOCK,
					      "my_program::foo::{async_block#0}", 0x1500,
					      AD_FRAME_SUSPENDED, "src/foo.rs", 52));
	struct ad_frame *rx =
		add(blk, future("tokio::sync::oneshot::Receiver<u32>", 0x1510, AD_FRAME_PENDING));
	ck_ok(ad_blocked_on_set_description(block(rx, AD_RESOURCE_ONESHOT, 0x990),
					    "oneshot channel 0x990, no value sent"));
	struct ad_task *task = add_task(t, 7, 0x1234, AD_TASK_RUNNING, foo);
	ck_ok(ad_task_set_thread(task, 1235, "tokio-runtime-w"));
	return t;
}

/* block_on (main) awaits task 7 (spawner), which awaits task 12 (worker, asleep). */
static struct ad_trace *task_awaits_task(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *main_ = frame(AD_FRAME_ASYNC_BLOCK, "my_program::main::{async_block#0}",
				       0x3010, AD_FRAME_SUSPENDED, "src/main.rs", 8);
	add(main_, join_handle(0x3100, 0x4000, 7));
	struct ad_task *b = add_task(t, NO_ID, 0x3000, AD_TASK_RUNNING, main_);
	b->kind = AD_TASK_KIND_BLOCK_ON;
	ck_ok(ad_task_set_thread(b, 1234, "main"));

	struct ad_frame *spawner = async_fn("my_program::spawner", 0x4100, AD_FRAME_SUSPENDED,
					    "src/main.rs", 20);
	add(spawner, join_handle(0x4200, 0x5000, 12));
	add_task(t, 7, 0x4000, AD_TASK_IDLE, spawner);

	struct ad_frame *worker = async_fn("my_program::worker", 0x5100, AD_FRAME_SUSPENDED,
					   "src/main.rs", 30);
	struct ad_frame *sleep = add(worker, future("tokio::time::sleep::Sleep", 0x5200,
						    AD_FRAME_PENDING));
	struct ad_blocked_on *timer = block(sleep, AD_RESOURCE_TIMER, 0x789);
	timer->has_deadline = true;
	timer->deadline_ns = 5000000000000;
	timer->time_left_ns = 3599500000000;
	struct ad_task *w = add_task(t, 12, 0x5000, AD_TASK_IDLE, worker);
	w->has_unchanged_for = true;
	w->unchanged_for_s = 312.4;
	w->expected_wait = true;
	return t;
}

/* The design's last example: a task awaiting its own JoinHandle. */
static struct ad_trace *self_await(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *main_ = async_fn("my_program::main", 0x1300, AD_FRAME_SUSPENDED,
					  "src/main.rs", 6);
	struct ad_blocked_on *b = block(main_, AD_RESOURCE_TASK, 0x1234);
	b->has_task_id = true;
	b->task_id = 7;
	main_->has_awaits_task = true;
	main_->awaits_task = 7;
	add_task(t, 7, 0x1234, AD_TASK_IDLE, main_);
	ck_ok(ad_trace_add_cycle(t, (const uint64_t[]){ 7, 7 }, 2));
	return t;
}

/* Task 7 awaits task 12, which awaits task 7; and an unrelated cycle 30 -> 31. */
static struct ad_trace *two_task_cycle(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *a =
		async_fn("my_program::a", 0x1100, AD_FRAME_SUSPENDED, "src/main.rs", 5);
	add(a, join_handle(0x1200, 0x2000, 12));
	add_task(t, 7, 0x1000, AD_TASK_IDLE, a);
	struct ad_frame *b =
		async_fn("my_program::b", 0x2100, AD_FRAME_SUSPENDED, "src/main.rs", 12);
	add(b, join_handle(0x2200, 0x1000, 7));
	add_task(t, 12, 0x2000, AD_TASK_IDLE, b);
	ck_ok(ad_trace_add_cycle(t, (const uint64_t[]){ 7, 12, 7 }, 3));
	ck_ok(ad_trace_add_cycle(t, (const uint64_t[]){ 30, 31, 30 }, 3));
	return t;
}

/* A frame that could not be read, and a task whose future is not there at all. */
static struct ad_trace *undecodable(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *foo =
		async_fn("my_program::foo", 0x1300, AD_FRAME_SUSPENDED, "src/foo.rs", 36);
	struct ad_frame *opaque = add(foo, async_fn("my_program::opaque", 0xdead0, AD_FRAME_UNKNOWN,
						    NULL, 0));
	ck_ok(ad_frame_set_error(opaque, "the state of %s at 0x%x could not be read",
				 "my_program::opaque::{async_fn_env#0}", 0xdead0));
	add_task(t, 7, 0x1234, AD_TASK_IDLE, foo);
	struct ad_task *task = add_task(t, 8, 0x2234, AD_TASK_SCHEDULED, NULL);
	ck_ok(ad_task_set_note(task, "future optimised out in this build"));
	ck_ok(ad_trace_add_warning(t, "the type of task 8's future is not in the debuginfo"));
	return t;
}

/* One task whose tree is a chain of n async fns. */
static struct ad_trace *deep_chain(int n)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *root =
		async_fn("my_program::f", 0x10000, AD_FRAME_SUSPENDED, "src/f.rs", 1);
	struct ad_frame *f = root;
	for (int i = 1; i < n; i++)
		f = add(f, async_fn("my_program::f", 0x10000 + 0x100 * (uint64_t)i,
				    AD_FRAME_SUSPENDED, "src/f.rs", 1));
	add_task(t, 7, 0x1234, AD_TASK_IDLE, root);
	return t;
}

/* Tasks 1..n, each awaiting the next. */
static struct ad_trace *task_chain(int n)
{
	struct ad_trace *t = new_trace();
	for (int i = 1; i <= n; i++) {
		uint64_t addr = 0x100000 * (uint64_t)i;
		struct ad_frame *f = async_fn("my_program::link", addr + 0x100, AD_FRAME_SUSPENDED,
					      "src/chain.rs", 3);
		if (i < n)
			add(f, join_handle(addr + 0x200, addr + 0x100000, (uint64_t)i + 1));
		add_task(t, (uint64_t)i, addr, AD_TASK_IDLE, f);
	}
	return t;
}

/* Tasks 1..n all await task 100, whose tree has 10 frames. */
static struct ad_trace *fan_in(int n)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *hub =
		async_fn("my_program::hub", 0x90100, AD_FRAME_SUSPENDED, "src/hub.rs", 9);
	for (int k = 0; k < 9; k++)
		add(hub, async_fn("my_program::part", 0x90200 + 0x100 * (uint64_t)k,
				  AD_FRAME_SUSPENDED, "src/hub.rs", 12));
	add_task(t, 100, 0x90000, AD_TASK_IDLE, hub);
	for (int i = 1; i <= n; i++) {
		uint64_t addr = 0x100000 * (uint64_t)i;
		struct ad_frame *f = async_fn("my_program::waiter", addr + 0x100,
					      AD_FRAME_SUSPENDED, "src/hub.rs", 30);
		add(f, join_handle(addr + 0x200, 0x90000, 100));
		add_task(t, (uint64_t)i, addr, AD_TASK_IDLE, f);
	}
	return t;
}

/* Names from the target that are not UTF-8 or carry terminal control codes. */
static struct ad_trace *hostile_strings(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *f = future("evil\nname\xc2\x9b" "31m", 0x1300, AD_FRAME_PENDING);
	struct ad_task *task = add_task(t, 7, 0x1234, AD_TASK_RUNNING, f);
	ck_ok(ad_task_set_thread(task, 1234, "w\xffrk\x1b[31m"));
	return t;
}

/* A JoinHandle of a task that is not in the sample. */
static struct ad_trace *missing_link(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *f =
		async_fn("my_program::main", 0x1300, AD_FRAME_SUSPENDED, "src/main.rs", 6);
	add(f, join_handle(0x1400, 0x9900, 99));
	add_task(t, 7, 0x1234, AD_TASK_IDLE, f);
	return t;
}

/* ---------------------------------------------------------------- adapter layers */

/* A future of type `type`, named as the decoders name futures (by their type). */
static struct ad_frame *typed(const char *type, uint64_t address, enum ad_frame_state state)
{
	struct ad_frame *f = ad_frame_create(AD_FRAME_FUTURE, type, type, address);
	ck_assert_ptr_nonnull(f);
	f->state = state;
	return f;
}

#define FUT "futures_util::future::future::"
#define SOURCE_ENV "my_program::source::{async_fn_env#0}"
#define MAP_A FUT "Map<" SOURCE_ENV ", my_program::foo::{closure_env#0}>"
#define NEXT_ENV "my_program::next::{async_fn_env#0}"
#define CLOSURE1 "my_program::foo::{closure_env#1}"

/* foo awaits `source().map(f).then(g)`, as futures_util builds it: Then is a
 * Flatten over a Map (Then's own) of the user's Map, each Map a newtype over
 * map::Map; source sleeps. bar awaits `sleep.fuse()`. */
static struct ad_trace *adapters(void)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *foo = async_fn("my_program::foo", 0x1300, AD_FRAME_SUSPENDED, "src/foo.rs", 30);
	struct ad_frame *f = add(foo, typed(FUT "Then<" MAP_A ", " NEXT_ENV ", " CLOSURE1 ">", 0x1310,
					   AD_FRAME_PENDING));
	f = add(f, typed(FUT "flatten::Flatten<" FUT "Map<" MAP_A ", " CLOSURE1 ">, " NEXT_ENV ">",
			 0x1310, AD_FRAME_PENDING));
	f = add(f, typed(FUT "Map<" MAP_A ", " CLOSURE1 ">", 0x1318, AD_FRAME_PENDING));
	f = add(f, typed(FUT "map::Map<" MAP_A ", " CLOSURE1 ">", 0x1318, AD_FRAME_PENDING));
	f = add(f, typed(MAP_A, 0x1320, AD_FRAME_PENDING));
	f = add(f, typed(FUT "map::Map<" SOURCE_ENV ", my_program::foo::{closure_env#0}>", 0x1320,
			 AD_FRAME_PENDING));
	f = add(f, async_fn("my_program::source", 0x1328, AD_FRAME_SUSPENDED, "src/foo.rs", 12));
	block(add(f, future("tokio::time::sleep::Sleep", 0x1380, AD_FRAME_PENDING)), AD_RESOURCE_TIMER,
	      0x789);
	add_task(t, 7, 0x1234, AD_TASK_IDLE, foo);

	struct ad_frame *bar = async_fn("my_program::bar", 0x2300, AD_FRAME_SUSPENDED, "src/foo.rs", 50);
	f = add(bar, typed(FUT "fuse::Fuse<tokio::time::sleep::Sleep>", 0x2310, AD_FRAME_PENDING));
	block(add(f, future("tokio::time::sleep::Sleep", 0x2310, AD_FRAME_PENDING)), AD_RESOURCE_TIMER,
	      0x790);
	add_task(t, 8, 0x2234, AD_TASK_IDLE, bar);

	/* An adapter that wraps nothing any more (Map after it completed) stays. */
	f = typed(FUT "Map<" SOURCE_ENV ", my_program::foo::{closure_env#0}>", 0x3300,
		  AD_FRAME_COMPLETED);
	add_task(t, 9, 0x3234, AD_TASK_IDLE, f);
	return t;
}

/* ---------------------------------------------------------------- the design's examples */

START_TEST(design_point1_json)
{
	struct ad_trace *t = design_point1();
	json_t *doc = render_json(t, &no_options);
	ck_assert_int_eq(int_at(doc, "pid"), 4242);
	ck_assert_str_eq(str_at(doc, "exe"), SRC "/target/debug/my_program");
	ck_assert_str_eq(str_at(doc, "build_id"), "abc123");
	ck_assert_str_eq(str_at(doc, "source_root"), SRC);
	ck_assert_str_eq(str_at(doc, "captured_at"), "2024-05-01T12:00:00.000412Z");
	ck_assert_int_eq(int_at(doc, "pause_us"), 412);
	ck_assert_uint_eq(size_at(doc, "runtimes"), 1);
	ck_assert_int_eq(int_at(doc, "runtimes/0/id"), 0);
	ck_assert_str_eq(str_at(doc, "runtimes/0/kind"), "tokio");
	ck_assert_str_eq(str_at(doc, "runtimes/0/flavor"), "multi_thread");
	ck_assert_str_eq(str_at(doc, "runtimes/0/address"), "0x7000");
	ck_assert_int_eq(int_at(doc, "runtimes/0/tasks"), 1);
	ck_assert_uint_eq(size_at(doc, "tasks"), 1);
	ck_assert_uint_eq(size_at(doc, "cycles"), 0);
	ck_assert_uint_eq(size_at(doc, "warnings"), 0);

	json_t *task = at(doc, "tasks/0");
	ck_assert_int_eq(int_at(task, "id"), 7);
	ck_assert_str_eq(str_at(task, "kind"), "task");
	ck_assert_str_eq(str_at(task, "address"), "0x1234");
	ck_assert_int_eq(int_at(task, "runtime"), 0);
	assert_null_at(task, "thread");
	ck_assert_str_eq(str_at(task, "state"), "idle");
	assert_null_at(task, "note");
	assert_absent(task, "unchanged_for_s");
	ck_assert_str_eq(str_at(task, "blocked_on/kind"), "timer");
	ck_assert_str_eq(str_at(task, "blocked_on/address"), "0x789");
	ck_assert_str_eq(str_at(task, "blocked_on/description"), "timer 0x789");
	assert_absent(task, "blocked_on/deadline_ns");
	assert_absent(task, "blocked_on/fd");

	json_t *foo = at(task, "root");
	ck_assert_str_eq(str_at(foo, "kind"), "async_fn");
	ck_assert_str_eq(str_at(foo, "name"), "my_program::foo");
	ck_assert_str_eq(str_at(foo, "type"), "my_program::foo::{async_fn_env#0}");
	ck_assert_str_eq(str_at(foo, "address"), "0x1300");
	ck_assert_str_eq(str_at(foo, "state"), "suspended");
	ck_assert_str_eq(str_at(foo, "location/file"), SRC "/src/foo.rs");
	ck_assert_int_eq(int_at(foo, "location/line"), 36);
	ck_assert_int_eq(int_at(foo, "location/column"), 5);
	assert_null_at(foo, "blocked_on");
	assert_absent(foo, "macro_location");
	assert_absent(foo, "error");
	assert_absent(foo, "not_polled");
	assert_absent(foo, "awaits_task");
	assert_absent(foo, "locals"); /* not asked for */
	ck_assert_uint_eq(size_at(foo, "children"), 1);
	ck_assert_str_eq(str_at(foo, "children/0/name"), "my_program::sleep");
	ck_assert_int_eq(int_at(foo, "children/0/location/line"), 24);
	assert_absent(foo, "children/0/location/column");
	ck_assert_str_eq(str_at(foo, "children/0/blocked_on/description"), "timer 0x789");
	ck_assert_uint_eq(size_at(foo, "children/0/children"), 0);
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(design_point1_text)
{
	struct ad_trace *t = design_point1();
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on timer 0x789\n"
		    "\n"
		    "    my_program::sleep() suspended at src/foo.rs:24 [blocked on timer 0x789]\n"
		    "    my_program::foo() suspended at src/foo.rs:36\n"
		    "\n");
	ad_trace_destroy(t);
}
END_TEST

/* A sample read without a stop: nothing paused, each task says whether it
 * read consistently; a stopped one says neither. */
START_TEST(read_without_a_stop)
{
	struct ad_trace *t = design_point1();
	json_t *doc = render_json(t, &no_options);
	ck_assert(json_is_true(at(doc, "stopped")));
	assert_absent(doc, "tasks/0/consistent");
	json_decref(doc);

	t->not_stopped = true;
	doc = render_json(t, &no_options);
	ck_assert(json_is_false(at(doc, "stopped")));
	assert_null_at(doc, "pause_us");
	ck_assert(json_is_true(at(doc, "tasks/0/consistent")));
	ck_assert_int_eq(int_at(doc, "tasks/0/reads"), 0);
	json_decref(doc);
	char *text = render_text(t, &no_options);
	ck_assert_ptr_nonnull(strstr(text, ", read at 2024-05-01T12:00:00.000412Z without stopping "
				       "it\n"));
	ck_assert_ptr_null(strstr(text, "inconsistent"));
	free(text);

	t->tasks[0].inconsistent = true;
	t->tasks[0].reads = 3;
	doc = render_json(t, &no_options);
	ck_assert(json_is_false(at(doc, "tasks/0/consistent")));
	ck_assert_int_eq(int_at(doc, "tasks/0/reads"), 3);
	json_decref(doc);
	text = render_text(t, &no_options);
	ck_assert_ptr_nonnull(strstr(text, "task 0x1234 (id 7, idle) ~ blocked on timer 0x789 "
					   "[inconsistent: changed while read]\n"));
	free(text);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(design_point1_locals)
{
	struct ad_trace *t = design_point1();
	json_t *doc = render_json(t, &with_locals);
	ck_assert_uint_eq(size_at(doc, "tasks/0/root/locals"), 2);
	ck_assert_str_eq(str_at(doc, "tasks/0/root/locals/0/name"), "my_program::bar");
	ck_assert_str_eq(str_at(doc, "tasks/0/root/locals/0/state"), "unresumed");
	ck_assert(json_is_true(at(doc, "tasks/0/root/locals/0/not_polled")));
	ck_assert_str_eq(str_at(doc, "tasks/0/root/locals/1/name"), "my_program::baz");
	assert_absent(doc, "tasks/0/root/children/0/locals"); /* sleep has none */
	json_decref(doc);
	assert_text(t, &with_locals,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on timer 0x789\n"
		    "\n"
		    "    my_program::sleep() suspended at src/foo.rs:24 [blocked on timer 0x789]\n"
		    "    my_program::foo() suspended at src/foo.rs:36\n"
		    "      (not polled) my_program::bar() unresumed at src/foo.rs:18\n"
		    "      (not polled) my_program::baz() unresumed at src/foo.rs:20\n"
		    "\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(design_point2_locals_are_drawn_like_frames)
{
	struct ad_trace *t = design_point2();
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on timer 0xabc\n"
		    "\n"
		    "    my_program::sleep() suspended at src/foo.rs:24 [blocked on timer 0xabc]\n"
		    "    my_program::foo() suspended at src/foo.rs:40\n"
		    "\n");
	assert_text(t, &with_locals,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on timer 0xabc\n"
		    "\n"
		    "    my_program::sleep() suspended at src/foo.rs:24 [blocked on timer 0xabc]\n"
		    "    my_program::foo() suspended at src/foo.rs:40\n"
		    "      my_program::bar() unresumed at src/foo.rs:18\n"
		    "      | my_program::baz() unresumed at src/foo.rs:20\n"
		    "      |/\n"
		    "      (not polled) futures_util::future::join::Join\n"
		    "\n");
	json_t *doc = render_json(t, &with_locals);
	ck_assert_str_eq(str_at(doc, "tasks/0/root/locals/0/state"), "unknown");
	ck_assert_uint_eq(size_at(doc, "tasks/0/root/locals/0/children"), 2);
	ck_assert_str_eq(str_at(doc, "tasks/0/root/locals/0/children/1/name"), "my_program::baz");
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(design_point3_join)
{
	struct ad_trace *t = design_point3();
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on something\n"
		    "\n"
		    "    my_program::bar() suspended at src/foo.rs:19 [blocked on something]\n"
		    "    | my_program::baz() completed at src/foo.rs:21\n"
		    "    |/\n"
		    "    my_program::foo() suspended at src/foo.rs:43\n"
		    "\n");
	json_t *doc = render_json(t, &no_options);
	ck_assert_uint_eq(size_at(doc, "tasks/0/root/children"), 2);
	ck_assert_str_eq(str_at(doc, "tasks/0/root/children/1/state"), "completed");
	ck_assert_str_eq(str_at(doc, "tasks/0/blocked_on/kind"), "other");
	assert_null_at(doc, "tasks/0/blocked_on/address");
	ck_assert_str_eq(str_at(doc, "tasks/0/blocked_on/description"), "something");
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(three_branch_join_with_a_nested_join)
{
	struct ad_trace *t = join3_nested();
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, running) on thread 1235 \"tokio-runtime-w\" ~ blocked on "
		    "timer 0x789 [+2 more below]\n"
		    "\n"
		    "    my_program::a() suspended at src/foo.rs:60 [blocked on timer 0x789]\n"
		    "    | my_program::d() suspended at src/foo.rs:70 [blocked on notify 0x880]\n"
		    "    | | my_program::e() completed at src/foo.rs:75\n"
		    "    | |/\n"
		    "    | futures_util::future::join::Join pending (macro at src/foo.rs:51)\n"
		    "    |/\n"
		    "    | my_program::foo::{async_block#0} suspended at src/foo.rs:52 [blocked on "
		    "oneshot channel 0x990, no value sent]\n"
		    "    |/\n"
		    "    my_program::foo() suspended at src/foo.rs:50\n"
		    "\n");
	json_t *doc = render_json(t, &no_options);
	json_t *foo = at(doc, "tasks/0/root");
	ck_assert_uint_eq(size_at(foo, "children"), 3);
	ck_assert_str_eq(str_at(foo, "children/1/kind"), "future");
	ck_assert_int_eq(int_at(foo, "children/1/macro_location/line"), 51);
	ck_assert_int_eq(int_at(foo, "children/1/macro_location/column"), 9);
	ck_assert_uint_eq(size_at(foo, "children/1/children"), 2);
	ck_assert_str_eq(str_at(foo, "children/1/children/0/children/0/blocked_on/kind"), "notify");
	ck_assert_str_eq(str_at(foo, "children/2/kind"), "async_block");
	ck_assert_str_eq(str_at(foo, "children/2/children/0/blocked_on/kind"), "oneshot");
	ck_assert_int_eq(int_at(doc, "tasks/0/thread/tid"), 1235);
	ck_assert_str_eq(str_at(doc, "tasks/0/thread/name"), "tokio-runtime-w");
	ck_assert_str_eq(str_at(doc, "tasks/0/state"), "running");
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

/* ---------------------------------------------------------------- tasks awaiting tasks */

START_TEST(awaited_task_tree_is_the_subtree_in_json)
{
	struct ad_trace *t = task_awaits_task();
	json_t *doc = render_json(t, &no_options);
	ck_assert_uint_eq(size_at(doc, "tasks"), 3);
	json_t *b = at(doc, "tasks/0");
	assert_null_at(b, "id");
	ck_assert_str_eq(str_at(b, "kind"), "block_on");
	ck_assert_int_eq(int_at(b, "thread/tid"), 1234);
	ck_assert_str_eq(str_at(b, "thread/name"), "main");
	ck_assert_int_eq(int_at(b, "blocked_on/task_id"), 7);

	json_t *jh = at(b, "root/children/0");
	ck_assert_int_eq(int_at(jh, "awaits_task"), 7);
	ck_assert_uint_eq(size_at(jh, "children"), 1);
	json_t *link = at(jh, "children/0");
	ck_assert_str_eq(str_at(link, "kind"), "task");
	ck_assert_int_eq(int_at(link, "task_id"), 7);
	ck_assert_str_eq(str_at(link, "address"), "0x4000");
	ck_assert_str_eq(str_at(link, "state"), "idle");
	ck_assert_int_eq(int_at(link, "blocked_on/task_id"), 12);
	assert_absent(link, "recursion");
	assert_absent(link, "truncated");
	ck_assert_str_eq(str_at(link, "root/name"), "my_program::spawner");

	/* One level is inlined: task 12, awaited by 7, is a link by id here
	 * and has its tree in "tasks". */
	json_t *inner = at(link, "root/children/0/children/0");
	ck_assert_int_eq(int_at(inner, "task_id"), 12);
	ck_assert(json_is_true(at(inner, "truncated")));
	assert_absent(inner, "root");
	ck_assert_str_eq(str_at(doc, "tasks/2/root/name"), "my_program::worker");
	json_t *timer = at(doc, "tasks/2/root/children/0/blocked_on");
	ck_assert_str_eq(str_at(timer, "kind"), "timer");
	ck_assert_int_eq(int_at(timer, "deadline_ns"), 5000000000000);
	ck_assert(json_real_value(at(timer, "time_left_s")) == 3599.5);
	ck_assert_str_eq(str_at(timer, "description"), "timer 0x789, fires in 3599 s");

	ck_assert(json_real_value(at(doc, "tasks/2/unchanged_for_s")) == 312.4);
	assert_absent(doc, "tasks/1/unchanged_for_s");
	ck_assert(json_is_true(at(doc, "tasks/2/expected_wait")));
	assert_absent(doc, "tasks/1/expected_wait");
	ck_assert_uint_eq(size_at(doc, "warnings"), 0);

	/* The single-task endpoint gives the same object as the document. */
	json_t *one = render_task_json(t, &t->tasks[1], &no_options);
	ck_assert(json_equal(one, at(doc, "tasks/1")));
	json_decref(one);
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(awaited_task_block_is_nested_in_text)
{
	struct ad_trace *t = task_awaits_task();
	assert_text(t, &no_options,
		    HEADER
		    "block_on on thread 1234 \"main\" ~ blocked on task 0x4000 (id 7)\n"
		    "\n"
		    "    my_program::main::{async_block#0} suspended at src/main.rs:8 [blocked on "
		    "task 0x4000 (id 7)]\n"
		    "    task 0x4000 (id 7, idle) ~ blocked on task 0x5000 (id 12)\n"
		    "        my_program::spawner() suspended at src/main.rs:20 [blocked on task "
		    "0x5000 (id 12)]\n"
		    "        task 0x5000 (id 12, idle) ~ blocked on timer 0x789, fires in 3599 s\n"
		    "            my_program::worker() suspended at src/main.rs:30 [blocked on timer "
		    "0x789, fires in 3599 s]\n"
		    "\n"
		    "task 0x4000 (id 7, idle) ~ blocked on task 0x5000 (id 12)\n"
		    "\n"
		    "    my_program::spawner() suspended at src/main.rs:20 [blocked on task "
		    "0x5000 (id 12)]\n"
		    "    task 0x5000 (id 12, idle) ~ blocked on timer 0x789, fires in 3599 s\n"
		    "        my_program::worker() suspended at src/main.rs:30 [blocked on timer "
		    "0x789, fires in 3599 s]\n"
		    "\n"
		    "task 0x5000 (id 12, idle) ~ blocked on timer 0x789, fires in 3599 s "
		    "[unchanged 5m12s]\n"
		    "\n"
		    "    my_program::worker() suspended at src/main.rs:30 [blocked on timer 0x789, "
		    "fires in 3599 s]\n"
		    "\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(self_await_is_cut_as_recursion)
{
	struct ad_trace *t = self_await();
	json_t *doc = render_json(t, &no_options);
	json_t *main_ = at(doc, "tasks/0/root");
	ck_assert_int_eq(int_at(main_, "awaits_task"), 7);
	ck_assert_uint_eq(size_at(main_, "children"), 1);
	json_t *link = at(main_, "children/0");
	ck_assert_str_eq(str_at(link, "kind"), "task");
	ck_assert_int_eq(int_at(link, "task_id"), 7);
	ck_assert(json_is_true(at(link, "recursion")));
	assert_ids_at(link, "cycle", (const json_int_t[]){ 7, 7 }, 2);
	assert_absent(link, "root");
	assert_ids_at(doc, "cycles/0", (const json_int_t[]){ 7, 7 }, 2);
	json_decref(doc);
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on task 0x1234 (id 7)\n"
		    "\n"
		    "    my_program::main() suspended at src/main.rs:6 [blocked on task 0x1234 "
		    "(id 7)]\n"
		    "    task 0x1234 (id 7, idle) ~ blocked on task 0x1234 (id 7)\n"
		    "        [recursion detected, not showing trace]\n"
		    "\n"
		    "cycle: task 7 -> task 7\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(two_task_cycle_is_cut_where_it_closes)
{
	struct ad_trace *t = two_task_cycle();
	json_t *doc = render_json(t, &no_options);
	const char *closing = "root/children/0/children/0/root/children/0/children/0";
	json_t *from7 = at(at(doc, "tasks/0"), closing);
	ck_assert_int_eq(int_at(from7, "task_id"), 7);
	ck_assert(json_is_true(at(from7, "recursion")));
	assert_ids_at(from7, "cycle", (const json_int_t[]){ 7, 12, 7 }, 3);
	json_t *from12 = at(at(doc, "tasks/1"), closing);
	ck_assert_int_eq(int_at(from12, "task_id"), 12);
	assert_ids_at(from12, "cycle", (const json_int_t[]){ 12, 7, 12 }, 3);
	ck_assert_uint_eq(size_at(doc, "cycles"), 2);
	json_decref(doc);
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1000 (id 7, idle) ~ blocked on task 0x2000 (id 12)\n"
		    "\n"
		    "    my_program::a() suspended at src/main.rs:5 [blocked on task 0x2000 (id "
		    "12)]\n"
		    "    task 0x2000 (id 12, idle) ~ blocked on task 0x1000 (id 7)\n"
		    "        my_program::b() suspended at src/main.rs:12 [blocked on task 0x1000 "
		    "(id 7)]\n"
		    "        task 0x1000 (id 7, idle) ~ blocked on task 0x2000 (id 12)\n"
		    "            [recursion detected, not showing trace]\n"
		    "\n"
		    "task 0x2000 (id 12, idle) ~ blocked on task 0x1000 (id 7)\n"
		    "\n"
		    "    my_program::b() suspended at src/main.rs:12 [blocked on task 0x1000 (id "
		    "7)]\n"
		    "    task 0x1000 (id 7, idle) ~ blocked on task 0x2000 (id 12)\n"
		    "        my_program::a() suspended at src/main.rs:5 [blocked on task 0x2000 "
		    "(id 12)]\n"
		    "        task 0x2000 (id 12, idle) ~ blocked on task 0x1000 (id 7)\n"
		    "            [recursion detected, not showing trace]\n"
		    "\n"
		    "cycle: task 7 -> task 12 -> task 7\n"
		    "cycle: task 30 -> task 31 -> task 30\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(one_task_with_its_subtree_and_its_cycles)
{
	struct ad_trace *t = two_task_cycle();
	struct ad_render_options only12 = { .has_task = true, .task = 12 };
	json_t *doc = render_json(t, &only12);
	ck_assert_uint_eq(size_at(doc, "tasks"), 1);
	ck_assert_int_eq(int_at(doc, "tasks/0/id"), 12);
	ck_assert_int_eq(int_at(doc, "tasks/0/root/children/0/children/0/task_id"), 7);
	ck_assert_str_eq(str_at(doc, "tasks/0/root/children/0/children/0/root/name"),
			 "my_program::a");
	ck_assert_uint_eq(size_at(doc, "cycles"), 1);
	assert_ids_at(doc, "cycles/0", (const json_int_t[]){ 7, 12, 7 }, 3);
	ck_assert_uint_eq(size_at(doc, "runtimes"), 1);
	json_decref(doc);

	char *text = render_text(t, &only12);
	ck_assert_ptr_null(strstr(text, "\ntask 0x1000 (id 7, idle) ~ blocked on task 0x2000 "
					"(id 12)\n\n"));
	ck_assert_ptr_nonnull(strstr(text, HEADER "task 0x2000 (id 12, idle) ~ blocked on task "
					   "0x1000 (id 7)\n\n"));
	free(text);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(unknown_task_is_not_found)
{
	struct ad_trace *t = two_task_cycle();
	struct ad_render_options only99 = { .has_task = true, .task = 99 };
	char *doc = NULL;
	char *text = NULL;
	assert_error(ad_render_json(t, &only99, &doc, NULL), AD_ERROR_NOT_FOUND,
		     "no task with id 99 in process 4242");
	assert_error(ad_render_text(t, &only99, &text), AD_ERROR_NOT_FOUND,
		     "no task with id 99 in process 4242");
	ck_assert_ptr_null(doc);
	ck_assert_ptr_null(text);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(link_to_a_task_not_in_the_sample)
{
	struct ad_trace *t = missing_link();
	json_t *doc = render_json(t, &no_options);
	json_t *link = at(doc, "tasks/0/root/children/0/children/0");
	ck_assert_int_eq(int_at(link, "task_id"), 99);
	ck_assert(json_is_true(at(link, "missing")));
	assert_null_at(link, "address");
	ck_assert_str_eq(str_at(link, "state"), "unknown");
	assert_absent(link, "root");
	json_decref(doc);
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on task 0x9900 (id 99)\n"
		    "\n"
		    "    my_program::main() suspended at src/main.rs:6 [blocked on task 0x9900 (id "
		    "99)]\n"
		    "    task (id 99)\n"
		    "        [not in this sample]\n"
		    "\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(locals_are_not_followed_into_tasks)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *f =
		async_fn("my_program::main", 0x1300, AD_FRAME_SUSPENDED, "src/main.rs", 6);
	struct ad_frame *jh = add_local(
		f, future("tokio::runtime::task::join::JoinHandle<()>", 0x1400, AD_FRAME_UNKNOWN));
	jh->has_awaits_task = true;
	jh->awaits_task = 8;
	add_task(t, 7, 0x1234, AD_TASK_IDLE, f);
	add_task(t, 8, 0x2234, AD_TASK_IDLE,
		 async_fn("my_program::other", 0x2300, AD_FRAME_SUSPENDED, "src/main.rs", 9));
	json_t *doc = render_json(t, &with_locals);
	ck_assert_int_eq(int_at(doc, "tasks/0/root/locals/0/awaits_task"), 8);
	ck_assert_uint_eq(size_at(doc, "tasks/0/root/locals/0/children"), 0);
	json_decref(doc);
	assert_text(t, &with_locals,
		    HEADER
		    "task 0x1234 (id 7, idle)\n"
		    "\n"
		    "    my_program::main() suspended at src/main.rs:6\n"
		    "      (not polled) tokio::runtime::task::join::JoinHandle<()>\n"
		    "\n"
		    "task 0x2234 (id 8, idle)\n"
		    "\n"
		    "    my_program::other() suspended at src/main.rs:9\n"
		    "\n");
	ad_trace_destroy(t);
}
END_TEST

/* ---------------------------------------------------------------- errors and odd input */

START_TEST(undecodable_frames_and_tasks)
{
	struct ad_trace *t = undecodable();
	json_t *doc = render_json(t, &no_options);
	ck_assert_str_eq(str_at(doc, "tasks/0/root/children/0/error"),
			 "the state of my_program::opaque::{async_fn_env#0} at 0xdead0 could not "
			 "be read");
	ck_assert_str_eq(str_at(doc, "tasks/0/root/children/0/state"), "unknown");
	assert_null_at(doc, "tasks/0/root/children/0/location");
	assert_null_at(doc, "tasks/0/blocked_on");
	assert_null_at(doc, "tasks/1/root");
	ck_assert_str_eq(str_at(doc, "tasks/1/note"), "future optimised out in this build");
	ck_assert_str_eq(str_at(doc, "warnings/0"),
			 "the type of task 8's future is not in the debuginfo");
	json_decref(doc);
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle)\n"
		    "\n"
		    "    my_program::opaque() [undecodable: the state of "
		    "my_program::opaque::{async_fn_env#0} at 0xdead0 could not be read]\n"
		    "    my_program::foo() suspended at src/foo.rs:36\n"
		    "\n"
		    "task 0x2234 (id 8, scheduled)\n"
		    "\n"
		    "    [undecodable: future optimised out in this build]\n"
		    "\n"
		    "warning: the type of task 8's future is not in the debuginfo\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(paths_are_shortened_only_under_the_source_root)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *f = future("tokio::task::yield_now", 0x1300, AD_FRAME_READY);
	ck_ok(ad_frame_set_location(f, "/rustc/abc/library/core/src/future/mod.rs", 12, 0));
	struct ad_frame *g = add(f, future("other", 0x1400, AD_FRAME_COMPLETED));
	ck_ok(ad_frame_set_location(g, SRC "2/src/lib.rs", 3, 0));
	struct ad_frame *h = add(g, future("leaf", 0x1500, AD_FRAME_UNKNOWN));
	ck_ok(ad_frame_set_location(h, SRC "/src/leaf.rs", 0, 0));
	add_task(t, 7, 0x1234, AD_TASK_COMPLETE, f);
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, complete)\n"
		    "\n"
		    "    leaf at src/leaf.rs\n"
		    "    other completed at " SRC "2/src/lib.rs:3\n"
		    "    tokio::task::yield_now ready at "
		    "/rustc/abc/library/core/src/future/mod.rs:12\n"
		    "\n");
	ck_ok(ad_trace_set_source_root(t, NULL));
	char *text = render_text(t, &no_options);
	ck_assert_ptr_nonnull(strstr(text, "    leaf at " SRC "/src/leaf.rs\n"));
	free(text);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(strings_from_the_target_are_made_safe)
{
	struct ad_trace *t = hostile_strings();
	json_t *doc = render_json(t, &no_options);
	ck_assert_str_eq(str_at(doc, "tasks/0/thread/name"), "w?rk\x1b[31m");
	ck_assert_str_eq(str_at(doc, "tasks/0/root/name"), "evil\nname\xc2\x9b" "31m");
	char *dumped = json_dumps(doc, 0);
	ck_assert_ptr_nonnull(dumped);
	free(dumped);
	json_decref(doc);
	char *text = render_text(t, &no_options);
	ck_assert_ptr_null(strchr(text, '\x1b'));
	ck_assert_ptr_null(strstr(text, "\xc2\x9b"));
	ck_assert_ptr_nonnull(strstr(text, "on thread 1234 \"w?rk\\x1b[31m\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "    evil\\x0aname\\u009b31m pending\n"));
	free(text);
	ad_trace_destroy(t);
}
END_TEST

/* Strings are scanned eight bytes at a time: what must be escaped or
 * replaced is found in every byte of a word, and in the bytes after the
 * last whole word. */
START_TEST(escapes_are_found_at_every_position)
{
	static const struct {
		const char *in, *decoded;
	} specials[] = {
		{ "\"", "\"" }, { "\\", "\\" }, { "\n", "\n" }, { "\x01", "\x01" },
		{ "\x1f", "\x1f" }, { "\xff", "?" }, { "\xc3\xa9", "\xc3\xa9" }, { "\x7f", "\x7f" },
		{ " ", " " }, { "~", "~" },
	};
	for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
		for (size_t at = 0; at < 20; at++) {
			char name[64], expected[64];
			snprintf(name, sizeof(name), "%.*s%s%.*s", (int)at, "aaaaaaaaaaaaaaaaaaaa",
				 specials[k].in, (int)(19 - at), "bbbbbbbbbbbbbbbbbbbb");
			snprintf(expected, sizeof(expected), "%.*s%s%.*s", (int)at,
				 "aaaaaaaaaaaaaaaaaaaa", specials[k].decoded, (int)(19 - at),
				 "bbbbbbbbbbbbbbbbbbbb");
			struct ad_trace *t = new_trace();
			add_task(t, 7, 0x1234, AD_TASK_IDLE, future(name, 0x1300, AD_FRAME_PENDING));
			json_t *doc = render_json(t, &no_options); /* byte for byte as jansson */
			ck_assert_str_eq(str_at(doc, "tasks/0/root/name"), expected);
			json_decref(doc);
			ad_trace_destroy(t);
		}
	}
}
END_TEST

/* A frame of the trace's own (ad_trace_frame_create()), as a decoder makes
 * them: every frame of one type shares its strings, and of one suspension
 * point its location. */
static struct ad_frame *shared_frame(struct ad_trace *t, enum ad_frame_kind kind, const char *name,
				     uint64_t address, enum ad_frame_state state, unsigned line)
{
	char type[256];
	snprintf(type, sizeof(type), "%s::{async_fn_env#0}", name);
	struct ad_frame *f = ad_trace_frame_create(t, kind, name, type, address);
	ck_assert_ptr_nonnull(f);
	f->state = state;
	if (line)
		ck_ok(ad_frame_set_location(f, SRC "/src/main.rs", line, 0));
	return f;
}

/* The renderer writes the parts frames share once and copies them after:
 * each frame must still read as its own, whatever it shares with those
 * before it (its type, kind, state, location, depth). */
START_TEST(frames_sharing_strings_are_each_written_as_their_own)
{
	struct ad_trace *t = new_trace();
	for (unsigned i = 0; i < 8; i++) {
		enum ad_frame_state state = i == 3 ? AD_FRAME_COMPLETED : AD_FRAME_SUSPENDED;
		enum ad_frame_kind kind = i == 6 ? AD_FRAME_ASYNC_BLOCK : AD_FRAME_ASYNC_FN;
		struct ad_frame *outer =
			shared_frame(t, kind, "my_program::outer", 0x1000 + i, state, i == 4 ? 20 : 10);
		struct ad_frame *inner = add(outer, shared_frame(t, AD_FRAME_ASYNC_FN, "my_program::inner",
								 0x2000 + i, AD_FRAME_SUSPENDED, 30));
		if (i == 2)
			ck_ok(ad_frame_set_macro_location(inner, SRC "/src/main.rs", 33, 9));
		if (i == 5) /* the same type one level deeper */
			inner = add(inner, shared_frame(t, AD_FRAME_ASYNC_FN, "my_program::outer",
							0x3000, AD_FRAME_SUSPENDED, 10));
		struct ad_frame *leaf = add(inner, future("tokio::time::sleep::Sleep", 0x4000 + i,
							  AD_FRAME_PENDING));
		block(leaf, AD_RESOURCE_TIMER, 0x5000 + i);
		add_task(t, i + 1, 0x9000 + i * 0x100, AD_TASK_IDLE, outer);
	}
	/* render_json() compares with the reference renderer, compact and
	 * indented; and a few members directly: */
	json_t *doc = render_json(t, &no_options);
	ck_assert_str_eq(str_at(doc, "tasks/1/root/address"), "0x1001");
	ck_assert_str_eq(str_at(doc, "tasks/1/root/state"), "suspended");
	ck_assert_str_eq(str_at(doc, "tasks/3/root/state"), "completed");
	ck_assert_int_eq(int_at(doc, "tasks/4/root/location/line"), 20);
	ck_assert_int_eq(int_at(doc, "tasks/5/root/location/line"), 10);
	ck_assert_int_eq(int_at(doc, "tasks/2/root/children/0/macro_location/line"), 33);
	assert_absent(doc, "tasks/3/root/children/0/macro_location");
	ck_assert_str_eq(str_at(doc, "tasks/5/root/children/0/children/0/name"), "my_program::outer");
	ck_assert_str_eq(str_at(doc, "tasks/5/root/children/0/children/0/address"), "0x3000");
	ck_assert_str_eq(str_at(doc, "tasks/6/root/kind"), "async_block");
	ck_assert_str_eq(str_at(doc, "tasks/7/root/kind"), "async_fn");
	ck_assert_str_eq(str_at(doc, "tasks/7/root/children/0/children/0/blocked_on/address"),
			 "0x5007");
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(empty_trace)
{
	struct ad_trace *t = new_trace();
	assert_text(t, &no_options, HEADER "(no tasks)\n\n");
	json_t *doc = render_json(t, &no_options);
	ck_assert_uint_eq(size_at(doc, "tasks"), 0);
	ck_assert_int_eq(int_at(doc, "runtimes/0/tasks"), 0);
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

/* A timer's time left is written in seconds, exactly (nanoseconds in
 * decimal), and reads back as the double ns / 1e9. */
START_TEST(time_left_is_exact_seconds)
{
	static const struct { int64_t ns; const char *text; } cases[] = {
		{ 3580976010972, "3580.976010972" }, { 2000000000, "2.0" },
		{ 0, "0.0" },			      { 1, "0.000000001" },
		{ -500000000, "-0.5" },		      { -1234567890123, "-1234.567890123" },
		{ 104000000000000, "104000.0" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ad_trace *t = new_trace();
		struct ad_frame *sleep = future("tokio::time::sleep::Sleep", 0x5200, AD_FRAME_PENDING);
		struct ad_blocked_on *timer = block(sleep, AD_RESOURCE_TIMER, 0x789);
		timer->has_deadline = true;
		timer->deadline_ns = 5000000000000;
		timer->time_left_ns = cases[i].ns;
		add_task(t, 1, 0x5000, AD_TASK_IDLE, sleep);
		char *text = NULL;
		ck_ok(ad_render_json(t, &no_options, &text, NULL));
		char expected[64];
		snprintf(expected, sizeof(expected), "\"time_left_s\":%s", cases[i].text);
		const char *found = strstr(text, expected);
		ck_assert_msg(found, "no %s in %.400s", expected, text);
		ck_assert_msg(strchr(",}", found[strlen(expected)]), "%s is followed by more: %.40s",
			      expected, found);
		json_t *doc = render_json(t, &no_options);
		ck_assert(json_real_value(at(doc, "tasks/0/blocked_on/time_left_s")) ==
			  (double)cases[i].ns / 1e9);
		json_decref(doc);
		free(text);
		ad_trace_destroy(t);
	}
}
END_TEST

/* A task reading a connection it made: the socket in JSON (the reference
 * renderer agrees, the schema accepts it) and its arrow in the text. */
static struct ad_trace *reads_a_connection(const char *origin)
{
	struct ad_trace *t = new_trace();
	struct ad_frame *read = future("tokio::io::util::read::Read<tokio::net::tcp::stream::TcpStream>",
				       0x5300, AD_FRAME_PENDING);
	struct ad_blocked_on *b = block(read, AD_RESOURCE_IO, 0x790);
	b->fd = 9;
	ck_ok(ad_blocked_on_set_interest(b, "readable"));
	struct ad_socket sock = {
		.inode = 4242, .family = "ipv4", .protocol = "tcp", .local = "10.0.0.5:41872",
		.peer = "10.0.0.9:5432", .state = "ESTABLISHED", .has_queues = true,
	};
	snprintf(sock.origin, sizeof(sock.origin), "%s", origin);
	ck_ok(ad_blocked_on_set_socket(b, &sock));
	add_task(t, 1, 0x5000, AD_TASK_IDLE, read);
	return t;
}

START_TEST(socket_leaf_says_who_connected)
{
	static const struct { const char *origin, *arrow; } cases[] = {
		{ "connected", "→" }, { "accepted", "←" }, { "", "↔" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ad_trace *t = reads_a_connection(cases[i].origin);
		json_t *doc = render_json(t, &no_options);
		ck_assert_str_eq(str_at(doc, "tasks/0/blocked_on/socket/peer"), "10.0.0.9:5432");
		if (*cases[i].origin)
			ck_assert_str_eq(str_at(doc, "tasks/0/blocked_on/socket/origin"), cases[i].origin);
		else
			assert_absent(doc, "tasks/0/blocked_on/socket/origin");
		json_decref(doc);
		char *text = render_text(t, &no_options), want[96];
		snprintf(want, sizeof(want), "tcp 10.0.0.5:41872 %s 10.0.0.9:5432 ESTABLISHED",
			 cases[i].arrow);
		ck_assert_msg(strstr(text, want), "no \"%s\" in %s", want, text);
		free(text);
		ad_trace_destroy(t);
	}
}
END_TEST

/* ---------------------------------------------------------------- bounds */

START_TEST(deep_tree_is_cut_at_the_depth_limit)
{
	struct ad_trace *t = deep_chain(AD_RENDER_MAX_DEPTH + 44);
	json_t *doc = render_json(t, &no_options);
	json_t *f = at(doc, "tasks/0/root");
	for (int depth = 1; depth < AD_RENDER_MAX_DEPTH; depth++) {
		ck_assert_uint_eq(size_at(f, "children"), 1);
		assert_absent(f, "truncated");
		f = at(f, "children/0");
	}
	ck_assert_str_eq(str_at(f, "address"), "0x1ff00"); /* frame 256: 0x10000 + 0x100 * 255 */
	ck_assert(json_is_true(at(f, "truncated")));
	ck_assert_uint_eq(size_at(f, "children"), 0);
	ck_assert_uint_eq(size_at(doc, "warnings"), 1);
	ck_assert_str_eq(str_at(doc, "warnings/0"),
			 "the future tree of task 7 (with the tasks it awaits) is nested deeper "
			 "than "
			 "256 levels; deeper frames are not shown (marked \"truncated\")");
	json_decref(doc);

	char *text = render_text(t, &no_options);
	const char *block = strstr(text, "\n\n    ");
	ck_assert_ptr_nonnull(block);
	const char *start = "\n\n    [deeper frames not shown]\n"
			    "    my_program::f() suspended at src/f.rs:1\n";
	ck_assert(strncmp(block, start, strlen(start)) == 0);
	size_t frames = 0;
	for (const char *p = text; (p = strstr(p, "    my_program::f() ")); p++)
		frames++;
	ck_assert_uint_eq(frames, AD_RENDER_MAX_DEPTH);
	free(text);
	ad_trace_destroy(t);
}
END_TEST

/* Counts the task links in `v` that inline their task's tree. */
static size_t expanded_links(json_t *v)
{
	size_t n = 0, i;
	const char *key;
	json_t *x;
	if (json_is_object(v)) {
		json_t *root = json_object_get(v, "root");
		n += json_is_string(json_object_get(v, "kind")) &&
		     strcmp(json_string_value(json_object_get(v, "kind")), "task") == 0 &&
		     json_is_object(json_object_get(v, "task_id") ? root : NULL);
		json_object_foreach(v, key, x)
			n += expanded_links(x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			n += expanded_links(x);
	}
	return n;
}

/* Issue 15: a chain of tasks each awaiting the next re-embedded the chain
 * below every task (16 levels each); the JSON now inlines one level. */
START_TEST(json_inlines_one_level_of_awaited_tasks)
{
	struct ad_trace *t = task_chain(300);
	json_t *doc = render_json(t, NULL);
	ck_assert_uint_eq(expanded_links(doc), 299);
	json_t *link = at(doc, "tasks/0/root/children/0/children/0");
	ck_assert_int_eq(int_at(link, "task_id"), 2);
	json_t *next = at(link, "root/children/0/children/0");
	ck_assert_int_eq(int_at(next, "task_id"), 3);
	ck_assert(json_is_true(at(next, "truncated")));
	assert_absent(next, "root");
	ck_assert_uint_eq(size_at(doc, "warnings"), 0);
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(long_chain_of_awaited_tasks_is_cut)
{
	struct ad_trace *t = task_chain(20);
	struct ad_render_options only1 = { .has_task = true, .task = 1,
					   .max_task_nesting = AD_RENDER_MAX_TASK_NESTING };
	json_t *doc = render_json(t, &only1);
	json_t *f = at(doc, "tasks/0/root");
	for (int id = 2; id <= 1 + AD_RENDER_MAX_TASK_NESTING; id++) {
		json_t *link = at(f, "children/0/children/0");
		ck_assert_int_eq(int_at(link, "task_id"), id);
		assert_absent(link, "truncated");
		f = at(link, "root");
		ck_assert_ptr_nonnull(f);
	}
	json_t *cut = at(f, "children/0/children/0");
	ck_assert_int_eq(int_at(cut, "task_id"), 2 + AD_RENDER_MAX_TASK_NESTING);
	ck_assert(json_is_true(at(cut, "truncated")));
	assert_absent(cut, "root");
	ck_assert_uint_eq(size_at(doc, "warnings"), 1);
	ck_assert_str_eq(str_at(doc, "warnings/0"),
			 "task 1 awaits a chain of more than 16 tasks; the tasks further down are "
			 "not expanded (marked \"truncated\"); render them on their own with "
			 "?task=ID");
	json_decref(doc);
	char *text = render_text(t, &only1);
	/* task 18's block is the 17th nested one: its header 4 * 17 columns in */
	const char *hdr = strstr(text, "task 0x1200000 (id 18, idle) ~ blocked on task 0x1300000 "
				       "(id 19)\n");
	ck_assert_ptr_nonnull(hdr);
	size_t indent = 0;
	while (hdr - indent > text && hdr[-1 - (long)indent] == ' ')
		indent++;
	ck_assert_uint_eq(indent, 4 * 17);
	const char *next = strchr(hdr, '\n') + 1;
	ck_assert_uint_eq(strspn(next, " "), indent + 4);
	const char *cut_line =
		"[not expanded here: output limit reached, see the task on its own]\n";
	ck_assert(strncmp(next + indent + 4, cut_line, strlen(cut_line)) == 0);
	ck_assert_ptr_null(strstr(text, "task 0x1300000 (id 19, idle)"));
	free(text);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(fan_in_on_one_task_is_bounded)
{
	struct ad_trace *t = fan_in(5);
	struct ad_render_options small = { .max_linked_frames = 25 };
	json_t *doc = render_json(t, &small);
	ck_assert_uint_eq(size_at(doc, "tasks"), 6);
	/* 10 frames each: the first two waiters show task 100's tree, the rest are cut */
	for (int i = 1; i <= 5; i++) {
		json_t *link = at(json_array_get(at(doc, "tasks"), (size_t)i),
				  "root/children/0/children/0");
		ck_assert_int_eq(int_at(link, "task_id"), 100);
		if (i <= 2) {
			ck_assert_uint_eq(size_at(link, "root/children"), 9);
			assert_absent(link, "truncated");
		} else {
			ck_assert(json_is_true(at(link, "truncated")));
			assert_absent(link, "root");
		}
	}
	ck_assert_uint_eq(size_at(doc, "warnings"), 1);
	ck_assert_str_eq(str_at(doc, "warnings/0"),
			 "awaited tasks' trees were repeated under their awaiting frames up to 25 "
			 "frames; further task links are not expanded (marked \"truncated\"), each "
			 "task is still shown on its own");
	json_decref(doc);

	/* With the default bound, all five are shown. */
	doc = render_json(t, &no_options);
	ck_assert_uint_eq(size_at(doc, "tasks/5/root/children/0/children/0/root/children"), 9);
	ck_assert_uint_eq(size_at(doc, "warnings"), 0);
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

/* ---------------------------------------------------------------- out of memory */

/* Every allocation of a rendering fails in turn: each time the renderer
 * reports AD_ERROR_NOMEM, writes no result, and leaks nothing (ASan, valgrind).
 * Returns how many allocations the rendering made. */
static long oom_at_every_allocation(struct ad_trace *t, bool text)
{
	long n;
	for (n = 0;; n++) {
		char *out = NULL;
		failing_alloc_arm(n);
		struct ad_error *err = text ? ad_render_text(t, &with_locals, &out)
					    : ad_render_json(t, &with_locals, &out, NULL);
		failing_alloc_disarm();
		if (!err) {
			free(out);
			return n;
		}
		ck_assert_int_eq(err->code, AD_ERROR_NOMEM);
		ck_assert_ptr_null(out);
		ad_error_destroy(err);
	}
}

START_TEST(json_oom_at_every_allocation_is_an_error)
{
	struct ad_trace *t = task_awaits_task();
	long json = oom_at_every_allocation(t, false);
	long text = oom_at_every_allocation(t, true);
	/* the loops did go through the whole document: both formats are
	 * written into a few growing buffers, the text format's task trees
	 * into a pool kept from task to task */
	ck_assert_int_gt(json, 3);
	ck_assert_int_gt(text, 3);
	ad_trace_destroy(t);
}
END_TEST

/* ---------------------------------------------------------------- the schema */

static const char *schema_path(void)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/docs/trace.schema.json", top ? top : TOP_SRCDIR);
	return path;
}

/* Validates each file (FILE.task.json against $defs/task, the others against the
 * whole schema) in one Python process; returns its output, one line per file:
 * "valid FILE" or "invalid FILE: message". */
static const char validator[] =
	"import json, sys, jsonschema\n"
	"sys.setrecursionlimit(100000)\n"
	"schema = json.load(open(sys.argv[1]))\n"
	"V = jsonschema.Draft202012Validator\n"
	"V.check_schema(schema)\n"
	"whole = V(schema)\n"
	"task = V({'$ref': '#/$defs/task', '$defs': schema['$defs']})\n"
	"for path in sys.argv[2:]:\n"
	"    v = task if path.endswith('.task.json') else whole\n"
	"    errors = list(v.iter_errors(json.load(open(path))))\n"
	"    print(('invalid %s: %s' % (path, errors[0].message)) if errors else 'valid ' + "
	"path)\n";

static char *validate(char **files, size_t n)
{
	size_t len = strlen("python3 -c \"$V\" ''") + strlen(schema_path()) + 16;
	for (size_t i = 0; i < n; i++)
		len += strlen(files[i]) + 3;
	char *cmd = malloc(len);
	ck_assert_ptr_nonnull(cmd);
	int off = snprintf(cmd, len, "python3 -c \"$V\" '%s'", schema_path());
	for (size_t i = 0; i < n; i++)
		off += snprintf(cmd + off, len - (size_t)off, " '%s'", files[i]);
	ck_assert_int_eq(setenv("V", validator, 1), 0);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	char *out = NULL;
	size_t outlen = 0;
	FILE *o = open_memstream(&out, &outlen);
	char buf[4096];
	size_t r;
	while ((r = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, r, o);
	fclose(o);
	int status = pclose(p);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the schema validator failed (is python3-jsonschema installed?): %s", out);
	free(cmd);
	return out;
}

struct doc_set {
	char dir[64];
	char *files[96];
	size_t n;
};

static void save(struct doc_set *s, json_t *doc, const char *suffix)
{
	ck_assert_uint_lt(s->n, sizeof(s->files) / sizeof(s->files[0]));
	char *path;
	ck_assert_int_ge(asprintf(&path, "%s/%02zu%s", s->dir, s->n, suffix), 0);
	ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	s->files[s->n++] = path;
}

static void save_trace(struct doc_set *s, struct ad_trace *t, const struct ad_render_options *o)
{
	json_t *doc = render_json(t, o);
	save(s, doc, ".json");
	json_decref(doc);
	for (size_t i = 0; i < t->ntasks; i++) {
		json_t *task = render_task_json(t, &t->tasks[i], o);
		save(s, task, ".task.json");
		json_decref(task);
	}
	ad_trace_destroy(t);
}

static void remove_docs(struct doc_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		unlink(s->files[i]);
		free(s->files[i]);
	}
	rmdir(s->dir);
}

START_TEST(every_document_validates_against_the_schema)
{
	struct doc_set s = { .dir = "/tmp/asyncdump-test-render-XXXXXX" };
	ck_assert_ptr_nonnull(mkdtemp(s.dir));
	struct ad_render_options only12 = { .has_task = true, .task = 12 };
	struct ad_render_options small = { .max_linked_frames = 25 };
	save_trace(&s, design_point1(), &no_options);
	save_trace(&s, design_point1(), &with_locals);
	save_trace(&s, design_point2(), &with_locals);
	save_trace(&s, design_point3(), &no_options);
	save_trace(&s, join3_nested(), &no_options);
	save_trace(&s, task_awaits_task(), &with_locals);
	save_trace(&s, self_await(), &no_options);
	save_trace(&s, two_task_cycle(), &no_options);
	save_trace(&s, two_task_cycle(), &only12);
	save_trace(&s, undecodable(), &no_options);
	save_trace(&s, missing_link(), &no_options);
	save_trace(&s, hostile_strings(), &no_options);
	save_trace(&s, new_trace(), &no_options);
	save_trace(&s, deep_chain(AD_RENDER_MAX_DEPTH + 44), &no_options);
	save_trace(&s, task_chain(20), &(struct ad_render_options){ .has_task = true, .task = 1 });
	save_trace(&s, fan_in(5), &small);
	save_trace(&s, adapters(), &no_options);
	save_trace(&s, reads_a_connection("connected"), &no_options);
	save_trace(&s, reads_a_connection(""), &no_options);
	char *out = validate(s.files, s.n);
	size_t nvalid = 0;
	for (const char *p = out; (p = strstr(p, "valid ")); p++)
		nvalid++;
	ck_assert_msg(strstr(out, "invalid") == NULL, "%s", out);
	ck_assert_uint_eq(nvalid, s.n);
	free(out);
	remove_docs(&s);
}
END_TEST

/* The schema catches mistakes: each of these changes to a valid document fails. */
START_TEST(schema_rejects_broken_documents)
{
	struct doc_set s = { .dir = "/tmp/asyncdump-test-render-XXXXXX" };
	ck_assert_ptr_nonnull(mkdtemp(s.dir));
	struct ad_trace *t = task_awaits_task();
	json_t *good = render_json(t, &no_options);
	ad_trace_destroy(t);
	const char *what[] = {
		"unknown task state", "frame without children", "unknown field",
		"address not in lower-case hex", "link with both root and recursion",
		"blocked_on kind not a resource", "block_on with an id",
		"deadline without time left",
	};
	for (size_t i = 0; i < sizeof(what) / sizeof(*what); i++) {
		json_t *doc = json_deep_copy(good);
		json_t *task1 = at(doc, "tasks/1");
		json_t *link = at(doc, "tasks/1/root/children/0/children/0");
		switch (i) {
		case 0: json_object_set_new(task1, "state", json_string("sleeping")); break;
		case 1: json_object_del(at(task1, "root"), "children"); break;
		case 2: json_object_set_new(doc, "hostname", json_string("x")); break;
		case 3: json_object_set_new(task1, "address", json_string("0x4A00")); break;
		case 4: json_object_set_new(link, "recursion", json_true());
			json_object_set_new(link, "cycle", json_pack("[ii]", 7, 7));
			break;
		case 5:
			json_object_set_new(at(task1, "blocked_on"), "kind", json_string("future"));
			break;
		case 6: json_object_set_new(at(doc, "tasks/0"), "id", json_integer(3)); break;
		case 7: json_object_del(at(doc, "tasks/2/blocked_on"), "time_left_s"); break;
		}
		save(&s, doc, ".json");
		json_decref(doc);
	}
	json_decref(good);
	char *out = validate(s.files, s.n);
	for (size_t i = 0; i < s.n; i++) {
		char line[256];
		snprintf(line, sizeof(line), "invalid %s:", s.files[i]);
		ck_assert_msg(strstr(out, line) != NULL,
			      "the schema accepts a document with %s: %s", what[i], out);
	}
	free(out);
	remove_docs(&s);
}
END_TEST

/* ---------------------------------------------------------------- adapters and display names */

START_TEST(adapters_fold_into_the_frame_they_wrap_in_text)
{
	struct ad_trace *t = adapters();
	assert_text(t, &no_options,
		    HEADER
		    "task 0x1234 (id 7, idle) ~ blocked on timer 0x789\n"
		    "\n"
		    "    my_program::source() suspended at src/foo.rs:12 via Map, Then "
		    "[blocked on timer 0x789]\n"
		    "    my_program::foo() suspended at src/foo.rs:30\n"
		    "\n"
		    "task 0x2234 (id 8, idle) ~ blocked on timer 0x790\n"
		    "\n"
		    "    my_program::bar() suspended at src/foo.rs:50 [blocked on timer 0x790, via Fuse]\n"
		    "\n"
		    "task 0x3234 (id 9, idle)\n"
		    "\n"
		    "    futures_util::future::future::Map<…> completed\n"
		    "\n");
	ad_trace_destroy(t);
}
END_TEST

START_TEST(adapters_stay_in_json_marked)
{
	struct ad_trace *t = adapters();
	json_t *doc = render_json(t, &no_options);
	json_t *then = at(doc, "tasks/0/root/children/0");
	ck_assert(json_is_true(at(then, "adapter")));
	ck_assert_str_eq(str_at(then, "adapter_name"), "Then");
	ck_assert_str_eq(str_at(then, "name"), FUT "Then<…>");
	ck_assert_str_eq(str_at(then, "type"), FUT "Then<" MAP_A ", " NEXT_ENV ", " CLOSURE1 ">");
	/* Then's own layers: marked, not named. */
	json_t *f = at(then, "children/0");
	const char *layers[] = { "flatten::Flatten<…>", "Map<…>", "map::Map<…>" };
	for (size_t i = 0; i < 3; i++, f = at(f, "children/0")) {
		char name[128];
		snprintf(name, sizeof(name), FUT "%s", layers[i]);
		ck_assert_str_eq(str_at(f, "name"), name);
		ck_assert(json_is_true(at(f, "adapter")));
		assert_absent(f, "adapter_name");
	}
	/* The user's Map: named; its map::Map is not. */
	ck_assert_str_eq(str_at(f, "type"), MAP_A);
	ck_assert_str_eq(str_at(f, "adapter_name"), "Map");
	f = at(f, "children/0");
	ck_assert(json_is_true(at(f, "adapter")));
	assert_absent(f, "adapter_name");
	f = at(f, "children/0");
	ck_assert_str_eq(str_at(f, "name"), "my_program::source");
	assert_absent(f, "adapter");
	assert_absent(f, "children/0/adapter");
	assert_absent(doc, "tasks/0/root/adapter");
	ck_assert_str_eq(str_at(doc, "tasks/1/root/children/0/adapter_name"), "Fuse");
	ck_assert_str_eq(str_at(doc, "tasks/0/blocked_on/kind"), "timer");
	json_decref(doc);
	ad_trace_destroy(t);
}
END_TEST

START_TEST(long_generic_arguments_are_elided_from_names)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "tokio::time::sleep::Sleep", "tokio::time::sleep::Sleep" },
		{ "core::option::Option<u64>", "core::option::Option<u64>" },
		/* 40 characters of arguments stay, 41 go. */
		{ "a::B<1234567890123456789012345678901234567890>",
		  "a::B<1234567890123456789012345678901234567890>" },
		{ "a::B<12345678901234567890123456789012345678901>", "a::B<…>" },
		{ FUT "Map<" SOURCE_ENV ", my_program::foo::{closure_env#0}>", FUT "Map<…>" },
		/* A qualified path is kept, its generic arguments elided. */
		{ "<hyper::proto::h1::dispatch::Server<hyper::service::util::ServiceFn<my::f, "
		  "hyper::body::Body>, hyper::body::Body> as hyper::proto::h1::dispatch::Dispatch>::poll",
		  "<hyper::proto::h1::dispatch::Server<…> as hyper::proto::h1::dispatch::Dispatch>::poll" },
		/* "->" closes nothing. */
		{ "a::F<fn(my_program::Request) -> my_program::Response, u8>::g<T>", "a::F<…>::g<T>" },
		{ "my_program::main::{async_block#0}", "my_program::main::{async_block#0}" },
		{ "a::B<unclosed aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a::B<…>" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = ad_display_name(cases[i].in);
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, cases[i].out);
		free(got);
		struct ad_frame *f = ad_frame_create(AD_FRAME_FUTURE, NULL, cases[i].in, 0x10);
		ck_assert_str_eq(f->name, cases[i].out);
		ck_assert_str_eq(f->type, cases[i].in);
		ad_frame_destroy(f);
	}
}
END_TEST

START_TEST(adapter_types_and_their_arguments)
{
	const char *word = "unset";
	ck_assert(ad_type_is_adapter(FUT "Map<a::B, c::D>", &word));
	ck_assert_str_eq(word, "Map");
	ck_assert(ad_type_is_adapter(FUT "map::Map<a::B, c::D>", &word));
	ck_assert_ptr_null(word);
	ck_assert(ad_type_is_adapter("tracing::instrument::Instrumented<a::B>", &word));
	ck_assert_str_eq(word, "Instrumented");
	ck_assert(ad_type_is_adapter("futures_util::future::either::Either<a::B, a::C>", NULL));
	ck_assert(!ad_type_is_adapter(FUT "MapX<a::B>", NULL));
	ck_assert(!ad_type_is_adapter("futures_util::future::join::Join<a::B, a::C>", NULL));
	ck_assert(!ad_type_is_adapter("tokio::time::sleep::Sleep", NULL));
	ck_assert(!ad_type_is_adapter(NULL, NULL));
	/* The table's ends, a name without generic arguments, paths that are
	 * a prefix of an adapter's or that sort before or after them all. */
	ck_assert(ad_type_is_adapter("futures_util::compat::compat03as01::Compat<a::B>", &word));
	ck_assert_str_eq(word, "Compat");
	ck_assert(ad_type_is_adapter("tracing_futures::WithDispatch<a::B>", &word));
	ck_assert_str_eq(word, "WithDispatch");
	ck_assert(ad_type_is_adapter("hyper_util::service::oneshot::Oneshot", &word));
	ck_assert_str_eq(word, "Oneshot");
	ck_assert(!ad_type_is_adapter(FUT "Ma<a::B>", NULL));
	ck_assert(!ad_type_is_adapter("futures_util::future::future", NULL));
	ck_assert(!ad_type_is_adapter("", NULL));
	ck_assert(!ad_type_is_adapter("a::B<futures_util::future::future::Map<a::B>>", NULL));
	ck_assert(!ad_type_is_adapter("zzz::Map", NULL));

	const char *then = FUT "Then<" MAP_A ", " NEXT_ENV ", fn(u8) -> u8>";
	ck_assert(ad_type_is_generic_argument(then, MAP_A));
	ck_assert(ad_type_is_generic_argument(then, NEXT_ENV));
	ck_assert(ad_type_is_generic_argument(then, "fn(u8) -> u8"));
	ck_assert(!ad_type_is_generic_argument(then, SOURCE_ENV)); /* nested, not top level */
	ck_assert(!ad_type_is_generic_argument(then, "u8"));
	ck_assert(!ad_type_is_generic_argument("a::B", "a::B"));
	ck_assert(!ad_type_is_generic_argument("a::B<(c::D, e::F)>", "c::D"));
	ck_assert(ad_type_is_generic_argument("a::B<(c::D, e::F)>", "(c::D, e::F)"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("design");
	tcase_add_test(tc, design_point1_json);
	tcase_add_test(tc, design_point1_text);
	tcase_add_test(tc, read_without_a_stop);
	tcase_add_test(tc, design_point1_locals);
	tcase_add_test(tc, design_point2_locals_are_drawn_like_frames);
	tcase_add_test(tc, design_point3_join);
	tcase_add_test(tc, three_branch_join_with_a_nested_join);
	suite_add_tcase(s, tc);

	tc = tcase_create("tasks");
	tcase_add_test(tc, awaited_task_tree_is_the_subtree_in_json);
	tcase_add_test(tc, awaited_task_block_is_nested_in_text);
	tcase_add_test(tc, self_await_is_cut_as_recursion);
	tcase_add_test(tc, two_task_cycle_is_cut_where_it_closes);
	tcase_add_test(tc, one_task_with_its_subtree_and_its_cycles);
	tcase_add_test(tc, unknown_task_is_not_found);
	tcase_add_test(tc, link_to_a_task_not_in_the_sample);
	tcase_add_test(tc, locals_are_not_followed_into_tasks);
	suite_add_tcase(s, tc);

	tc = tcase_create("odd input");
	tcase_add_test(tc, undecodable_frames_and_tasks);
	tcase_add_test(tc, paths_are_shortened_only_under_the_source_root);
	tcase_add_test(tc, strings_from_the_target_are_made_safe);
	tcase_add_test(tc, escapes_are_found_at_every_position);
	tcase_add_test(tc, frames_sharing_strings_are_each_written_as_their_own);
	tcase_add_test(tc, empty_trace);
	tcase_add_test(tc, time_left_is_exact_seconds);
	tcase_add_test(tc, socket_leaf_says_who_connected);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 60); /* big documents, each rendered four ways */
	tcase_add_test(tc, deep_tree_is_cut_at_the_depth_limit);
	tcase_add_test(tc, long_chain_of_awaited_tasks_is_cut);
	tcase_add_test(tc, json_inlines_one_level_of_awaited_tasks);
	tcase_add_test(tc, fan_in_on_one_task_is_bounded);
	tcase_add_test(tc, json_oom_at_every_allocation_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("adapters and names");
	tcase_add_test(tc, adapters_fold_into_the_frame_they_wrap_in_text);
	tcase_add_test(tc, adapters_stay_in_json_marked);
	tcase_add_test(tc, long_generic_arguments_are_elided_from_names);
	tcase_add_test(tc, adapter_types_and_their_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_document_validates_against_the_schema);
	tcase_add_test(tc, schema_rejects_broken_documents);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
