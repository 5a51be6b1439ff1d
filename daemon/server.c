/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "log.h"
#include "parse.h"

#define MAX_LISTENERS 64
/* Per connection: the request line and headers (we take no bodies), then the
 * write buffer of a response, whose chunks cannot be larger. At 16 KiB a
 * 134 MiB document went out in 8,500 poll + send rounds; at 128 KiB a
 * warm request at 10,000 tasks took 40-50 ms instead of 45-70 here. Bounded
 * by the connection limit (128 by default: 16 MiB in all). */
#define CONNECTION_MEMORY_LIMIT (128 * 1024)
#define LISTEN_BACKLOG 128
#define SD_LISTEN_FDS_START 3

struct server {
	size_t n;
	struct listener listeners[MAX_LISTENERS];
	struct MHD_Daemon *daemons[MAX_LISTENERS];
	char *unix_path; /* ours to remove at exit */
	struct admission *admission; /* per-client limits, request deadline */
};

/* ---------------------------------------------------------------- sockets */

static struct ad_error *set_cloexec_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	int st = fcntl(fd, F_GETFL);
	if (fl < 0 || st < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, st | O_NONBLOCK) < 0)
		return ad_error_os(errno, "setting up socket fd %d", fd);
	return NULL;
}

/* "127.0.0.1:7070" / "[::1]:7070" of a bound socket (port 0 resolved). */
static void describe_tcp(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
			snprintf(buf, size, "[%s]:%u", host, port);
			return;
		}
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	snprintf(buf, size, "%s:%u", host, port);
}

static struct ad_error *open_tcp(const struct ad_listen_addr *a, int *ret)
{
	int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ad_error_os(errno, "creating a socket for %s", a->text);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->addr, a->addr_len) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		close(fd);
		return ad_error_os(e, "listening on %s%s", a->text,
				   e == EADDRINUSE ? " (is another asyncdumpd running?)" : "");
	}
	*ret = fd;
	return NULL;
}

/* Replaces a stale socket of a previous run, never any other file. */
static struct ad_error *remove_stale_socket(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? NULL : ad_error_os(errno, "checking %s", path);
	if (!S_ISSOCK(st.st_mode))
		return ad_error_create(AD_ERROR_CONFIG,
				       "%s exists and is not a socket; refusing to replace it",
				       path);
	if (unlink(path) < 0)
		return ad_error_os(errno, "removing the stale socket %s", path);
	return NULL;
}

static struct ad_error *open_unix(const char *path, int *ret)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return ad_error_create(AD_ERROR_CONFIG, "unix socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	struct ad_error *err = remove_stale_socket(path);
	if (err)
		return err;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ad_error_os(errno, "creating a unix socket for %s", path);
	/* Anyone may connect: SO_PEERCRED then limits each user to its own
	 * processes. Restrict the directory to restrict who may connect. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		close(fd);
		return ad_error_os(e, "listening on unix socket %s", path);
	}
	*ret = fd;
	return NULL;
}

static bool is_unix_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

/* sd_listen_fds(3), by hand: the number of sockets passed, 0 when none. */
static int listen_fds_from_systemd(void)
{
	const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
	if (!pid_text || !fds_text)
		return 0;
	char *end;
	errno = 0;
	long pid = strtol(pid_text, &end, 10);
	if (errno || *end || pid != (long)getpid())
		return 0;
	long n = strtol(fds_text, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (errno || *end || n <= 0 || n > MAX_LISTENERS)
		return 0;
	return (int)n;
}

/* ---------------------------------------------------------------- MHD */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_msg(AD_LOG_WARN, "libmicrohttpd: %s", line);
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return percent_decode(s);
}

/* Thread per connection: a sample blocks its thread for the whole stop →
 * copy → resume → decode (and ptrace requires that one thread to do all of
 * it), so a pool of a few threads would let slow samples starve /healthz and
 * the viewer. Threads are bounded by the connection limit. */
static struct ad_error *start_daemon(struct server *s, const struct ad_config *config,
				     struct app *app, int fd, bool is_unix, const char *name)
{
	if (s->n >= MAX_LISTENERS) {
		close(fd);
		return ad_error_create(AD_ERROR_CONFIG, "too many listeners (at most %d)",
				       MAX_LISTENERS);
	}
	struct ad_error *err = set_cloexec_nonblock(fd);
	if (err) {
		close(fd);
		return err;
	}
	struct listener *l = &s->listeners[s->n];
	l->app = app;
	l->is_unix = is_unix;
	snprintf(l->name, sizeof(l->name), "%s", name);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, routes_handle, l,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, to catch every message */
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)config->max_connections,
		/* per client: admission.c, which answers 503 instead of refusing */
		MHD_OPTION_NOTIFY_CONNECTION, admission_notify, s->admission,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)config->connection_timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT,
		MHD_OPTION_URI_LOG_CALLBACK, routes_request_begin, l,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, routes_request_end, l,
		MHD_OPTION_END);
	if (!d) {
		close(fd);
		return ad_error_create(AD_ERROR_OS, "could not start the HTTP server on %s", name);
	}
	s->daemons[s->n++] = d;
	log_msg(AD_LOG_INFO, "listening on %s%s", is_unix ? "" : "http://", name);
	return NULL;
}

