/* SPDX-License-Identifier: MIT */
/* Leaf futures: what a task is blocked on, with the resource's identity.
 * Matched by type name; every field is read by name (layouts moved between
 * tokio versions: Sleep's deadline, JoinHandle's raw task, …). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

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

/* A PollEvented inside v (not through pointers, at most a few levels). */
static bool find_poll_evented(struct ad_decode *d, const struct ad_value *v, int depth,
			      struct ad_value *ret)
{
	if (ad_type_is(v->type, "tokio::io::poll_evented::PollEvented")) {
		*ret = *v;
		return true;
	}
	if (depth <= 0 || (v->type->kind != AD_TYPE_STRUCT && v->type->kind != AD_TYPE_ENUM))
		return false;
	struct ad_value cur = *v;
	if (cur.type->kind == AD_TYPE_ENUM && !keep(ad_value_variant(v, NULL, &cur)))
		return false;
	for (size_t i = 0; i < cur.type->nfields; i++) {
		struct ad_value field;
		if (keep(ad_value_member(&cur, cur.type->fields[i].name, &field)) &&
		    find_poll_evented(d, &field, depth - 1, ret))
			return true;
	}
	return false;
}

static void describe_io(struct ad_blocked_on *b, const char *interest)
{
	if (b->fd >= 0)
		keep(ad_blocked_on_set_description(b, "fd %d%s%s", b->fd, interest ? " " : "",
						   interest ? interest : ""));
}

/* A tokio I/O future: the fd of the PollEvented it drives, reached through
 * at most one reference (Read<'_, TcpStream> holds `reader: &mut R`). */
static bool io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
		    const char *interest)
{
	struct ad_blocked_on *b;
	if (!block(f, AD_RESOURCE_IO, v->address, &b))
		return true;
	if (interest)
		keep(ad_blocked_on_set_interest(b, interest));
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
	describe_io(b, interest);
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
	if (interest)
		keep(ad_blocked_on_set_interest(b, interest));
	describe_io(b, interest);
	return true;
}

/* mpsc receivers: the channel is the Arc<Chan> their Rx holds as `inner`. */
static bool mpsc_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t chan = v->address;
	struct ad_blocked_on *b;
	if (!keep(member_pointer(d, v, "inner", &chan)))
		chan = v->address;
	if (block(f, AD_RESOURCE_MPSC, chan, &b))
		keep(ad_blocked_on_set_description(b, "channel 0x%" PRIx64, chan));
	return true;
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
	if (ad_type_is(t, "tokio::sync::oneshot::Receiver"))
		return pointer_leaf(d, v, f, AD_RESOURCE_ONESHOT, "inner");
	if (ad_type_is(t, "tokio::runtime::io::scheduled_io::Readiness"))
		return pointer_leaf(d, v, f, AD_RESOURCE_IO, "scheduled_io");
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
