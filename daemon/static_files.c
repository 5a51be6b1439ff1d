/* SPDX-License-Identifier: MIT */
#include "static_files.h"
#include "web_assets.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_BYTES (64 * 1024 * 1024)

static const struct {
	const char *ext, *type;
} content_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".map", "application/json" },
};

static const char *content_type_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
			if (strcmp(dot, content_types[i].ext) == 0)
				return content_types[i].type;
	return "application/octet-stream";
}

/* Refuses every segment that is empty (//), starts with a dot (., .., hidden
 * files) or holds a backslash, before the file system is even asked. MHD has
 * already decoded %2e%2e into "..". */
static bool plausible_path(const char *url)
{
	if (url[0] != '/')
		return false;
	for (const char *seg = url + 1; *seg;) {
		size_t n = strcspn(seg, "/");
		if (seg[n] == '/' && n == 0)
			return false;
		if (seg[0] == '.' || memchr(seg, '\\', n))
			return false;
		seg += n + (seg[n] == '/');
	}
	return true;
}

static enum MHD_Result not_found(struct MHD_Connection *c, struct request *r)
{
	return respond_error(c, r, MHD_HTTP_NOT_FOUND, "not_found",
			     "no such file in the web viewer (%s)", r->uri);
}

/* The page itself is revalidated so that an upgrade shows at once. */
static const char *cache_control_of(const char *type)
{
	return strncmp(type, "text/html", 9) == 0 ? "no-cache" : "public, max-age=300";
}

static enum MHD_Result serve_built_in(struct MHD_Connection *c, struct request *r, const char *url)
{
	if (strcmp(url, "/") == 0)
		url = "/index.html";
	for (size_t i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].path, url) == 0) {
			const char *type = content_type_of(url);
			return respond_static(c, r, web_assets[i].data, web_assets[i].size, type,
					      cache_control_of(type));
		}
	return not_found(c, r);
}

static enum MHD_Result serve_from_disk(struct MHD_Connection *c, struct request *r,
				       const char *web_root, const char *url)
{
	char joined[PATH_MAX], resolved[PATH_MAX];
	size_t ul = strlen(url);
	int n = snprintf(joined, sizeof(joined), "%s%s%s", web_root, url,
			 url[ul - 1] == '/' ? "index.html" : "");
	if (n < 0 || (size_t)n >= sizeof(joined) || !realpath(joined, resolved))
		return not_found(c, r);
	/* A symlink inside the root may only lead to files inside the root. */
	size_t rl = strlen(web_root);
	if (strncmp(resolved, web_root, rl) != 0 || resolved[rl] != '/')
		return not_found(c, r);

	int fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return not_found(c, r);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
		close(fd); /* directories are not listed */
		return not_found(c, r);
	}
	const char *type = content_type_of(resolved);
	return respond_file(c, r, fd, (size_t)st.st_size, type, cache_control_of(type));
}

enum MHD_Result static_serve(struct MHD_Connection *c, struct request *r, const char *web_root,
			     const char *url)
{
	if (!plausible_path(url))
		return not_found(c, r);
	return web_root ? serve_from_disk(c, r, web_root, url) : serve_built_in(c, r, url);
}
