/* SPDX-License-Identifier: MIT */
/* The sockets of a process: fd → inode from /proc/PID/fd, inode → addresses,
 * state and queues from the net tables of the process's network namespace
 * (/proc/PID/net/…). Read right after a sample's resume and when first
 * needed: never guessed, and a socket that came or went meanwhile is merely
 * unknown. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "sockets.h"
#include "search.h"

bool ad_sockets_parse_fd_link(const char *link, uint64_t *inode)
{
	char *end;
	if (strncmp(link, "socket:[", 8) != 0)
		return false;
	errno = 0;
	unsigned long long v = strtoull(link + 8, &end, 10);
	if (errno || end == link + 8 || strcmp(end, "]") != 0)
		return false;
	*inode = v;
	return true;
}

static const char *tcp_state_name(unsigned st)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT",   [3] = "SYN_RECV",    [4] = "FIN_WAIT1",
		[5] = "FIN_WAIT2",   [6] = "TIME_WAIT",  [7] = "CLOSE",       [8] = "CLOSE_WAIT",
		[9] = "LAST_ACK",    [10] = "LISTEN",    [11] = "CLOSING",    [12] = "NEW_SYN_RECV",
	};
	return st < sizeof(names) / sizeof(names[0]) && names[st] ? names[st] : "";
}

/* The kernel prints each 32-bit word of the address as the number it holds
 * in host order: store the words back as they were in memory. */
static bool format_inet(const char *hex, unsigned port, char *buf, size_t size)
{
	size_t len = strlen(hex);
	size_t words = len / 8;
	if (len % 8 || (words != 1 && words != 4))
		return false;
	uint32_t w[4];
	for (size_t i = 0; i < words; i++) {
		char part[9];
		memcpy(part, hex + 8 * i, 8);
		part[8] = '\0';
		char *end;
		w[i] = (uint32_t)strtoul(part, &end, 16);
		if (*end)
			return false;
	}
	char addr[INET6_ADDRSTRLEN];
	if (words == 1) {
		struct in_addr a;
		memcpy(&a.s_addr, &w[0], 4);
		if (!inet_ntop(AF_INET, &a, addr, sizeof(addr)))
			return false;
		snprintf(buf, size, "%s:%u", addr, port);
	} else {
		struct in6_addr a;
		memcpy(a.s6_addr, w, 16);
		if (!inet_ntop(AF_INET6, &a, addr, sizeof(addr)))
			return false;
		snprintf(buf, size, "[%s]:%u", addr, port);
	}
	return true;
}

static bool is_unspecified(const char *hex, unsigned port)
{
	return port == 0 && strspn(hex, "0") == strlen(hex);
}

bool ad_sockets_parse_inet_line(const char *line, const char *family, const char *protocol,
				struct ad_socket *ret)
{
	char local[33], peer[33];
	unsigned lport, pport, st;
	uint64_t tx, rx, inode;
	/* sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x %" SCNx64 ":%" SCNx64
			 " %*x:%*x %*x %*u %*u %" SCNu64,
		   local, &lport, peer, &pport, &st, &tx, &rx, &inode) != 8)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->inode = inode;
	snprintf(ret->family, sizeof(ret->family), "%s", family);
	snprintf(ret->protocol, sizeof(ret->protocol), "%s", protocol);
	if (!format_inet(local, lport, ret->local, sizeof(ret->local)))
		return false;
	if (!is_unspecified(peer, pport) && !format_inet(peer, pport, ret->peer, sizeof(ret->peer)))
		return false;
	if (strcmp(protocol, "udp") == 0)
		/* udp has no states of its own: the kernel borrows TCP's. */
		snprintf(ret->state, sizeof(ret->state), "%s", st == 1 ? "CONNECTED" : "UNCONNECTED");
	else
		snprintf(ret->state, sizeof(ret->state), "%s", tcp_state_name(st));
	ret->has_queues = true;
	ret->tx_queue = tx;
	ret->rx_queue = rx;
	return true;
}

