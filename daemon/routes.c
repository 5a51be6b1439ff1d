/* SPDX-License-Identifier: MIT */
#include "routes.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "asyncdump/render.h"
#include "log.h"
#include "own_metrics.h"
#include "admission.h"
#include "cores.h"
#include "parse.h"
#include "peer_access.h"
#include "pids.h"
#include "asyncdump/procfs.h"
#include "respond.h"
#include "static_files.h"

/* Who is asking: over the unix socket the kernel says which user. */
struct client {
	bool known_uid;
	uid_t uid;
	struct peer_creds creds; /* unix socket: who connected */
};

/* ---------------------------------------------------------------- request state */

static atomic_uint requests_in_flight;

unsigned routes_requests_in_flight(void)
{
	return atomic_load(&requests_in_flight);
}

void *routes_request_begin(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL; /* routes_handle() then refuses the request */
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->uri_len = strlen(uri);
	log_escape(uri, r->uri, sizeof(r->uri));
	strcpy(r->method, "-");
	return r;
}

void routes_request_end(void *cls, struct MHD_Connection *c, void **req_cls,
			enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct request *r = *req_cls;
	admission_response_done(c);
	if (!r)
		return;
	if (r->in_flight)
		atomic_fetch_sub(&requests_in_flight, 1);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - r->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - r->start.tv_nsec) / 1e6;
	char status[16];
	if (r->status)
		snprintf(status, sizeof(status), "%u", r->status);
	else
		strcpy(status, "-");
	log_msg(r->status >= 500 ? AD_LOG_WARN : AD_LOG_INFO,
		"request method=%s path=%s status=%s duration_ms=%.1f listener=%s%s", r->method,
		r->uri, status, ms, l->name,
		toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	if (r->status)
		own_metrics_request(r->status);
	free(r);
	*req_cls = NULL;
}

/* ---------------------------------------------------------------- who may ask */

static bool identify(const struct listener *l, struct MHD_Connection *c, struct client *ret)
{
	ret->known_uid = false;
	ret->uid = 0;
	if (!l->is_unix)
		return true;
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info || !peer_creds_of(info->connect_fd, &ret->creds))
		return false;
	ret->known_uid = true;
	ret->uid = ret->creds.uid;
	return true;
}

static bool authorized(const struct app *app, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return token_matches(h, strlen(h), app->token, app->token_len);
}

/* ---------------------------------------------------------------- query strings */

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	return query_add(cls, key, value) ? MHD_YES : MHD_NO;
}

static bool parse_query(struct MHD_Connection *c, unsigned allowed, struct query *q)
{
	query_init(q, allowed);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, q);
	return !q->problem[0];
}

static enum MHD_Result bad_request(struct MHD_Connection *c, struct request *r, const char *what,
				   const char *value, const char *expected)
{
	char escaped[128];
	log_escape(value, escaped, sizeof(escaped));
	return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_argument",
			     "malformed %s '%s': expected %s", what, escaped, expected);
}

/* ---------------------------------------------------------------- handlers */

