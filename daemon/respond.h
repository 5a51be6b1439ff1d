/* SPDX-License-Identifier: MIT */
/* Every response of asyncdumpd goes through here: JSON documents, text,
 * files and errors (`{"error": {"code": …, "message": …}}`), with the
 * headers every response carries, and the status kept for the log line. */
#ifndef ASYNCDUMP_DAEMON_RESPOND_H
#define ASYNCDUMP_DAEMON_RESPOND_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "asyncdump/error.h"

/* One HTTP request, from its request line to its completion. */
struct request {
	struct timespec start;
	size_t uri_len;    /* the raw request target, query included */
	char uri[512];     /* escaped for the log, cut */
	char method[16];   /* escaped for the log, cut */
	unsigned status;   /* 0 until a response is queued */
	bool in_flight;    /* counted by routes_requests_in_flight() */
};

enum MHD_Result respond_json(struct MHD_Connection *c, struct request *r, unsigned status,
			     json_t *doc);
/* `body` is malloc'ed and taken over. */
enum MHD_Result respond_text(struct MHD_Connection *c, struct request *r, unsigned status,
			     const char *content_type, char *body, size_t len);
/* A body owned by someone else, valid until release(cls) is called, which
 * happens once the response is sent or dropped (also on failure here). */
enum MHD_Result respond_borrowed(struct MHD_Connection *c, struct request *r, unsigned status,
				 const char *content_type, const char *body, size_t len,
				 void (*release)(void *cls), void *cls);
/* A document rendered as it is sent (chunked), task by task: never whole in
 * memory. `stream` is taken over; `newline` ends the body with one (JSON).
 * release(cls) is called once the response is sent or dropped (also on
 * failure here), after the stream is destroyed: what the stream reads (the
 * trace) must live until then. A failure half-way cuts the body short. */
struct ad_render_stream;
enum MHD_Result respond_stream(struct MHD_Connection *c, struct request *r, unsigned status,
			       const char *content_type, struct ad_render_stream *stream,
			       bool newline, void (*release)(void *cls), void *cls);
/* An open regular file, taken over. */
enum MHD_Result respond_file(struct MHD_Connection *c, struct request *r, int fd, size_t size,
			     const char *content_type, const char *cache_control);
/* `size` bytes at `data`, which live as long as the program (the viewer
 * compiled into the daemon). */
enum MHD_Result respond_static(struct MHD_Connection *c, struct request *r, const void *data,
			       size_t size, const char *content_type, const char *cache_control);
enum MHD_Result respond_error(struct MHD_Connection *c, struct request *r, unsigned status,
			      const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The status comes from the code (status.c); `err` is consumed. */
enum MHD_Result respond_ad_error(struct MHD_Connection *c, struct request *r,
				 struct ad_error *err);
enum MHD_Result respond_method_not_allowed(struct MHD_Connection *c, struct request *r,
					   const char *method, const char *allow);

#endif
