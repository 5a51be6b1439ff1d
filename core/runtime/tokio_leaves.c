/* SPDX-License-Identifier: MIT */
/* The tokio adapter's recognisers: tokio's leaf futures (time, sync,
 * task, io, net, signal, process), tokio-util's codecs and tokio-stream's
 * wrappers, tokio's own combinators (MaybeDone, the PollFn of select! and
 * join!, LocalSet / RunUntil) and the leaves its async fns complete
 * (refiners). Matched by type name; every field is read by name (layouts
 * moved between tokio versions: Sleep's deadline, JoinHandle's raw task, …).
 * checked: tokio 1.24.2, 1.43.1, 1.53.2 unless a comment says otherwise. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "recognisers.h"
#include "runtime.h"
#include "tokio.h"

#define NSEC_PER_SEC 1000000000ll

static bool timer_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_blocked_on *b;
	uint64_t entry_off = 0, sec, nsec;
	const struct ad_type *et;
	/* The timer: Sleep.entry, a TimerEntry (tokio 1.24.2, 1.43.1), or
	 * Sleep.timer, an Option<Timer> registered on first poll (1.53.2). */
	if (!ad_keep(ad_find_member(d->di, v->type, "entry", 2, &entry_off, &et)) &&
	    !ad_keep(ad_find_member(d->di, v->type, "timer", 1, &entry_off, &et)))
		entry_off = 0;
	if (!ad_leaf_block(f, AD_RESOURCE_TIMER, v->address + entry_off, &b))
		return true;
	/* Sleep → deadline: tokio Instant → std Instant → Timespec, a few
	 * levels down whichever version nests it how. */
	if (ad_keep(ad_member_uint_at(d, v, "tv_sec", 10, &sec)) &&
	    ad_keep(ad_member_uint_at(d, v, "tv_nsec", 10, &nsec))) {
		const struct timespec *now = &d->snap->monotonic;
		b->has_deadline = true;
		b->deadline_ns = (int64_t)sec * NSEC_PER_SEC + (int64_t)nsec;
		b->time_left_ns = b->deadline_ns - ((int64_t)now->tv_sec * NSEC_PER_SEC + now->tv_nsec);
		/* The model's default description says "fires in" or "overdue by". */
	}
	return true;
}

/* spawn_blocking's tasks run BlockingTask<F> on the blocking pool, in no
 * runtime's task list: told by the task's vtable, whose `poll` is
 * raw::poll::<T, S> with T = BlockingTask<…> (Header { vtable: &Vtable {
 * poll, … } }, 1.24.2 … 1.53.2). */
static bool is_blocking_task(struct ad_decode *d, uint64_t header)
{
	const struct ad_type *ht, *vp, *vt, *pt, *task;
	uint64_t voff, poff, vtable, poll;
	if (!ad_keep(ad_debuginfo_find_type(d->di, "tokio::runtime::task::core::Header", &ht)) ||
	    !ad_keep(ad_find_member(d->di, ht, "vtable", 1, &voff, &vp)) || vp->kind != AD_TYPE_POINTER ||
	    !ad_keep(ad_type_target(d->di, vp, &vt)) ||
	    !ad_keep(ad_find_member(d->di, vt, "poll", 1, &poff, &pt)) ||
	    !ad_keep(ad_read_u64(d->reader, header + voff, &vtable)) ||
	    !ad_keep(ad_read_u64(d->reader, vtable + poff, &poll)) || poll < d->bias ||
	    !ad_keep(ad_debuginfo_function_template_param(d->di, poll - d->bias, "T", &task)))
		return false;
	return strncmp(task->name, "tokio::runtime::blocking::task::BlockingTask", 44) == 0;
}

/* The id of the task at `header`, through the adapter (never a call into
 * tokio.c: see tokio.h). */
static bool task_id(struct ad_decode *d, uint64_t header, uint64_t *ret)
{
	struct ad_adapter *self = ad_decode_adapter_kind(d, "tokio");
	return self && ad_keep(self->ops->task_id(d, self, header, ret));
}

