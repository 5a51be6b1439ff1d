/* SPDX-License-Identifier: MIT */
/* Leaf futures: what a task is blocked on, with the resource's identity.
 * Matched by type name; every field is read by name (layouts moved between
 * tokio versions: Sleep's deadline, JoinHandle's raw task, …). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "sockets.h"

#define NSEC_PER_SEC 1000000000ll

/* The first member named `name` (breadth first, `depth` levels) as an integer. */
static struct ad_error *member_uint_at(struct ad_decode *d, const struct ad_value *v,
				       const char *name, int depth, uint64_t *ret)
{
	uint64_t off;
	const struct ad_type *t;
	struct ad_error *err = ad_find_member(d->di, v->type, name, depth, &off, &t);
	if (err)
		return err;
	/* Newtypes (Nanoseconds(u32), Id(u64)) read as their integer. */
	uint64_t size = t->size;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT, "%s.%s is not an integer", v->type->name,
				       name);
	return ad_read_uint(d->reader, v->address + off, size, ret);
}

static struct ad_error *member_uint(struct ad_decode *d, const struct ad_value *v, const char *name,
				    uint64_t *ret)
{
	return member_uint_at(d, v, name, 5, ret);
}

/* The address a pointer member (`&'a Notify`, NonNull<Header>, …) holds. */
static struct ad_error *member_pointer(struct ad_decode *d, const struct ad_value *v,
				       const char *name, uint64_t *ret)
{
	uint64_t off;
	const struct ad_type *t;
	struct ad_error *err = ad_find_member(d->di, v->type, name, 5, &off, &t);
	if (err)
		return err;
	struct ad_value m = ad_decode_value(d, t, v->address + off);
	return ad_value_pointer(&m, ret);
}

static bool keep(struct ad_error *err)
{
	/* A missing detail leaves the leaf less precise, never wrong. */
	bool ok = !err;
	ad_error_destroy(err);
	return ok;
}

static bool block(struct ad_frame *f, enum ad_resource_kind kind, uint64_t address,
		  struct ad_blocked_on **ret)
{
	return keep(ad_frame_block_on(f, kind, address, ret));
}

static bool timer_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_blocked_on *b;
	uint64_t entry_off = 0, sec, nsec;
	const struct ad_type *et;
	/* The timer: Sleep.entry, a TimerEntry (tokio 1.24.2, 1.43.1), or
	 * Sleep.timer, an Option<Timer> registered on first poll (1.53.2). */
	if (!keep(ad_find_member(d->di, v->type, "entry", 2, &entry_off, &et)) &&
	    !keep(ad_find_member(d->di, v->type, "timer", 1, &entry_off, &et)))
		entry_off = 0;
	if (!block(f, AD_RESOURCE_TIMER, v->address + entry_off, &b))
		return true;
	/* Sleep → deadline: tokio Instant → std Instant → Timespec, a few
	 * levels down whichever version nests it how. */
	if (keep(member_uint_at(d, v, "tv_sec", 10, &sec)) &&
	    keep(member_uint_at(d, v, "tv_nsec", 10, &nsec))) {
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
	if (!keep(ad_debuginfo_find_type(d->di, "tokio::runtime::task::core::Header", &ht)) ||
	    !keep(ad_find_member(d->di, ht, "vtable", 1, &voff, &vp)) || vp->kind != AD_TYPE_POINTER ||
	    !keep(ad_type_target(d->di, vp, &vt)) ||
	    !keep(ad_find_member(d->di, vt, "poll", 1, &poff, &pt)) ||
	    !keep(ad_read_u64(d->reader, header + voff, &vtable)) ||
	    !keep(ad_read_u64(d->reader, vtable + poff, &poll)) || poll < d->bias ||
	    !keep(ad_debuginfo_function_template_param(d->di, poll - d->bias, "T", &task)))
		return false;
	return strncmp(task->name, "tokio::runtime::blocking::task::BlockingTask", 44) == 0;
}

static bool join_handle_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t header = 0, id;
	struct ad_blocked_on *b;
	if (!keep(member_pointer(d, v, "ptr", &header)) || !header) {
		block(f, AD_RESOURCE_TASK, 0, &b);
		return true;
	}
	if (!block(f, AD_RESOURCE_TASK, header, &b))
		return true;
	if (is_blocking_task(d, header)) {
		b->blocking = true;
		if (d->tokio && keep(ad_tokio_task_id(d, header, &id))) {
			b->has_task_id = true;
			b->task_id = id;
		}
		/* Not linked as an awaited task: no sample ever holds it. */
		if (b->has_task_id)
			keep(ad_blocked_on_set_description(b, "blocking task %" PRIu64 " (spawn_blocking, 0x%" PRIx64 ")",
							   id, header));
		else
			keep(ad_blocked_on_set_description(b, "blocking task 0x%" PRIx64 " (spawn_blocking)", header));
		return true;
	}
	if (d->tokio && keep(ad_tokio_task_id(d, header, &id))) {
		b->has_task_id = true;
		b->task_id = id;
		f->has_awaits_task = true;
		f->awaits_task = id;
		keep(ad_blocked_on_set_description(b, "task %" PRIu64 " (0x%" PRIx64 ")", id, header));
	}
	return true;
}