bool ad_sockets_parse_unix_line(const char *line, struct ad_socket *ret)
{
	unsigned flags, type, st;
	uint64_t inode;
	int path_at = -1;
	/* Num: RefCount Protocol Flags Type St Inode [Path] */
	if (sscanf(line, "%*x: %*x %*x %x %x %x %" SCNu64 "%n", &flags, &type, &st, &inode,
		   &path_at) != 4 || path_at < 0)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->inode = inode;
	snprintf(ret->family, sizeof(ret->family), "unix");
	snprintf(ret->protocol, sizeof(ret->protocol), "%s",
		 type == 1 ? "stream" : type == 2 ? "dgram" : type == 5 ? "seqpacket" : "");
	const char *path = line + path_at;
	path += strspn(path, " \t");
	size_t len = strcspn(path, "\n");
	if (len >= sizeof(ret->local))
		len = sizeof(ret->local) - 1;
	memcpy(ret->local, path, len);
	ret->local[len] = '\0';
	static const char *const states[] = { "FREE", "UNCONNECTED", "CONNECTING", "CONNECTED",
					      "DISCONNECTING" };
	/* __SO_ACCEPTCON: a listening socket. */
	if (flags & 0x10000)
		snprintf(ret->state, sizeof(ret->state), "LISTEN");
	else if (st < sizeof(states) / sizeof(states[0]))
		snprintf(ret->state, sizeof(ret->state), "%s", states[st]);
	return true;
}

static int by_inode(const void *a, const void *b)
{
	const struct ad_socket_fd *x = a, *y = b;
	return x->socket.inode < y->socket.inode ? -1 : x->socket.inode > y->socket.inode;
}

static int by_fd(const void *a, const void *b)
{
	const struct ad_socket_fd *x = a, *y = b;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* Fills every fd (several may share one socket) whose inode is s->inode;
 * the fds are sorted by inode. */
static bool inode_before(const void *element, const void *inode)
{
	return ((const struct ad_socket_fd *)element)->socket.inode < *(const uint64_t *)inode;
}

static void fill(struct ad_socket_table *t, const struct ad_socket *s)
{
	size_t lo = ad_partition_point(t->fds, t->n, sizeof(*t->fds), &s->inode, inode_before);
	for (; lo < t->n && t->fds[lo].socket.inode == s->inode; lo++) {
		t->fds[lo].socket = *s;
		t->fds[lo].known = true;
	}
}

static struct ad_error *read_fd_links(pid_t pid, struct ad_socket_table *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return ad_proc_explain(pid, 0, errno, "listing its fds");
	size_t cap = 0;
	struct ad_error *err = NULL;
	struct dirent *e;
	while ((e = readdir(dir))) {
		char *end, link[64];
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd < 0 || fd > INT32_MAX)
			continue;
		ssize_t len = readlinkat(dirfd(dir), e->d_name, link, sizeof(link) - 1);
		uint64_t inode;
		if (len < 0)
			continue; /* closed meanwhile */
		link[len] = '\0';
		if (!ad_sockets_parse_fd_link(link, &inode))
			continue;
		if (t->n == cap) {
			if (cap >= AD_SOCKETS_MAX_FDS) {
				err = ad_error_create(AD_ERROR_TOO_LARGE, "process %d: more than %u socket fds",
						      (int)pid, AD_SOCKETS_MAX_FDS);
				break;
			}
			size_t ncap = cap ? cap * 2 : 64;
			struct ad_socket_fd *fds = realloc(t->fds, ncap * sizeof(*fds));
			if (!fds) {
				err = &ad_error_nomem;
				break;
			}
			t->fds = fds;
			cap = ncap;
		}
		memset(&t->fds[t->n], 0, sizeof(t->fds[t->n]));
		t->fds[t->n].fd = (int)fd;
		t->fds[t->n].socket.inode = inode;
		t->n++;
	}
	closedir(dir);
	return err;
}

struct net_table {
	const char *file, *family, *protocol;
};

/* Listening sockets kept to tell accepted connections from outgoing ones:
 * a host listens on a few hundred at most; past this, none is claimed
 * outgoing. */
#define MAX_LISTENERS 65536u

static void keep_listener(struct ad_socket_table *t, const struct ad_socket *s, size_t *cap)
{
	if (t->nlisteners == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct ad_listener *l = ncap <= MAX_LISTENERS
						? realloc(t->listeners, ncap * sizeof(*l)) : NULL;
		if (!l) {
			t->listeners_complete = false;
			return;
		}
		t->listeners = l;
		*cap = ncap;
	}
	if (ad_sockets_parse_listener(s->local, &t->listeners[t->nlisteners]))
		t->nlisteners++;
}