static bool join_handle_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t header = 0, id;
	struct ad_blocked_on *b;
	if (!ad_keep(ad_member_pointer(d, v, "ptr", &header)) || !header) {
		ad_leaf_block(f, AD_RESOURCE_TASK, 0, &b);
		return true;
	}
	if (!ad_leaf_block(f, AD_RESOURCE_TASK, header, &b))
		return true;
	if (is_blocking_task(d, header)) {
		b->blocking = true;
		if (task_id(d, header, &id)) {
			b->has_task_id = true;
			b->task_id = id;
		}
		/* Not linked as an awaited task: no sample ever holds it. */
		if (b->has_task_id)
			ad_keep(ad_blocked_on_set_description(b, "blocking task %" PRIu64 " (spawn_blocking, 0x%" PRIx64 ")",
							   id, header));
		else
			ad_keep(ad_blocked_on_set_description(b, "blocking task 0x%" PRIx64 " (spawn_blocking)", header));
		return true;
	}
	if (task_id(d, header, &id)) {
		b->has_task_id = true;
		b->task_id = id;
		f->has_awaits_task = true;
		f->awaits_task = id;
		ad_keep(ad_blocked_on_set_description(b, "task %" PRIu64 " (0x%" PRIx64 ")", id, header));
	}
	return true;
}

static bool semaphore_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t sem = 0, wanted, permits;
	struct ad_blocked_on *b;
	ad_keep(ad_member_pointer(d, v, "semaphore", &sem));
	if (!ad_leaf_block(f, AD_RESOURCE_SEMAPHORE, sem, &b))
		return true;
	if (ad_keep(ad_member_uint(d, v, "num_permits", &wanted)))
		b->permits_wanted = (int64_t)wanted;
	const struct ad_type *st;
	uint64_t off;
	if (sem && ad_keep(ad_find_member(d->di, v->type, "semaphore", 2, &off, &st)) &&
	    st->kind == AD_TYPE_POINTER) {
		const struct ad_type *target;
		if (ad_keep(ad_type_target(d->di, st, &target))) {
			struct ad_value s = ad_decode_value(d, target, sem);
			/* tokio keeps permits << 1 (bit 0: closed). */
			if (ad_keep(ad_member_uint(d, &s, "permits", &permits)))
				b->permits_available = (int64_t)(permits >> 1);
		}
	}
	return true;
}

/* tokio's I/O registration, PollEvented, and its file descriptor: its `io`
 * is an Option<mio source> wrapping std's socket wrapping an OwnedFd { fd }
 * several levels down. */
bool ad_tokio_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd)
{
	uint64_t n;
	if (!ad_type_is(v->type, "tokio::io::poll_evented::PollEvented"))
		return false;
	if (ad_keep(ad_member_uint_at(d, v, "fd", 12, &n)) && n <= INT32_MAX)
		*fd = (int)n;
	return true;
}

/* A tokio I/O future: the fd of the PollEvented it drives, reached through
 * at most one reference (Read<'_, TcpStream> holds `reader: &mut R`). */
static bool io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
		    const char *interest)
{
	struct ad_blocked_on *b;
	if (!ad_leaf_block(f, AD_RESOURCE_IO, v->address, &b))
		return true;
	for (size_t i = 0; i < v->type->nfields; i++) {
		struct ad_value field, target, pe;
		if (!ad_keep(ad_value_member(v, v->type->fields[i].name, &field)))
			continue;
		if (field.type->kind == AD_TYPE_POINTER && ad_keep(ad_value_deref(&field, &target)))
			field = target;
		if (ad_find_io(d, &field, 4, &pe, &b->fd)) {
			b->address = pe.address;
			break;
		}
	}
	ad_describe_io(d, b, interest);
	return true;
}

/* mpsc receivers: the channel is the Arc<Chan> their Rx holds as `inner`. */
static bool mpsc_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t chan = v->address;
	struct ad_blocked_on *b;
	if (!ad_keep(ad_member_pointer(d, v, "inner", &chan)))
		chan = v->address;
	if (ad_leaf_block(f, AD_RESOURCE_MPSC, chan, &b)) {
		/* The Arc<Chan> its senders hold too (Tx { inner }): one identity. */
		if (chan != v->address)
			b->channel = chan;
		ad_describe_channel_wait(b, "mpsc", chan, false);
	}
	return true;
}

/* tokio's Interest bits (mio's before 1.25, its own since; the low bits
 * agree): 1 readable, 2 writable, 0x10 priority. Checked: 1.24.2, 1.43.1, 1.53.2. */
