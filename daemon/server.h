/* SPDX-License-Identifier: MIT */
/* The listening sockets and their libmicrohttpd daemons.
 *
 * Sockets come from systemd socket activation when LISTEN_PID is ours
 * (LISTEN_FDS from fd 3 on; the variables are then unset), else from the
 * configuration: each `listen` address, plus the unix socket. The default
 * TCP address is only used when no unix socket is configured either. */
#ifndef ASYNCDUMP_DAEMON_SERVER_H
#define ASYNCDUMP_DAEMON_SERVER_H

#include "conf.h"
#include "asyncdump/error.h"
#include "routes.h"

struct server;

struct ad_error *server_start(const struct ad_config *config, struct app *app,
			      struct server **ret);
/* Stops accepting, lets requests in flight finish (their samples detach from
 * their targets), closes everything and removes the unix socket. */
void server_stop(struct server *s);

#endif
