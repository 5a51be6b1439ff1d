#!/bin/bash
# Issue 16, smol (tests/targets/smolrt), smol 1.3 (bookworm), 2.0 (trixie,
# sid), both profiles: every task of smol's global executor is listed with
# the runtime kind async-executor and has the chain its source marks and its
# leaf: async-io timers with their deadline, Async<TcpListener> and
# Async<TcpStream> with their fds (a line reader's too, readable),
# async-channel, async-lock, event-listener, a Task awaited with the
# awaited task's tree; main's future
# (smol::block_on) awaits a Task; an Executor of the program's own (run by
# two threads) and a LocalExecutor (its run future, on thread
# local-executor, holds local_main; its tasks are listed too). With
# --block-on-only, a program with no executor at all: main's future (a
# read raced with a timer) is its trace, not "no runtime".
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	start_target smolrt "$profile"
	sample "$TARGET_PID" "smolrt.$profile"
	run_checks "smolrt ($profile)" "$profile" "$(target_src smolrt)" "$HARNESS_TMP/smolrt.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import sys

import async_task_check as at
import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
info = tc.target_info(out_path)
src = tc.Source("smolrt", src_dir)
c = tc.Check("smolrt (%s, pid %d)" % (profile, pid))
doc = tc.load(base + ".json")
local_tasks = int(info["LOCAL_TASKS"][0])

found = at.check_executor_tasks(c, doc, src, "smolrt", pid, info, "timer")
# A line reader (futures-lite's Lines, as chat servers read): its socket,
# waiting to become readable.
lines_fds = tc.tcp_fds(pid, local_port=int(info["LINES_PORT"][0]), state="01")
c.eq(1, len(lines_fds), "the accepted socket on LINES_PORT among the target's fds")
lines = c.one_task(doc, "smolrt::reads_lines")
if lines:
    c.check_tree(lines, {"chain": [("smolrt::reads_lines", "suspended", "reads_lines_awaits_next")],
                         "leaf": {"kind": "io", "fd": lines_fds[0] if lines_fds else None,
                                  "interest": "readable"}}, src, "task reads_lines")
main_child = c.one_task(doc, "smolrt::main_child")
if main_child:
    c.check_tree(main_child, {"chain": [("smolrt::main_child", "suspended", "main_child_awaits_timer")],
                              "leaf": tc.TIMER}, src, "task main_child")
own = c.one_task(doc, "smolrt::on_own_executor")
if own:
    c.check_tree(own, {"chain": [("smolrt::on_own_executor", "suspended", "on_own_executor_awaits_timer")],
                       "leaf": tc.TIMER}, src, "task on_own_executor")
locals_ = c.tasks_by_root(doc, "smolrt::local_waits_on_timer")
c.eq(local_tasks, len(locals_), "LocalExecutor tasks (LOCAL_TASKS)")
for t in locals_:
    c.check_tree(t, {"chain": [("smolrt::local_waits_on_timer", "suspended", "local_waits_on_timer_awaits_timer")],
                     "leaf": tc.TIMER}, src, "local task %s" % t["id"])
# The target's own tasks (smol 2 also runs async-process's driver task).
runtimes = {}
for t in doc["tasks"]:
    if t["kind"] == "task" and t.get("root") and t["root"]["name"].startswith("smolrt::"):
        runtimes.setdefault(t["runtime"], []).append(t)
# Three executors: smol's global one, ours, the LocalExecutor.
c.eq(3, len(runtimes), "executors with tasks")
c.eq(int(info["TASKS"][0]) + 1 + local_tasks, sum(len(v) for v in runtimes.values()), "tasks listed")
if own and locals_:
    c.true(own["runtime"] != locals_[0]["runtime"] and own["runtime"] != found.get("sleeps", own)["runtime"],
           "the Executor of our own is a runtime of its own")

main = c.block_on(doc, pid)
if main and main_child:
    c.check_block_on(main, profile, {
        "chain": [("smolrt::main_future", "suspended", "main_future_awaits_task")],
        "leaf": {"kind": "task", "task_id": main_child["id"]},
        "link": {"task_id": main_child["id"], "root": {
            "chain": [("smolrt::main_child", "suspended", "main_child_awaits_timer")], "leaf": tc.TIMER}}},
        src, "main's block_on")
if main:
    # smol::block_on is async-io's: main's future awaits a Task but runs no
    # executor itself (the global one runs on its own threads).
    c.eq(None, main["runtime"], "main's block_on runs no runtime")
local_main = at.block_on_of_thread(c, doc, pid, "local-executor")
if local_main:
    c.check_block_on(local_main, profile, {
        "chain": [("smolrt::local_main", "suspended", "local_main_awaits_forever")],
        "leaf": tc.NEVER}, src, "the LocalExecutor's run")
    if locals_:
        c.eq(locals_[0]["runtime"], local_main["runtime"], "the LocalExecutor's block_on: the executor it runs")
c.done()
PY
	assert_running "$TARGET_PID" "smolrt ($profile) at the end"
	stop_targets

	# --block-on-only: main's future in async-io's block_on is all there is,
	# no executor ever created (as in async-process's examples).
	start_target smolrt "$profile" --block-on-only
	sample "$TARGET_PID" "smolrt-only.$profile"
	run_checks "smolrt --block-on-only ($profile)" "$profile" "$(target_src smolrt)" \
		"$HARNESS_TMP/smolrt-only.$profile" "$TARGET_PID" "$TARGET_OUT" <<'PY'
import re
import sys

import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
info = tc.target_info(out_path)
src = tc.Source("smolrt", src_dir)
c = tc.Check("smolrt --block-on-only (%s, pid %d)" % (profile, pid))
doc = tc.load(base + ".json")
c.eq([], doc["warnings"], "warnings")
c.eq([], [t for t in doc["tasks"] if t["kind"] != "block_on"], "tasks other than block_on futures")
read_fds = tc.tcp_fds(pid, local_port=int(info["ONLY_READ_PORT"][0]), state="01")
c.eq(1, len(read_fds), "the accepted socket on ONLY_READ_PORT among the target's fds")
main = c.block_on(doc, pid)
c.check_block_on(main, profile, {
    "chain": [("smolrt::block_on_only", "suspended", "block_on_only_awaits_or")],
    "fork": re.compile(r"futures_lite::future::Or<.*>"),
    "branches": [
        {"chain": [("smolrt::only_reads", "suspended", "only_reads_awaits_read")],
         "leaf": {"kind": "io", "fd": read_fds[0] if read_fds else None, "interest": "readable"}},
        {"chain": [("smolrt::only_sleeps", "suspended", "only_sleeps_awaits_timer")], "leaf": tc.TIMER}]},
    src, "main's block_on")
if main:
    c.eq(None, main["runtime"], "main's block_on runs no runtime")
c.done()
PY
	assert_running "$TARGET_PID" "smolrt --block-on-only ($profile) at the end"
	stop_targets
done
finish_checks