static const char *interest_name(uint64_t bits)
{
	if ((bits & 3) == 3)
		return "readable|writable";
	if (bits & 1)
		return "readable";
	if (bits & 2)
		return "writable";
	if (bits & 0x10)
		return "priority";
	return NULL;
}

/* scheduled_io::Readiness { scheduled_io, state, waiter: UnsafeCell<Waiter {
 * …, interest }> } (1.24.2, 1.43.1, 1.53.2): the interest is the waiter's.
 * The fd is not here; the async fns above it hold the socket
 * (ad_refine_leaf). */
static bool readiness_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t sio = v->address, bits;
	struct ad_blocked_on *b;
	if (!ad_keep(ad_member_pointer(d, v, "scheduled_io", &sio)))
		sio = v->address;
	if (!ad_leaf_block(f, AD_RESOURCE_IO, sio, &b))
		return true;
	const char *interest;
	if (ad_keep(ad_member_uint_at(d, v, "interest", 6, &bits)) && (interest = interest_name(bits)))
		ad_keep(ad_blocked_on_set_interest(b, interest));
	return true;
}

/* tokio-util's codecs (0.7.3, 0.7.10, 0.7.19): Framed, FramedRead and
 * FramedWrite { inner: FramedImpl { inner: T, state, codec } }, state
 * RWFrames { read, write }, ReadFrame or WriteFrame, each { buffer:
 * BytesMut { ptr, len, cap, data }, … } (bytes 1.x). */
bool ad_tokio_io_buffered(struct ad_decode *d, const struct ad_value *v, bool writing, uint64_t *bytes)
{
	(void)d;
	struct ad_value cur = ad_through_pointer(v), state, frame, buffer, len;
	for (int i = 0; i < 3 && !ad_type_is(cur.type, "tokio_util::codec::framed_impl::FramedImpl"); i++) {
		struct ad_value inner;
		if (!ad_keep(ad_value_member(&cur, "inner", &inner)))
			return false;
		cur = ad_through_pointer(&inner);
	}
	if (!ad_type_is(cur.type, "tokio_util::codec::framed_impl::FramedImpl") ||
	    !ad_keep(ad_value_member(&cur, "state", &state)))
		return false;
	const char *wanted = writing ? "tokio_util::codec::framed_impl::WriteFrame"
				     : "tokio_util::codec::framed_impl::ReadFrame";
	if (ad_type_is(state.type, "tokio_util::codec::framed_impl::RWFrames")) {
		if (!ad_keep(ad_value_member(&state, writing ? "write" : "read", &frame)))
			return false;
	} else {
		frame = state;
	}
	return ad_type_is(frame.type, wanted) && ad_keep(ad_value_member(&frame, "buffer", &buffer)) &&
	       ad_keep(ad_value_member(&buffer, "len", &len)) && ad_keep(ad_value_uint(&len, bytes));
}

/* CopyBuffer { read_done, need_flush, pos, cap, amt, buf } (1.24.2 … 1.53.2):
 * bytes in the buffer not yet written (pos < cap) mean the copy waits to
 * write; else it waits to read. */
struct copy_state {
	bool running, writing;
	bool shutting_down; /* copy_bidirectional: the writer is being shut down */
	uint64_t amt;
};

static void copy_buffer_state(struct ad_decode *d, const struct ad_value *buf, struct copy_state *ret)
{
	uint64_t pos, cap, amt;
	ret->running = ad_keep(ad_member_uint_at(d, buf, "pos", 1, &pos)) &&
		       ad_keep(ad_member_uint_at(d, buf, "cap", 1, &cap));
	ret->writing = ret->running && pos < cap;
	if (ad_keep(ad_member_uint_at(d, buf, "amt", 1, &amt)))
		ret->amt = amt;
}

/* copy_bidirectional's TransferState: Running(CopyBuffer) | ShuttingDown(u64) |
 * Done(u64) (1.24.2 … 1.53.2). */
