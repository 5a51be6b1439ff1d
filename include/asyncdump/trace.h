/* SPDX-License-Identifier: MIT */
/* The trace model: what a sample of a process says about its async tasks.
 *
 * Decoders build it; renderers (JSON, text), the daemon, the CLI and hang
 * detection read it. It holds names, locations and addresses only, never the
 * contents of a program's variables. Everything hangs off the trace and is
 * freed by ad_trace_destroy(). Field names follow docs/trace.schema.json.
 *
 * Ownership: every string and array in the model is malloc'ed and owned by
 * the object holding it; set strings with the setters below (which copy).
 * Arrays are grown by the builders only (their capacity is implied by their
 * length), so append through ad_trace_add_* / ad_frame_add_*; reordering or
 * shrinking them in place is fine. Frames form a tree: each frame belongs to
 * exactly one parent (or task), never to two. */
#ifndef ASYNCDUMP_TRACE_H
#define ASYNCDUMP_TRACE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

enum ad_task_kind { AD_TASK_KIND_TASK, AD_TASK_KIND_BLOCK_ON, AD_TASK_KIND_LOCAL };

enum ad_task_state {
	AD_TASK_IDLE,
	AD_TASK_SCHEDULED,
	AD_TASK_RUNNING,
	AD_TASK_COMPLETE,
	AD_TASK_CANCELLED,
	AD_TASK_STATE_UNKNOWN,
};

enum ad_frame_kind {
	AD_FRAME_ASYNC_FN,
	AD_FRAME_ASYNC_BLOCK,
	AD_FRAME_ASYNC_CLOSURE,
	AD_FRAME_FUTURE, /* any other future: combinator, hand-written, leaf */
};

enum ad_frame_state {
	AD_FRAME_UNRESUMED,
	AD_FRAME_SUSPENDED,
	AD_FRAME_COMPLETED,
	AD_FRAME_PANICKED,
	AD_FRAME_PENDING,
	AD_FRAME_READY,
	AD_FRAME_UNKNOWN,
};

enum ad_resource_kind {
	AD_RESOURCE_TIMER,
	AD_RESOURCE_TASK,
	AD_RESOURCE_MUTEX,
	AD_RESOURCE_RWLOCK,
	AD_RESOURCE_SEMAPHORE,
	AD_RESOURCE_NOTIFY,
	AD_RESOURCE_ONESHOT,
	AD_RESOURCE_MPSC,
	AD_RESOURCE_IO,
	AD_RESOURCE_SIGNAL,
	AD_RESOURCE_PROCESS,
	AD_RESOURCE_OTHER,
	AD_RESOURCE_BROADCAST,
	AD_RESOURCE_WATCH,
	AD_RESOURCE_BARRIER,
	AD_RESOURCE_JOIN_SET, /* JoinSet::join_next: any of the set's tasks */
	AD_RESOURCE_YIELD,    /* yield_now: ready at the next poll */
	AD_RESOURCE_H2_STREAM, /* an HTTP/2 stream: a response or body data */
	AD_RESOURCE_NEVER,    /* pending(): waits on nothing, never completes */
};

/* A socket as the kernel saw it right after the sample (/proc/PID/fd and
 * /proc/PID/net/{tcp,tcp6,udp,udp6,unix}). Empty strings: unknown. */
struct ad_socket {
	uint64_t inode;
	char family[8];     /* "ipv4", "ipv6", "unix" */
	char protocol[12];  /* "tcp", "udp"; unix: "stream", "dgram", "seqpacket" */
	char local[112];    /* "127.0.0.1:6379", "[::1]:80", a unix path, "@abstract" */
	char peer[112];     /* "" when not connected (listeners, unconnected udp, unix) */
	char state[16];     /* "ESTABLISHED", "LISTEN", "CONNECTED", … */
	/* tcp with a peer: "accepted" (its local address is one the netns
	 * listens on), "connected" (an outgoing connection: a local port
	 * connect() picks, that nothing listens on, to a server's port), ""
	 * when neither can be told. */
	char origin[12];
	bool has_queues;
	uint64_t rx_queue;  /* bytes received not yet read (LISTEN: connections to accept) */
	uint64_t tx_queue;  /* bytes written not yet acknowledged (LISTEN: the backlog) */
};

struct ad_names; /* internal (core/names.h) */

