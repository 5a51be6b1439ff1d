/* SPDX-License-Identifier: MIT */
/* The HTTP API of asyncdumpd: who may ask what, and which handler answers.
 *
 *   GET /healthz                     liveness, never needs a token
 *   GET /metrics                     Prometheus text format 0.0.4
 *   GET /pids                        processes the client may inspect
 *   GET /pids/{pid}/tasks            the trace document (?format=text, ?task=ID,
 *                                    ?locals=1, ?max_age_ms=N); for a watched
 *                                    process its tasks carry unchanged_for_s,
 *                                    and "expected_wait": true where waiting is
 *                                    normal (hang detection, watch.h)
 *   GET /pids/{pid}/tasks/{id}       one task (?locals=1, ?max_age_ms=N)
 *   GET /cores                       core files of the cores directory the
 *                                    client may read (cores.h)
 *   GET /cores/{name}/tasks[/{id}]   a core's trace document, as for a pid
 *   GET /, /FILE                     the web viewer (never needs a token: it
 *                                    holds no process data; its API calls do)
 *
 * With a token file, every other request over TCP needs
 * `Authorization: Bearer TOKEN`. Over the unix socket the kernel tells who
 * the client is (SO_PEERCRED): a user other than root sees and samples only
 * processes that are entirely its own; no token is asked there. */
#ifndef ASYNCDUMP_DAEMON_ROUTES_H
#define ASYNCDUMP_DAEMON_ROUTES_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "asyncdump/capture.h"
#include "metrics.h"
#include "ratelimit.h"
#include "sampler.h"
#include "watch.h"

#define MAX_URL_LENGTH 2048

/* What every request handler shares; lives as long as the daemon. */
struct app {
	struct ad_context *ctx;
	struct sampler *sampler;
	struct metrics *metrics;
	struct watcher *watcher; /* hang detection; NULL before it starts */
	struct ratelimit ratelimit;
	char *token;        /* NULL: no token required */
	size_t token_len;
	char *web_root;     /* realpath, or NULL: the built-in viewer */
	char *cores_dir;    /* GET /cores (cores.h) */
	pid_t self;
};

/* One listening socket; the cls of its MHD daemon. */
struct listener {
	struct app *app;
	bool is_unix;
	char name[128];     /* "127.0.0.1:7070", "unix:/run/…", "fd:3" */
};

/* MHD callbacks: the URI logger creates the request state, the access
 * handler answers, the completion callback logs and frees it. */
void *routes_request_begin(void *cls, const char *uri, struct MHD_Connection *c);
enum MHD_Result routes_handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls);
void routes_request_end(void *cls, struct MHD_Connection *c, void **req_cls,
			enum MHD_RequestTerminationCode toe);
/* Requests handled and not yet completed (answered and sent, or dropped),
 * on every listener: what a stop waits for. */
unsigned routes_requests_in_flight(void);

#endif