static bool semaphore_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t sem = 0, wanted, permits;
	struct ad_blocked_on *b;
	keep(member_pointer(d, v, "semaphore", &sem));
	if (!block(f, AD_RESOURCE_SEMAPHORE, sem, &b))
		return true;
	if (keep(member_uint(d, v, "num_permits", &wanted)))
		b->permits_wanted = (int64_t)wanted;
	const struct ad_type *st;
	uint64_t off;
	if (sem && keep(ad_find_member(d->di, v->type, "semaphore", 2, &off, &st)) &&
	    st->kind == AD_TYPE_POINTER) {
		const struct ad_type *target;
		if (keep(ad_type_target(d->di, st, &target))) {
			struct ad_value s = ad_decode_value(d, target, sem);
			/* tokio keeps permits << 1 (bit 0: closed). */
			if (keep(member_uint(d, &s, "permits", &permits)))
				b->permits_available = (int64_t)(permits >> 1);
		}
	}
	return true;
}

static bool pointer_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			 enum ad_resource_kind kind, const char *member)
{
	uint64_t address = v->address;
	struct ad_blocked_on *b;
	if (member && !keep(member_pointer(d, v, member, &address)))
		address = v->address;
	block(f, kind, address, &b);
	return true;
}

/* The file descriptor inside a PollEvented: its `io` is an Option<mio
 * source> wrapping std's socket wrapping an OwnedFd { fd } several levels
 * down. */
static bool poll_evented_fd(struct ad_decode *d, const struct ad_value *pe, int *ret)
{
	uint64_t fd;
	if (!keep(member_uint_at(d, pe, "fd", 12, &fd)) || fd > INT32_MAX)
		return false;
	*ret = (int)fd;
	return true;
}


/* A PollEvented inside v, following Box / Pin / references on the way
 * (hyper-util's TokioIo<Pin<Box<TcpStream>>>; h2's Codec { inner:
 * FramedRead { inner: FramedRead { inner: FramedWrite { inner: T } } } }). */
static bool find_poll_evented(struct ad_decode *d, const struct ad_value *v, int depth,
				   struct ad_value *ret)
{
	/* Owned boxes only below the top: a reference or an Arc inside leads
	 * to shared state, not to this value's socket. */
	struct ad_value cur = *v, next;
	while (ad_type_is(cur.type, "alloc::boxed::Box") || ad_type_is(cur.type, "core::pin::Pin")) {
		const char *inner = ad_type_field(cur.type, "__pointer") ? "__pointer" : "pointer";
		if (ad_type_is(cur.type, "alloc::boxed::Box") ? !keep(ad_value_deref(&cur, &next))
							      : !keep(ad_value_member(&cur, inner, &next)))
			return false;
		cur = next;
	}
	if (ad_type_is(cur.type, "tokio::io::poll_evented::PollEvented")) {
		*ret = cur;
		return true;
	}
	if (depth <= 0 || (cur.type->kind != AD_TYPE_STRUCT && cur.type->kind != AD_TYPE_ENUM))
		return false;
	if (cur.type->kind == AD_TYPE_ENUM && !keep(ad_value_variant(&cur, NULL, &cur)))
		return false;
	for (size_t i = 0; i < cur.type->nfields; i++) {
		struct ad_value field;
		if (keep(ad_value_member(&cur, cur.type->fields[i].name, &field)) &&
		    find_poll_evented(d, &field, depth - 1, ret))
			return true;
	}
	return false;
}

/* The socket behind the fd as the kernel saw it right after the sample; the
 * model's description then reads "fd 12 readable: tcp 127.0.0.1:6379 ← …". */
static void attach_socket(struct ad_decode *d, struct ad_blocked_on *b)
{
	const struct ad_socket *s;
	if (b->fd >= 0 && d->snap && (s = ad_socket_table_find(d->snap->sockets, b->fd)))
		keep(ad_blocked_on_set_socket(b, s));
}

static void describe_io(struct ad_decode *d, struct ad_blocked_on *b, const char *interest)
{
	if (interest && !b->interest)
		keep(ad_blocked_on_set_interest(b, interest));
	attach_socket(d, b);
}

/* A tokio I/O future: the fd of the PollEvented it drives, reached through
 * at most one reference (Read<'_, TcpStream> holds `reader: &mut R`). */
static bool io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
		    const char *interest)
{
	struct ad_blocked_on *b;
	if (!block(f, AD_RESOURCE_IO, v->address, &b))
		return true;
	for (size_t i = 0; i < v->type->nfields; i++) {
		struct ad_value field, target, pe;
		if (!keep(ad_value_member(v, v->type->fields[i].name, &field)))
			continue;
		if (field.type->kind == AD_TYPE_POINTER && keep(ad_value_deref(&field, &target)))
			field = target;
		if (find_poll_evented(d, &field, 4, &pe) && poll_evented_fd(d, &pe, &b->fd)) {
			b->address = pe.address;
			break;
		}
	}
	describe_io(d, b, interest);
	return true;
}

bool ad_decode_io_fallback(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value pe;
	int fd;
	struct ad_blocked_on *b;
	if (!find_poll_evented(d, v, 6, &pe) || !poll_evented_fd(d, &pe, &fd) ||
	    !block(f, AD_RESOURCE_IO, pe.address, &b))
		return false;
	b->fd = fd;
	/* A listener only ever waits to become readable: a connection to accept. */
	const char *interest = strstr(pe.type->name, "Listener") ? "readable" : NULL;
	describe_io(d, b, interest);
	return true;
}

/* mpsc receivers: the channel is the Arc<Chan> their Rx holds as `inner`. */
static bool mpsc_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t chan = v->address;
	struct ad_blocked_on *b;
	if (!keep(member_pointer(d, v, "inner", &chan)))
		chan = v->address;
	if (block(f, AD_RESOURCE_MPSC, chan, &b)) {
		/* The Arc<Chan> its senders hold too (Tx { inner }): one identity. */
		if (chan != v->address)
			b->channel = chan;
		keep(ad_blocked_on_set_description(b, "channel 0x%" PRIx64, chan));
	}
	return true;
}