struct ad_location {
	char *file;     /* as in DWARF (absolute or relative to comp_dir); in the
			 * location's own allocation, or the trace's */
	unsigned line;  /* 0 unknown */
	unsigned column;/* 0 unknown */
};

/* What a leaf future waits on. Optional members have a `has_` flag.
 * Members are ordered so that few are padded: there is one per task. */
struct ad_blocked_on {
	enum ad_resource_kind kind;
	int fd;                   /* kind io: file descriptor, -1 unknown */
	uint64_t address;         /* the resource (timer entry, semaphore, channel…); 0 none */
	char *description;        /* "timer 0x…, fires in 3599 s" */
	bool has_task_id;
	bool blocking;            /* kind task: a spawn_blocking task (on the blocking pool) */
	bool has_deadline;
	uint64_t task_id;         /* kind task: the awaited task */
	int64_t deadline_ns;      /* kind timer: CLOCK_MONOTONIC of the target */
	int64_t time_left_ns;     /* negative: overdue */
	char *interest;           /* kind io: "readable", "writable", … or NULL */
	int64_t permits_wanted;   /* kind semaphore/mutex/rwlock: -1 unknown */
	int64_t permits_available;/* -1 unknown */
	struct ad_socket *socket; /* kind io: the fd's socket, or NULL */
	int other_fd;             /* a copy between two fds: the other one, -1 none */
	bool has_bytes_moved;
	bool has_buffered;
	uint64_t bytes_moved;     /* a copy: bytes written so far (this direction) */
	uint64_t buffered_bytes;  /* kind io: bytes a codec or protocol holds for this
				   * wait: read but no whole frame yet, or encoded but
				   * not yet written */
	char phase[48];           /* kind io: a protocol's phase ("HTTP/1 server: idle, …"), "" none */
	uint64_t channel;         /* the channel's shared state both ends hold
				   * (oneshot, mpsc, broadcast, watch), 0 unknown */
};

/* Members are ordered so that none is padded: a trace of 100,000 tasks
 * holds half a million frames. */
struct ad_frame {
	enum ad_frame_kind kind;
	enum ad_frame_state state;
	char *name;               /* "my_program::foo", or the type name */
	char *type;               /* full type name; both strings live in the
				   * frame's own allocation, or for a frame of
				   * ad_trace_frame_create() in its trace: read
				   * them, never free or replace them */
	uint64_t address;
	struct ad_location *location;       /* suspension point in user code, or NULL */
	struct ad_location *macro_location; /* where a macro (select!/join!) put the await, or NULL */
	struct ad_blocked_on *blocked_on;   /* leaf only, or NULL */
	char *error;              /* why this frame could not be decoded further, or NULL */
	/* The root of a tree read without a stop: how many times it was read
	 * (more than once when its memory changed meanwhile), and whether it
	 * kept changing (ad_task.reads, ad_task.inconsistent). */
	unsigned reads;
	bool changed_while_read;
	bool not_polled;          /* a local future created but not awaited (locals only) */
	bool has_awaits_task;
	uint64_t awaits_task;     /* a JoinHandle: the task id whose tree continues here */
	size_t nchildren;
	struct ad_frame **children;
	size_t nlocals;           /* futures held but not polled (rendered with ?locals=1) */
	struct ad_frame **locals;
	struct ad_names *names;   /* internal: the trace whose strings it shares, or NULL */
};

struct ad_runtime {
	unsigned id;
	char *kind;     /* the runtime adapter's kind (core/runtime/) */
	char *flavor;   /* "current_thread" | "multi_thread" */
	uint64_t address;
	size_t ntasks;
};

/* ad_task.runtime of a block_on that runs no runtime's context (a
 * block_on around futures of no executor). */
#define AD_NO_RUNTIME UINT_MAX

struct ad_task {
	bool has_id;
	uint64_t id;              /* runtime task id; none for block_on */
	enum ad_task_kind kind;
	uint64_t address;         /* task header, or the block_on future */
	unsigned runtime;         /* index into trace->runtimes, or AD_NO_RUNTIME */
	pid_t tid;                /* thread polling it / running block_on; 0 none */
	char *thread_name;        /* NULL none */
	enum ad_task_state state;
	char *note;               /* e.g. "future optimised out in this build", or NULL */
	struct ad_frame *root;    /* NULL when it could not be decoded (see note) */
	/* Read without a stop: how many times its tree was read (1 when its
	 * memory did not change meanwhile; 0 when it has none), and whether
	 * it changed each time it was read again: its tree may mix moments. */
	unsigned reads;
	bool inconsistent;
	/* Filled by hang detection (progress.h) before the trace is shown. */
	bool has_unchanged_for;
	double unchanged_for_s;
	bool expected_wait;       /* waits where waiting forever is normal */
};

