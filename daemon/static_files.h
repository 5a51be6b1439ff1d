/* SPDX-License-Identifier: MIT */
/* The web viewer's files: the ones compiled into the daemon, or those of a
 * web root given to override them, and nothing else. */
#ifndef ASYNCDUMP_DAEMON_STATIC_FILES_H
#define ASYNCDUMP_DAEMON_STATIC_FILES_H

#include <microhttpd.h>

#include "respond.h"

/* `web_root` is a realpath, or NULL for the built-in viewer. */
enum MHD_Result static_serve(struct MHD_Connection *c, struct request *r, const char *web_root,
			     const char *url);

#endif
