#!/bin/bash
# Issue 5, a hyper server with a request handler stuck inside
# (tests/targets/server), both profiles: the connection task hyper spawned
# holds handle_stuck suspended on its Notify; serve awaits the server, which
# waits for connections on the listening socket (io, its fd, readable); the
# client task request_self waits to read the response on its socket. Issue
# 14 (hyper 0.14's `server`): two more connections without a request in
# flight (one idle, one half-way through a request head) are io leaves on the
# server's end of each connection, with the socket (ports, ESTABLISHED) and
# hyper's phase. A request through hyper's client: its task waits on the
# response's oneshot, the client's connection task is an io leaf on its
# socket, waiting for the response, holding the same oneshot.
# For every suite of the tokio matrix: `server` (hyper 0.14) where the suite
# has hyper 0.14, `server1` (hyper 1 and hyper-util: the connection task is
# its own `connection`, serving hyper's http1 connection) where it has hyper 1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	servers=()
	suite_has hyper 0 && servers+=(server)
	suite_has hyper 1 && servers+=(server1)
	[ ${#servers[@]} -gt 0 ] || fail "$SUITE_LABEL: no hyper 0.14 nor hyper 1 in its lock ($SUITE_VERSIONS)"
	for server in "${servers[@]}"; do
	start_target "$server" "$profile"
	sample "$TARGET_PID" "$server.$profile"
	run_checks "$server ($profile)" "$server" "$profile" "$(target_src "$server")" "$HARNESS_TMP/$server.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import re
import sys

import tracecheck as tc

crate, profile, src_dir, base, pid, out_path = sys.argv[1:7]
pid = int(pid)
info = tc.target_info(out_path)
port = int(info["PORT"][0])
src = tc.Source(crate, src_dir)
c = tc.Check("%s (%s, pid %d, port %d)" % (crate, profile, pid, port))
doc = tc.load(base + ".json")
if crate == "server":
    idle_port, partial_port = int(info["IDLE_PORT"][0]), int(info["PARTIAL_PORT"][0])
    listen_fds = tc.tcp_fds(pid, local_port=port, state="0A")
    client_fds = tc.tcp_fds(pid, remote_port=port, state="01")
    c.eq(1, len(listen_fds), "the listening socket on port %d among the target's fds" % port)
    c.eq(4, len(client_fds), "request_self's, hyper's client's and main's two sockets to port %d" % port)
    idle_fds = tc.tcp_fds(pid, local_port=port, remote_port=idle_port, state="01")
    partial_fds = tc.tcp_fds(pid, local_port=port, remote_port=partial_port, state="01")
    c.eq(1, len(idle_fds), "the server's end of the idle connection")
    c.eq(1, len(partial_fds), "the server's end of the half-sent request's connection")
    main_fds = tc.tcp_fds(pid, local_port=idle_port) + tc.tcp_fds(pid, local_port=partial_port)
    request_fds = [fd for fd in client_fds if fd not in main_fds]
    c.eq(2, len(request_fds), "request_self's and hyper's client's sockets to port %d" % port)

    c.eq([("tokio", "multi_thread")], [(r["kind"], r["flavor"]) for r in doc["runtimes"]], "runtimes")
    tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
    # serve, request_self, client_request_stuck, the connections hyper's server
    # spawned (request_self's, the client's, the idle one's, the half-sent
    # request's) and the connection task of hyper's client.
    c.eq(8, len(tasks), "tasks: %s" % tc.summary(doc))
    for t in tasks:
        c.eq("idle", t["state"], "task %s: state" % t["id"])

    serve = c.one_task(doc, crate + "::serve")
    c.check_tree(serve, {"chain": [(crate + "::serve", "suspended", "serve_awaits_server")],
                         "leaf": {"kind": "io", "fd": listen_fds[0] if listen_fds else None,
                                  "interest": "readable"}}, src, "task serve")
    client = c.one_task(doc, crate + "::request_self")
    c.check_tree(client, {"chain": [(crate + "::request_self", "suspended", "request_self_awaits_response")],
                          "leaf": {"kind": "io", "interest": "readable"}}, src, "task request_self")
    self_fd = (client.get("blocked_on") or {}).get("fd") if client else None
    hyper_client = c.one_task(doc, crate + "::client_request_stuck")
    c.check_tree(hyper_client, {"chain": [(crate + "::client_request_stuck", "suspended", "client_request_stuck_awaits_get")],
                                "leaf": "oneshot"}, src, "task client_request_stuck")
    waiting = [t for t in tasks if (t.get("blocked_on") or {}).get("phase") == "HTTP/1 client: waiting for the response"]
    if c.true(len(waiting) == 1, "one task of hyper's client waiting for the response: %s" % tc.summary(doc)):
        b = waiting[0]["blocked_on"]
        c.eq(sorted(request_fds), sorted([self_fd, b.get("fd")]),
             "request_self's and hyper's client connection's fds: the two sockets to port %d" % port)
        c.eq("127.0.0.1:%d" % port, (b.get("socket") or {}).get("peer"), "hyper's client connection: socket peer")
        want = (hyper_client or {}).get("blocked_on") or {}
        c.true(b.get("channel") is not None and b.get("channel") == want.get("channel"),
               "hyper's client connection holds the oneshot client_request_stuck awaits: %r, %r" % (b, want))
    # The connection task: hyper's per-connection future, the handler inside.
    connections = c.tasks_by_root(doc, re.compile(r"hyper::server::server::new_svc::NewSvcTask<.*>"))
    c.eq(4, len(connections), "hyper's server connection tasks")
    by_leaf = {}
    for t in connections:
        b = t.get("blocked_on") or {}
        by_leaf.setdefault(b.get("kind"), []).append(t)
    c.eq(["io", "io", "notify", "notify"], sorted(k for k, ts in by_leaf.items() for _ in ts),
         "the connections' leaf kinds")
    for t in by_leaf.get("notify", []):
        c.check_tree(t, {"chain": [(crate + "::handle_stuck", "suspended", "handle_stuck_awaits_notified")],
                         "leaf": "notify"}, src, "the connection task with the request")
    # The half head the partial client sent (tests/targets/server) is in hyper's read buffer.
    partial_head = len("GET /partial HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
    for fds, client_port, phase, buffered in (
            (idle_fds, idle_port, "HTTP/1 server: idle, waiting for a request", 0),
            (partial_fds, partial_port, "HTTP/1 server: reading the request head", partial_head)):
        fd = fds[0] if fds else None
        found = [t for t in by_leaf.get("io", []) if t["blocked_on"].get("fd") == fd]
        if c.true(len(found) == 1, "one connection task blocked on fd %s (client port %d): %s"
                  % (fd, client_port, [t["blocked_on"] for t in by_leaf.get("io", [])])):
            t = found[0]
            c.check_tree(t, {"chain": [], "leaf": {"kind": "io", "fd": fd, "interest": "readable", "phase": phase,
                                                   "buffered_bytes": buffered}},
                         src, "the connection from port %d" % client_port)
            sock = t["blocked_on"].get("socket") or {}
            c.eq("127.0.0.1:%d" % port, sock.get("local"), "connection from port %d: socket local" % client_port)
            c.eq("127.0.0.1:%d" % client_port, sock.get("peer"), "connection from port %d: socket peer" % client_port)
            c.eq("ESTABLISHED", sock.get("state"), "connection from port %d: socket state" % client_port)

    main = c.block_on(doc, pid)
    c.check_block_on(main, profile, {
        "chain": [(re.compile(re.escape(crate) + r"::main::\{async_block#\d+\}"), "suspended", "main_awaits_forever")],
        "leaf": tc.NEVER}, src, "main's block_on")
    c.eq(9, len(doc["tasks"]), "tasks listed with main's block_on")
    c.eq([], doc["cycles"], "cycles")
else:
    listen_fds = tc.tcp_fds(pid, local_port=port, state="0A")
    client_fds = tc.tcp_fds(pid, remote_port=port, state="01")
    c.eq(1, len(listen_fds), "the listening socket on port %d among the target's fds" % port)
    c.eq(1, len(client_fds), "request_self's socket to port %d among the target's fds" % port)

    c.eq([("tokio", "multi_thread")], [(r["kind"], r["flavor"]) for r in doc["runtimes"]], "runtimes")
    tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
    # serve, request_self, and the connection hyper spawned for the request.
    c.eq(3, len(tasks), "tasks: %s" % tc.summary(doc))
    for t in tasks:
        c.eq("idle", t["state"], "task %s: state" % t["id"])

    serve = c.one_task(doc, crate + "::serve")
    c.check_tree(serve, {"chain": [(crate + "::serve", "suspended", "serve_awaits_server")],
                         "leaf": {"kind": "io", "fd": listen_fds[0] if listen_fds else None,
                                  "interest": "readable"}}, src, "task serve")
    client = c.one_task(doc, crate + "::request_self")
    c.check_tree(client, {"chain": [(crate + "::request_self", "suspended", "request_self_awaits_response")],
                          "leaf": {"kind": "io", "fd": client_fds[0] if client_fds else None,
                                   "interest": "readable"}}, src, "task request_self")
    handler = (crate + "::handle_stuck", "suspended", "handle_stuck_awaits_notified")
    if crate == "server":
        # The connection task: hyper's per-connection future, the handler inside.
        connection = c.one_task(doc, re.compile(r"hyper::server::server::new_svc::NewSvcTask<.*>"))
        c.check_tree(connection, {"chain": [handler], "leaf": "notify"}, src, "the connection task")
    else:
        # Ours, serving hyper 1's connection, the handler inside.
        connection = c.one_task(doc, crate + "::connection")
        c.check_tree(connection, {"chain": [(crate + "::connection", "suspended", "connection_awaits_hyper"),
                                            handler], "leaf": "notify"}, src, "the connection task")

    main = c.block_on(doc, pid)
    c.check_block_on(main, profile, {
        "chain": [(re.compile(re.escape(crate) + r"::main::\{async_block#\d+\}"), "suspended", "main_awaits_forever")],
        "leaf": tc.NEVER}, src, "main's block_on")
    c.eq(4, len(doc["tasks"]), "tasks listed with main's block_on")
    c.eq([], doc["cycles"], "cycles")
c.done()
PY
	assert_running "$TARGET_PID" "$server ($profile, $SUITE_LABEL) at the end"
	stop_targets
	done
done
finish_checks
