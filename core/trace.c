/* SPDX-License-Identifier: MIT */
/* The trace model: builders, lookups, destruction. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/trace.h"
#include "asyncdump/type.h"
#include "digits.h"
#include "names.h"
#include "search.h"

/* Arrays of the model carry only their length: their capacity is the next power
 * of two, so appending stays amortised O(1) without a capacity field in the
 * public structs. Makes room for element n (the array's length before the append). */
static bool reserve_one(void **array, size_t n, size_t size)
{
	if (n & (n - 1))
		return true; /* not a power of two: below capacity */
	size_t cap = n ? 2 * n : 1;
	if (cap < n || cap > SIZE_MAX / size)
		return false;
	void *p = realloc(*array, cap * size);
	if (!p)
		return false;
	*array = p;
	return true;
}

/* Replaces *field with a copy of value (NULL clears); *field is untouched on OOM. */
static bool replace_string(char **field, const char *value)
{
	char *copy = NULL;
	if (value && !(copy = strdup(value)))
		return false;
	free(*field);
	*field = copy;
	return true;
}

static bool replace_vstring(char **field, const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		return false;
	free(*field);
	*field = s;
	return true;
}

struct ad_trace *ad_trace_create(void)
{
	return calloc(1, sizeof(struct ad_trace));
}

static void free_task(struct ad_task *task)
{
	free(task->thread_name);
	free(task->note);
	ad_frame_destroy(task->root);
}

void ad_trace_destroy(struct ad_trace *t)
{
	if (!t)
		return;
	free(t->exe);
	free(t->build_id);
	free(t->source_root);
	for (size_t i = 0; i < t->nruntimes; i++) {
		free(t->runtimes[i].kind);
		free(t->runtimes[i].flavor);
	}
	free(t->runtimes);
	for (size_t i = 0; i < t->ntasks; i++)
		free_task(&t->tasks[i]);
	free(t->tasks);
	for (size_t i = 0; i < t->nwarnings; i++)
		free(t->warnings[i]);
	free(t->warnings);
	for (size_t i = 0; i < t->ncycles; i++)
		free(t->cycles[i].task_ids);
	free(t->cycles);
	ad_names_destroy(t->names);
	free(t);
}

struct ad_error *ad_trace_add_runtime(struct ad_trace *t, const char *kind, const char *flavor,
				      uint64_t address, struct ad_runtime **ret)
{
	struct ad_runtime r = { .id = (unsigned)t->nruntimes, .address = address };
	if (!replace_string(&r.kind, kind) || !replace_string(&r.flavor, flavor) ||
	    !reserve_one((void **)&t->runtimes, t->nruntimes, sizeof(*t->runtimes))) {
		free(r.kind);
		free(r.flavor);
		return &ad_error_nomem;
	}
	t->runtimes[t->nruntimes] = r;
	*ret = &t->runtimes[t->nruntimes++];
	return NULL;
}

struct ad_error *ad_trace_add_task(struct ad_trace *t, struct ad_task **ret)
{
	if (!reserve_one((void **)&t->tasks, t->ntasks, sizeof(*t->tasks)))
		return &ad_error_nomem;
	struct ad_task *task = &t->tasks[t->ntasks++];
	*task = (struct ad_task){ .kind = AD_TASK_KIND_TASK, .state = AD_TASK_STATE_UNKNOWN };
	*ret = task;
	return NULL;
}

static int compare_task_ids(const void *a, const void *b)
{
	uint64_t x = ((const struct ad_task *)a)->id, y = ((const struct ad_task *)b)->id;
	return (x > y) - (x < y);
}

static bool same_run(const struct ad_task *a, const struct ad_task *b)
{
	return a->has_id && b->has_id && a->runtime == b->runtime && a->kind == b->kind;
}

void ad_trace_sort_tasks(struct ad_trace *t)
{
	for (size_t start = 0, end; start < t->ntasks; start = end) {
		for (end = start + 1; end < t->ntasks && same_run(&t->tasks[start], &t->tasks[end]); end++)
			;
		if (end - start > 1)
			qsort(&t->tasks[start], end - start, sizeof(*t->tasks), compare_task_ids);
	}
}