static struct ad_error *start_activated(struct server *s, const struct ad_config *config,
					struct app *app, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		bool is_unix = is_unix_socket(fd);
		char name[128];
		if (is_unix)
			snprintf(name, sizeof(name), "unix socket fd %d (socket activation)", fd);
		else
			describe_tcp(fd, name, sizeof(name));
		struct ad_error *err = start_daemon(s, config, app, fd, is_unix, name);
		if (err)
			return err;
	}
	return NULL;
}

static struct ad_error *start_configured(struct server *s, const struct ad_config *config,
					 struct app *app)
{
	bool tcp = config->listen_configured || !config->unix_path;
	for (size_t i = 0; tcp && i < config->nlisten; i++) {
		int fd = -1;
		struct ad_error *err = open_tcp(&config->listen[i], &fd);
		if (err)
			return err;
		char name[128];
		describe_tcp(fd, name, sizeof(name));
		if ((err = start_daemon(s, config, app, fd, false, name)))
			return err;
	}
	if (config->unix_path) {
		int fd = -1;
		struct ad_error *err = open_unix(config->unix_path, &fd);
		if (err)
			return err;
		s->unix_path = strdup(config->unix_path);
		if (!s->unix_path) {
			close(fd);
			return &ad_error_nomem;
		}
		char name[128];
		snprintf(name, sizeof(name), "unix:%s", config->unix_path);
		if ((err = start_daemon(s, config, app, fd, true, name)))
			return err;
	}
	return NULL;
}

struct ad_error *server_start(const struct ad_config *config, struct app *app,
			      struct server **ret)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return &ad_error_nomem;
	int activated = listen_fds_from_systemd();
	struct ad_error *err = admission_create(config->max_connections_per_ip,
						config->request_timeout_ms, &s->admission);
	if (err) {
		free(s);
		return err;
	}
	err = activated ? start_activated(s, config, app, activated)
			: start_configured(s, config, app);
	if (err) {
		server_stop(s);
		return err;
	}
	*ret = s;
	return NULL;
}

/* How long a stop waits for samples and responses in flight: a third of
 * systemd's default patience (90 s), far above what a sample of 100,000
 * tasks and its document take. */
#define DRAIN_TIMEOUT_MS 30000
#define DRAIN_POLL_MS 10

static void wait_for_requests_in_flight(void)
{
	const struct timespec poll = { .tv_nsec = DRAIN_POLL_MS * 1000000L };
	for (unsigned waited = 0; routes_requests_in_flight() && waited < DRAIN_TIMEOUT_MS;
	     waited += DRAIN_POLL_MS)
		nanosleep(&poll, NULL);
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	/* First stop accepting everywhere, then let the requests in flight
	 * finish and their responses go out: stopping a daemon closes its
	 * connections, a response half sent too. */
	for (size_t i = 0; i < s->n; i++) {
		MHD_socket fd = MHD_quiesce_daemon(s->daemons[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	if (s->unix_path)
		unlink(s->unix_path);
	wait_for_requests_in_flight();
	for (size_t i = 0; i < s->n; i++)
		MHD_stop_daemon(s->daemons[i]);
	admission_destroy(s->admission);
	free(s->unix_path);
	free(s);
}