bool ad_sockets_parse_listener(const char *local, struct ad_listener *ret)
{
	const char *colon = strrchr(local, ':');
	char *end;
	if (!colon || !colon[1] || (size_t)(colon - local) >= sizeof(ret->address))
		return false;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535)
		return false;
	size_t len = (size_t)(colon - local);
	memcpy(ret->address, local, len);
	ret->address[len] = '\0';
	ret->port = (unsigned)port;
	ret->ipv6 = local[0] == '[';
	/* An IPv4 address mapped into IPv6 ("[::ffff:127.0.0.1]", a dual-stack
	 * socket's) is the IPv4 address it maps. */
	static const char mapped[] = "[::ffff:";
	if (strncmp(ret->address, mapped, sizeof(mapped) - 1) == 0 && strchr(ret->address, '.') &&
	    ret->address[len - 1] == ']') {
		size_t v4 = len - (sizeof(mapped) - 1) - 1;
		memmove(ret->address, ret->address + sizeof(mapped) - 1, v4);
		ret->address[v4] = '\0';
		ret->ipv6 = false;
	}
	ret->wildcard = strcmp(ret->address, "0.0.0.0") == 0 || strcmp(ret->address, "[::]") == 0;
	return true;
}

static int by_port(const void *a, const void *b)
{
	const struct ad_listener *x = a, *y = b;
	return x->port < y->port ? -1 : x->port > y->port;
}

void ad_sockets_sort_listeners(struct ad_listener *listeners, size_t n)
{
	if (n)
		qsort(listeners, n, sizeof(*listeners), by_port);
}

static bool port_before(const void *element, const void *port)
{
	return ((const struct ad_listener *)element)->port < *(const unsigned *)port;
}

bool ad_sockets_listened_on(const char *local, const struct ad_listener *listeners, size_t n)
{
	struct ad_listener l;
	if (!ad_sockets_parse_listener(local, &l))
		return false;
	size_t i = ad_partition_point(listeners, n, sizeof(*listeners), &l.port, port_before);
	/* [::] serves IPv4 too unless the listener set IPV6_V6ONLY, which the
	 * tables do not show (Linux's default, bindv6only 0, leaves it off). */
	for (; i < n && listeners[i].port == l.port; i++)
		if ((listeners[i].wildcard && (listeners[i].ipv6 || !l.ipv6)) ||
		    (listeners[i].ipv6 == l.ipv6 && strcmp(listeners[i].address, l.address) == 0))
			return true;
	return false;
}

const char *ad_sockets_origin(const struct ad_socket *s, const struct ad_listener *listeners,
			      size_t n, bool complete, unsigned low, unsigned high)
{
	struct ad_listener local, peer;
	if (strcmp(s->protocol, "tcp") != 0 || !*s->peer || strcmp(s->state, "LISTEN") == 0 ||
	    !ad_sockets_parse_listener(s->local, &local) ||
	    !ad_sockets_parse_listener(s->peer, &peer))
		return "";
	if (ad_sockets_listened_on(s->local, listeners, n))
		return "accepted";
	/* An ephemeral port is one connect() picked, or one bind(0) gave a
	 * listener closed since. Linux (4.6 on) gives connect() ports of the
	 * range start's parity first and bind(0) the others
	 * (__inet_hash_connect, inet_csk_find_open_port), so a port of the
	 * other parity is not claimed; nor one whose peer's port is a client's
	 * (ephemeral, listened on by nothing here). A port bound by hand
	 * outside the range could be either. */
	bool peer_serves = peer.port < low || peer.port > high ||
			   ad_sockets_listened_on(s->peer, listeners, n);
	bool from_connect = local.port >= low && local.port <= high &&
			    (local.port - low) % 2 == 0;
	return complete && from_connect && peer_serves ? "connected" : "";
}

/* The kernel's ephemeral ports, from which connect() picks a local one
 * (ipv4's setting serves ipv6 too). The setting is per network namespace
 * and read in ours: a target in another one with another range is judged
 * by ours. Linux's default when unreadable. */
static void ephemeral_ports(unsigned *low, unsigned *high)
{
	*low = 32768;
	*high = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (!f)
		return;
	unsigned a, b;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
		*low = a;
		*high = b;
	}
	fclose(f);
}