struct ad_error *ad_trace_add_warning(struct ad_trace *t, const char *fmt, ...)
{
	if (!reserve_one((void **)&t->warnings, t->nwarnings, sizeof(*t->warnings)))
		return &ad_error_nomem;
	va_list ap;
	va_start(ap, fmt);
	char *w = NULL;
	bool ok = replace_vstring(&w, fmt, ap);
	va_end(ap);
	if (!ok)
		return &ad_error_nomem;
	t->warnings[t->nwarnings++] = w;
	return NULL;
}

struct ad_error *ad_trace_add_cycle(struct ad_trace *t, const uint64_t *task_ids, size_t n)
{
	if (n == 0)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "a wait-for cycle needs at least one task id");
	if (!reserve_one((void **)&t->cycles, t->ncycles, sizeof(*t->cycles)))
		return &ad_error_nomem;
	uint64_t *ids = n <= SIZE_MAX / sizeof(*ids) ? malloc(n * sizeof(*ids)) : NULL;
	if (!ids)
		return &ad_error_nomem;
	memcpy(ids, task_ids, n * sizeof(*ids));
	t->cycles[t->ncycles++] = (struct ad_cycle){ .n = n, .task_ids = ids };
	return NULL;
}

struct ad_error *ad_trace_set_exe(struct ad_trace *t, const char *value)
{
	return replace_string(&t->exe, value) ? NULL : &ad_error_nomem;
}

struct ad_error *ad_trace_set_build_id(struct ad_trace *t, const char *value)
{
	return replace_string(&t->build_id, value) ? NULL : &ad_error_nomem;
}

struct ad_error *ad_trace_set_source_root(struct ad_trace *t, const char *value)
{
	return replace_string(&t->source_root, value) ? NULL
						      : &ad_error_nomem;
}

struct ad_error *ad_task_set_thread(struct ad_task *task, pid_t tid, const char *name)
{
	if (!replace_string(&task->thread_name, name))
		return &ad_error_nomem;
	task->tid = tid;
	return NULL;
}

struct ad_error *ad_task_set_note(struct ad_task *task, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool ok = replace_vstring(&task->note, fmt, ap);
	va_end(ap);
	return ok ? NULL : &ad_error_nomem;
}

static void write_display_name(const char *name, size_t n, char *out);

struct ad_names *ad_trace_names(struct ad_trace *t)
{
	if (!t->names)
		t->names = ad_names_create();
	return t->names;
}

/* The display name of one of a trace's names, made once. */
static const char *shared_display_name(struct ad_names *names, const char *name)
{
	const char *display = ad_names_display(names, name);
	if (display)
		return display;
	char *made = ad_display_name(name);
	display = made ? ad_names_keep_display(names, name, made) : NULL;
	free(made);
	return display;
}

struct ad_frame *ad_trace_frame_create(struct ad_trace *t, enum ad_frame_kind kind,
				       const char *name, const char *type, uint64_t address)
{
	if (!t)
		return ad_frame_create(kind, name, type, address);
	if (!name)
		name = type ? type : "(unknown)";
	if (!type)
		type = name;
	struct ad_names *names = ad_trace_names(t);
	if (!names)
		return NULL;
	const char *shared_type = ad_names_intern(names, type);
	const char *shared_name = name == type ? shared_type : ad_names_intern(names, name);
	const char *display = shared_name ? shared_display_name(names, shared_name) : NULL;
	struct ad_frame *f = NULL;
	if (display && shared_type && (f = ad_strpool_alloc(&names->pool, sizeof(*f))))
		memset(f, 0, sizeof(*f));
	if (!f)
		return NULL;
	f->kind = kind;
	f->address = address;
	f->state = AD_FRAME_UNKNOWN;
	f->type = (char *)shared_type;
	f->name = (char *)display;
	f->names = names;
	return f;
}

