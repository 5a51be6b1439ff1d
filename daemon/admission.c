/* SPDX-License-Identifier: MIT */
#include "admission.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define REAP_PERIOD_MS 100

/* Who a connection belongs to, for the per-client limit. */
struct client_key {
	bool exempt;   /* root on a unix socket */
	bool is_unix;
	uid_t uid;
	unsigned char addr[16]; /* IPv4 in the first 4 bytes */
	sa_family_t family;
};

struct conn {
	struct admission *a;
	struct conn *prev, *next;
	struct client_key key;
	int fd;                /* our duplicate of the connection's socket */
	bool waiting;          /* for a request head */
	bool cut;              /* shut down by the reaper */
	uint64_t waiting_since_ms;
};

struct admission {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t reaper;
	bool stopping;
	unsigned per_client;
	unsigned request_timeout_ms;
	struct conn *conns;    /* every connection being served */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool key_of(int fd, struct client_key *ret)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(ret, 0, sizeof(*ret));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_UNIX) {
		struct ucred cred;
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			return false;
		ret->is_unix = true;
		ret->uid = cred.uid;
		ret->exempt = cred.uid == 0;
		return true;
	}
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	ret->family = ss.ss_family;
	if (ss.ss_family == AF_INET)
		memcpy(ret->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else if (ss.ss_family == AF_INET6)
		memcpy(ret->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	return true;
}

static bool same_client(const struct client_key *x, const struct client_key *y)
{
	if (x->is_unix != y->is_unix)
		return false;
	if (x->is_unix)
		return x->uid == y->uid;
	return x->family == y->family && memcmp(x->addr, y->addr, sizeof(x->addr)) == 0;
}

/* Lock held. */
static unsigned connections_of(const struct admission *a, const struct client_key *key)
{
	unsigned n = 0;
	for (const struct conn *c = a->conns; c; c = c->next)
		n += same_client(&c->key, key);
	return n;
}

/* Answers a connection that will not be served, and ends it. Best effort:
 * the socket is new, so the short answer fits its send buffer. */
static void answer_busy(int fd)
{
	static const char body[] =
		"{\"error\":{\"code\":\"overloaded\",\"message\":\"too many connections from this "
		"client (max_connections_per_ip); close some and try again\"}}\n";
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\nRetry-After: 1\r\n\r\n",
			 sizeof(body) - 1);
	if (n > 0 && send(fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
		(void)!send(fd, body, sizeof(body) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_RDWR);
}

static void *reap(void *arg)
{
	struct admission *a = arg;
	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		uint64_t now = now_ms();
		for (struct conn *c = a->conns; c; c = c->next) {
			if (c->waiting && !c->cut && now - c->waiting_since_ms > a->request_timeout_ms) {
				c->cut = true;
				shutdown(c->fd, SHUT_RDWR);
				log_msg(AD_LOG_INFO, "closed a connection whose request head took more "
						     "than %u ms (request_timeout)",
					a->request_timeout_ms);
			}
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += REAP_PERIOD_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->wake, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

struct ad_error *admission_create(unsigned per_client, unsigned request_timeout_ms,
				  struct admission **ret)
{
	struct admission *a = calloc(1, sizeof(*a));
	if (!a)
		return &ad_error_nomem;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	a->per_client = per_client;
	a->request_timeout_ms = request_timeout_ms;
	int e = pthread_create(&a->reaper, NULL, reap, a);
	if (e) {
		pthread_cond_destroy(&a->wake);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return ad_error_os(e, "starting the request-timeout thread");
	}
	*ret = a;
	return NULL;
}

void admission_destroy(struct admission *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->reaper, NULL);
	/* The MHD daemons are stopped first: no connection is left. */
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void started(struct admission *a, struct MHD_Connection *c, void **socket_context)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct client_key key;
	if (!info || !key_of(info->connect_fd, &key))
		return; /* unknown: served, with MHD's own limits only */
	pthread_mutex_lock(&a->lock);
	bool over = a->per_client && !key.exempt && connections_of(a, &key) >= a->per_client;
	pthread_mutex_unlock(&a->lock);
	if (over) {
		answer_busy(info->connect_fd);
		return;
	}
	struct conn *conn = calloc(1, sizeof(*conn));
	int fd = conn ? fcntl(info->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd < 0) {
		free(conn);
		return; /* served without a deadline rather than refused */
	}
	conn->a = a;
	conn->key = key;
	conn->fd = fd;
	conn->waiting = true;
	conn->waiting_since_ms = now_ms();
	pthread_mutex_lock(&a->lock);
	conn->next = a->conns;
	if (a->conns)
		a->conns->prev = conn;
	a->conns = conn;
	pthread_mutex_unlock(&a->lock);
	*socket_context = conn;
}

static void closed(struct conn *conn)
{
	struct admission *a = conn->a;
	pthread_mutex_lock(&a->lock);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		a->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	pthread_mutex_unlock(&a->lock);
	close(conn->fd);
	free(conn);
}

void admission_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		started(cls, c, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context)
		closed(*socket_context);
}

static void set_waiting(struct MHD_Connection *c, bool waiting)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *conn = info ? info->socket_context : NULL;
	if (!conn)
		return;
	pthread_mutex_lock(&conn->a->lock);
	conn->waiting = waiting;
	conn->waiting_since_ms = now_ms();
	pthread_mutex_unlock(&conn->a->lock);
}

void admission_head_received(struct MHD_Connection *c)
{
	set_waiting(c, false);
}

void admission_response_done(struct MHD_Connection *c)
{
	set_waiting(c, true);
}
