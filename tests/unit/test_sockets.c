/* SPDX-License-Identifier: MIT */
/* The socket table: lines of /proc/PID/net/{tcp,tcp6,udp,unix} as the kernel
 * prints them, and this process's own sockets read back through /proc. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockets.h"

START_TEST(tcp_listen_line)
{
	struct ad_socket s;
	const char *line = "   0: 0100007F:18EB 00000000:0000 0A 00000000:00000003 00:00000000 "
			   "00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0";
	ck_assert(ad_sockets_parse_inet_line(line, "ipv4", "tcp", &s));
	ck_assert_uint_eq(s.inode, 123456);
	ck_assert_str_eq(s.family, "ipv4");
	ck_assert_str_eq(s.protocol, "tcp");
	ck_assert_str_eq(s.local, "127.0.0.1:6379");
	ck_assert_str_eq(s.peer, "");
	ck_assert_str_eq(s.state, "LISTEN");
	ck_assert(s.has_queues);
	ck_assert_uint_eq(s.rx_queue, 3);
	ck_assert_uint_eq(s.tx_queue, 0);
}
END_TEST

START_TEST(tcp_established_line)
{
	struct ad_socket s;
	const char *line = "  12: 0100007F:18EB 0100007F:D2F6 01 0000001A:00000005 00:00000000 "
			   "00000000     0        0 777 1 0000000000000000 20 4 30 10 -1";
	ck_assert(ad_sockets_parse_inet_line(line, "ipv4", "tcp", &s));
	ck_assert_str_eq(s.local, "127.0.0.1:6379");
	ck_assert_str_eq(s.peer, "127.0.0.1:54006");
	ck_assert_str_eq(s.state, "ESTABLISHED");
	ck_assert_uint_eq(s.tx_queue, 26);
	ck_assert_uint_eq(s.rx_queue, 5);
	ck_assert_str_eq(s.origin, ""); /* the line alone does not say */
	char text[256];
	ad_socket_format(&s, "readable", text, sizeof(text));
	ck_assert_str_eq(text, "tcp 127.0.0.1:6379 ↔ 127.0.0.1:54006 ESTABLISHED, 5 B queued");
	snprintf(s.origin, sizeof(s.origin), "accepted");
	ad_socket_format(&s, "writable", text, sizeof(text));
	ck_assert_str_eq(text, "tcp 127.0.0.1:6379 ← 127.0.0.1:54006 ESTABLISHED, 26 B queued");
	snprintf(s.origin, sizeof(s.origin), "connected");
	ad_socket_format(&s, "readable", text, sizeof(text));
	ck_assert_str_eq(text, "tcp 127.0.0.1:6379 → 127.0.0.1:54006 ESTABLISHED, 5 B queued");
}
END_TEST

static struct ad_socket tcp_socket(const char *local, const char *peer, const char *state)
{
	struct ad_socket s = { .inode = 1, .family = "ipv4", .protocol = "tcp" };
	snprintf(s.local, sizeof(s.local), "%s", local);
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	snprintf(s.state, sizeof(s.state), "%s", state);
	return s;
}

/* Who made a connection: its local address is listened on (accepted), or
 * its local port is an ephemeral one nothing listens on (connected). */