struct ad_frame *ad_frame_create(enum ad_frame_kind kind, const char *name, const char *type,
				 uint64_t address)
{
	if (!name)
		name = type ? type : "(unknown)";
	if (!type)
		type = name;
	/* One allocation for the frame and its two strings: a trace of
	 * 100,000 tasks has half a million frames. The display name is never
	 * longer than the name. */
	size_t nname = strlen(name), ntype = strlen(type);
	struct ad_frame *f = calloc(1, sizeof(*f) + nname + 1 + ntype + 1);
	if (!f)
		return NULL;
	f->kind = kind;
	f->address = address;
	f->state = AD_FRAME_UNKNOWN;
	f->type = (char *)(f + 1);
	memcpy(f->type, type, ntype + 1);
	f->name = f->type + ntype + 1;
	write_display_name(name, nname, f->name);
	return f;
}

/* A location owns its file name, in the same allocation. */
static void free_location(struct ad_location *loc)
{
	free(loc);
}

/* A frame of a trace lives in the trace's pool (ad_trace_frame_create()),
 * and so does what it is blocked on: a sample of 100,000 tasks makes half a
 * million of them and frees them all at once. */
static void *frame_part_alloc(const struct ad_frame *f, size_t size)
{
	void *p = f->names ? ad_strpool_alloc(&f->names->pool, size) : malloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

static void free_blocked_on(const struct ad_frame *f, struct ad_blocked_on *b)
{
	if (!b)
		return;
	free(b->description);
	free(b->interest);
	free(b->socket);
	if (!f->names)
		free(b);
}

/* Everything a frame owns except its subframes and their arrays. */
static void free_frame_payload(struct ad_frame *f)
{
	if (!f->names) {
		free_location(f->location);
		free_location(f->macro_location);
	}
	free_blocked_on(f, f->blocked_on);
	free(f->error);
}

static struct ad_frame *pop_subframe(struct ad_frame *f)
{
	while (f->nchildren)
		if (f->children[--f->nchildren])
			return f->children[f->nchildren];
	while (f->nlocals)
		if (f->locals[--f->nlocals])
			return f->locals[f->nlocals];
	return NULL;
}

/* A tree built from target memory may be deep, and destroying must work when
 * memory is short: so no recursion and no allocation. Going down, a frame's
 * payload is freed at once and its (now unused) name pointer keeps the way
 * back to its parent; going up, the parent continues with its next subframe. */
void ad_frame_destroy(struct ad_frame *f)
{
	if (!f)
		return;
	free_frame_payload(f);
	f->name = NULL;
	while (f) {
		struct ad_frame *sub = pop_subframe(f);
		if (sub) {
			free_frame_payload(sub);
			sub->name = (char *)f;
			f = sub;
			continue;
		}
		struct ad_frame *parent = (struct ad_frame *)(void *)f->name;
		if (!f->names) {
			free(f->children);
			free(f->locals);
			free(f);
		}
		f = parent;
	}
}

/* reserve_one() for a frame's subframes: a frame of a trace keeps them in
 * the trace's pool (where an outgrown array stays until the trace goes). */
static bool reserve_subframe(struct ad_frame *f, struct ad_frame ***array, size_t n)
{
	if (!f->names)
		return reserve_one((void **)array, n, sizeof(**array));
	if (n & (n - 1))
		return true;
	size_t cap = n ? 2 * n : 1;
	if (cap < n || cap > SIZE_MAX / sizeof(**array))
		return false;
	struct ad_frame **p = ad_strpool_alloc(&f->names->pool, cap * sizeof(*p));
	if (!p)
		return false;
	if (n)
		memcpy(p, *array, n * sizeof(*p));
	*array = p;
	return true;
}

static struct ad_error *append_frame(struct ad_frame *f, struct ad_frame ***array, size_t *n,
				     struct ad_frame *sub)
{
	if (!sub)
		return &ad_error_nomem;
	if (!reserve_subframe(f, array, *n)) {
		ad_frame_destroy(sub);
		return &ad_error_nomem;
	}
	(*array)[(*n)++] = sub;
	return NULL;
}

struct ad_error *ad_frame_add_child(struct ad_frame *parent, struct ad_frame *child)
{
	return append_frame(parent, &parent->children, &parent->nchildren, child);
}

struct ad_error *ad_frame_add_local(struct ad_frame *parent, struct ad_frame *local)
{
	return append_frame(parent, &parent->locals, &parent->nlocals, local);
}

static bool replace_location(struct ad_location **field, const char *file, unsigned line,
			     unsigned column)
{
	struct ad_location *loc = NULL;
	if (file) {
		size_t n = strlen(file);
		loc = malloc(sizeof(*loc) + n + 1);
		if (!loc)
			return false;
		loc->file = memcpy(loc + 1, file, n + 1);
		loc->line = line;
		loc->column = column;
	}
	free_location(*field);
	*field = loc;
	return true;
}

/* A frame of a trace shares its locations with the trace's other frames. */
static bool set_location(struct ad_frame *f, struct ad_location **field, const char *file,
			 unsigned line, unsigned column)
{
	if (!f->names)
		return replace_location(field, file, line, column);
	struct ad_location *loc = file ? ad_names_location(f->names, file, line, column) : NULL;
	if (file && !loc)
		return false;
	*field = loc;
	return true;
}

struct ad_error *ad_frame_set_location(struct ad_frame *f, const char *file, unsigned line,
				       unsigned column)
{
	return set_location(f, &f->location, file, line, column)
		       ? NULL
		       : &ad_error_nomem;
}

struct ad_error *ad_frame_set_macro_location(struct ad_frame *f, const char *file, unsigned line,
					     unsigned column)
{
	return set_location(f, &f->macro_location, file, line, column)
		       ? NULL
		       : &ad_error_nomem;
}

struct ad_error *ad_frame_set_error(struct ad_frame *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool ok = replace_vstring(&f->error, fmt, ap);
	va_end(ap);
	return ok ? NULL : &ad_error_nomem;
}

struct ad_error *ad_frame_block_on(struct ad_frame *f, enum ad_resource_kind kind,
				   uint64_t address, struct ad_blocked_on **ret)
{
	struct ad_blocked_on *b = frame_part_alloc(f, sizeof(*b));
	if (!b)
		return &ad_error_nomem;
	b->kind = kind;
	b->address = address;
	b->fd = -1;
	b->permits_wanted = -1;
	b->permits_available = -1;
	b->other_fd = -1;
	free_blocked_on(f, f->blocked_on);
	f->blocked_on = b;
	*ret = b;
	return NULL;
}

struct ad_error *ad_blocked_on_set_description(struct ad_blocked_on *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool ok = replace_vstring(&b->description, fmt, ap);
	va_end(ap);
	return ok ? NULL : &ad_error_nomem;
}

struct ad_error *ad_blocked_on_set_interest(struct ad_blocked_on *b, const char *interest)
{
	return replace_string(&b->interest, interest) ? NULL
						      : &ad_error_nomem;
}

struct ad_error *ad_blocked_on_set_socket(struct ad_blocked_on *b, const struct ad_socket *s)
{
	struct ad_socket *copy = malloc(sizeof(*copy));
	if (!copy)
		return &ad_error_nomem;
	*copy = *s;
	free(b->socket);
	b->socket = copy;
	return NULL;
}

/* From the side that connected to the side that accepted; "↔" when that
 * is not known. */
static const char *socket_arrow(const struct ad_socket *s)
{
	if (strcmp(s->origin, "accepted") == 0)
		return " ← ";
	if (strcmp(s->origin, "connected") == 0)
		return " → ";
	return " ↔ ";
}

void ad_socket_format(const struct ad_socket *s, const char *interest, char *buf, size_t size)
{
	const char *proto = strcmp(s->family, "unix") == 0 ? "unix" : s->protocol;
	const char *sub = strcmp(s->family, "unix") == 0 ? s->protocol : "";
	char queued[64] = "";
	if (s->has_queues && strcmp(s->state, "LISTEN") == 0)
		snprintf(queued, sizeof(queued), ", %" PRIu64 " connections to accept", s->rx_queue);
	else if (s->has_queues)
		snprintf(queued, sizeof(queued), ", %" PRIu64 " B queued",
			 interest && strcmp(interest, "writable") == 0 ? s->tx_queue : s->rx_queue);
	snprintf(buf, size, "%s%s%s%s%s%s%s%s%s", proto, *sub ? " " : "", sub,
		 *s->local ? " " : "", s->local, *s->peer ? socket_arrow(s) : "", s->peer,
		 *s->state ? " " : "", s->state);
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "%s", queued);
}

