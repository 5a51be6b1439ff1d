#!/bin/bash
# Issue 4, states: a task being polled while the sample is taken (busy's
# spins_forever, which never yields) is reported as running on the worker
# thread the target names (BUSY_TID), its future still unresumed at its
# header; the sleeping tasks are idle, on no thread, waiting on their timers;
# main's block_on awaits the busy task. Both profiles.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	start_target busy "$profile"
	sample "$TARGET_PID" "busy.$profile"
	run_checks "busy ($profile)" "$profile" "$(target_src busy)" "$HARNESS_TMP/busy.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import re
import sys

import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
info = tc.target_info(out_path)
busy_tid = int(info["BUSY_TID"][0])
sleepers = int(info["SLEEPERS"][0])
src = tc.Source("busy", src_dir)
c = tc.Check("busy (%s, pid %d, busy thread %d)" % (profile, pid, busy_tid))
doc = tc.load(base + ".json")

c.eq([("tokio", "multi_thread")], [(r["kind"], r["flavor"]) for r in doc["runtimes"]], "runtimes")
c.eq(sleepers + 1, len([t for t in doc["tasks"] if t["kind"] == "task"]), "tasks (the sleepers and the busy one)")
busy = c.one_task(doc, "busy::spins_forever")
if busy:
    c.eq("running", busy["state"], "the busy task's state")
    c.eq(busy_tid, (busy.get("thread") or {}).get("tid"), "the thread polling the busy task")
    c.check_tree(busy, {"chain": [("busy::spins_forever", "unresumed", "spins_forever_unresumed")],
                        "leaf": None}, src, "the busy task")
running = [t for t in doc["tasks"] if t["kind"] == "task" and t["state"] == "running"]
c.eq(1, len(running), "running tasks: %r" % [(t["id"], t["root"] and t["root"]["name"]) for t in running])
sleeping = c.tasks_by_root(doc, "busy::sleeps_while_other_spins", "task")
c.eq(sleepers, len(sleeping), "sleeping tasks")
for t in sleeping:
    c.eq("idle", t["state"], "sleeper %s: state" % t["id"])
    c.eq(None, t["thread"], "sleeper %s: thread (nobody polls it)" % t["id"])
    c.check_tree(t, {"chain": [("busy::sleeps_while_other_spins", "suspended",
                                "sleeps_while_other_spins_awaits_sleep")], "leaf": tc.TIMER},
                 src, "sleeper %s" % t["id"])
main = c.block_on(doc, pid)
if main and busy:
    busy_spec = {"chain": [("busy::spins_forever", "unresumed", "spins_forever_unresumed")], "leaf": None}
    c.check_block_on(main, profile, {
        "chain": [(re.compile(r"busy::main::\{async_block#\d+\}"), "suspended", "main_awaits_busy")],
        "leaf": {"kind": "task", "task_id": busy["id"]},
        "link": {"task_id": busy["id"], "root": busy_spec}}, src, "main's block_on")

# The text's header of the busy task says it runs, and where.
with open(base + ".txt") as f:
    sections = tc.text_sections(f.read())
headers = [h for h, body in sections if any("busy::spins_forever()" in l for l in body) and h.startswith("task ")]
c.eq(1, len(headers), "text sections of the busy task: %r" % [h for h, _ in sections])
if headers:
    c.true(re.search(r"\brunning\b", headers[0]) and re.search(r"\bon thread %d\b" % busy_tid, headers[0]),
           "the busy task's text header says running on thread %d: %r" % (busy_tid, headers[0]))
c.done()
PY
	assert_running "$TARGET_PID" "busy ($profile) at the end"
	stop_targets
done
finish_checks
