#!/bin/bash
# Issue 5, a hyper server with a request handler stuck inside
# (tests/targets/server), both profiles: the connection task hyper spawned
# holds handle_stuck suspended on its Notify; serve awaits the server, which
# waits for connections on the listening socket (io, its fd, readable); the
# client task request_self waits to read the response on its socket.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for profile in debug release; do
	start_target server "$profile"
	sample "$TARGET_PID" "server.$profile"
	run_checks "server ($profile)" "$profile" "$(target_src server)" "$HARNESS_TMP/server.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import re
import sys

import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
port = int(tc.target_info(out_path)["PORT"][0])
src = tc.Source("server", src_dir)
c = tc.Check("server (%s, pid %d, port %d)" % (profile, pid, port))
doc = tc.load(base + ".json")

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

serve = c.one_task(doc, "server::serve")
c.check_tree(serve, {"chain": [("server::serve", "suspended", "serve_awaits_server")],
                     "leaf": {"kind": "io", "fd": listen_fds[0] if listen_fds else None,
                              "interest": "readable"}}, src, "task serve")
client = c.one_task(doc, "server::request_self")
c.check_tree(client, {"chain": [("server::request_self", "suspended", "request_self_awaits_response")],
                      "leaf": {"kind": "io", "fd": client_fds[0] if client_fds else None,
                               "interest": "readable"}}, src, "task request_self")
# The connection task: hyper's per-connection future, the handler inside.
connection = c.one_task(doc, re.compile(r"hyper::server::server::new_svc::NewSvcTask<.*>"))
c.check_tree(connection, {"chain": [("server::handle_stuck", "suspended", "handle_stuck_awaits_notified")],
                          "leaf": "notify"}, src, "the connection task")

main = c.block_on(doc, pid)
c.check_block_on(main, profile, {
    "chain": [(re.compile(r"server::main::\{async_block#\d+\}"), "suspended", "main_awaits_forever")],
    "leaf": "other"}, src, "main's block_on")
c.eq(4, len(doc["tasks"]), "tasks listed with main's block_on")
c.eq([], doc["cycles"], "cycles")
c.done()
PY
	assert_running "$TARGET_PID" "server ($profile) at the end"
	stop_targets
done
finish_checks