static void transfer_state(struct ad_decode *d, const struct ad_value *v, struct copy_state *ret)
{
	struct ad_value st = ad_through_pointer(v), variant, payload;
	const struct ad_variant *var;
	memset(ret, 0, sizeof(*ret));
	if (!ad_keep(ad_value_variant(&st, &var, &variant)) || !ad_keep(ad_value_member(&variant, "__0", &payload)))
		return;
	if (ad_type_is(payload.type, "tokio::io::util::copy::CopyBuffer"))
		copy_buffer_state(d, &payload, ret);
	else
		ad_keep(ad_value_uint(&payload, &ret->amt));
	ret->shutting_down = var->name && strcmp(var->name, "ShuttingDown") == 0;
}

static bool copy_leaf_fds(struct ad_decode *d, struct ad_frame *f, int fd, int other_fd,
			  const char *interest, uint64_t moved, uint64_t address)
{
	struct ad_blocked_on *b;
	if (!ad_leaf_block(f, AD_RESOURCE_IO, address, &b))
		return true;
	b->fd = fd;
	b->other_fd = other_fd;
	b->has_bytes_moved = true;
	b->bytes_moved = moved;
	ad_describe_io(d, b, interest);
	return true;
}

/* io::copy's Copy { reader: &mut R, writer: &mut W, buf: CopyBuffer }
 * (1.24.2 … 1.53.2). */
static bool copy_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value reader, writer, buf;
	int rfd = -1, wfd = -1;
	if (!ad_keep(ad_value_member(v, "reader", &reader)) || !ad_keep(ad_value_member(v, "writer", &writer)) ||
	    !ad_keep(ad_value_member(v, "buf", &buf)))
		return false;
	ad_fd_of(d, &reader, &rfd, NULL);
	ad_fd_of(d, &writer, &wfd, NULL);
	struct copy_state st = { 0 };
	copy_buffer_state(d, &buf, &st);
	return st.writing ? copy_leaf_fds(d, f, wfd, rfd, "writable", st.amt, v->address)
			  : copy_leaf_fds(d, f, rfd, wfd, "readable", st.amt, v->address);
}

/* A struct's member, or a closure's capture of that variable: rustc names a
 * by-reference capture `_ref__NAME` (rustc 1.95). */
static bool captured(const struct ad_value *v, const char *name, struct ad_value *ret)
{
	char ref[64];
	if (ad_keep(ad_value_member(v, name, ret)))
		return true;
	snprintf(ref, sizeof(ref), "_ref__%s", name);
	return ad_keep(ad_value_member(v, ref, ret));
}

/* One direction of copy_bidirectional, from one fd to the other. */
struct direction {
	struct ad_value state; /* its TransferState */
	struct copy_state st;
	int from, to;
};

static bool direction_waits(const struct direction *dir)
{
	return dir->st.running || dir->st.shutting_down;
}

/* What a direction waits on: to write to `to` (bytes read, not yet
 * written, or its shutdown), else to read from `from`; with its own count. */
static bool direction_leaf(struct ad_decode *d, struct ad_frame *f, const struct direction *dir)
{
	bool writing = dir->st.writing || dir->st.shutting_down;
	return writing ? copy_leaf_fds(d, f, dir->to, dir->from, "writable", dir->st.amt, dir->state.address)
		       : copy_leaf_fds(d, f, dir->from, dir->to, "readable", dir->st.amt, dir->state.address);
}

static void direction_branch(struct ad_decode *d, struct ad_frame *f, const struct direction *dir)
{
	const char *name = dir->state.type->name;
	struct ad_frame *branch =
		ad_trace_frame_create(d->trace, AD_FRAME_FUTURE, name, name, dir->state.address);
	if (branch) {
		branch->state = AD_FRAME_PENDING;
		direction_leaf(d, branch, dir);
	}
	ad_keep(ad_frame_add_child(f, branch));
}

/* copy_bidirectional: CopyBidirectional { a, b, a_to_b, b_to_a } (1.24.2,
 * 1.43.1), or the poll_fn closure capturing the same names (1.53.2). Both
 * directions wait at once, each on its own socket (a request sent to a
 * backend that never answers is a wait on the backend, not on the
 * client): two branches, each with its bytes moved; a direction that is
 * done waits on nothing and is left out. */