struct ad_trace {
	pid_t pid;
	char *exe;
	char *build_id;           /* hex, or NULL */
	char *source_root;        /* common prefix of the program's own sources, or NULL */
	struct timespec captured_at;
	uint64_t pause_us;
	bool from_core;           /* read from a core file: source "core", no pause */
	/* Read while the process ran (no stop, no pause): tasks say whether
	 * they read consistently (ad_task.inconsistent). */
	bool not_stopped;
	size_t nruntimes;
	struct ad_runtime *runtimes;
	size_t ntasks;
	struct ad_task *tasks;
	size_t nwarnings;
	char **warnings;
	size_t ncycles;           /* deadlock cycles: task ids, first repeated last */
	struct ad_cycle { size_t n; uint64_t *task_ids; } *cycles;
	struct ad_names *names;   /* internal: strings its frames share, or NULL */
};

/* Frames nested deeper than this are not walked by ad_frame_first_blocked_on()
 * and not rendered (decoders should stop there too). */
#define AD_FRAME_MAX_DEPTH 256

/* NULL on OOM. */
struct ad_trace *ad_trace_create(void);
/* Frees the trace and everything in it; NULL is ignored. Never recurses on the
 * depth of a frame tree, never allocates. */
void ad_trace_destroy(struct ad_trace *t);

/* Builders. Strings are copied. Each returns NULL / an error only on OOM. */
/* The new runtime's id is its index; its ntasks starts at 0 (the decoder counts).
 * *ret is valid until the next ad_trace_add_runtime() on the same trace. */
struct ad_error *ad_trace_add_runtime(struct ad_trace *t, const char *kind, const char *flavor,
				      uint64_t address, struct ad_runtime **ret);
/* A zeroed task (kind task, state unknown, no id, no root). *ret is valid until
 * the next ad_trace_add_task() on the same trace. */