START_TEST(connection_origins)
{
	static const char *const listening[] = {
		"[::1]:9000", "0.0.0.0:8080", "127.0.0.1:6379", "[::]:443", "10.0.0.5:6379",
		"[::]:45001", "127.0.0.1:45002",
	};
	size_t n = sizeof(listening) / sizeof(listening[0]);
	struct ad_listener listeners[sizeof(listening) / sizeof(listening[0])];
	for (size_t i = 0; i < n; i++)
		ck_assert(ad_sockets_parse_listener(listening[i], &listeners[i]));
	ad_sockets_sort_listeners(listeners, n);
	ck_assert(listeners[0].port == 443 && listeners[0].ipv6 && listeners[0].wildcard);
	ck_assert_str_eq(listeners[4].address, "[::1]");
	struct ad_listener mapped;
	ck_assert(ad_sockets_parse_listener("[::ffff:10.1.2.3]:80", &mapped));
	ck_assert(!mapped.ipv6 && mapped.port == 80);
	ck_assert_str_eq(mapped.address, "10.1.2.3");
	ck_assert(ad_sockets_parse_listener("[::ffff:a:b]:80", &mapped) && mapped.ipv6);
	struct {
		const char *local, *peer, *state, *origin;
		bool complete;
	} cases[] = {
		{ "10.0.0.5:8080", "10.0.0.7:40000", "ESTABLISHED", "accepted", true },
		{ "127.0.0.1:6379", "127.0.0.1:50000", "ESTABLISHED", "accepted", true },
		{ "127.0.0.2:6379", "127.0.0.1:50000", "ESTABLISHED", "", true },   /* port 6379 on another address, bound by hand */
		{ "10.0.0.5:6379", "10.0.0.7:40003", "ESTABLISHED", "accepted", true },
		{ "[::ffff:10.0.0.5]:443", "[::ffff:10.0.0.7]:40001", "ESTABLISHED", "accepted", true },
		{ "[::1]:9000", "[::1]:50001", "CLOSE_WAIT", "accepted", true },
		{ "10.0.0.5:443", "10.0.0.9:40002", "ESTABLISHED", "accepted", true }, /* [::] serves IPv4 too */
		{ "[::1]:6379", "[::1]:40004", "ESTABLISHED", "", true },   /* 127.0.0.1:6379 is IPv4's only */
		{ "[::ffff:127.0.0.1]:6379", "[::ffff:127.0.0.1]:40005", "ESTABLISHED", "accepted", true },
		{ "10.0.0.5:41872", "10.0.0.9:5432", "ESTABLISHED", "connected", true },
		{ "127.0.0.1:41872", "127.0.0.1:6379", "ESTABLISHED", "connected", true },
		{ "127.0.0.1:41872", "127.0.0.1:50000", "ESTABLISHED", "", true },  /* a closed port-0 listener's, or a server's */
		{ "127.0.0.1:41873", "127.0.0.1:2020", "ESTABLISHED", "", true },   /* odd: bind(0)'s, a listener closed since */
		{ "127.0.0.1:41872", "127.0.0.1:45001", "ESTABLISHED", "connected", true }, /* to a dual-stack [::]:45001 */
		{ "[::ffff:127.0.0.1]:41872", "[::ffff:127.0.0.1]:45002", "ESTABLISHED", "connected", true },
		{ "[::1]:41872", "[::1]:9000", "ESTABLISHED", "connected", true },
		{ "10.0.0.5:41872", "10.0.0.9:5432", "ESTABLISHED", "", false }, /* a listener may be missing */
		{ "10.0.0.5:8080", "10.0.0.9:5432", "ESTABLISHED", "accepted", false },
		{ "10.0.0.5:1234", "10.0.0.9:5432", "ESTABLISHED", "", true },   /* bound by hand */
		{ "0.0.0.0:8080", "", "LISTEN", "", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ad_socket s = tcp_socket(cases[i].local, cases[i].peer, cases[i].state);
		if (cases[i].local[0] == '[')
			snprintf(s.family, sizeof(s.family), "ipv6");
		ck_assert_msg(strcmp(ad_sockets_origin(&s, listeners, n, cases[i].complete, 32768,
						       60999),
				     cases[i].origin) == 0,
			      "%s -> %s: %s, expected \"%s\"", cases[i].local, cases[i].peer,
			      ad_sockets_origin(&s, listeners, n, cases[i].complete, 32768, 60999),
			      cases[i].origin);
	}
	struct ad_socket udp = tcp_socket("10.0.0.5:41872", "10.0.0.9:53", "CONNECTED");
	snprintf(udp.protocol, sizeof(udp.protocol), "udp");
	ck_assert_str_eq(ad_sockets_origin(&udp, listeners, n, true, 32768, 60999), "");
	ck_assert(!ad_sockets_listened_on("garbage", listeners, n));
	ck_assert(!ad_sockets_listened_on("10.0.0.5:", listeners, n));
	ck_assert(!ad_sockets_listened_on("10.0.0.5:80x", listeners, n));
	ck_assert(!ad_sockets_listened_on("10.0.0.5:8080", listeners, 0));
}
END_TEST

START_TEST(tcp6_line)
{
	struct ad_socket s;
	/* ::1 port 80, and ::ffff:127.0.0.1 port 443 (words in host order). */
	const char *line = "   0: 00000000000000000000000001000000:0050 "
			   "0000000000000000FFFF00000100007F:01BB 01 00000000:00000000 00:00000000 "
			   "00000000     0        0 42 1 0000000000000000 20 4 30 10 -1";
	ck_assert(ad_sockets_parse_inet_line(line, "ipv6", "tcp", &s));
	ck_assert_str_eq(s.local, "[::1]:80");
	ck_assert_str_eq(s.peer, "[::ffff:127.0.0.1]:443");
	ck_assert_uint_eq(s.inode, 42);
}
END_TEST

START_TEST(udp_line)
{
	struct ad_socket s;
	const char *line = "  345: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 "
			   "00000000     0        0 99 2 0000000000000000 0";
	ck_assert(ad_sockets_parse_inet_line(line, "ipv4", "udp", &s));
	ck_assert_str_eq(s.local, "0.0.0.0:68");
	ck_assert_str_eq(s.state, "UNCONNECTED");
}
END_TEST

START_TEST(headers_and_garbage)
{
	struct ad_socket s;
	ck_assert(!ad_sockets_parse_inet_line("  sl  local_address rem_address   st tx_queue rx_queue tr "
					      "tm->when retrnsmt   uid  timeout inode",
					      "ipv4", "tcp", &s));
	ck_assert(!ad_sockets_parse_inet_line("", "ipv4", "tcp", &s));
	ck_assert(!ad_sockets_parse_inet_line("   0: 0100007F:18EB", "ipv4", "tcp", &s));
	/* An address of neither 8 nor 32 hex digits. */
	ck_assert(!ad_sockets_parse_inet_line("   0: 0100:18EB 00000000:0000 0A 00000000:00000000 "
					      "00:00000000 00000000 0 0 1 1",
					      "ipv4", "tcp", &s));
	ck_assert(!ad_sockets_parse_unix_line("Num       RefCount Protocol Flags    Type St Inode Path", &s));
}
END_TEST

START_TEST(unix_lines)
{
	struct ad_socket s;
	ck_assert(ad_sockets_parse_unix_line("0000000000000000: 00000002 00000000 00010000 0001 01 "
					     "5555 /run/app.sock",
					     &s));
	ck_assert_uint_eq(s.inode, 5555);
	ck_assert_str_eq(s.family, "unix");
	ck_assert_str_eq(s.protocol, "stream");
	ck_assert_str_eq(s.local, "/run/app.sock");
	ck_assert_str_eq(s.state, "LISTEN");
	ck_assert(!s.has_queues);
	ck_assert(ad_sockets_parse_unix_line("0000000000000000: 00000003 00000000 00000000 0002 03 6666",
					     &s));
	ck_assert_str_eq(s.protocol, "dgram");
	ck_assert_str_eq(s.local, "");
	ck_assert_str_eq(s.state, "CONNECTED");
	char text[256];
	ad_socket_format(&s, NULL, text, sizeof(text));
	ck_assert_str_eq(text, "unix dgram CONNECTED");
}
END_TEST

START_TEST(fd_links)
{
	uint64_t inode;
	ck_assert(ad_sockets_parse_fd_link("socket:[123]", &inode));
	ck_assert_uint_eq(inode, 123);
	ck_assert(!ad_sockets_parse_fd_link("pipe:[123]", &inode));
	ck_assert(!ad_sockets_parse_fd_link("socket:[]", &inode));
	ck_assert(!ad_sockets_parse_fd_link("socket:[12x]", &inode));
	ck_assert(!ad_sockets_parse_fd_link("/dev/null", &inode));
}
END_TEST

static unsigned port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* Our own sockets through /proc/self: a listener, a connection with 5
 * unread bytes, a unix socketpair. */
START_TEST(own_sockets)
{
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(listener, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(listener, 4), 0);
	a.sin_port = htons((uint16_t)port_of(listener));
	int client = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(client, (struct sockaddr *)&a, sizeof(a)), 0);
	int accepted = accept(listener, NULL, NULL);
	ck_assert_int_ge(accepted, 0);
	ck_assert_int_eq(write(client, "hello", 5), 5);
	int pair[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	/* Loopback delivers at once, but let the kernel count the bytes. */
	usleep(10000);

	struct ad_socket_table *t;
	struct ad_error *err = ad_sockets_read(getpid(), &t);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	ck_assert(!t->tables_read); /* not before a socket is asked for */
	char want[64];
	const struct ad_socket *s = ad_socket_table_find(t, listener);
	ck_assert(t->tables_read);
	ck_assert_ptr_nonnull(s);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port_of(listener));
	ck_assert_str_eq(s->local, want);
	ck_assert_str_eq(s->state, "LISTEN");
	ck_assert_str_eq(s->origin, "");
	s = ad_socket_table_find(t, accepted);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->local, want);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port_of(client));
	ck_assert_str_eq(s->peer, want);
	ck_assert_str_eq(s->state, "ESTABLISHED");
	ck_assert_uint_eq(s->rx_queue, 5);
	ck_assert_str_eq(s->origin, "accepted");
	/* The client's end: a port the kernel picked, listened on by nothing. */
	s = ad_socket_table_find(t, client);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->origin, "connected");
	s = ad_socket_table_find(t, pair[0]);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->family, "unix");
	ck_assert_str_eq(s->protocol, "stream");
	ck_assert_str_eq(s->state, "CONNECTED");
	ck_assert_str_eq(s->origin, "");
	ck_assert_ptr_null(ad_socket_table_find(t, STDIN_FILENO + 1000000));
	ad_socket_table_destroy(t);
	close(pair[0]);
	close(pair[1]);
	close(accepted);
	close(client);
	close(listener);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sockets");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, tcp_listen_line);
	tcase_add_test(tc, tcp_established_line);
	tcase_add_test(tc, connection_origins);
	tcase_add_test(tc, tcp6_line);
	tcase_add_test(tc, udp_line);
	tcase_add_test(tc, headers_and_garbage);
	tcase_add_test(tc, unix_lines);
	tcase_add_test(tc, fd_links);
	suite_add_tcase(s, tc);
	tc = tcase_create("live");
	tcase_add_test(tc, own_sockets);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