static bool copy_bidirectional_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value a, b;
	struct direction dirs[2];
	if (!captured(v, "a", &a) || !captured(v, "b", &b) || !captured(v, "a_to_b", &dirs[0].state) ||
	    !captured(v, "b_to_a", &dirs[1].state))
		return false;
	int afd = -1, bfd = -1;
	ad_fd_of(d, &a, &afd, NULL);
	ad_fd_of(d, &b, &bfd, NULL);
	dirs[0].from = dirs[1].to = afd;
	dirs[0].to = dirs[1].from = bfd;
	for (size_t i = 0; i < 2; i++) {
		transfer_state(d, &dirs[i].state, &dirs[i].st);
		dirs[i].state = ad_through_pointer(&dirs[i].state);
	}
	if (direction_waits(&dirs[0]) && direction_waits(&dirs[1])) {
		direction_branch(d, f, &dirs[0]);
		direction_branch(d, f, &dirs[1]);
		return true;
	}
	return direction_leaf(d, f, direction_waits(&dirs[1]) ? &dirs[1] : &dirs[0]);
}

/* Interval::tick: a poll_fn whose closure holds `&mut Interval { delay:
 * Pin<Box<Sleep>>, … }` (1.24.2 … 1.53.2): the Sleep is the timer. */
static bool interval_tick_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	for (size_t i = 0; i < v->type->nfields; i++) {
		struct ad_value field, target, delay;
		if (!ad_keep(ad_value_member(v, v->type->fields[i].name, &field)))
			continue;
		target = ad_through_pointer(&field);
		if (!ad_type_is(target.type, "tokio::time::interval::Interval") ||
		    !ad_keep(ad_value_member(&target, "delay", &delay)))
			continue;
		struct ad_value sleep = ad_through_pointer(&delay);
		if (ad_type_is(sleep.type, "tokio::time::sleep::Sleep"))
			return timer_leaf(d, &sleep, f);
	}
	return false;
}

/* JoinSet { inner: IdleNotifiedSet { lists: Arc<…>, length } } (1.24.2 … 1.53.2). */
static bool join_set_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t lists = 0, length;
	struct ad_blocked_on *b;
	ad_shared_state(d, v, "lists", &lists);
	if (!ad_leaf_block(f, AD_RESOURCE_JOIN_SET, lists ? lists : v->address, &b))
		return true;
	if (ad_keep(ad_member_uint(d, v, "length", &length)))
		ad_keep(ad_blocked_on_set_description(b, "JoinSet 0x%" PRIx64 " of %" PRIu64 " task%s",
						   lists ? lists : v->address, length,
						   length == 1 ? "" : "s"));
	return true;
}

/* The leaf at the end of a chain of single children, or NULL (a join or a
 * select below: which branch the fn's own resource belongs to is unknown). */
static struct ad_blocked_on *chain_leaf(struct ad_frame *f)
{
	for (int i = 0; f && i < AD_FRAME_MAX_DEPTH; i++) {
		if (f->blocked_on)
			return f->blocked_on;
		if (f->nchildren != 1)
			return NULL;
		f = f->children[0];
	}
	return NULL;
}

/* The `self` (or else first) captured reference of an async fn's state. */
static bool env_self(const struct ad_value *env, struct ad_value *ret)
{
	if (ad_keep(ad_value_member(env, "self", ret)))
		return true;
	for (size_t i = 0; i < env->type->nfields; i++)
		if (strcmp(env->type->fields[i].name, "__awaitee") != 0 &&
		    ad_keep(ad_value_member(env, env->type->fields[i].name, ret)) &&
		    ret->type->kind == AD_TYPE_POINTER)
			return true;
	return false;
}

/* TcpListener::accept, TcpStream::readable, UdpSocket::recv, … await
 * Registration::async_io → Readiness, which knows no fd: the socket is the
 * `self` of the tokio async fn (1.24.2 … 1.53.2). AsyncFd<T> holds its fd in
 * `inner: Option<T>`. */
static void io_from_env(struct ad_decode *d, const struct ad_value *env, struct ad_blocked_on *b)
{
	for (size_t i = 0; i < env->type->nfields && b->fd < 0; i++) {
		struct ad_value field, target, inner;
		uint64_t fd;
		if (strcmp(env->type->fields[i].name, "__awaitee") == 0 ||
		    !ad_keep(ad_value_member(env, env->type->fields[i].name, &field)))
			continue;
		if (ad_fd_of(d, &field, &b->fd, NULL))
			break;
		target = ad_through_pointer(&field);
		if (ad_type_is(target.type, "tokio::io::async_fd::AsyncFd") &&
		    ad_keep(ad_value_member(&target, "inner", &inner)) &&
		    ad_keep(ad_member_uint_at(d, &inner, "fd", 10, &fd)) && fd <= INT32_MAX)
			b->fd = (int)fd;
	}
	ad_attach_socket(d, b);
}