/* ---- values behind pointers, channels' shared state */

/* v itself, or what it points to when it is a reference / Box / Pin. */
static struct ad_value through_pointer(const struct ad_value *v)
{
	struct ad_value cur = *v, next;
	for (int i = 0; i < 4; i++) {
		if (cur.type->kind == AD_TYPE_POINTER || ad_type_is(cur.type, "alloc::boxed::Box")) {
			if (!keep(ad_value_deref(&cur, &next)))
				break;
		} else if (ad_type_is(cur.type, "core::pin::Pin")) {
			const char *inner = ad_type_field(cur.type, "__pointer") ? "__pointer" : "pointer";
			if (!keep(ad_value_member(&cur, inner, &next)))
				break;
		} else {
			break;
		}
		cur = next;
	}
	return cur;
}

/* The address an Arc / Option<Arc> member (`inner`, `shared`, `chan`) points
 * to: the channel's shared state, the same in every handle of the channel. */
static bool shared_state(struct ad_decode *d, const struct ad_value *v, const char *name,
			 uint64_t *ret)
{
	uint64_t off;
	const struct ad_type *t;
	if (!keep(ad_find_member(d->di, v->type, name, 5, &off, &t)))
		return false;
	struct ad_value m = ad_decode_value(d, t, v->address + off), some;
	if (ad_type_is(m.type, "core::option::Option")) {
		if (!keep(ad_value_unwrap_option(&m, &some)))
			return false;
		m = some;
	}
	return keep(ad_value_pointer(&m, ret)) && *ret;
}

/* The oneshot::Sender inside hyper's client callback, unwrapping every
 * Option and enum variant on the way (they are Some: a response is awaited),
 * and the address of its channel. */
static bool callback_channel(struct ad_decode *d, const struct ad_value *callback, uint64_t *ret)
{
	struct ad_value v = *callback, next;
	for (int i = 0; i < 8; i++) {
		if (ad_type_is(v.type, "tokio::sync::oneshot::Sender"))
			return shared_state(d, &v, "inner", ret);
		const struct ad_variant *var;
		if (ad_type_is(v.type, "core::option::Option")) {
			if (!keep(ad_value_unwrap_option(&v, &next)))
				return false;
		} else if (keep(ad_value_variant(&v, &var, &next))) {
			/* Retry(__0) / NoRetry(__0): the payload */
			if (!keep(ad_value_member(&next, "__0", &next)))
				return false;
		} else {
			return false;
		}
		v = next;
	}
	return false;
}

static bool channel_leaf(struct ad_decode *d, const struct ad_value *handle, struct ad_frame *f,
			 enum ad_resource_kind kind, const char *member, const char *what)
{
	uint64_t chan = 0;
	struct ad_blocked_on *b;
	struct ad_value h = through_pointer(handle);
	shared_state(d, &h, member, &chan);
	if (!block(f, kind, chan ? chan : handle->address, &b))
		return true;
	b->channel = chan;
	if (chan)
		keep(ad_blocked_on_set_description(b, "%s 0x%" PRIx64 "%s", ad_resource_kind_name(kind),
						   chan, what ? what : ""));
	return true;
}

/* ---- sockets: the fd of whatever holds a PollEvented, behind a reference */

static bool fd_of(struct ad_decode *d, const struct ad_value *v, int *fd, uint64_t *address)
{
	struct ad_value target = through_pointer(v), pe;
	if (!find_poll_evented(d, &target, 6, &pe) || !poll_evented_fd(d, &pe, fd))
		return false;
	if (address)
		*address = pe.address;
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
	if (!keep(member_pointer(d, v, "scheduled_io", &sio)))
		sio = v->address;
	if (!block(f, AD_RESOURCE_IO, sio, &b))
		return true;
	const char *interest;
	if (keep(member_uint_at(d, v, "interest", 6, &bits)) && (interest = interest_name(bits)))
		keep(ad_blocked_on_set_interest(b, interest));
	return true;
}

/* CopyBuffer { read_done, need_flush, pos, cap, amt, buf } (1.24.2 … 1.53.2):
 * bytes in the buffer not yet written (pos < cap) mean the copy waits to
 * write; else it waits to read. */
struct copy_state {
	bool running, writing;
	uint64_t amt;
};

static void copy_buffer_state(struct ad_decode *d, const struct ad_value *buf, struct copy_state *ret)
{
	uint64_t pos, cap, amt;
	ret->running = keep(member_uint_at(d, buf, "pos", 1, &pos)) &&
		       keep(member_uint_at(d, buf, "cap", 1, &cap));
	ret->writing = ret->running && pos < cap;
	if (keep(member_uint_at(d, buf, "amt", 1, &amt)))
		ret->amt = amt;
}

/* copy_bidirectional's TransferState: Running(CopyBuffer) | ShuttingDown(u64) |
 * Done(u64) (1.24.2 … 1.53.2). */
static void transfer_state(struct ad_decode *d, const struct ad_value *v, struct copy_state *ret)
{
	struct ad_value st = through_pointer(v), variant, payload;
	const struct ad_variant *var;
	memset(ret, 0, sizeof(*ret));
	if (!keep(ad_value_variant(&st, &var, &variant)) || !keep(ad_value_member(&variant, "__0", &payload)))
		return;
	if (ad_type_is(payload.type, "tokio::io::util::copy::CopyBuffer"))
		copy_buffer_state(d, &payload, ret);
	else
		keep(ad_value_uint(&payload, &ret->amt));
}