/* "fd 12 readable: tcp 127.0.0.1:6379 ← 127.0.0.1:54022 ESTABLISHED, 0 B queued":
 * a connection its peer made to our port 6379. */
static void format_io(const struct ad_blocked_on *b, char *buf, size_t size)
{
	int n = snprintf(buf, size, "fd %d%s%.40s", b->fd, b->interest ? " " : "",
			 b->interest ? b->interest : "");
	if (n < 0 || (size_t)n >= size)
		return;
	if (b->socket) {
		snprintf(buf + n, size - (size_t)n, ": ");
		ad_socket_format(b->socket, b->interest, buf + n + 2, size - (size_t)n - 2);
	}
	size_t len = strlen(buf);
	if (*b->phase)
		snprintf(buf + len, size - len, " (%s)", b->phase);
	len = strlen(buf);
	if (b->has_buffered)
		snprintf(buf + len, size - len,
			 b->interest && strcmp(b->interest, "writable") == 0
				 ? " (%" PRIu64 " B encoded, not yet written)"
				 : " (%" PRIu64 " B read, no whole frame yet)",
			 b->buffered_bytes);
	len = strlen(buf);
	if (b->other_fd >= 0)
		snprintf(buf + len, size - len, " (copying %s fd %d, %" PRIu64 " B moved)",
			 b->interest && strcmp(b->interest, "writable") == 0 ? "from" : "to", b->other_fd,
			 b->bytes_moved);
}