/* TcpStream::connect → connect_mio and UnixStream::connect (1.24.2 …
 * 1.53.2) await a poll_fn on the new socket's write readiness, held in
 * their env as `stream`: a connection being established (a backend that
 * never accepts keeps it in SYN-SENT). */
static bool is_connect(const char *fn)
{
	return (strncmp(fn, "tokio::net::tcp::stream::", 25) == 0 ||
		strncmp(fn, "tokio::net::unix::stream::", 26) == 0) &&
	       strstr(fn, "::connect");
}

static void connect_leaf(struct ad_decode *d, const struct ad_value *env, struct ad_blocked_on *b)
{
	io_from_env(d, env, b);
	if (b->fd < 0)
		return;
	b->kind = AD_RESOURCE_IO;
	free(b->description); /* the poll_fn's type, said by the `other` leaf */
	b->description = NULL;
	ad_keep(ad_blocked_on_set_interest(b, "writable"));
	snprintf(b->phase, sizeof(b->phase), "connecting");
}

/* ---- leaves completed by the async fn awaiting them */

/* A future awaited inside tokio's lock/channel methods gets its resource
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

/* After a tokio async fn's awaitee was decoded: completes the leaf at the
 * end of its chain from the fn's own state (env: the suspended variant) —
 * the socket of TcpListener::accept, the channel of mpsc::Sender::send,
 * watch::Receiver::changed, Barrier::wait. */
static void refine_leaf(struct ad_decode *d, const struct ad_value *env, const char *fn,
			struct ad_frame *child)
{
	refine_leaf_kind(fn, child);
	struct ad_blocked_on *b = chain_leaf(child);
	struct ad_value self, target;
	uint64_t chan = 0, n;
	if (!b)
		return;
	if (b->kind == AD_RESOURCE_OTHER && is_connect(fn)) {
		connect_leaf(d, env, b);
	} else if (b->kind == AD_RESOURCE_SIGNAL && strncmp(fn, "tokio::signal::ctrl_c", 21) == 0) {
		/* ctrl_c() → signal(SignalKind::interrupt()) → Signal::recv (unix; 1.24.2 … 1.53.2). */
		ad_keep(ad_blocked_on_set_description(b, "signal SIGINT (2), tokio::signal::ctrl_c 0x%" PRIx64,
						   b->address));
	} else if (b->kind == AD_RESOURCE_IO && b->fd < 0) {
		io_from_env(d, env, b);
	} else if (b->kind == AD_RESOURCE_SEMAPHORE && strncmp(fn, "tokio::sync::mpsc::", 19) == 0 &&
		   env_self(env, &self)) {
		/* Sender::send → reserve → reserve_inner(&self) → the chan's
		 * semaphore (1.24.2 … 1.53.2): Sender { chan: Tx { inner: Arc<Chan> } }. */
		target = ad_through_pointer(&self);
		b->kind = AD_RESOURCE_MPSC;
		if (ad_shared_state(d, &target, "inner", &chan)) {
			b->channel = chan;
			ad_describe_channel_wait(b, "mpsc", chan, true);
		}
	} else if (b->kind == AD_RESOURCE_NOTIFY && strncmp(fn, "tokio::sync::watch::", 20) == 0 &&
		   env_self(env, &self)) {
		/* Receiver::changed(&mut self) { shared: Arc<Shared>, … } (1.24.2);
		 * changed_impl(shared: &Shared, …) (1.43.1, 1.53.2). */
		target = ad_through_pointer(&self);
		b->kind = AD_RESOURCE_WATCH;
		if (ad_shared_state(d, &target, "shared", &chan) ||
		    (ad_keep(ad_value_pointer(&self, &chan)) && chan)) {
			b->channel = chan;
			ad_keep(ad_blocked_on_set_description(b, "watch 0x%" PRIx64 ", waits for a change", chan));
		}
	} else if (b->kind == AD_RESOURCE_WATCH && strncmp(fn, "tokio::sync::barrier::", 22) == 0 &&
		   env_self(env, &self)) {
		/* Barrier { state, wait: watch::Receiver, n } (1.24.2 … 1.53.2). */
		target = ad_through_pointer(&self);
		b->kind = AD_RESOURCE_BARRIER;
		b->address = target.address;
		b->channel = 0;
		if (ad_keep(ad_member_uint_at(d, &target, "n", 1, &n)))
			ad_keep(ad_blocked_on_set_description(b, "barrier 0x%" PRIx64 " of %" PRIu64 " tasks",
							   target.address, n));
	}
}

