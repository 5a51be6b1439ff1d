#!/bin/bash
# Issue 5, leaves (tests/targets/sync), both profiles: a task blocked on each
# tokio primitive (Mutex, RwLock, Semaphore, Notify, oneshot, bounded and
# unbounded mpsc), on a timer and on a TCP read (io, on the fd of the
# accepted socket, readable) has the exact chain its source marks and that
# leaf; the lock holders sleep on their timers. Issue 4: the LocalSet's tasks
# are listed with kind "local"; two runtimes (main multi_thread, the
# LocalSet's current_thread), each block_on in its own on its own thread.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	start_target sync "$profile"
	sample "$TARGET_PID" "sync.$profile"
	run_checks "sync ($profile)" "$profile" "$(target_src sync)" "$HARNESS_TMP/sync.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import os
import re
import sys

import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
info = tc.target_info(out_path)
tcp_port = int(info["TCP_PORT"][0])
local_tasks = int(info["LOCAL_TASKS"][0])
src = tc.Source("sync", src_dir)
c = tc.Check("sync (%s, pid %d)" % (profile, pid))
doc = tc.load(base + ".json")

# The read waits on the accepted end of the loopback connection: the
# established socket whose local port is the listener's.
read_fds = tc.tcp_fds(pid, local_port=tcp_port, state="01")
c.eq(1, len(read_fds), "the accepted socket on port %d among the target's fds" % tcp_port)
LEAVES = {
    "holds_mutex": ("holds_mutex_awaits_sleep", tc.TIMER),
    "holds_read_lock": ("holds_read_lock_awaits_sleep", tc.TIMER),
    "waits_on_mutex": ("waits_on_mutex_awaits_lock",
                       {"kind": "mutex", "permits_wanted": 1, "permits_available": 0}),
    "waits_on_rwlock_write": ("waits_on_rwlock_write_awaits_write", "rwlock"),
    # Semaphore::new(0), acquire() wants one.
    "waits_on_semaphore": ("waits_on_semaphore_awaits_acquire",
                           {"kind": "semaphore", "permits_wanted": 1, "permits_available": 0}),
    "waits_on_notify": ("waits_on_notify_awaits_notified", "notify"),
    "waits_on_oneshot": ("waits_on_oneshot_awaits_receiver", "oneshot"),
    "waits_on_mpsc": ("waits_on_mpsc_awaits_recv", tc.MPSC_RECV),
    "waits_on_unbounded_mpsc": ("waits_on_unbounded_mpsc_awaits_recv", tc.MPSC_RECV),
    "waits_on_timer": ("waits_on_timer_awaits_sleep", tc.TIMER),
    "waits_on_tcp_read": ("waits_on_tcp_read_awaits_read",
                          {"kind": "io", "fd": read_fds[0] if read_fds else None, "interest": "readable"}),
}

c.eq(sorted([("tokio", "multi_thread"), ("tokio", "current_thread")]),
     sorted((r["kind"], r["flavor"]) for r in doc["runtimes"]), "runtimes (main's, the LocalSet's)")
tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
c.eq(sorted("sync::" + fn for fn in LEAVES), sorted(t["root"]["name"] if t.get("root") else "(none)" for t in tasks),
     "the tasks' root fns")
for fn, (marker, leaf) in LEAVES.items():
    t = c.one_task(doc, "sync::" + fn)
    if t:
        c.eq("idle", t["state"], "%s: state" % fn)
        c.check_tree(t, {"chain": [("sync::" + fn, "suspended", marker)], "leaf": leaf}, src, "task " + fn)


def thread_named(name):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    return None


def flavor_of(task):
    r = task["runtime"]
    return doc["runtimes"][r]["flavor"] if 0 <= r < len(doc["runtimes"]) else None


block_ons = [t for t in doc["tasks"] if t["kind"] == "block_on"]
c.eq(2, len(block_ons), "block_on futures (main's, the LocalSet's)")
main = c.block_on(doc, pid)
if main:
    c.eq("multi_thread", flavor_of(main), "the flavor of main's block_on's runtime")
    c.check_block_on(main, profile, {
        "chain": [(re.compile(r"sync::main::\{async_block#\d+\}"), "suspended", "main_awaits_forever")],
        "leaf": tc.NEVER}, src, "main's block_on")
local_tid = thread_named("local-set")
local_main = c.block_on(doc, local_tid) if c.true(local_tid, "no thread local-set") else None
if local_main:
    c.eq("local-set", local_main["thread"]["name"], "the LocalSet's block_on's thread name")
    c.eq("current_thread", flavor_of(local_main), "the flavor of the LocalSet's block_on's runtime")
    c.check_block_on(local_main, profile, {
        "chain": [("sync::local_set_main", "suspended", "local_set_main_awaits_forever")],
        "leaf": tc.NEVER}, src, "the LocalSet's block_on")

locals_ = [t for t in doc["tasks"] if t["kind"] == "local"]
c.eq(local_tasks, len(locals_), "tasks of kind local (LOCAL_TASKS)")
c.eq(local_tasks, len(c.tasks_by_root(doc, "sync::local_waits_on_timer")),
     "tasks running local_waits_on_timer, all of them kind local")
for t in locals_:
    c.eq("idle", t["state"], "local task %s: state" % t["id"])
    # The LocalSet is driven by block_on on the current_thread runtime, whose
    # timers the local tasks' sleeps are registered with.
    c.eq("current_thread", flavor_of(t), "local task %s: the flavor of its runtime (%d)" % (t["id"], t["runtime"]))
    c.check_tree(t, {"chain": [("sync::local_waits_on_timer", "suspended", "local_waits_on_timer_awaits_sleep")],
                     "leaf": tc.TIMER}, src, "local task %s" % t["id"])
c.eq(len(LEAVES) + local_tasks + 2, len(doc["tasks"]), "tasks listed in all")
c.eq([], doc["cycles"], "cycles")

with open(base + ".txt") as f:
    sections = tc.text_sections(f.read())
c.eq(local_tasks, len([h for h, _ in sections if h.startswith("local task ")]), "'local task' sections in the text")
c.done()
PY
	assert_running "$TARGET_PID" "sync ($profile) at the end"
	stop_targets
done
finish_checks
