/* SPDX-License-Identifier: MIT */
/* Which connections are served, and for how long a request head may take.
 *
 * Every connection costs a thread (thread per connection, see server.c), so
 * slow or greedy clients must not be able to take them all:
 * - a client (an address over TCP, a uid on a unix socket, root exempt)
 *   holds at most `per_client` connections; one more is answered 503 at once
 *   and closed, instead of being refused without a word;
 * - a request head (request line and headers) must arrive within
 *   `request_timeout_ms` of the connection opening or of the previous
 *   response, or the connection is shut down: trickling one header line a
 *   second holds a connection for no longer than that.
 * A reaper thread enforces the deadline. It holds its own duplicate of each
 * connection's socket, so shutting one down can never hit a descriptor that
 * was closed and reused meanwhile. */
#ifndef ASYNCDUMP_DAEMON_ADMISSION_H
#define ASYNCDUMP_DAEMON_ADMISSION_H

#include <stdbool.h>
#include <microhttpd.h>

#include "asyncdump/error.h"

struct admission;

struct ad_error *admission_create(unsigned per_client, unsigned request_timeout_ms,
				  struct admission **ret);
void admission_destroy(struct admission *a);

/* MHD_OPTION_NOTIFY_CONNECTION with `a` as its cls. */
void admission_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
/* The request head of the connection is complete: its deadline stops. */
void admission_head_received(struct MHD_Connection *c);
/* A response was sent: the next request's deadline starts. */
void admission_response_done(struct MHD_Connection *c);

#endif