/* ---- the leaves by type name */

static bool yield_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f);

/* tokio's PollFn, or core's since tokio 1.4x: copy_bidirectional's and
 * Interval::tick's closures, yield_now's (1.5x: poll_fn over a `yielded`
 * flag); then the leaf of what a closure captures. */
static bool tokio_poll_fn_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value closure;
	if (!ad_poll_fn_closure(v, &closure))
		return false;
	if (strstr(v->type->name, "tokio::task::yield_now::"))
		return yield_leaf(d, v, f);
	if (strstr(v->type->name, "tokio::io::util::copy_bidirectional::") &&
	    copy_bidirectional_leaf(d, &closure, f))
		return true;
	if (strstr(v->type->name, "tokio::time::interval::") && interval_tick_leaf(d, &closure, f))
		return true;
	return ad_type_is(v->type, "tokio::future::poll_fn::PollFn") &&
	       ad_poll_fn_capture_leaf(d, &closure, f);
}

static bool copy_type_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return copy_leaf(d, v, f);
}

static bool read_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return io_leaf(d, v, f, "readable");
}

static bool write_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return io_leaf(d, v, f, "writable");
}

static bool notified_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_pointer_leaf(d, v, f, AD_RESOURCE_NOTIFY, "notify");
}

/* Receiver / Sender { inner: Option<Arc<Inner>> } (1.24.2 … 1.53.2). */
static bool oneshot_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_channel_leaf(d, v, f, AD_RESOURCE_ONESHOT, "inner");
}

/* Recv { receiver: &mut Receiver { shared: Arc<Shared>, next }, waiter }
 * (1.24.2 … 1.53.2): the leaf, never a walk into the waiter list. */
static bool broadcast_recv_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value receiver;
	if (ad_keep(ad_value_member(v, "receiver", &receiver)))
		return ad_channel_leaf(d, &receiver, f, AD_RESOURCE_BROADCAST, "shared");
	return ad_pointer_leaf(d, v, f, AD_RESOURCE_BROADCAST, NULL);
}

static bool broadcast_receiver_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_channel_leaf(d, v, f, AD_RESOURCE_BROADCAST, "shared");
}

static bool watch_receiver_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_channel_leaf(d, v, f, AD_RESOURCE_WATCH, "shared");
}

static bool next_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_stream_io_leaf(d, v, f, "stream", "readable") || ad_stream_channel_leaf(d, v, f);
}

/* tokio-stream's ReceiverStream / UnboundedReceiverStream { inner: tokio's
 * Receiver } (0.1.9, 0.1.19), behind a Next. */
static bool receiver_stream_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value inner;
	return ad_keep(ad_value_member(v, "inner", &inner)) && mpsc_leaf(d, &inner, f);
}

/* tokio-util's Framed* (0.7.3 … 0.7.19: FramedImpl { inner: T, … }). */
static bool framed_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_stream_io_leaf(d, v, f, NULL, NULL);
}

static bool yield_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_pointer_leaf(d, v, f, AD_RESOURCE_YIELD, NULL);
}

static bool signal_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_pointer_leaf(d, v, f, AD_RESOURCE_SIGNAL, NULL);
}

static bool process_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_pointer_leaf(d, v, f, AD_RESOURCE_PROCESS, NULL);
}