static enum MHD_Result handle_healthz(struct MHD_Connection *c, struct request *r)
{
	return respond_json(c, r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static enum MHD_Result handle_metrics(struct app *app, struct MHD_Connection *c,
				      struct request *r)
{
	char *text;
	size_t len;
	struct ad_error *err = metrics_render(app->metrics, &text, &len);
	if (err)
		return respond_ad_error(c, r, err);
	return respond_text(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
			    len);
}

static enum MHD_Result handle_pids(struct app *app, struct MHD_Connection *c, struct request *r,
				   const struct client *client)
{
	struct query q;
	if (!parse_query(c, 0, &q))
		return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_argument", "%s",
				     q.problem);
	bool only_own = client->known_uid && client->uid != 0;
	json_t *doc;
	struct ad_error *err = pids_list(app->ctx, app->self, only_own, client->uid, &doc);
	if (err)
		return respond_ad_error(c, r, err);
	return respond_json(c, r, MHD_HTTP_OK, doc);
}

struct tasks_request {
	pid_t pid;
	bool one_task;        /* /pids/{pid}/tasks/{id} */
	bool has_task;        /* one_task, or ?task=ID */
	uint64_t task;
	bool text;
	bool locals;
	bool no_stop;         /* ?stop=0: read while it runs */
	uint64_t max_age_ms;
};

/* Parses the query of /pids/{pid}/tasks[/{id}] into `t`, or answers 400. */
static enum MHD_Result parse_tasks_query(struct MHD_Connection *c, struct request *r,
					 struct tasks_request *t, bool *ok)
{
	unsigned allowed = 1u << P_LOCALS | 1u << P_MAX_AGE | 1u << P_STOP;
	if (!t->one_task)
		allowed |= 1u << P_FORMAT | 1u << P_TASK;
	struct query q;
	*ok = false;
	if (!parse_query(c, allowed, &q))
		return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_argument", "%s",
				     q.problem);
	if (q.given[P_FORMAT]) {
		if (strcmp(q.value[P_FORMAT], "text") && strcmp(q.value[P_FORMAT], "json"))
			return bad_request(c, r, "format", q.value[P_FORMAT], "json or text");
		t->text = q.value[P_FORMAT][0] == 't';
	}
	if (q.given[P_TASK]) {
		if (!parse_task_id(q.value[P_TASK], &t->task))
			return bad_request(c, r, "task id", q.value[P_TASK], TASK_ID_EXPECTED);
		t->has_task = true;
	}
	if (q.given[P_LOCALS] && !parse_flag(q.value[P_LOCALS], &t->locals))
		return bad_request(c, r, "locals", q.value[P_LOCALS], "1, 0, true or false");
	bool stop = true;
	if (q.given[P_STOP] && !parse_flag(q.value[P_STOP], &stop))
		return bad_request(c, r, "stop", q.value[P_STOP], "1, 0, true or false");
	t->no_stop = !stop;
	if (q.given[P_MAX_AGE] &&
	    !parse_decimal(q.value[P_MAX_AGE], SAMPLER_MAX_AGE_MS, &t->max_age_ms))
		return bad_request(c, r, "max_age_ms", q.value[P_MAX_AGE],
				   "milliseconds from 0 to 60000");
	*ok = true;
	return MHD_YES;
}

/* Over the unix socket, a user other than root may only sample what the
 * kernel would let it trace itself. */
static struct ad_error *check_owner(const struct client *client, pid_t pid)
{
	if (!client->known_uid || client->uid == 0)
		return NULL;
	bool owned;
	struct ad_error *err = pid_owned_by(pid, client->uid, &owned);
	if (err)
		return err;
	if (!owned) /* said plainly; the kernel would refuse it too */
		return ad_error_create(AD_ERROR_PERMISSION,
				       "process %d belongs to another user: over the unix socket, "
				       "uid %u may only inspect its own processes",
				       (int)pid, (unsigned)client->uid);
	return peer_may_read(&client->creds, pid);
}

/* A whole document in flight: the sample it renders lives until the
 * response is done with it. */
struct whole_document {
	struct sampler_handle *sample;
};

static void release_whole_document(void *cls)
{
	struct whole_document *w = cls;
	sampler_release_handle(w->sample);
	free(w);
}

/* The whole document of a sample, rendered task by task as it is sent, so
 * that it is never whole in memory (a large target's document is hundreds
 * of megabytes); the response holds the sample until it is sent. */
static enum MHD_Result respond_whole(struct app *app, struct MHD_Connection *c,
				     struct request *r, const struct tasks_request *t,
				     struct sampled *sampled)
{
	struct whole_document *w = calloc(1, sizeof(*w));
	if (!w)
		return MHD_NO;
	struct ad_render_options options = { .locals = t->locals };
	struct ad_render_stream *stream;
	struct ad_error *err = ad_render_stream_create(
		sampled->trace, t->text ? AD_RENDER_TEXT : AD_RENDER_JSON, &options, &stream);
	if (err) {
		free(w);
		return respond_ad_error(c, r, err);
	}
	own_metrics_render(false);
	if (!(w->sample = sampler_hand_over(app->sampler, sampled))) {
		ad_render_stream_destroy(stream);
		free(w);
		return MHD_NO;
	}
	return respond_stream(c, r, MHD_HTTP_OK,
			      t->text ? "text/plain; charset=utf-8" : "application/json", stream,
			      !t->text, release_whole_document, w);
}

/* A JSON body with its newline, as respond_text() takes it. */
static enum MHD_Result respond_rendered_json(struct MHD_Connection *c, struct request *r,
					     struct ad_error *err, char *body, size_t len)
{
	if (err)
		return respond_ad_error(c, r, err);
	char *with_newline = realloc(body, len + 2);
	if (!with_newline) {
		free(body);
		return MHD_NO;
	}
	with_newline[len++] = '\n';
	with_newline[len] = '\0';
	return respond_text(c, r, MHD_HTTP_OK, "application/json", with_newline, len);
}