/* One net table: each line that names a socket of ours fills it. A table
 * that does not exist (no IPv6 in the kernel) is simply empty. */
static struct ad_error *read_net_table(pid_t pid, const struct net_table *nt,
				       struct ad_socket_table *t, char **buf, size_t *cap,
				       size_t *listeners_cap)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, nt->file);
	struct ad_error *err = ad_proc_slurp(path, buf, cap, &len);
	if (err) {
		bool absent = err->code == AD_ERROR_OS && err->errnum == ENOENT;
		if (absent)
			ad_error_destroy(err);
		return absent ? NULL : err;
	}
	char *line = *buf, *next;
	for (; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		struct ad_socket s;
		bool ok = nt->family ? ad_sockets_parse_inet_line(line, nt->family, nt->protocol, &s)
				     : ad_sockets_parse_unix_line(line, &s);
		if (ok && s.inode)
			fill(t, &s);
		if (ok && nt->family && strcmp(nt->protocol, "tcp") == 0 &&
		    strcmp(s.state, "LISTEN") == 0)
			keep_listener(t, &s, listeners_cap);
	}
	return NULL;
}

/* Says, of each tcp connection of ours, who made it. */
static void set_origins(struct ad_socket_table *t)
{
	unsigned low, high;
	ephemeral_ports(&low, &high);
	for (size_t i = 0; i < t->n; i++) {
		struct ad_socket *s = &t->fds[i].socket;
		if (t->fds[i].known)
			snprintf(s->origin, sizeof(s->origin), "%s",
				 ad_sockets_origin(s, t->listeners, t->nlisteners,
						   t->listeners_complete, low, high));
	}
}

struct ad_error *ad_sockets_read(pid_t pid, struct ad_socket_table **ret)
{
	struct ad_socket_table *t = calloc(1, sizeof(*t));
	if (!t)
		return &ad_error_nomem;
	t->pid = pid;
	struct ad_error *err = read_fd_links(pid, t);
	if (err) {
		ad_socket_table_destroy(t);
		return err;
	}
	if (t->n)
		qsort(t->fds, t->n, sizeof(*t->fds), by_fd);
	*ret = t;
	return NULL;
}

/* Every net table in turn, each filling the fds whose sockets it names. */
static void read_net_tables(struct ad_socket_table *t)
{
	static const struct net_table tables[] = {
		{ "tcp", "ipv4", "tcp" }, { "tcp6", "ipv6", "tcp" }, { "udp", "ipv4", "udp" },
		{ "udp6", "ipv6", "udp" }, { "unix", NULL, NULL },
	};
	char *buf = NULL;
	size_t cap = 0, listeners_cap = 0;
	t->tables_read = true;
	t->listeners_complete = true;
	qsort(t->fds, t->n, sizeof(*t->fds), by_inode);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct ad_error *err = read_net_table(t->pid, &tables[i], t, &buf, &cap,
						      &listeners_cap);
		if (err && tables[i].family && strcmp(tables[i].protocol, "tcp") == 0)
			t->listeners_complete = false;
		ad_error_destroy(err);
	}
	qsort(t->fds, t->n, sizeof(*t->fds), by_fd);
	ad_sockets_sort_listeners(t->listeners, t->nlisteners);
	set_origins(t);
	free(t->listeners);
	t->listeners = NULL;
	t->nlisteners = 0;
	free(buf);
}

void ad_socket_table_destroy(struct ad_socket_table *t)
{
	if (t)
		free(t->fds);
	free(t);
}

static bool fd_before(const void *element, const void *fd)
{
	return ((const struct ad_socket_fd *)element)->fd < *(const int *)fd;
}

const struct ad_socket *ad_socket_table_find(struct ad_socket_table *t, int fd)
{
	if (!t)
		return NULL;
	size_t i = ad_partition_point(t->fds, t->n, sizeof(*t->fds), &fd, fd_before);
	if (i == t->n || t->fds[i].fd != fd)
		return NULL;
	if (!t->tables_read) {
		read_net_tables(t);
		i = ad_partition_point(t->fds, t->n, sizeof(*t->fds), &fd, fd_before);
	}
	return t->fds[i].known ? &t->fds[i].socket : NULL;
}