const struct ad_leaf_recogniser ad_tokio_leaves[] = {
	{ "tokio::time::sleep::Sleep", AD_MATCH_TYPE, timer_leaf },
	{ "tokio::runtime::task::join::JoinHandle", AD_MATCH_TYPE, join_handle_leaf },
	{ "tokio::sync::batch_semaphore::Acquire", AD_MATCH_TYPE, semaphore_leaf },
	{ "tokio::sync::notify::Notified", AD_MATCH_TYPE, notified_leaf },
	{ "tokio::sync::oneshot::Receiver", AD_MATCH_TYPE, oneshot_leaf },
	{ "tokio::sync::oneshot::Sender", AD_MATCH_TYPE, oneshot_leaf },
	{ "tokio::runtime::io::scheduled_io::Readiness", AD_MATCH_TYPE, readiness_leaf },
	{ "tokio::sync::broadcast::Recv", AD_MATCH_TYPE, broadcast_recv_leaf },
	{ "tokio::sync::broadcast::Receiver", AD_MATCH_TYPE, broadcast_receiver_leaf },
	{ "tokio::sync::watch::Receiver", AD_MATCH_TYPE, watch_receiver_leaf },
	{ "tokio::task::join_set::JoinSet", AD_MATCH_TYPE, join_set_leaf },
	{ "tokio::io::util::copy::Copy", AD_MATCH_TYPE, copy_type_leaf },
	{ "tokio::io::util::copy_bidirectional::CopyBidirectional", AD_MATCH_TYPE, copy_bidirectional_leaf },
	{ "tokio::future::poll_fn::PollFn", AD_MATCH_TYPE, tokio_poll_fn_leaf },
	{ "core::future::poll_fn::PollFn", AD_MATCH_TYPE, tokio_poll_fn_leaf },
	{ "tokio_stream::stream_ext::next::Next", AD_MATCH_TYPE, next_leaf },
	{ "tokio_stream::stream_ext::try_next::TryNext", AD_MATCH_TYPE, next_leaf },
	{ "tokio_stream::wrappers::mpsc_bounded::ReceiverStream", AD_MATCH_TYPE, receiver_stream_leaf },
	{ "tokio_stream::wrappers::mpsc_unbounded::UnboundedReceiverStream", AD_MATCH_TYPE, receiver_stream_leaf },
	{ "tokio_util::codec::framed", AD_MATCH_PREFIX, framed_leaf },
	{ "tokio::task::yield_now::", AD_MATCH_PREFIX, yield_leaf },
	{ "tokio::io::util::read::Read", AD_MATCH_TYPE, read_leaf },
	{ "tokio::io::util::read_exact::ReadExact", AD_MATCH_TYPE, read_leaf },
	{ "tokio::io::util::read_buf::ReadBuf", AD_MATCH_TYPE, read_leaf },
	{ "tokio::io::util::read_to_end::ReadToEnd", AD_MATCH_TYPE, read_leaf },
	{ "tokio::io::util::read_line::ReadLine", AD_MATCH_TYPE, read_leaf },
	{ "tokio::io::util::write::Write", AD_MATCH_TYPE, write_leaf },
	{ "tokio::io::util::write_all::WriteAll", AD_MATCH_TYPE, write_leaf },
	{ "tokio::sync::mpsc::bounded::Receiver", AD_MATCH_TYPE, mpsc_leaf },
	{ "tokio::sync::mpsc::unbounded::UnboundedReceiver", AD_MATCH_TYPE, mpsc_leaf },
	{ "tokio::sync::mpsc::chan::Rx", AD_MATCH_TYPE, mpsc_leaf },
	{ "tokio::signal::", AD_MATCH_PREFIX, signal_leaf },
	{ "tokio::process::", AD_MATCH_PREFIX, process_leaf },
	{ NULL, AD_MATCH_TYPE, NULL },
};

/* ---- combinators */

const struct ad_combinator_recogniser ad_tokio_combinators[] = {
	/* Future(F) up to 1.3x, Future { future: F } since (ad_decode_maybe_done). */
	{ "tokio::future::maybe_done::MaybeDone", AD_MATCH_TYPE, ad_decode_maybe_done },
	/* select! / join! poll a closure over futures they hold by reference. */
	{ "tokio::future::poll_fn::PollFn", AD_MATCH_TYPE, ad_decode_poll_fn },
	{ NULL, AD_MATCH_TYPE, NULL },
};

const struct ad_leaf_refiner ad_tokio_refiners[] = {
	{ "tokio::", refine_leaf },
	{ NULL, NULL },
};