static enum MHD_Result render_tasks(struct MHD_Connection *c, struct request *r,
				    const struct tasks_request *t, const struct ad_trace *trace)
{
	struct ad_render_options options = {
		.locals = t->locals, .has_task = t->has_task, .task = t->task,
	};
	struct ad_error *err;
	char *body = NULL;
	size_t len = 0;
	if (t->one_task) {
		struct ad_task *task = ad_trace_find_task(trace, t->task);
		if (!task)
			return respond_error(c, r, MHD_HTTP_NOT_FOUND, "not_found",
					     "process %d has no task %llu (it may have finished)",
					     (int)t->pid, (unsigned long long)t->task);
		err = ad_render_task_json(trace, task, &options, &body, &len);
		return respond_rendered_json(c, r, err, body, len);
	}
	if (t->text) {
		if ((err = ad_render_text(trace, &options, &body)))
			return respond_ad_error(c, r, err);
		return respond_text(c, r, MHD_HTTP_OK, "text/plain; charset=utf-8", body,
				    strlen(body));
	}
	err = ad_render_json(trace, &options, &body, &len);
	return respond_rendered_json(c, r, err, body, len);
}

/* /pids/{pid}/tasks and /pids/{pid}/tasks/{id}; `rest` follows "/pids/". */
static enum MHD_Result handle_tasks(struct app *app, struct MHD_Connection *c, struct request *r,
				    const struct client *client, const char *rest)
{
	struct tasks_request t = { 0 };
	size_t n = strcspn(rest, "/");
	const char *after = rest + n;
	const char *task_text = NULL;
	if (strcmp(after, "/tasks") == 0) {
		t.one_task = false;
	} else if (strncmp(after, "/tasks/", 7) == 0 && after[7] && !strchr(after + 7, '/')) {
		t.one_task = t.has_task = true;
		task_text = after + 7;
	} else {
		return respond_error(c, r, MHD_HTTP_NOT_FOUND, "not_found",
				     "no such path %s; see /pids/{pid}/tasks", r->uri);
	}

	char pid_text[32];
	snprintf(pid_text, sizeof(pid_text), "%.*s", (int)(n < 31 ? n : 31), rest);
	if (n >= sizeof(pid_text) || !parse_pid(pid_text, &t.pid))
		return bad_request(c, r, "pid", pid_text, PID_EXPECTED);
	if (task_text && !parse_task_id(task_text, &t.task))
		return bad_request(c, r, "task id", task_text, TASK_ID_EXPECTED);

	bool ok;
	enum MHD_Result answered = parse_tasks_query(c, r, &t, &ok);
	if (!ok)
		return answered;
	if (t.pid == app->self)
		return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_argument",
				     "pid %d is asyncdumpd itself, which cannot trace itself",
				     (int)t.pid);
	/* The owner is checked on the process that started at start_time,
	 * and the sample must be of that process (the sampler checks). */
	unsigned long long start_time = 0, again = 0;
	bool exists = ad_process_start_time(t.pid, &start_time);
	struct ad_error *err = check_owner(client, t.pid);
	if (err)
		return respond_ad_error(c, r, err);
	if (exists && (!ad_process_start_time(t.pid, &again) || again != start_time))
		return respond_ad_error(c, r, ad_error_create(AD_ERROR_NO_PROCESS,
			"process %d exited while the request was checked; try again", (int)t.pid));

	struct sampled sampled;
	err = sampler_get(app->sampler, t.pid, start_time, t.locals, t.no_stop, t.max_age_ms,
			  &sampled);
	if (err)
		return respond_ad_error(c, r, err);
	enum MHD_Result result = t.has_task ? render_tasks(c, r, &t, sampled.trace)
					    : respond_whole(app, c, r, &t, &sampled);
	sampler_release(app->sampler, &sampled); /* nothing when handed over */
	return result;
}

/* ---------------------------------------------------------------- cores (cores.h) */

static struct cores_client cores_client_of(const struct client *client)
{
	return (struct cores_client){ client->known_uid && client->uid != 0, client->uid };
}

static enum MHD_Result handle_cores(struct app *app, struct MHD_Connection *c, struct request *r,
				    const struct client *client)
{
	struct query q;
	if (!parse_query(c, 0, &q))
		return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_argument", "%s",
				     q.problem);
	struct cores_client who = cores_client_of(client);
	json_t *doc;
	struct ad_error *err = cores_list(app->ctx, app->cores_dir, &who, &doc);
	if (err)
		return respond_ad_error(c, r, err);
	return respond_json(c, r, MHD_HTTP_OK, doc);
}

