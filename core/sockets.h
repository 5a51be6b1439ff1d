/* SPDX-License-Identifier: MIT */
/* Internal: the sockets of a process as the kernel sees them, read from
 * /proc/PID/fd right after a sample's resume and from
 * /proc/PID/net/{tcp,tcp6,udp,udp6,unix} when an io leaf first asks what its
 * fd is connected to. The net tables are read only then: on a machine with
 * many cores or much memory the kernel walks every bucket of its hash of
 * connections for each read of tcp and tcp6, milliseconds a sample whether
 * or not any task waits on a socket. */
#ifndef ASYNCDUMP_SOCKETS_H
#define ASYNCDUMP_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "asyncdump/error.h"
#include "asyncdump/trace.h"

/* Bounds on what one process may make us read. */
#define AD_SOCKETS_MAX_FDS (1u << 20)

struct ad_socket_fd {
	int fd;
	struct ad_socket socket; /* socket.inode 0: the fd is no socket we could name */
	bool known;              /* found in one of the net tables */
};

/* A listening tcp socket of the netns: what an accepted connection's
 * local address matches. */
struct ad_listener {
	unsigned port;
	bool ipv6;
	bool wildcard;        /* 0.0.0.0 (every IPv4 address) or [::] (every address) */
	char address[104];    /* "127.0.0.1", "[::1]" */
};

struct ad_socket_table {
	pid_t pid;
	size_t n;
	struct ad_socket_fd *fds; /* sorted by fd */
	bool tables_read;         /* the net tables filled what they could */
	size_t nlisteners;
	struct ad_listener *listeners; /* while the tables are read, sorted by port */
	bool listeners_complete;  /* every tcp table read, none left out */
};

/* Every socket fd of `pid`; what the net tables say of them comes with the
 * first ad_socket_table_find(). */
struct ad_error *ad_sockets_read(pid_t pid, struct ad_socket_table **ret);
void ad_socket_table_destroy(struct ad_socket_table *t);
/* The socket behind `fd`, or NULL (not a socket, or in no table). Best
 * effort: a net table that cannot be read leaves its sockets unknown. */
const struct ad_socket *ad_socket_table_find(struct ad_socket_table *t, int fd);

/* Parsers of one line of the net tables (exposed for the unit tests).
 * `family` "ipv4"/"ipv6", `protocol` "tcp"/"udp". False on a header or a
 * malformed line. */
bool ad_sockets_parse_inet_line(const char *line, const char *family, const char *protocol,
				struct ad_socket *ret);
bool ad_sockets_parse_unix_line(const char *line, struct ad_socket *ret);
/* `local` ("127.0.0.1:8080", "[::1]:8080") as a listener, an IPv4 address
 * mapped into IPv6 as the IPv4 one; false when it is not an address and
 * port. */
bool ad_sockets_parse_listener(const char *local, struct ad_listener *ret);
/* Sorts listeners by port, as ad_sockets_listened_on() wants them. */
void ad_sockets_sort_listeners(struct ad_listener *listeners, size_t n);
/* Whether `local` is an address one of `listeners` (sorted) listens on: the
 * same address and port, or the same port on a wildcard address that
 * serves its family. */
bool ad_sockets_listened_on(const char *local, const struct ad_listener *listeners, size_t n);
/* "accepted", "connected" or "" for a tcp socket `s` with a peer, from the
 * netns' listeners (complete: every one was read) and the kernel's
 * ephemeral port range [low, high]: accepted when its local address is
 * listened on; connected when its local port is one connect() picks
 * (ephemeral, of the parity of `low`) and listened on by nothing, and its
 * peer's is a server's (outside the range, or listened on here). */
const char *ad_sockets_origin(const struct ad_socket *s, const struct ad_listener *listeners,
			      size_t n, bool complete, unsigned low, unsigned high);
/* "socket:[12345]" → 12345; false for any other link. */
bool ad_sockets_parse_fd_link(const char *link, uint64_t *inode);

#endif