/* before, v in `base`, after, into piece (at most AD_PIECE_MAX bytes). */
#define AD_PIECE_MAX 64
static void put_number(char *piece, const char *before, uint64_t v, unsigned base,
		       const char *after)
{
	char digits[24], *end = digits + sizeof(digits);
	char *start = ad_digits(v, base, end);
	size_t nb = strlen(before), nd = (size_t)(end - start), na = strlen(after);
	if (nb + nd + na >= AD_PIECE_MAX) {
		piece[0] = '\0';
		return;
	}
	memcpy(piece, before, nb);
	memcpy(piece + nb, start, nd);
	memcpy(piece + nb + nd, after, na + 1);
}

/* ", fires in 3599 s", ", overdue by 250 ms": whole units, as a person
 * reads a deadline. */
static void put_deadline(char *piece, int64_t ns)
{
	uint64_t abs_ns = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	const char *before = ns >= 0 ? ", fires in " : ", overdue by ";
	if (abs_ns >= 1000000000u)
		put_number(piece, before, abs_ns / 1000000000u, 10, " s");
	else
		put_number(piece, before, abs_ns / 1000000u, 10, " ms");
}

void ad_blocked_on_describe(const struct ad_blocked_on *b, char *buf, size_t size)
{
	if (!b->description && b->kind == AD_RESOURCE_IO && b->fd >= 0) {
		format_io(b, buf, size);
		return;
	}
	if (b->description) {
		snprintf(buf, size, "%s", b->description);
		return;
	}
	/* Only the first bytes cleared: these are made for every leaf. */
	char addr[AD_PIECE_MAX], id[AD_PIECE_MAX], when[AD_PIECE_MAX], io[80], permits[64];
	addr[0] = id[0] = when[0] = io[0] = permits[0] = '\0';
	if (b->address)
		put_number(addr, " 0x", b->address, 16, "");
	if (b->has_task_id)
		put_number(id, " (id ", b->task_id, 10, ")");
	if (b->has_deadline)
		put_deadline(when, b->time_left_ns);
	if (b->fd >= 0)
		snprintf(io, sizeof(io), ", fd %d%s%.40s", b->fd, b->interest ? " " : "",
			 b->interest ? b->interest : "");
	if (b->permits_wanted >= 0 && b->permits_available >= 0)
		snprintf(permits, sizeof(permits), ", wants %" PRId64 " of %" PRId64 " permits",
			 b->permits_wanted, b->permits_available);
	/* Pieces made and joined by hand: printf was most of the cost of a
	 * timer's object in the JSON document. */
	const char *pieces[] = { ad_resource_kind_name(b->kind), addr, id, when, io, permits };
	size_t len = 0;
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]) && size; i++) {
		size_t n = strlen(pieces[i]);
		if (n > size - 1 - len)
			n = size - 1 - len;
		memcpy(buf + len, pieces[i], n);
		len += n;
	}
	if (size)
		buf[len] = '\0';
}

