/* SPDX-License-Identifier: MIT */
/* Leaf futures: what a task is blocked on, with the resource's identity —
 * the helpers every recogniser shares (recognisers.h), the sockets found
 * through the runtime adapters' I/O registrations, and the leaves of the
 * libraries that are no runtime (futures-util, futures-channel, hyper, h2).
 * A runtime's own leaves are in its adapter (core/runtime/). Matched by
 * type name; every field is read by name (layouts move between versions). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "recognisers.h"
#include "runtime.h"
#include "sockets.h"

/* ---- values */

struct ad_error *ad_member_uint_at(struct ad_decode *d, const struct ad_value *v,
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

struct ad_error *ad_member_uint(struct ad_decode *d, const struct ad_value *v, const char *name,
				    uint64_t *ret)
{
	return ad_member_uint_at(d, v, name, 5, ret);
}

/* The address a pointer member (`&'a Notify`, NonNull<Header>, …) holds. */
struct ad_error *ad_member_pointer(struct ad_decode *d, const struct ad_value *v,
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

struct ad_value ad_through_pointer(const struct ad_value *v)
{
	struct ad_value cur = *v, next;
	for (int i = 0; i < 4; i++) {
		if (cur.type->kind == AD_TYPE_POINTER || ad_type_is(cur.type, "alloc::boxed::Box")) {
			if (!ad_keep(ad_value_deref(&cur, &next)))
				break;
		} else if (ad_type_is(cur.type, "core::pin::Pin")) {
			const char *inner = ad_type_field(cur.type, "__pointer") ? "__pointer" : "pointer";
			if (!ad_keep(ad_value_member(&cur, inner, &next)))
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
bool ad_shared_state(struct ad_decode *d, const struct ad_value *v, const char *name,
			 uint64_t *ret)
{
	uint64_t off;
	const struct ad_type *t;
	if (!ad_keep(ad_find_member(d->di, v->type, name, 5, &off, &t)))
		return false;
	struct ad_value m = ad_decode_value(d, t, v->address + off), some;
	if (ad_type_is(m.type, "core::option::Option")) {
		if (!ad_keep(ad_value_unwrap_option(&m, &some)))
			return false;
		m = some;
	}
	return ad_keep(ad_value_pointer(&m, ret)) && *ret;
}

bool ad_poll_fn_closure(const struct ad_value *v, struct ad_value *ret)
{
	/* h2 0.4's own PollFn<F>(F) is a tuple struct. */
	return ad_keep(ad_value_member(v, ad_type_field(v->type, "__0") ? "__0" : "f", ret));
}

/* ---- sockets: the fd of whatever holds a runtime's I/O registration */

/* An active adapter's I/O registration, and its fd (-1: unknown). */
static bool is_io_registration(struct ad_decode *d, const struct ad_value *v, int *fd)
{
	for (size_t i = 0; i < d->nadapters; i++) {
		const struct ad_runtime_ops *ops = d->adapters[i].ops;
		*fd = -1;
		if (ops->io_registration && ops->io_registration(d, v, fd))
			return true;
	}
	return false;
}

/* An I/O registration inside v, following Box / Pin / references on the
 * way (hyper-util's I/O wrapper over a Pin<Box<TcpStream>>; h2's Codec { inner:
 * FramedRead { inner: FramedRead { inner: FramedWrite { inner: T } } } }):
 * the first one met, whether its fd is known or not. */
static bool find_registration(struct ad_decode *d, const struct ad_value *v, int depth,
			      struct ad_value *ret, int *fd)
{
	/* Owned boxes only below the top: a reference or an Arc inside leads
	 * to shared state, not to this value's socket. */
	struct ad_value cur = *v, next;
	while (ad_type_is(cur.type, "alloc::boxed::Box") || ad_type_is(cur.type, "core::pin::Pin")) {
		const char *inner = ad_type_field(cur.type, "__pointer") ? "__pointer" : "pointer";
		if (ad_type_is(cur.type, "alloc::boxed::Box") ? !ad_keep(ad_value_deref(&cur, &next))
							      : !ad_keep(ad_value_member(&cur, inner, &next)))
			return false;
		cur = next;
	}
	if (is_io_registration(d, &cur, fd)) {
		*ret = cur;
		return true;
	}
	if (depth <= 0 || (cur.type->kind != AD_TYPE_STRUCT && cur.type->kind != AD_TYPE_ENUM))
		return false;
	if (cur.type->kind == AD_TYPE_ENUM && !ad_keep(ad_value_variant(&cur, NULL, &cur)))
		return false;
	for (size_t i = 0; i < cur.type->nfields; i++) {
		struct ad_value field;
		if (ad_keep(ad_value_member(&cur, cur.type->fields[i].name, &field)) &&
		    find_registration(d, &field, depth - 1, ret, fd))
			return true;
	}
	return false;
}

bool ad_find_io(struct ad_decode *d, const struct ad_value *v, int depth, struct ad_value *ret,
		int *fd)
{
	int found = -1;
	if (!find_registration(d, v, depth, ret, &found) || found < 0)
		return false;
	*fd = found;
	return true;
}

bool ad_fd_of(struct ad_decode *d, const struct ad_value *v, int *fd, uint64_t *address)
{
	struct ad_value target = ad_through_pointer(v), pe;
	if (!ad_find_io(d, &target, 6, &pe, fd))
		return false;
	if (address)
		*address = pe.address;
	return true;
}

/* The socket behind the fd as the kernel saw it right after the sample; the
 * model's description then reads "fd 12 readable: tcp 127.0.0.1:6379 ← …". */
void ad_attach_socket(struct ad_decode *d, struct ad_blocked_on *b)
{
	const struct ad_socket *s;
	if (b->fd >= 0 && d->snap && (s = ad_socket_table_find(d->snap->sockets, b->fd)))
		ad_keep(ad_blocked_on_set_socket(b, s));
}

void ad_describe_io(struct ad_decode *d, struct ad_blocked_on *b, const char *interest)
{
	if (interest && !b->interest)
		ad_keep(ad_blocked_on_set_interest(b, interest));
	ad_attach_socket(d, b);
}

static bool starts_with_any(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (strncmp(s, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

/* Which way an I/O future we hold no recogniser for waits, by the name its
 * library gave it: futures-lite's, futures-util's and the runtimes' io
 * extensions name readers Read*, Lines, Split, Bytes, FillBuf and writers
 * Write*, Flush, Close (futures_lite::io::Lines<BufReader<Async<TcpStream>>>
 * is a reader). NULL when the name says neither. */
static const char *interest_of_io_future(const char *type_name)
{
	static const char *const readers[] = { "Read", "Recv", "Lines", "Split", "Bytes",
					       "Chars", "FillBuf", "Accept", "Incoming", NULL };
	static const char *const writers[] = { "Write", "Flush", "Close", "Shutdown", "Send",
					       NULL };
	char buf[64];
	const char *base = ad_type_base_name(type_name, buf, sizeof(buf));
	if (starts_with_any(base, readers))
		return "readable";
	if (starts_with_any(base, writers))
		return "writable";
	return NULL;
}

/* For a future that holds no other future: the socket it polls, if any
 * (an accept loop's listener). */
bool ad_decode_io_fallback(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value pe;
	int fd;
	struct ad_blocked_on *b;
	if (!ad_find_io(d, v, 6, &pe, &fd) ||
	    !ad_leaf_block(f, AD_RESOURCE_IO, pe.address, &b))
		return false;
	b->fd = fd;
	/* A listener only ever waits to become readable: a connection to accept. */
	const char *interest = strstr(pe.type->name, "Listener") ? "readable"
								  : interest_of_io_future(v->type->name);
	ad_describe_io(d, b, interest);
	return true;
}

/* ---- leaves */

bool ad_pointer_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			 enum ad_resource_kind kind, const char *member)
{
	uint64_t address = v->address;
	struct ad_blocked_on *b;
	if (member && !ad_keep(ad_member_pointer(d, v, member, &address)))
		address = v->address;
	ad_leaf_block(f, kind, address, &b);
	return true;
}

void ad_describe_channel_wait(struct ad_blocked_on *b, const char *flavor, uint64_t chan, bool sending)
{
	ad_keep(ad_blocked_on_set_description(b, "%s channel 0x%" PRIx64 "%s", flavor, chan,
					      sending ? " full: send waits for capacity"
						      : ": recv waits for a message"));
}

bool ad_channel_leaf(struct ad_decode *d, const struct ad_value *handle, struct ad_frame *f,
			 enum ad_resource_kind kind, const char *member)
{
	uint64_t chan = 0;
	struct ad_blocked_on *b;
	struct ad_value h = ad_through_pointer(handle);
	ad_shared_state(d, &h, member, &chan);
	if (!ad_leaf_block(f, kind, chan ? chan : handle->address, &b))
		return true;
	b->channel = chan;
	if (chan && kind == AD_RESOURCE_MPSC)
		ad_describe_channel_wait(b, "mpsc", chan, false);
	else if (chan)
		ad_keep(ad_blocked_on_set_description(b, "%s 0x%" PRIx64, ad_resource_kind_name(kind),
						   chan));
	return true;
}

/* What the stream or sink over b's socket holds in its buffer for this
 * wait (a half-received line, an unsent frame), as an adapter reads it. */
static void note_buffered(struct ad_decode *d, const struct ad_value *stream, struct ad_blocked_on *b)
{
	bool writing = b->interest && strcmp(b->interest, "writable") == 0;
	for (size_t i = 0; i < d->nadapters; i++) {
		const struct ad_runtime_ops *ops = d->adapters[i].ops;
		if (ops->io_buffered && ops->io_buffered(d, stream, writing, &b->buffered_bytes)) {
			b->has_buffered = true;
			return;
		}
	}
}

/* A stream or sink adapter over a socket: Next<'_, FramedRead<TcpStream, _>>
 * (futures-util 0.3.21 … 0.3.34 and the runtimes' stream extensions:
 * `stream`), Forward / SendAll (`sink`, `stream`), a codec's Framed*
 * themselves (member NULL). */
bool ad_stream_io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
			   const char *member, const char *interest)
{
	struct ad_value m;
	int fd;
	uint64_t pe;
	struct ad_blocked_on *b;
	if (member ? !ad_keep(ad_value_member(v, member, &m)) : false)
		return false;
	if (!ad_fd_of(d, member ? &m : v, &fd, &pe))
		return false;
	if (!ad_leaf_block(f, AD_RESOURCE_IO, pe, &b))
		return true;
	b->fd = fd;
	ad_describe_io(d, b, interest);
	note_buffered(d, member ? &m : v, b);
	return true;
}

/* A stream that is a channel's receiving end, behind Next's `&mut St`:
 * futures-channel's mpsc Receiver / UnboundedReceiver { inner:
 * Option<Arc<…Inner>> } (0.3.21, 0.3.34); else whatever leaf the stream
 * itself is (a runtime's channel wrapped as a stream). */
bool ad_stream_channel_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value stream;
	if (!ad_keep(ad_value_member(v, "stream", &stream)))
		return false;
	stream = ad_through_pointer(&stream);
	const struct ad_type *t = stream.type;
	if (ad_type_is(t, "futures_channel::mpsc::Receiver") ||
	    ad_type_is(t, "futures_channel::mpsc::UnboundedReceiver"))
		return ad_channel_leaf(d, &stream, f, AD_RESOURCE_MPSC, "inner");
	return d->leaf(d, &stream, f);
}

/* ---- hyper's HTTP/1 connections */

/* The oneshot Sender inside hyper's client callback, unwrapping every
 * Option and enum variant on the way (they are Some: a response is awaited),
 * and the address of its channel: Sender { inner: Option<Arc<Inner>> }. */
static bool callback_channel(struct ad_decode *d, const struct ad_value *callback, uint64_t *ret)
{
	struct ad_value v = *callback, next;
	for (int i = 0; i < 8; i++) {
		const struct ad_variant *var;
		char base[32];
		if (v.type->kind == AD_TYPE_STRUCT &&
		    strcmp(ad_type_base(v.type, base, sizeof(base)), "Sender") == 0)
			return ad_shared_state(d, &v, "inner", ret);
		if (ad_type_is(v.type, "core::option::Option")) {
			if (!ad_keep(ad_value_unwrap_option(&v, &next)))
				return false;
		} else if (ad_keep(ad_value_variant(&v, &var, &next))) {
			/* Retry(__0) / NoRetry(__0): the payload */
			if (!ad_keep(ad_value_member(&next, "__0", &next)))
				return false;
		} else {
			return false;
		}
		v = next;
	}
	return false;
}

/* The variant name of the enum member `name` found inside v, or NULL. */
static const char *variant_of(struct ad_decode *d, const struct ad_value *v, const char *name)
{
	uint64_t off;
	const struct ad_type *t;
	const struct ad_variant *var;
	struct ad_value inner;
	if (!ad_keep(ad_find_member(d->di, v->type, name, 4, &off, &t)))
		return NULL;
	struct ad_value m = ad_decode_value(d, t, v->address + off);
	return ad_keep(ad_value_variant(&m, &var, &inner)) ? var->name : NULL;
}

/* Option<F> behind a Pin<Box<…>> holds a value (hyper's in-flight request). */
static bool holds_some(const struct ad_value *v)
{
	struct ad_value opt = ad_through_pointer(v), some;
	if (!ad_type_is(opt.type, "core::option::Option"))
		return false;
	return ad_keep(ad_value_unwrap_option(&opt, &some));
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
	if (!ad_keep(ad_value_member(v, "dispatch", &dispatch)) || !ad_keep(ad_value_member(v, "conn", &conn)))
		return false;
	bool client = ad_type_is(dispatch.type, "hyper::proto::h1::dispatch::Client");
	if (!client && ad_keep(ad_value_member(&dispatch, "in_flight", &member)) && holds_some(&member))
		return false;
	bool awaiting_response = client && ad_keep(ad_value_member(&dispatch, "callback", &member)) &&
				 holds_some(&member);
	const char *reading = variant_of(d, &conn, "reading");
	const char *writing = variant_of(d, &conn, "writing");
	uint64_t buffered = 0;
	uint64_t off;
	const struct ad_type *rt;
	bool have_read_buf = false;
	if (ad_keep(ad_find_member(d->di, conn.type, "read_buf", 3, &off, &rt))) {
		struct ad_value rb = ad_decode_value(d, rt, conn.address + off);
		have_read_buf = ad_keep(ad_member_uint_at(d, &rb, "len", 1, &buffered));
		if (!have_read_buf)
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
	ad_fd_of(d, &conn, &fd, &pe);
	if (!ad_leaf_block(f, AD_RESOURCE_IO, pe, &b))
		return true;
	b->fd = fd;
	snprintf(b->phase, sizeof(b->phase), "%s%s", client ? "HTTP/1 client: " : "HTTP/1 server: ", phase);
	/* Half a head sits in read_buf, not in the socket's queue. */
	if (strcmp(interest, "readable") == 0 && have_read_buf) {
		b->has_buffered = true;
		b->buffered_bytes = buffered;
	}
	/* The client's callback: Option<Callback::Retry|NoRetry(oneshot::Sender)>
	 * (0.14.19), Option<Callback::Retry|NoRetry(Option<oneshot::Sender>)>
	 * (0.14.32, 1.x), whose channel is the one the request's task awaits. */
	uint64_t chan;
	if (awaiting_response && ad_keep(ad_value_member(&dispatch, "callback", &member)) &&
	    callback_channel(d, &member, &chan))
		b->channel = chan;
	ad_describe_io(d, b, interest);
	return true;
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
	struct ad_value owner = ad_through_pointer(v);
	if (ad_find_io(d, &owner, 20, &pe, &fd))
		address = pe.address;
	if (!ad_leaf_block(f, AD_RESOURCE_IO, address, &b))
		return true;
	b->fd = fd;
	if (phase)
		snprintf(b->phase, sizeof(b->phase), "%s", phase);
	ad_describe_io(d, b, interest);
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
	struct ad_value cur = ad_through_pointer(v), next;
	for (int i = 0; i < 4 && !ad_type_is(cur.type, "h2::proto::streams::streams::OpaqueStreamRef"); i++) {
		if (!ad_keep(ad_value_member(&cur, "inner", &next)))
			return false;
		cur = next;
	}
	if (!ad_type_is(cur.type, "h2::proto::streams::streams::OpaqueStreamRef"))
		return false;
	uint64_t streams = 0, id = 0;
	struct ad_blocked_on *b;
	ad_shared_state(d, &cur, "inner", &streams);
	if (!ad_leaf_block(f, AD_RESOURCE_H2_STREAM, streams ? streams : cur.address, &b))
		return true;
	b->channel = streams;
	if (ad_keep(ad_member_uint_at(d, &cur, "stream_id", 3, &id)))
		ad_keep(ad_blocked_on_set_description(b, "h2 stream %" PRIu64 " of connection 0x%" PRIx64 ": %s",
						   id, streams, what));
	return true;
}

/* The h2 value a future (or the closure of its poll_fn) stands for. */
static bool h2_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value cur = ad_through_pointer(v), inner;
	const struct ad_type *t = cur.type;
	if (ad_type_is(t, "h2::server::Connection") || ad_type_is(t, "h2::client::Connection")) {
		bool server = ad_type_is(t, "h2::server::Connection");
		if (ad_keep(ad_value_member(&cur, server ? "connection" : "inner", &inner)))
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

/* A poll_fn's closure capturing `self: &mut X` (h2's accept / data, a
 * runtime's signal or channel recv): the leaf of what it captures. */
bool ad_poll_fn_capture_leaf(struct ad_decode *d, const struct ad_value *closure, struct ad_frame *f)
{
	for (size_t i = 0; i < closure->type->nfields; i++) {
		struct ad_value field;
		if (!ad_keep(ad_value_member(closure, closure->type->fields[i].name, &field)))
			continue;
		if (h2_leaf(d, &field, f))
			return true;
		struct ad_value target = ad_through_pointer(&field);
		/* oneshot::Sender::closed, JoinSet::join_next, … poll their `self`:
		 * the leaf of that value (never another poll_fn: no cycle). */
		if (!strstr(target.type->name, "PollFn<") && target.address != closure->address &&
		    d->leaf(d, &target, f))
			return true;
	}
	return false;
}

/* ---- the libraries' leaves, by type name */

static bool poll_fn_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value closure;
	return ad_poll_fn_closure(v, &closure) && ad_poll_fn_capture_leaf(d, &closure, f);
}

/* Instrumented<h2::server::ReadPreface> (h2's handshake), whose inner
 * ReadPreface the walk does not take for a future. */
static bool instrumented_h2_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value inner, value;
	if (!strstr(v->type->name, "<h2::"))
		return false;
	/* inner: T (tracing 0.1.37) or ManuallyDrop<T> { value } (0.1.40+). */
	if (ad_keep(ad_value_member(v, "inner", &inner)) &&
	    ad_type_is(inner.type, "core::mem::manually_drop::ManuallyDrop") &&
	    ad_keep(ad_value_member(&inner, "value", &value)))
		inner = value;
	return ad_type_is(inner.type, "h2::server::ReadPreface") && h2_leaf(d, &inner, f);
}

/* hyper-util's auto::ReadVersion { io: Option<I>, buf, … } (0.1.x):
 * reading the first bytes to tell HTTP/1 from HTTP/2. */
static bool read_version_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return socket_leaf(d, v, f, "HTTP server: reading the version", "readable");
}

static bool next_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_stream_io_leaf(d, v, f, "stream", "readable") || ad_stream_channel_leaf(d, v, f);
}

/* futures-channel's oneshot Receiver { inner: Arc<Inner> } (0.3.21, 0.3.34). */
static bool oneshot_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_channel_leaf(d, v, f, AD_RESOURCE_ONESHOT, "inner");
}

/* futures-channel's mpsc Receiver / UnboundedReceiver polled as a stream by
 * a next() that is not futures-util's Next (a runtime's own next future,
 * whose `&mut S` the walk follows): { inner: Option<Arc<…Inner>> }. */
static bool mpsc_receiver_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_channel_leaf(d, v, f, AD_RESOURCE_MPSC, "inner");
}

/* futures-util's MutexLockFuture { mutex: Option<&Mutex>, wait_key } (0.3.21, 0.3.34). */
static bool mutex_lock_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	uint64_t mutex = 0;
	struct ad_blocked_on *b;
	ad_shared_state(d, v, "mutex", &mutex);
	ad_leaf_block(f, AD_RESOURCE_MUTEX, mutex ? mutex : v->address, &b);
	return true;
}