static bool copy_leaf_fds(struct ad_decode *d, struct ad_frame *f, int fd, int other_fd,
			  const char *interest, uint64_t moved, uint64_t address)
{
	struct ad_blocked_on *b;
	if (!block(f, AD_RESOURCE_IO, address, &b))
		return true;
	b->fd = fd;
	b->other_fd = other_fd;
	b->has_bytes_moved = true;
	b->bytes_moved = moved;
	describe_io(d, b, interest);
	return true;
}

/* io::copy's Copy { reader: &mut R, writer: &mut W, buf: CopyBuffer }
 * (1.24.2 … 1.53.2). */
static bool copy_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value reader, writer, buf;
	int rfd = -1, wfd = -1;
	if (!keep(ad_value_member(v, "reader", &reader)) || !keep(ad_value_member(v, "writer", &writer)) ||
	    !keep(ad_value_member(v, "buf", &buf)))
		return false;
	fd_of(d, &reader, &rfd, NULL);
	fd_of(d, &writer, &wfd, NULL);
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
	if (keep(ad_value_member(v, name, ret)))
		return true;
	snprintf(ref, sizeof(ref), "_ref__%s", name);
	return keep(ad_value_member(v, ref, ret));
}

/* copy_bidirectional: CopyBidirectional { a, b, a_to_b, b_to_a } (1.24.2,
 * 1.43.1), or the poll_fn closure capturing the same names (1.53.2). The
 * leaf is the side a direction waits to write to, if any (a stalled peer),
 * else the side a waits to read from. */
static bool copy_bidirectional_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value a, b, ab, ba;
	if (!captured(v, "a", &a) || !captured(v, "b", &b) || !captured(v, "a_to_b", &ab) ||
	    !captured(v, "b_to_a", &ba))
		return false;
	int afd = -1, bfd = -1;
	fd_of(d, &a, &afd, NULL);
	fd_of(d, &b, &bfd, NULL);
	struct copy_state sab, sba;
	transfer_state(d, &ab, &sab);
	transfer_state(d, &ba, &sba);
	uint64_t moved = sab.amt + sba.amt;
	if (sab.running && sab.writing)
		return copy_leaf_fds(d, f, bfd, afd, "writable", moved, v->address);
	if (sba.running && sba.writing)
		return copy_leaf_fds(d, f, afd, bfd, "writable", moved, v->address);
	if (sab.running || !sba.running)
		return copy_leaf_fds(d, f, afd, bfd, "readable", moved, v->address);
	return copy_leaf_fds(d, f, bfd, afd, "readable", moved, v->address);
}

/* A stream or sink adapter over a socket: Next<'_, FramedRead<TcpStream, _>>
 * (tokio-stream 0.1.9 … 0.1.19, futures-util 0.3.21 … 0.3.34: `stream`),
 * Forward / SendAll (`sink`, `stream`), Framed* themselves (tokio-util 0.7.3
 * … 0.7.19: FramedImpl { inner: T, … }). */
static bool stream_io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			   const char *member, const char *interest)
{
	struct ad_value m;
	int fd;
	uint64_t pe;
	struct ad_blocked_on *b;
	if (member ? !keep(ad_value_member(v, member, &m)) : false)
		return false;
	if (!fd_of(d, member ? &m : v, &fd, &pe))
		return false;
	if (!block(f, AD_RESOURCE_IO, pe, &b))
		return true;
	b->fd = fd;
	describe_io(d, b, interest);
	return true;
}

/* Interval::tick: a poll_fn whose closure holds `&mut Interval { delay:
 * Pin<Box<Sleep>>, … }` (1.24.2 … 1.53.2): the Sleep is the timer. */
static bool interval_tick_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	for (size_t i = 0; i < v->type->nfields; i++) {
		struct ad_value field, target, delay;
		if (!keep(ad_value_member(v, v->type->fields[i].name, &field)))
			continue;
		target = through_pointer(&field);
		if (!ad_type_is(target.type, "tokio::time::interval::Interval") ||
		    !keep(ad_value_member(&target, "delay", &delay)))
			continue;
		struct ad_value sleep = through_pointer(&delay);
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
	shared_state(d, v, "lists", &lists);
	if (!block(f, AD_RESOURCE_JOIN_SET, lists ? lists : v->address, &b))
		return true;
	if (keep(member_uint(d, v, "length", &length)))
		keep(ad_blocked_on_set_description(b, "JoinSet 0x%" PRIx64 " of %" PRIu64 " task%s",
						   lists ? lists : v->address, length,
						   length == 1 ? "" : "s"));
	return true;
}

/* ---- hyper's HTTP/1 connections */

/* The variant name of the enum member `name` found inside v, or NULL. */
static const char *variant_of(struct ad_decode *d, const struct ad_value *v, const char *name)
{
	uint64_t off;
	const struct ad_type *t;
	const struct ad_variant *var;
	struct ad_value inner;
	if (!keep(ad_find_member(d->di, v->type, name, 4, &off, &t)))
		return NULL;
	struct ad_value m = ad_decode_value(d, t, v->address + off);
	return keep(ad_value_variant(&m, &var, &inner)) ? var->name : NULL;
}

/* Option<F> behind a Pin<Box<…>> holds a value (hyper's in-flight request). */
static bool holds_some(const struct ad_value *v)
{
	struct ad_value opt = through_pointer(v), some;
	if (!ad_type_is(opt.type, "core::option::Option"))
		return false;
	return keep(ad_value_unwrap_option(&opt, &some));
}

