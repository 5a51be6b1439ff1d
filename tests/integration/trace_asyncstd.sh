#!/bin/bash
# Issue 16, async-std (tests/targets/asyncstd), async-std 1.12 (bookworm),
# 1.13.1 (trixie), 1.13.2 (sid: on async-global-executor 3's StaticExecutor,
# which keeps no registry: its tasks are found in the heap), both profiles:
# every task of async-std's global
# executor (async-global-executor on async-executor / async-task) is listed
# with the runtime kind async-executor and has the chain its source marks
# and its leaf: timers (task::sleep) with their deadline, the listener's and
# the accepted socket's fds, async-channel ends with their channel,
# async-lock's Mutex, RwLock, Semaphore (permits) and Barrier,
# event-listener, a JoinHandle awaited with the awaited task's tree; main's
# future (#[async_std::main], async-std's block_on) awaits a JoinHandle;
# the tokio runtime beside them is listed too, its task of kind tokio; and
# futures' executors: the LocalPool's run_until future (thread local-pool)
# and its task, the ThreadPool's two tasks (one pool), futures' block_on
# (thread futures-blockon), with kind futures-executor.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	start_target asyncstd "$profile"
	sample "$TARGET_PID" "asyncstd.$profile"
	run_checks "asyncstd ($profile)" "$profile" "$(target_src asyncstd)" "$HARNESS_TMP/asyncstd.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import re
import sys

import async_task_check as at
import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
info = tc.target_info(out_path)
src = tc.Source("asyncstd", src_dir)
c = tc.Check("asyncstd (%s, pid %d)" % (profile, pid))
doc = tc.load(base + ".json")

found = at.check_executor_tasks(c, doc, src, "asyncstd", pid, info, "sleep")
executor_tasks = [t for t in doc["tasks"] if t["kind"] == "task"
                  and doc["runtimes"][t["runtime"]]["kind"] == "async-executor"
                  and t.get("root") and t["root"]["name"].startswith("asyncstd::")]
c.eq(int(info["TASKS"][0]), len(executor_tasks), "tasks on async-executor (TASKS)")

# Main: #[async_std::main] passes an async block awaiting the user's main
# (an async fn of the same name) to async-std's block_on; the block's states
# are on the attribute's line.
attribute = [n for n, text in enumerate(src.lines, 1) if text.strip() == "#[async_std::main]"]
c.eq(1, len(attribute), "one #[async_std::main] in the source")
main = c.block_on(doc, pid)
if main and "awaits_task" in found:
    c.check_block_on(main, profile, {
        "chain": [(re.compile(r"asyncstd::main::\{async_block#\d+\}"), "suspended",
                   "asyncstd/src/main.rs:%d" % attribute[0] if attribute else "?"),
                  ("asyncstd::main::main", "suspended", "main_awaits_task")],
        "leaf": {"kind": "task", "task_id": found["awaits_task"]["id"]},
        "link": {"task_id": found["awaits_task"]["id"], "root": {
            "chain": [("asyncstd::awaits_task", "suspended", "awaits_task_awaits_child")],
            "leaf": "task", "link": {"task_id": found["awaited_child"]["id"]}}}},
        src, "main's block_on")

if main:
    c.eq("async-executor", doc["runtimes"][main["runtime"]]["kind"],
         "main's block_on: the kind of the executor it runs (async-std's block_on runs a LocalExecutor)")
tokio_main = at.block_on_of_thread(c, doc, pid, "tokio-runtime")
if tokio_main:
    c.eq("tokio", doc["runtimes"][tokio_main["runtime"]]["kind"], "the tokio thread's block_on: its runtime's kind")

# tokio beside async-std: its runtime and its task, of kind tokio.
tokio_task = c.one_task(doc, "asyncstd::tokio_waits_on_timer")
if tokio_task:
    c.eq("tokio", doc["runtimes"][tokio_task["runtime"]]["kind"], "the tokio task's runtime kind")
    c.check_tree(tokio_task, {"chain": [("asyncstd::tokio_waits_on_timer", "suspended",
                                         "tokio_waits_on_timer_awaits_sleep")],
                              "leaf": tc.TIMER}, src, "the tokio task")

# futures' executors: no registry; tasks found in the heap, each checked.
local_main = at.block_on_of_thread(c, doc, pid, "local-pool")
if local_main:
    c.check_block_on(local_main, profile, {
        "chain": [("asyncstd::local_pool_main", "suspended", "local_pool_main_awaits_oneshot")],
        "leaf": "oneshot"}, src, "the LocalPool's run_until future")
local_task = c.one_task(doc, "asyncstd::local_pool_task")
if local_task:
    c.check_tree(local_task, {"chain": [("asyncstd::local_pool_task", "suspended", "local_pool_task_awaits_oneshot")],
                              "leaf": "oneshot"}, src, "the LocalPool's task")
    c.eq(["futures-executor", "local_pool"],
         [doc["runtimes"][local_task["runtime"]][k] for k in ("kind", "flavor")], "the LocalPool task's runtime")
pool_task = c.one_task(doc, "asyncstd::thread_pool_task")
if pool_task:
    c.check_tree(pool_task, {"chain": [("asyncstd::thread_pool_task", "suspended", "thread_pool_task_awaits_listen")],
                             "leaf": "notify"}, src, "the ThreadPool's task")
pool_outer = c.one_task(doc, "asyncstd::thread_pool_outer")
if pool_outer:
    c.check_tree(pool_outer, {"chain": [("asyncstd::thread_pool_outer", "suspended", "thread_pool_outer_awaits_inner"),
                                        ("asyncstd::thread_pool_inner", "suspended", "thread_pool_inner_awaits_next")],
                              "leaf": "mpsc"}, src, "the ThreadPool's nested task")
if pool_task and pool_outer:
    c.eq(pool_task["runtime"], pool_outer["runtime"], "the ThreadPool's two tasks: one runtime")
    c.eq(["futures-executor", "thread_pool", 2],
         [doc["runtimes"][pool_task["runtime"]][k] for k in ("kind", "flavor", "tasks")], "the ThreadPool's runtime")
fb_main = at.block_on_of_thread(c, doc, pid, "futures-blockon")
if fb_main:
    c.check_block_on(fb_main, profile, {
        "chain": [("asyncstd::futures_block_on_main", "suspended", "futures_block_on_main_awaits_oneshot")],
        "leaf": "oneshot"}, src, "futures' block_on future")
    c.eq(None, fb_main["runtime"], "futures' block_on runs no runtime")
c.eq({"async-executor", "tokio", "futures-executor"}, {r["kind"] for r in doc["runtimes"]}, "the runtimes' kinds")
c.done()
PY
	assert_running "$TARGET_PID" "asyncstd ($profile) at the end"
	stop_targets
done
finish_checks