/* futures-util's SinkExt futures (0.3.21 … 0.3.34) over a socket: Feed {
 * sink: &mut Si, item }, Flush and Close { sink: &mut Si, … } wait to
 * write; so does Send { feed: Feed }, whether it waits in the feed or in
 * the flush after it (a codec's Framed under them knows no direction). */
static bool sink_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_stream_io_leaf(d, v, f, "sink", "writable");
}

static bool send_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	struct ad_value feed;
	return ad_keep(ad_value_member(v, "feed", &feed)) && sink_leaf(d, &feed, f);
}

static bool forward_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	return ad_stream_io_leaf(d, v, f, "sink", "writable") ||
	       ad_stream_io_leaf(d, v, f, "stream", "readable");
}

/* pending(): a future that holds nothing and never completes (std's,
 * futures-util's, futures-lite's; a runtime's own, from its adapter's
 * table). Said as such: an `other` leaf would read as a future nobody here
 * knows. */
bool ad_pending_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f)
{
	(void)d;
	struct ad_blocked_on *b;
	if (ad_leaf_block(f, AD_RESOURCE_NEVER, v->address, &b))
		ad_keep(ad_blocked_on_set_description(b, "nothing: pending() never completes"));
	return true;
}

const struct ad_leaf_recogniser ad_library_leaves[] = {
	{ "core::future::pending::Pending", AD_MATCH_TYPE, ad_pending_leaf },
	{ "futures_util::future::pending::Pending", AD_MATCH_TYPE, ad_pending_leaf },
	{ "futures_lite::future::Pending", AD_MATCH_TYPE, ad_pending_leaf },
	/* futures_util's PollFn (h2 0.3), h2's own (0.4), core's. */
	{ "core::future::poll_fn::PollFn", AD_MATCH_TYPE, poll_fn_leaf },
	{ "futures_util::future::poll_fn::PollFn", AD_MATCH_TYPE, poll_fn_leaf },
	{ "h2::PollFn", AD_MATCH_TYPE, poll_fn_leaf },
	{ "h2::poll_fn::PollFn", AD_MATCH_TYPE, poll_fn_leaf },
	{ "h2::", AD_MATCH_PREFIX, h2_leaf },
	{ "tracing::instrument::Instrumented", AD_MATCH_TYPE, instrumented_h2_leaf },
	{ "hyper_util::server::conn::auto::ReadVersion", AD_MATCH_TYPE, read_version_leaf },
	{ "futures_util::stream::stream::next::Next", AD_MATCH_TYPE, next_leaf },
	{ "futures_util::stream::try_stream::try_next::TryNext", AD_MATCH_TYPE, next_leaf },
	{ "futures_channel::oneshot::Receiver", AD_MATCH_TYPE, oneshot_leaf },
	{ "futures_channel::mpsc::Receiver", AD_MATCH_TYPE, mpsc_receiver_leaf },
	{ "futures_channel::mpsc::UnboundedReceiver", AD_MATCH_TYPE, mpsc_receiver_leaf },
	{ "futures_util::lock::mutex::MutexLockFuture", AD_MATCH_TYPE, mutex_lock_leaf },
	{ "futures_util::lock::mutex::OwnedMutexLockFuture", AD_MATCH_TYPE, mutex_lock_leaf },
	{ "futures_util::stream::stream::forward::Forward", AD_MATCH_TYPE, forward_leaf },
	{ "futures_util::sink::send_all::SendAll", AD_MATCH_TYPE, forward_leaf },
	{ "futures_util::sink::send::Send", AD_MATCH_TYPE, send_leaf },
	{ "futures_util::sink::feed::Feed", AD_MATCH_TYPE, sink_leaf },
	{ "futures_util::sink::flush::Flush", AD_MATCH_TYPE, sink_leaf },
	{ "futures_util::sink::close::Close", AD_MATCH_TYPE, sink_leaf },
	{ "hyper::proto::h1::dispatch::Dispatcher", AD_MATCH_TYPE, hyper_h1_leaf },
	{ NULL, AD_MATCH_TYPE, NULL },
};