struct ad_task *ad_trace_find_task(const struct ad_trace *t, uint64_t id)
{
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].has_id && t->tasks[i].id == id)
			return &t->tasks[i];
	return NULL;
}

static const struct ad_blocked_on *first_blocked_on(const struct ad_frame *f, unsigned depth)
{
	if (f->blocked_on)
		return f->blocked_on;
	if (depth >= AD_FRAME_MAX_DEPTH)
		return NULL;
	for (size_t i = 0; i < f->nchildren; i++) {
		const struct ad_blocked_on *b = first_blocked_on(f->children[i], depth + 1);
		if (b)
			return b;
	}
	return NULL;
}

const struct ad_blocked_on *ad_frame_first_blocked_on(const struct ad_frame *f)
{
	return f ? first_blocked_on(f, 1) : NULL;
}

static size_t count_blocked_on(const struct ad_frame *f, unsigned depth)
{
	if (f->blocked_on)
		return 1;
	size_t n = 0;
	for (size_t i = 0; depth < AD_FRAME_MAX_DEPTH && i < f->nchildren; i++)
		n += count_blocked_on(f->children[i], depth + 1);
	return n;
}

size_t ad_frame_count_blocked_on(const struct ad_frame *f)
{
	return f ? count_blocked_on(f, 1) : 0;
}

const char *ad_task_kind_name(enum ad_task_kind k)
{
	switch (k) {
	case AD_TASK_KIND_TASK: return "task";
	case AD_TASK_KIND_BLOCK_ON: return "block_on";
	case AD_TASK_KIND_LOCAL: return "local";
	}
	return "task";
}

const char *ad_task_state_name(enum ad_task_state s)
{
	switch (s) {
	case AD_TASK_IDLE: return "idle";
	case AD_TASK_SCHEDULED: return "scheduled";
	case AD_TASK_RUNNING: return "running";
	case AD_TASK_COMPLETE: return "complete";
	case AD_TASK_CANCELLED: return "cancelled";
	case AD_TASK_STATE_UNKNOWN: return "unknown";
	}
	return "unknown";
}

const char *ad_frame_kind_name(enum ad_frame_kind k)
{
	switch (k) {
	case AD_FRAME_ASYNC_FN: return "async_fn";
	case AD_FRAME_ASYNC_BLOCK: return "async_block";
	case AD_FRAME_ASYNC_CLOSURE: return "async_closure";
	case AD_FRAME_FUTURE: return "future";
	}
	return "future";
}

const char *ad_frame_state_name(enum ad_frame_state s)
{
	switch (s) {
	case AD_FRAME_UNRESUMED: return "unresumed";
	case AD_FRAME_SUSPENDED: return "suspended";
	case AD_FRAME_COMPLETED: return "completed";
	case AD_FRAME_PANICKED: return "panicked";
	case AD_FRAME_PENDING: return "pending";
	case AD_FRAME_READY: return "ready";
	case AD_FRAME_UNKNOWN: return "unknown";
	}
	return "unknown";
}