/* h1 Dispatcher { conn: Conn { io: Buffered { io: I, read_buf: BytesMut, … },
 * state: State { reading: Reading, writing: Writing, … } }, dispatch: Server
 * { in_flight: Pin<Box<Option<F>>>, … } | Client { callback: Option<…>, … },
 * … } (hyper 0.14.19 and 1.11.1 checked on binaries — an idle connection and
 * one half-way through a head; 0.14.32 and 1.5.2 in their sources). A server
 * connection running a request handler is no leaf: the walk goes on into the
 * handler. Otherwise the leaf is the connection's socket, with the phase its
 * state says. */
static bool hyper_h1_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value dispatch, conn, member;
	if (!keep(ad_value_member(v, "dispatch", &dispatch)) || !keep(ad_value_member(v, "conn", &conn)))
		return false;
	bool client = ad_type_is(dispatch.type, "hyper::proto::h1::dispatch::Client");
	if (!client && keep(ad_value_member(&dispatch, "in_flight", &member)) && holds_some(&member))
		return false;
	bool awaiting_response = client && keep(ad_value_member(&dispatch, "callback", &member)) &&
				 holds_some(&member);
	const char *reading = variant_of(d, &conn, "reading");
	const char *writing = variant_of(d, &conn, "writing");
	uint64_t buffered = 0;
	uint64_t off;
	const struct ad_type *rt;
	if (keep(ad_find_member(d->di, conn.type, "read_buf", 3, &off, &rt))) {
		struct ad_value rb = ad_decode_value(d, rt, conn.address + off);
		if (!keep(member_uint_at(d, &rb, "len", 1, &buffered)))
			buffered = 0;
	}
	const char *phase = "idle", *interest = "readable";
	if (writing && strcmp(writing, "Body") == 0) {
		phase = "writing body";
		interest = "writable";
	} else if (reading && (strcmp(reading, "Body") == 0 || strcmp(reading, "Continue") == 0)) {
		phase = "reading body";
	} else if (reading && strcmp(reading, "Closed") == 0) {
		phase = "closed";
	} else if (awaiting_response) {
		phase = "waiting for the response";
	} else if (buffered) {
		phase = client ? "reading the response head" : "reading the request head";
	} else if (client) {
		phase = "idle, ready for a request";
	} else {
		phase = "idle, waiting for a request";
	}
	struct ad_blocked_on *b;
	int fd = -1;
	uint64_t pe = v->address;
	fd_of(d, &conn, &fd, &pe);
	if (!block(f, AD_RESOURCE_IO, pe, &b))
		return true;
	b->fd = fd;
	snprintf(b->phase, sizeof(b->phase), "%s%s", client ? "HTTP/1 client: " : "HTTP/1 server: ", phase);
	/* The client's callback: Option<Callback::Retry|NoRetry(oneshot::Sender)>
	 * (0.14.19), Option<Callback::Retry|NoRetry(Option<oneshot::Sender>)>
	 * (0.14.32, 1.x), whose channel is the one the request's task awaits. */
	uint64_t chan;
	if (awaiting_response && keep(ad_value_member(&dispatch, "callback", &member)) &&
	    callback_channel(d, &member, &chan))
		b->channel = chan;
	describe_io(d, b, interest);
	return true;
}

/* A stream that is a channel's receiving end, behind Next's `&mut St`:
 * futures-channel's mpsc Receiver / UnboundedReceiver { inner:
 * Option<Arc<…Inner>> } (0.3.21, 0.3.34), tokio-stream's ReceiverStream /
 * UnboundedReceiverStream { inner: tokio's Receiver } (0.1.9, 0.1.19). */
static bool stream_channel_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value stream, inner;
	if (!keep(ad_value_member(v, "stream", &stream)))
		return false;
	stream = through_pointer(&stream);
	const struct ad_type *t = stream.type;
	if (ad_type_is(t, "futures_channel::mpsc::Receiver") ||
	    ad_type_is(t, "futures_channel::mpsc::UnboundedReceiver"))
		return channel_leaf(d, &stream, f, AD_RESOURCE_MPSC, "inner", NULL);
	if ((ad_type_is(t, "tokio_stream::wrappers::mpsc_bounded::ReceiverStream") ||
	     ad_type_is(t, "tokio_stream::wrappers::mpsc_unbounded::UnboundedReceiverStream")) &&
	    keep(ad_value_member(&stream, "inner", &inner)))
		return mpsc_leaf(d, &inner, f);
	return false;
}

/* ---- h2 (0.3.x in bookworm, 0.4.7 / 0.4.20 in trixie and sid) */


/* An io leaf on the socket inside v, with a protocol phase. */
static bool socket_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			const char *phase, const char *interest)
{
	struct ad_value pe;
	struct ad_blocked_on *b;
	int fd = -1;
	uint64_t address = v->address;
	struct ad_value owner = through_pointer(v);
	if (find_poll_evented(d, &owner, 20, &pe) && poll_evented_fd(d, &pe, &fd))
		address = pe.address;
	if (!block(f, AD_RESOURCE_IO, address, &b))
		return true;
	b->fd = fd;
	if (phase)
		snprintf(b->phase, sizeof(b->phase), "%s", phase);
	describe_io(d, b, interest);
	return true;
}

/* h2's proto Connection { state: State::Open | Closing(…) | Closed(…), … }
 * (0.3.x, 0.4.7, 0.4.20): the connection waits on its socket whatever the
 * streams do. */
static bool h2_connection_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			       bool server)
{
	const char *state = variant_of(d, v, "state");
	char phase[48];
	snprintf(phase, sizeof(phase), "h2 %s: %s", server ? "server" : "client",
		 !state ? "connection" : strcmp(state, "Open") == 0 ? "open" :
		 strcmp(state, "Closing") == 0 ? "closing" : strcmp(state, "Closed") == 0 ? "closed" : state);
	return socket_leaf(d, v, f, phase, "readable");
}