/* /cores/{name}/tasks and /cores/{name}/tasks/{id}, with the query of a
 * pid's; `rest` follows "/cores/". */
static enum MHD_Result handle_core_tasks(struct app *app, struct MHD_Connection *c,
					 struct request *r, const struct client *client,
					 const char *rest)
{
	struct tasks_request t = { 0 };
	size_t n = strcspn(rest, "/");
	const char *after = rest + n;
	const char *task_text = NULL;
	if (strncmp(after, "/tasks/", 7) == 0 && after[7] && !strchr(after + 7, '/')) {
		t.one_task = t.has_task = true;
		task_text = after + 7;
	} else if (strcmp(after, "/tasks") != 0) {
		return respond_error(c, r, MHD_HTTP_NOT_FOUND, "not_found",
				     "no such path %s; see /cores/{name}/tasks", r->uri);
	}
	char name[256];
	if (n == 0 || n >= sizeof(name))
		return bad_request(c, r, "core name", rest, "a name from GET /cores");
	memcpy(name, rest, n);
	name[n] = '\0';
	if (task_text && !parse_task_id(task_text, &t.task))
		return bad_request(c, r, "task id", task_text, TASK_ID_EXPECTED);
	bool ok;
	enum MHD_Result answered = parse_tasks_query(c, r, &t, &ok);
	if (!ok)
		return answered;
	struct cores_client who = cores_client_of(client);
	struct ad_trace *trace;
	struct ad_error *err = cores_trace(app->ctx, app->cores_dir, name, &who, t.locals, &trace);
	if (err)
		return respond_ad_error(c, r, err);
	t.pid = trace->pid;
	enum MHD_Result result = render_tasks(c, r, &t, trace);
	ad_trace_destroy(trace);
	return result;
}

/* ---------------------------------------------------------------- routing */

enum MHD_Result routes_handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct listener *l = cls;
	struct app *app = l->app;
	struct request *r = *req_cls;
	admission_head_received(c);
	if (!r)
		return MHD_NO;
	if (!r->in_flight) { /* MHD completes a request once it was handled */
		r->in_flight = true;
		atomic_fetch_add(&requests_in_flight, 1);
	}
	if (r->status) { /* answered already; ignore any body */
		*upload_data_size = 0;
		return MHD_YES;
	}
	log_escape(method, r->method, sizeof(r->method));

	if (r->uri_len > MAX_URL_LENGTH)
		return respond_error(c, r, MHD_HTTP_URI_TOO_LONG, "uri_too_long",
				     "the request target is %zu bytes long; the limit is %d",
				     r->uri_len, MAX_URL_LENGTH);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_method_not_allowed(c, r, method, "GET, HEAD");
	struct client client;
	if (!identify(l, c, &client))
		return respond_error(c, r, MHD_HTTP_FORBIDDEN, "permission_denied",
				     "could not tell which user is connected (SO_PEERCRED)");

	if (strcmp(url, "/healthz") == 0)
		return handle_healthz(c, r);
	bool api = strcmp(url, "/metrics") == 0 || strcmp(url, "/pids") == 0 ||
		   strncmp(url, "/pids/", 6) == 0 || strcmp(url, "/cores") == 0 ||
		   strncmp(url, "/cores/", 7) == 0;
	if (!api)
		return static_serve(c, r, app->web_root, url);
	bool denied = !l->is_unix && app->token && !authorized(app, c);
	/* A failed token costs a token of the rate limit too: otherwise the
	 * limit would bound everything but guessing the token. */
	if ((denied || strcmp(url, "/metrics") != 0) && !ratelimit_take(&app->ratelimit))
		return respond_error(c, r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
				     "more than %.0f requests per second (rate_limit); slow down",
				     app->ratelimit.rate);
	if (denied)
		return respond_error(c, r, MHD_HTTP_FORBIDDEN, "permission_denied",
				     "this daemon requires 'Authorization: Bearer TOKEN' with the "
				     "token from its token file");
	if (strcmp(url, "/metrics") == 0)
		return handle_metrics(app, c, r);
	if (strcmp(url, "/pids") == 0)
		return handle_pids(app, c, r, &client);
	if (strcmp(url, "/cores") == 0)
		return handle_cores(app, c, r, &client);
	if (strncmp(url, "/cores/", 7) == 0)
		return handle_core_tasks(app, c, r, &client, url + 7);
	return handle_tasks(app, c, r, &client, url + 6);
}