struct ad_error *ad_trace_add_task(struct ad_trace *t, struct ad_task **ret);
/* Replace a string of the trace or of a task with a copy of `value` (NULL clears). */
struct ad_error *ad_trace_set_exe(struct ad_trace *t, const char *value);
struct ad_error *ad_trace_set_build_id(struct ad_trace *t, const char *value);
struct ad_error *ad_trace_set_source_root(struct ad_trace *t, const char *value);
struct ad_error *ad_task_set_thread(struct ad_task *task, pid_t tid, const char *name);
struct ad_error *ad_task_set_note(struct ad_task *task, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct ad_error *ad_trace_add_warning(struct ad_trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Copies the ids (first repeated last: {7, 12, 7}); AD_ERROR_INVALID_ARGUMENT if n is 0. */
struct ad_error *ad_trace_add_cycle(struct ad_trace *t, const uint64_t *task_ids, size_t n);
/* Orders each run of consecutive tasks of one runtime and kind, all with
 * ids, by id: spawn order, whatever order the runtime keeps its list in
 * (one keeps its list newest first). Task pointers taken before are invalid. */
void ad_trace_sort_tasks(struct ad_trace *t);

/* A frame in state unknown, or NULL on OOM. name and type may be NULL when
 * unknown: each then defaults to the other (both NULL: "(unknown)"). */
struct ad_frame *ad_frame_create(enum ad_frame_kind kind, const char *name, const char *type,
				 uint64_t address);
/* The same, for a frame that will be part of t (or destroyed before t): its
 * names, and the locations later set on it, are t's, shared by every frame
 * of t with the same (one copy for 100,000 tasks suspended alike); the
 * frame and its blocked_on live in t's memory, released with t. A NULL t
 * is ad_frame_create(). */
struct ad_frame *ad_trace_frame_create(struct ad_trace *t, enum ad_frame_kind kind,
				       const char *name, const char *type, uint64_t address);
/* Frees the frame and its whole subtree (children and locals); NULL is ignored.
 * Never recurses on the depth of the tree, never allocates. */
void ad_frame_destroy(struct ad_frame *f);
/* Both take ownership of child/local even when they fail (it is then
 * destroyed), and fail with AD_ERROR_NOMEM on a NULL child: so
 * `err = ad_frame_add_child(f, ad_frame_create(...))` leaks nothing. */
struct ad_error *ad_frame_add_child(struct ad_frame *parent, struct ad_frame *child);
struct ad_error *ad_frame_add_local(struct ad_frame *parent, struct ad_frame *local);
struct ad_error *ad_frame_set_location(struct ad_frame *f, const char *file, unsigned line,
				       unsigned column);
struct ad_error *ad_frame_set_macro_location(struct ad_frame *f, const char *file, unsigned line,
					     unsigned column);
struct ad_error *ad_frame_set_error(struct ad_frame *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Creates f->blocked_on (fd = -1, permits = -1), replacing any previous one,
 * and returns it in *ret. */
struct ad_error *ad_frame_block_on(struct ad_frame *f, enum ad_resource_kind kind,
				   uint64_t address, struct ad_blocked_on **ret);
struct ad_error *ad_blocked_on_set_description(struct ad_blocked_on *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct ad_error *ad_blocked_on_set_interest(struct ad_blocked_on *b, const char *interest);
/* Copies *s into b->socket. */
struct ad_error *ad_blocked_on_set_socket(struct ad_blocked_on *b, const struct ad_socket *s);
/* "tcp 127.0.0.1:6379 ← 127.0.0.1:54022 ESTABLISHED, 0 B queued" (interest
 * picks the queue: "writable" the send queue, else the receive queue). */
void ad_socket_format(const struct ad_socket *s, const char *interest, char *buf, size_t size);
/* b->description, or when the decoder set none one made from the other fields
 * ("timer 0x789, fires in 3599 s", "task 0x5000 (id 12)"), in buf (cut to
 * size; AD_DESCRIPTION_MAX holds any made from the fields). */
#define AD_DESCRIPTION_MAX 512
void ad_blocked_on_describe(const struct ad_blocked_on *b, char *buf, size_t size);

/* Lookups used by renderers and hang detection. */
/* The first task with this id (linear), or NULL. */
struct ad_task *ad_trace_find_task(const struct ad_trace *t, uint64_t id);
/* The first frame (depth first, children in order, locals excluded) with a
 * blocked_on, or NULL: the task summary. Walks at most AD_FRAME_MAX_DEPTH levels. */
const struct ad_blocked_on *ad_frame_first_blocked_on(const struct ad_frame *f);
/* How many frames the same walk finds with a blocked_on: the leaves that
 * wait, more than one under a join or a select. 0 for NULL. */
size_t ad_frame_count_blocked_on(const struct ad_frame *f);

/* Display names and adapter layers (the renderers fold adapters into the
 * frame they wrap, "via Map"; the JSON keeps them, marked). */
/* Generic argument lists longer than this are elided from frame names. */
#define AD_DISPLAY_NAME_MAX_GENERICS 40
/* name with every generic argument list longer than
 * AD_DISPLAY_NAME_MAX_GENERICS characters written "<…>" (UTF-8), malloc'ed;
 * NULL on OOM. ad_frame_create() names frames so; `type` keeps the full name.
 * "futures_util::future::future::Map<…>", "futures_timer::Delay". */
char *ad_display_name(const char *name);
/* Whether a future of this type only wraps another (futures_util's Map,
 * Then, Fuse, Either…, tracing's Instrumented, tower's and hyper's service
 * futures). *word, when word is not NULL: what to call it ("Map"), or NULL
 * for a library's inner layer of an adapter (map::Map inside Map). */
bool ad_type_is_adapter(const char *type, const char **word);
/* Whether inner is, verbatim, one of the top-level generic arguments of outer
 * ("Then<A, B, F>" and "A"): where an adapter's own implementation ends. */
bool ad_type_is_generic_argument(const char *outer, const char *inner);

const char *ad_task_kind_name(enum ad_task_kind k);
const char *ad_task_state_name(enum ad_task_state s);
const char *ad_frame_kind_name(enum ad_frame_kind k);
const char *ad_frame_state_name(enum ad_frame_state s);
const char *ad_resource_kind_name(enum ad_resource_kind k);

#endif
