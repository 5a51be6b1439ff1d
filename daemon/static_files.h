/* SPDX-License-Identifier: MIT */
/* The web viewer's files, served from the web root and nothing else. */
#ifndef ASYNCDUMP_DAEMON_STATIC_FILES_H
#define ASYNCDUMP_DAEMON_STATIC_FILES_H

#include <microhttpd.h>

#include "respond.h"

/* `web_root` is a realpath, or NULL when there is none (every file is 404). */
enum MHD_Result static_serve(struct MHD_Connection *c, struct request *r, const char *web_root,
			     const char *url);

#endif