const char *ad_resource_kind_name(enum ad_resource_kind k)
{
	switch (k) {
	case AD_RESOURCE_TIMER: return "timer";
	case AD_RESOURCE_TASK: return "task";
	case AD_RESOURCE_MUTEX: return "mutex";
	case AD_RESOURCE_RWLOCK: return "rwlock";
	case AD_RESOURCE_SEMAPHORE: return "semaphore";
	case AD_RESOURCE_NOTIFY: return "notify";
	case AD_RESOURCE_ONESHOT: return "oneshot";
	case AD_RESOURCE_MPSC: return "mpsc";
	case AD_RESOURCE_IO: return "io";
	case AD_RESOURCE_SIGNAL: return "signal";
	case AD_RESOURCE_PROCESS: return "process";
	case AD_RESOURCE_OTHER: return "other";
	case AD_RESOURCE_BROADCAST: return "broadcast";
	case AD_RESOURCE_WATCH: return "watch";
	case AD_RESOURCE_BARRIER: return "barrier";
	case AD_RESOURCE_JOIN_SET: return "join_set";
	case AD_RESOURCE_YIELD: return "yield";
	case AD_RESOURCE_H2_STREAM: return "h2_stream";
	case AD_RESOURCE_NEVER: return "never";
	}
	return "other";
}

/* ---- display names and adapter layers */

/* Where the generic argument list opening at s[open] ('<') closes, or the
 * string's end. "fn(u32) -> T" has no closing bracket in it. */
static size_t generics_end(const char *s, size_t open)
{
	int depth = 0;
	for (size_t i = open; s[i]; i++) {
		if (s[i] == '<')
			depth++;
		else if (s[i] == '>' && !(i > 0 && s[i - 1] == '-') && --depth == 0)
			return i;
	}
	return strlen(s);
}

/* A '<' after an identifier opens generic arguments ("Map<Fut, F>"); at
 * the start or after a separator it opens a qualified path
 * ("<Foo as Trait>::f"), which is kept and elided inside. */
static bool opens_generics(const char *s, size_t i)
{
	if (i == 0)
		return false;
	char c = s[i - 1];
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Writes the display name of name[0..n) to out (n + 1 bytes at most). */
static void write_display_name(const char *name, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (name[i] == '<' && opens_generics(name, i)) {
			size_t close = generics_end(name, i);
			if (close - i - 1 > AD_DISPLAY_NAME_MAX_GENERICS) {
				/* "<…>" is no longer than what it replaces. */
				memcpy(out + o, "<\xe2\x80\xa6>", 5);
				o += 5;
				i = close < n ? close + 1 : n;
				continue;
			}
		}
		out[o++] = name[i++];
	}
	out[o] = '\0';
}

char *ad_display_name(const char *name)
{
	size_t n = strlen(name);
	char *out = malloc(n + 1);
	if (out)
		write_display_name(name, n, out);
	return out;
}

/* Adapter layers: futures that only wrap one other future, which the
 * renderers fold into the frame they wrap ("via Map"). A layer with a word
 * is the one the user wrote (`.map(f)`); one without is a library's inner
 * layer of it (futures_util's Map is a newtype over map::Map). Sorted by
 * path (strcmp order): every frame of every task is looked up. */