/* OpaqueStreamRef { inner: Arc<Mutex<streams::Inner>>, key: Key { index,
 * stream_id: StreamId(u32) } } inside a ResponseFuture or RecvStream
 * (RecvStream { inner: FlowControl { inner: OpaqueStreamRef } }): the stream
 * of one connection's stream table. */
static bool h2_stream_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			   const char *what)
{
	struct ad_value cur = through_pointer(v), next;
	for (int i = 0; i < 4 && !ad_type_is(cur.type, "h2::proto::streams::streams::OpaqueStreamRef"); i++) {
		if (!keep(ad_value_member(&cur, "inner", &next)))
			return false;
		cur = next;
	}
	if (!ad_type_is(cur.type, "h2::proto::streams::streams::OpaqueStreamRef"))
		return false;
	uint64_t streams = 0, id = 0;
	struct ad_blocked_on *b;
	shared_state(d, &cur, "inner", &streams);
	if (!block(f, AD_RESOURCE_H2_STREAM, streams ? streams : cur.address, &b))
		return true;
	b->channel = streams;
	if (keep(member_uint_at(d, &cur, "stream_id", 3, &id)))
		keep(ad_blocked_on_set_description(b, "h2 stream %" PRIu64 " of connection 0x%" PRIx64 ": %s",
						   id, streams, what));
	return true;
}

/* The h2 value a future (or the closure of its poll_fn) stands for. */
static bool h2_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value cur = through_pointer(v), inner;
	const struct ad_type *t = cur.type;
	if (ad_type_is(t, "h2::server::Connection") || ad_type_is(t, "h2::client::Connection")) {
		bool server = ad_type_is(t, "h2::server::Connection");
		if (keep(ad_value_member(&cur, server ? "connection" : "inner", &inner)))
			return h2_connection_leaf(d, &inner, f, server);
		return socket_leaf(d, &cur, f, server ? "h2 server connection" : "h2 client connection",
				   "readable");
	}
	if (ad_type_is(t, "h2::proto::connection::Connection"))
		return h2_connection_leaf(d, &cur, f, strstr(t->name, "h2::server::Peer") != NULL);
	if (ad_type_is(t, "h2::server::ReadPreface"))
		return socket_leaf(d, &cur, f, "h2 server: reading the preface", "readable");
	if (ad_type_is(t, "h2::server::Handshake"))
		return socket_leaf(d, &cur, f, "h2 server: handshake", "readable");
	if (ad_type_is(t, "h2::client::ResponseFuture"))
		return h2_stream_leaf(d, &cur, f, "waiting for the response");
	if (ad_type_is(t, "h2::share::RecvStream"))
		return h2_stream_leaf(d, &cur, f, "waiting for body data");
	if (ad_type_is(t, "h2::share::SendStream"))
		return h2_stream_leaf(d, &cur, f, "waiting for send capacity");
	if (ad_type_is(t, "h2::client::SendRequest"))
		return h2_stream_leaf(d, &cur, f, "waiting to send a request");
	return false;
}

/* A poll_fn's closure capturing `self: &mut X` (h2's accept / data, tokio's
 * Signal / RxFuture::recv): the leaf of what it captures. */
static bool poll_fn_capture_leaf(struct ad_decode *d, const struct ad_value *closure,
				 struct ad_frame *f)
{
	for (size_t i = 0; i < closure->type->nfields; i++) {
		struct ad_value field;
		if (!keep(ad_value_member(closure, closure->type->fields[i].name, &field)))
			continue;
		if (h2_leaf(d, &field, f))
			return true;
		struct ad_value target = through_pointer(&field);
		/* Signal::recv, RxFuture::recv (tokio::signal::{impl#0}::recv, 1.43.1). */
		if (strncmp(target.type->name, "tokio::signal::", 15) == 0) {
			pointer_leaf(d, &target, f, AD_RESOURCE_SIGNAL, NULL);
			return true;
		}
		/* oneshot::Sender::closed, JoinSet::join_next, … poll their `self`:
		 * the leaf of that value (never another poll_fn: no cycle). */
		if (!strstr(target.type->name, "PollFn<") && target.address != closure->address &&
		    ad_decode_leaf(d, &target, f))
			return true;
	}
	return false;
}

/* ---- leaves completed by the async fn awaiting them */

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
	if (keep(ad_value_member(env, "self", ret)))
		return true;
	for (size_t i = 0; i < env->type->nfields; i++)
		if (strcmp(env->type->fields[i].name, "__awaitee") != 0 &&
		    keep(ad_value_member(env, env->type->fields[i].name, ret)) &&
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
		    !keep(ad_value_member(env, env->type->fields[i].name, &field)))
			continue;
		if (fd_of(d, &field, &b->fd, NULL))
			break;
		target = through_pointer(&field);
		if (ad_type_is(target.type, "tokio::io::async_fd::AsyncFd") &&
		    keep(ad_value_member(&target, "inner", &inner)) &&
		    keep(member_uint_at(d, &inner, "fd", 10, &fd)) && fd <= INT32_MAX)
			b->fd = (int)fd;
	}
	attach_socket(d, b);
}

