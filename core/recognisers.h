/* SPDX-License-Identifier: MIT */
/* Internal: what the recognisers of leaves and combinators share — the
 * libraries' tables (futures-util, futures-channel, hyper, h2: no
 * runtime's), and the helpers runtime adapters build their own leaves
 * with. Matched by type name; every field is read by name. */
#ifndef ASYNCDUMP_RECOGNISERS_H
#define ASYNCDUMP_RECOGNISERS_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "runtime.h"

/* leaves.c and combinators.c: the libraries' recognisers, tried after
 * every active adapter's. */
extern const struct ad_leaf_recogniser ad_library_leaves[];
extern const struct ad_combinator_recogniser ad_library_combinators[];

/* A missing detail leaves the leaf less precise, never wrong: true when
 * err is NULL; err is consumed. */
static inline bool ad_keep(struct ad_error *err)
{
	bool ok = !err;
	ad_error_destroy(err);
	return ok;
}

/* f waits on a resource of this kind at this address (*ret: its leaf). */
static inline bool ad_leaf_block(struct ad_frame *f, enum ad_resource_kind kind, uint64_t address,
				 struct ad_blocked_on **ret)
{
	return ad_keep(ad_frame_block_on(f, kind, address, ret));
}

/* ---- leaves.c: reading values */

/* The first member named `name` (breadth first, `depth` levels) as an
 * integer (newtypes read as theirs); ad_member_uint: 5 levels. */
struct ad_error *ad_member_uint_at(struct ad_decode *d, const struct ad_value *v, const char *name,
				   int depth, uint64_t *ret);
struct ad_error *ad_member_uint(struct ad_decode *d, const struct ad_value *v, const char *name,
				uint64_t *ret);
/* The address a pointer member (`&'a Notify`, NonNull<Header>, …) holds. */
struct ad_error *ad_member_pointer(struct ad_decode *d, const struct ad_value *v, const char *name,
				   uint64_t *ret);
/* v itself, or what it points to when it is a reference / Box / Pin. */
struct ad_value ad_through_pointer(const struct ad_value *v);
/* The address an Arc / Option<Arc> member points to: a channel's shared
 * state, the same in every handle of the channel. */
bool ad_shared_state(struct ad_decode *d, const struct ad_value *v, const char *name, uint64_t *ret);
/* The closure a poll_fn polls (PollFn { f }, or a tuple struct's __0). */
bool ad_poll_fn_closure(const struct ad_value *v, struct ad_value *ret);

/* ---- leaves.c: leaves */

/* A leaf of `kind` at the pointer `member` holds (or at v itself). */
bool ad_pointer_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
		     enum ad_resource_kind kind, const char *member);
/* A channel handle's leaf: the channel is its shared state `member`. */
bool ad_channel_leaf(struct ad_decode *d, const struct ad_value *handle, struct ad_frame *f,
		     enum ad_resource_kind kind, const char *member);
/* pending(): waits on nothing, never completes (kind never). */
bool ad_pending_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f);
/* A channel's wait, said alike whatever the library: "mpsc channel 0x…:
 * recv waits for a message", "… full: send waits for capacity"; `flavor`
 * "mpsc", or "mpmc" for a channel whose receivers share its messages. */
void ad_describe_channel_wait(struct ad_blocked_on *b, const char *flavor, uint64_t chan, bool sending);
/* A poll_fn's closure capturing `self: &mut X`: the leaf of what it captures. */
bool ad_poll_fn_capture_leaf(struct ad_decode *d, const struct ad_value *closure, struct ad_frame *f);
/* Next / TryNext on a stream: the socket under it (`stream`), or the
 * channel it receives from. */
bool ad_stream_io_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f,
		       const char *member, const char *interest);
bool ad_stream_channel_leaf(struct ad_decode *d, const struct ad_value *v, struct ad_frame *f);

/* ---- leaves.c: sockets, through the adapters' io_registration */

/* An I/O registration inside v (through Box / Pin and fields, `depth`
 * levels; a reference or Arc below the top leads elsewhere), with a
 * known fd: *ret the registration, *fd its descriptor. */
bool ad_find_io(struct ad_decode *d, const struct ad_value *v, int depth, struct ad_value *ret,
		int *fd);
/* The fd of the registration v holds or points to (6 levels); *address:
 * the registration's, when not NULL. */
bool ad_fd_of(struct ad_decode *d, const struct ad_value *v, int *fd, uint64_t *address);
/* The socket behind b->fd as the kernel saw it after the sample. */
void ad_attach_socket(struct ad_decode *d, struct ad_blocked_on *b);
/* The interest (when b has none) and the socket of an io leaf. */
void ad_describe_io(struct ad_decode *d, struct ad_blocked_on *b, const char *interest);

/* ---- combinators.c */

/* MaybeDone / TryMaybeDone enums: the branch's future, or a completed
 * frame named by its future type. *ret NULL when v is no such enum. */
struct ad_error *ad_decode_maybe_done(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				      struct ad_frame **ret);
/* A PollFn whose closure holds futures by reference (select!, join!):
 * each a child. *ret NULL when it holds none (a leaf PollFn). */
struct ad_error *ad_decode_poll_fn(struct ad_decode *d, const struct ad_value *v, unsigned depth,
				   struct ad_frame **ret);

#endif
