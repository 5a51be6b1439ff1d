/* SPDX-License-Identifier: MIT */
#include "respond.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asyncdump/render.h"
#include "log.h"
#include "status.h"

/* What MHD asks the renderer for at a time: a few tasks' worth. */
#define STREAM_BLOCK_SIZE (64 * 1024)

/* Queues `resp` with the headers every response carries, and frees it. */
static enum MHD_Result send_response(struct MHD_Connection *c, struct request *r,
				     unsigned status, struct MHD_Response *resp,
				     const char *content_type, const char *cache_control)
{
	if (!resp)
		return MHD_NO; /* out of memory: MHD closes the connection */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control) !=
		    MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	enum MHD_Result ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	if (ok == MHD_YES)
		r->status = status;
	return ok;
}

static struct MHD_Response *buffer_response(char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(body);
	return resp;
}

enum MHD_Result respond_text(struct MHD_Connection *c, struct request *r, unsigned status,
			     const char *content_type, char *body, size_t len)
{
	return send_response(c, r, status, buffer_response(body, len), content_type, "no-store");
}

enum MHD_Result respond_borrowed(struct MHD_Connection *c, struct request *r, unsigned status,
				 const char *content_type, const char *body, size_t len,
				 void (*release)(void *cls), void *cls)
{
	/* MHD only reads the buffer; its API is not const-qualified. */
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
		len, (void *)(uintptr_t)body, release, cls);
	if (!resp)
		release(cls);
	return send_response(c, r, status, resp, content_type, "no-store");
}

enum MHD_Result respond_json(struct MHD_Connection *c, struct request *r, unsigned status,
			     json_t *doc)
{
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return MHD_NO;
	size_t len = strlen(body);
	char *with_newline = realloc(body, len + 2);
	if (!with_newline) {
		free(body);
		return MHD_NO;
	}
	with_newline[len++] = '\n';
	with_newline[len] = '\0';
	return respond_text(c, r, status, "application/json", with_newline, len);
}

/* A response's body being rendered: what MHD's reader callback needs. */
struct streamed {
	struct ad_render_stream *stream;
	bool newline;     /* still to send after the document */
	void (*release)(void *cls);
	void *cls;
};

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct streamed *s = cls;
	size_t n;
	struct ad_error *err = ad_render_stream_read(s->stream, buf, max, &n);
	if (err) {
		log_msg(AD_LOG_WARN, "rendering cut short: %s", err->message);
		ad_error_destroy(err);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (n)
		return (ssize_t)n;
	if (s->newline && max) {
		s->newline = false;
		buf[0] = '\n';
		return 1;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_streamed(void *cls)
{
	struct streamed *s = cls;
	ad_render_stream_destroy(s->stream);
	if (s->release)
		s->release(s->cls);
	free(s);
}

enum MHD_Result respond_stream(struct MHD_Connection *c, struct request *r, unsigned status,
			       const char *content_type, struct ad_render_stream *stream,
			       bool newline, void (*release)(void *cls), void *cls)
{
	struct streamed *s = malloc(sizeof(*s));
	if (!s) {
		ad_render_stream_destroy(stream);
		if (release)
			release(cls);
		return MHD_NO;
	}
	*s = (struct streamed){ stream, newline, release, cls };
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, read_stream, s, free_streamed);
	if (!resp)
		free_streamed(s);
	return send_response(c, r, status, resp, content_type, "no-store");
}

enum MHD_Result respond_file(struct MHD_Connection *c, struct request *r, int fd, size_t size,
			     const char *content_type, const char *cache_control)
{
	struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	return send_response(c, r, MHD_HTTP_OK, resp, content_type, cache_control);
}

enum MHD_Result respond_static(struct MHD_Connection *c, struct request *r, const void *data,
			       size_t size, const char *content_type, const char *cache_control)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(size, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	return send_response(c, r, MHD_HTTP_OK, resp, content_type, cache_control);
}

static json_t *error_document(const char *code, const char *message)
{
	json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
	if (doc)
		return doc;
	/* Not UTF-8 (a path of the target, say): send it escaped rather than nothing. */
	char ascii[1024];
	log_escape(message, ascii, sizeof(ascii));
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", ascii);
}

static enum MHD_Result respond_error_message(struct MHD_Connection *c, struct request *r,
					     unsigned status, const char *code,
					     const char *message)
{
	char escaped[512];
	log_escape(message, escaped, sizeof(escaped));
	log_msg(status >= 500 ? AD_LOG_WARN : AD_LOG_DEBUG,
		"error status=%u code=%s message=\"%s\"", status, code, escaped);
	return respond_json(c, r, status, error_document(code, message));
}

enum MHD_Result respond_error(struct MHD_Connection *c, struct request *r, unsigned status,
			      const char *code, const char *fmt, ...)
{
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return respond_error_message(c, r, status, code, message);
}

enum MHD_Result respond_ad_error(struct MHD_Connection *c, struct request *r,
				 struct ad_error *err)
{
	enum MHD_Result ok = respond_error_message(c, r, status_http(err->code),
						   ad_error_code_name(err->code), err->message);
	ad_error_destroy(err);
	return ok;
}

enum MHD_Result respond_method_not_allowed(struct MHD_Connection *c, struct request *r,
					   const char *method, const char *allow)
{
	char message[128];
	char escaped[32];
	log_escape(method, escaped, sizeof(escaped));
	snprintf(message, sizeof(message), "method %s is not allowed here; use %s", escaped, allow);
	json_t *doc = error_document("method_not_allowed", message);
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return MHD_NO;
	struct MHD_Response *resp = buffer_response(body, strlen(body));
	if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return send_response(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, resp, "application/json",
			     "no-store");
}