void ad_refine_leaf(struct ad_decode *d, const struct ad_value *env, const char *fn,
		    struct ad_frame *child)
{
	struct ad_blocked_on *b = chain_leaf(child);
	struct ad_value self, target;
	uint64_t chan = 0, n;
	if (!b || strncmp(fn, "tokio::", 7) != 0)
		return;
	if (b->kind == AD_RESOURCE_SIGNAL && strncmp(fn, "tokio::signal::ctrl_c", 21) == 0) {
		/* ctrl_c() → signal(SignalKind::interrupt()) → Signal::recv (unix; 1.24.2 … 1.53.2). */
		keep(ad_blocked_on_set_description(b, "signal SIGINT (2), tokio::signal::ctrl_c 0x%" PRIx64,
						   b->address));
	} else if (b->kind == AD_RESOURCE_IO && b->fd < 0) {
		io_from_env(d, env, b);
	} else if (b->kind == AD_RESOURCE_SEMAPHORE && strncmp(fn, "tokio::sync::mpsc::", 19) == 0 &&
		   env_self(env, &self)) {
		/* Sender::send → reserve → reserve_inner(&self) → the chan's
		 * semaphore (1.24.2 … 1.53.2): Sender { chan: Tx { inner: Arc<Chan> } }. */
		target = through_pointer(&self);
		b->kind = AD_RESOURCE_MPSC;
		if (shared_state(d, &target, "inner", &chan)) {
			b->channel = chan;
			keep(ad_blocked_on_set_description(b, "mpsc 0x%" PRIx64 " full: send waits for capacity",
							   chan));
		}
	} else if (b->kind == AD_RESOURCE_NOTIFY && strncmp(fn, "tokio::sync::watch::", 20) == 0 &&
		   env_self(env, &self)) {
		/* Receiver::changed(&mut self) { shared: Arc<Shared>, … } (1.24.2);
		 * changed_impl(shared: &Shared, …) (1.43.1, 1.53.2). */
		target = through_pointer(&self);
		b->kind = AD_RESOURCE_WATCH;
		if (shared_state(d, &target, "shared", &chan) ||
		    (keep(ad_value_pointer(&self, &chan)) && chan)) {
			b->channel = chan;
			keep(ad_blocked_on_set_description(b, "watch 0x%" PRIx64 ", waits for a change", chan));
		}
	} else if (b->kind == AD_RESOURCE_WATCH && strncmp(fn, "tokio::sync::barrier::", 22) == 0 &&
		   env_self(env, &self)) {
		/* Barrier { state, wait: watch::Receiver, n } (1.24.2 … 1.53.2). */
		target = through_pointer(&self);
		b->kind = AD_RESOURCE_BARRIER;
		b->address = target.address;
		b->channel = 0;
		if (keep(member_uint_at(d, &target, "n", 1, &n)))
			keep(ad_blocked_on_set_description(b, "barrier 0x%" PRIx64 " of %" PRIu64 " tasks",
							   target.address, n));
	}
}

/* The closure a poll_fn polls (PollFn { f }). */
static bool poll_fn_closure(const struct ad_value *v, struct ad_value *ret)
{
	/* h2 0.4's own PollFn<F>(F) is a tuple struct. */
	return keep(ad_value_member(v, ad_type_field(v->type, "__0") ? "__0" : "f", ret));
}

