/* SPDX-License-Identifier: MIT */
/* The web viewer (web/), compiled into asyncdumpd at build time by
 * daemon/embed-web.sh: the daemon serves it with nothing installed, and
 * --web-root overrides it for people editing the viewer. */
#ifndef ASYNCDUMP_DAEMON_WEB_ASSETS_H
#define ASYNCDUMP_DAEMON_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path; /* "/index.html" */
	const unsigned char *data;
	size_t size;
};

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

#endif
