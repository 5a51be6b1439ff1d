#!/bin/bash
# Issue 5, a hyper server with a request handler stuck inside
# (tests/targets/server), both profiles: the connection task hyper spawned
# holds handle_stuck suspended on its Notify; serve awaits the server, which
# waits for connections on the listening socket (io, its fd, readable); the
# client task request_self waits to read the response on its socket.
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
port = int(tc.target_info(out_path)["PORT"][0])
src = tc.Source(crate, src_dir)
c = tc.Check("%s (%s, pid %d, port %d)" % (crate, profile, pid, port))
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
    "leaf": "other"}, src, "main's block_on")
c.eq(4, len(doc["tasks"]), "tasks listed with main's block_on")
c.eq([], doc["cycles"], "cycles")
c.done()
PY
	assert_running "$TARGET_PID" "$server ($profile, $SUITE_LABEL) at the end"
	stop_targets
	done
done
finish_checks