bool ad_decode_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	const struct ad_type *t = v->type;
	if (ad_type_is(t, "tokio::time::sleep::Sleep"))
		return timer_leaf(d, v, f);
	if (ad_type_is(t, "tokio::runtime::task::join::JoinHandle"))
		return join_handle_leaf(d, v, f);
	if (ad_type_is(t, "tokio::sync::batch_semaphore::Acquire"))
		return semaphore_leaf(d, v, f);
	if (ad_type_is(t, "tokio::sync::notify::Notified"))
		return pointer_leaf(d, v, f, AD_RESOURCE_NOTIFY, "notify");
	/* Receiver / Sender { inner: Option<Arc<Inner>> } (1.24.2 … 1.53.2). */
	if (ad_type_is(t, "tokio::sync::oneshot::Receiver") || ad_type_is(t, "tokio::sync::oneshot::Sender"))
		return channel_leaf(d, v, f, AD_RESOURCE_ONESHOT, "inner", NULL);
	if (ad_type_is(t, "tokio::runtime::io::scheduled_io::Readiness"))
		return readiness_leaf(d, v, f);
	/* Recv { receiver: &mut Receiver { shared: Arc<Shared>, next }, waiter }
	 * (1.24.2 … 1.53.2): the leaf, never a walk into the waiter list. */
	if (ad_type_is(t, "tokio::sync::broadcast::Recv")) {
		struct ad_value receiver;
		if (keep(ad_value_member(v, "receiver", &receiver)))
			return channel_leaf(d, &receiver, f, AD_RESOURCE_BROADCAST, "shared", NULL);
		return pointer_leaf(d, v, f, AD_RESOURCE_BROADCAST, NULL);
	}
	if (ad_type_is(t, "tokio::sync::broadcast::Receiver"))
		return channel_leaf(d, v, f, AD_RESOURCE_BROADCAST, "shared", NULL);
	if (ad_type_is(t, "tokio::sync::watch::Receiver"))
		return channel_leaf(d, v, f, AD_RESOURCE_WATCH, "shared", NULL);
	if (ad_type_is(t, "tokio::task::join_set::JoinSet"))
		return join_set_leaf(d, v, f);
	if (ad_type_is(t, "tokio::io::util::copy::Copy") && copy_leaf(d, v, f))
		return true;
	if (ad_type_is(t, "tokio::io::util::copy_bidirectional::CopyBidirectional") &&
	    copy_bidirectional_leaf(d, v, f))
		return true;
	if (ad_type_is(t, "tokio::future::poll_fn::PollFn") || ad_type_is(t, "core::future::poll_fn::PollFn")) {
		struct ad_value closure;
		if (strstr(t->name, "tokio::io::util::copy_bidirectional::") && poll_fn_closure(v, &closure) &&
		    copy_bidirectional_leaf(d, &closure, f))
			return true;
		if (strstr(t->name, "tokio::time::interval::") && poll_fn_closure(v, &closure) &&
		    interval_tick_leaf(d, &closure, f))
			return true;
		if (poll_fn_closure(v, &closure) && poll_fn_capture_leaf(d, &closure, f))
			return true;
		return false;
	}
	/* futures_util's PollFn (h2 0.3) and h2's own (0.4). */
	if (ad_type_is(t, "futures_util::future::poll_fn::PollFn") || ad_type_is(t, "h2::PollFn") ||
	    ad_type_is(t, "h2::poll_fn::PollFn")) {
		struct ad_value closure;
		if (poll_fn_closure(v, &closure) && poll_fn_capture_leaf(d, &closure, f))
			return true;
	}
	if (strncmp(t->name, "h2::", 4) == 0 && h2_leaf(d, v, f))
		return true;
	/* Instrumented<h2::server::ReadPreface> (h2's handshake), whose inner
	 * ReadPreface the walk does not take for a future. */
	if (ad_type_is(t, "tracing::instrument::Instrumented") && strstr(t->name, "<h2::")) {
		struct ad_value inner;
		struct ad_value value;
		/* inner: T (tracing 0.1.37) or ManuallyDrop<T> { value } (0.1.40+). */
		if (keep(ad_value_member(v, "inner", &inner)) && ad_type_is(inner.type, "core::mem::manually_drop::ManuallyDrop") &&
		    keep(ad_value_member(&inner, "value", &value)))
			inner = value;
		if (ad_type_is(inner.type, "h2::server::ReadPreface") && h2_leaf(d, &inner, f))
			return true;
	}
	/* hyper-util's auto::ReadVersion { io: Option<I>, buf, … } (0.1.x):
	 * reading the first bytes to tell HTTP/1 from HTTP/2. */
	if (ad_type_is(t, "hyper_util::server::conn::auto::ReadVersion"))
		return socket_leaf(d, v, f, "HTTP server: reading the version", "readable");
	if ((ad_type_is(t, "tokio_stream::stream_ext::next::Next") ||
	     ad_type_is(t, "futures_util::stream::stream::next::Next") ||
	     ad_type_is(t, "tokio_stream::stream_ext::try_next::TryNext") ||
	     ad_type_is(t, "futures_util::stream::try_stream::try_next::TryNext")) &&
	    (stream_io_leaf(d, v, f, "stream", "readable") || stream_channel_leaf(d, v, f)))
		return true;
	/* futures-channel's oneshot Receiver { inner: Arc<Inner> } (0.3.21, 0.3.34). */
	if (ad_type_is(t, "futures_channel::oneshot::Receiver"))
		return channel_leaf(d, v, f, AD_RESOURCE_ONESHOT, "inner", NULL);
	/* futures-util's MutexLockFuture { mutex: Option<&Mutex>, wait_key } (0.3.21, 0.3.34). */
	if (ad_type_is(t, "futures_util::lock::mutex::MutexLockFuture") ||
	    ad_type_is(t, "futures_util::lock::mutex::OwnedMutexLockFuture")) {
		uint64_t mutex = 0;
		struct ad_blocked_on *b;
		shared_state(d, v, "mutex", &mutex);
		block(f, AD_RESOURCE_MUTEX, mutex ? mutex : v->address, &b);
		return true;
	}
	if ((ad_type_is(t, "futures_util::stream::stream::forward::Forward") ||
	     ad_type_is(t, "futures_util::sink::send_all::SendAll")) &&
	    (stream_io_leaf(d, v, f, "sink", "writable") || stream_io_leaf(d, v, f, "stream", "readable")))
		return true;
	if (strncmp(t->name, "tokio_util::codec::framed", 25) == 0 && stream_io_leaf(d, v, f, NULL, NULL))
		return true;
	if (ad_type_is(t, "hyper::proto::h1::dispatch::Dispatcher"))
		return hyper_h1_leaf(d, v, f);
	if (strncmp(t->name, "tokio::task::yield_now::", 24) == 0)
		return pointer_leaf(d, v, f, AD_RESOURCE_YIELD, NULL);
	if (ad_type_is(t, "tokio::io::util::read::Read") || ad_type_is(t, "tokio::io::util::read_exact::ReadExact") ||
	    ad_type_is(t, "tokio::io::util::read_buf::ReadBuf") ||
	    ad_type_is(t, "tokio::io::util::read_to_end::ReadToEnd") ||
	    ad_type_is(t, "tokio::io::util::read_line::ReadLine"))
		return io_leaf(d, v, f, "readable");
	if (ad_type_is(t, "tokio::io::util::write::Write") ||
	    ad_type_is(t, "tokio::io::util::write_all::WriteAll"))
		return io_leaf(d, v, f, "writable");
	if (ad_type_is(t, "tokio::sync::mpsc::bounded::Receiver") ||
	    ad_type_is(t, "tokio::sync::mpsc::unbounded::UnboundedReceiver") ||
	    ad_type_is(t, "tokio::sync::mpsc::chan::Rx"))
		return mpsc_leaf(d, v, f);
	if (strncmp(t->name, "tokio::signal::", 15) == 0)
		return pointer_leaf(d, v, f, AD_RESOURCE_SIGNAL, NULL);
	if (strncmp(t->name, "tokio::process::", 16) == 0)
		return pointer_leaf(d, v, f, AD_RESOURCE_PROCESS, NULL);
	return false;
}