static const struct adapter {
	const char *path, *word;
} adapters[] = {
	{ "futures_util::compat::compat03as01::Compat", "Compat" },
	{ "futures_util::future::either::Either", "Either" },
	{ "futures_util::future::future::Flatten", "Flatten" },
	{ "futures_util::future::future::Fuse", "Fuse" },
	{ "futures_util::future::future::Inspect", "Inspect" },
	{ "futures_util::future::future::Map", "Map" },
	{ "futures_util::future::future::MapInto", "MapInto" },
	{ "futures_util::future::future::NeverError", "NeverError" },
	{ "futures_util::future::future::Then", "Then" },
	{ "futures_util::future::future::UnitError", "UnitError" },
	{ "futures_util::future::future::catch_unwind::CatchUnwind", "CatchUnwind" },
	{ "futures_util::future::future::flatten::Flatten", NULL },
	{ "futures_util::future::future::fuse::Fuse", "Fuse" },
	{ "futures_util::future::future::map::Map", NULL },
	{ "futures_util::future::option::OptionFuture", "OptionFuture" },
	{ "futures_util::future::try_future::AndThen", "AndThen" },
	{ "futures_util::future::try_future::ErrInto", "ErrInto" },
	{ "futures_util::future::try_future::InspectErr", "InspectErr" },
	{ "futures_util::future::try_future::InspectOk", "InspectOk" },
	{ "futures_util::future::try_future::MapErr", "MapErr" },
	{ "futures_util::future::try_future::MapOk", "MapOk" },
	{ "futures_util::future::try_future::MapOkOrElse", "MapOkOrElse" },
	{ "futures_util::future::try_future::OkInto", "OkInto" },
	{ "futures_util::future::try_future::OrElse", "OrElse" },
	{ "futures_util::future::try_future::TryFlatten", "TryFlatten" },
	{ "futures_util::future::try_future::UnwrapOrElse", "UnwrapOrElse" },
	{ "futures_util::future::try_future::into_future::IntoFuture", "IntoFuture" },
	{ "futures_util::future::try_future::try_flatten::TryFlatten", NULL },
	{ "hyper::service::oneshot::Oneshot", "Oneshot" },
	{ "hyper_util::service::glue::TowerToHyperServiceFuture", "TowerToHyperService" },
	{ "hyper_util::service::oneshot::Oneshot", "Oneshot" },
	{ "tower::util::and_then::AndThenFuture", "AndThen" },
	{ "tower::util::either::Either", "Either" },
	{ "tower::util::map_err::MapErrFuture", "MapErr" },
	{ "tower::util::map_response::MapResponseFuture", "MapResponse" },
	{ "tower::util::map_result::MapResultFuture", "MapResult" },
	{ "tower::util::oneshot::Oneshot", "Oneshot" },
	{ "tower::util::then::ThenFuture", "Then" },
	{ "tracing::instrument::Instrumented", "Instrumented" },
	{ "tracing::instrument::WithDispatch", "WithDispatch" },
	{ "tracing_futures::Instrumented", "Instrumented" },
	{ "tracing_futures::WithDispatch", "WithDispatch" },
};

/* A type's path: its name before its generic arguments. */
struct path {
	const char *s;
	size_t len;
};

/* strcmp order of an adapter's path and a type's. */
static bool adapter_before(const void *element, const void *key)
{
	const char *path = ((const struct adapter *)element)->path;
	const struct path *p = key;
	return strncmp(path, p->s, p->len) < 0; /* equal up to len: not before */
}

bool ad_type_is_adapter(const char *type, const char **word)
{
	if (!type)
		return false;
	struct path p = { type, strcspn(type, "<") };
	size_t n = sizeof(adapters) / sizeof(adapters[0]);
	size_t i = ad_partition_point(adapters, n, sizeof(adapters[0]), &p, adapter_before);
	if (i == n || strncmp(adapters[i].path, type, p.len) || adapters[i].path[p.len])
		return false;
	if (word)
		*word = adapters[i].word;
	return true;
}

bool ad_type_is_generic_argument(const char *outer, const char *inner)
{
	size_t n = strlen(outer), m = strlen(inner);
	size_t open = 0;
	while (open < n && !(outer[open] == '<' && opens_generics(outer, open)))
		open++;
	if (open == n || outer[n - 1] != '>')
		return false;
	/* Top-level arguments of the first generic list, split at depth 0. */
	int depth = 0;
	size_t start = open + 1;
	for (size_t i = open + 1; i < n; i++) {
		char c = outer[i];
		if (c == '<' || c == '(' || c == '[')
			depth++;
		else if ((c == '>' && outer[i - 1] != '-') || c == ')' || c == ']')
			depth--;
		if ((c == ',' && depth == 0) || depth < 0) {
			while (outer[start] == ' ')
				start++;
			if (i - start == m && strncmp(outer + start, inner, m) == 0)
				return true;
			if (depth < 0)
				return false;
			start = i + 1;
		}
	}
	return false;
}
