#!/bin/bash
# Issue 4, counts: a target that spawned N idle tasks (tests/targets/counts,
# which prints what it spawned per runtime) is listed with exactly those N
# tasks plus its block_on future, per runtime: with a multi_thread runtime,
# a current_thread one, and two runtimes in one process; in both profiles.
# Each task's root names the async fn it was spawned with and its chain
# ends where the source says (timer, notify, oneshot); "runtimes" has the
# right count and flavors; each block_on runs on its runtime's thread.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

# Task counts that are not multiples of 3, so that the fns' shares differ.
variants=("--tasks 7 --flavor multi_thread" "--tasks 5 --flavor current_thread" "--tasks 4 --two-runtimes")

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	pids=()
	outs=()
	for i in "${!variants[@]}"; do
		# shellcheck disable=SC2086 # the variant is a list of arguments
		start_target counts "$profile" ${variants[$i]}
		pids+=("$TARGET_PID")
		outs+=("$TARGET_OUT")
		sample "$TARGET_PID" "counts$i.$profile"
	done
	for i in "${!variants[@]}"; do
		run_checks "counts ${variants[$i]} ($profile)" "counts ${variants[$i]} ($profile)" "$profile" \
			"$(target_src counts)" "$HARNESS_TMP/counts$i.$profile.json" "${pids[$i]}" "${outs[$i]}" <<'PY'
import os
import sys
from collections import Counter

import tracecheck as tc

what, profile, src_dir, json_path, pid, out_path = sys.argv[1:7]
pid = int(pid)
src = tc.Source("counts", src_dir)
c = tc.Check("%s, pid %d" % (what, pid))
doc = tc.load(json_path)
spawned = tc.spawned_lines(out_path)
c.true(spawned, "the target printed no SPAWNED line")

# What each idle fn waits on, from the source.
LEAVES = {"idle_on_timer": ("idle_on_timer_awaits_sleep", tc.TIMER),
          "idle_on_notify": ("idle_on_notify_awaits_notified", "notify"),
          "idle_on_channel": ("idle_on_channel_awaits_receiver", "oneshot")}


def thread_named(name):
    found = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                found.append(int(tid))
    return found


def fn_counts(tasks):
    return Counter(t["root"]["name"].split("::")[-1] if t.get("root") else None for t in tasks)


expected_per_runtime = sorted((s["flavor"], s["total"], tuple(sorted((fn, s[fn]) for fn in LEAVES)))
                              for s in spawned)
tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
block_ons = [t for t in doc["tasks"] if t["kind"] == "block_on"]

c.eq(len(spawned), len(doc["runtimes"]), "number of runtimes")
c.eq(sorted(s["flavor"] for s in spawned), sorted(r["flavor"] for r in doc["runtimes"]), "runtime flavors")
c.eq(["tokio"] * len(doc["runtimes"]), [r["kind"] for r in doc["runtimes"]], "runtime kinds")
c.eq(sum(s["total"] for s in spawned), len(tasks), "spawned tasks listed")
c.eq(len(spawned), len(block_ons), "block_on futures listed (one per runtime)")
c.eq(len(tasks) + len(block_ons), len(doc["tasks"]), "no other tasks")
# Each runtime's tasks, independently of which block_on is attributed where.
actual_per_runtime = sorted(
    (r["flavor"], len([t for t in tasks if t["runtime"] == r["id"]]),
     tuple(sorted((fn, fn_counts([t for t in tasks if t["runtime"] == r["id"]])[fn]) for fn in LEAVES)))
    for r in doc["runtimes"])
c.eq(expected_per_runtime, actual_per_runtime, "(flavor, tasks, tasks per fn) of each runtime")
for r in doc["runtimes"]:
    c.eq(len([t for t in tasks if t["runtime"] == r["id"]]), r["tasks"], "runtime %d's task count" % r["id"])

# Root types, states and chains.
c.eq({"counts::" + fn: sum(s[fn] for s in spawned) for fn in LEAVES},
     dict(Counter(t["root"]["name"] if t.get("root") else None for t in tasks)), "the tasks' root fns")
for t in tasks:
    name = t["root"]["name"] if t.get("root") else None
    fn = name.split("::")[-1] if name else None
    c.true(isinstance(t["id"], int), "task without an id: %r" % t)
    c.eq("idle", t["state"], "task %s (%s): state" % (t["id"], name))
    if fn in LEAVES:
        marker, leaf = LEAVES[fn]
        c.check_tree(t, {"chain": [(name, "suspended", marker)], "leaf": leaf}, src,
                     "task %s (%s)" % (t["id"], name))

# Each runtime's block_on: on the thread that runs it, in that runtime.
threads = {"main": [pid], "second": thread_named("second-runtime")}
seen_runtimes = []
for s in spawned:
    which = s["runtime"]
    tids = threads.get(which, [])
    if not c.eq(1, len(tids), "threads running runtime %s's block_on" % which):
        continue
    b = c.block_on(doc, tids[0])
    if not b:
        continue
    c.eq("counts" if which == "main" else "second-runtime", b["thread"]["name"], "%s block_on's thread name" % which)
    flavor = doc["runtimes"][b["runtime"]]["flavor"] if isinstance(b["runtime"], int) else None
    c.eq(s["flavor"], flavor, "the flavor of the runtime (%s) of %s's block_on" % (b["runtime"], which))
    seen_runtimes.append(b["runtime"])
    fn = "main_runtime" if which == "main" else "second_runtime"
    c.check_block_on(b, profile, {"chain": [("counts::" + fn, "suspended", fn + "_awaits_forever")],
                                  "leaf": tc.NEVER}, src, "%s runtime's block_on" % which)
c.eq(len(seen_runtimes), len(set(seen_runtimes)), "block_on futures in distinct runtimes: %r" % seen_runtimes)
c.eq([], doc["cycles"], "cycles")
c.done()
PY
		assert_running "${pids[$i]}" "counts ${variants[$i]} ($profile) at the end"
	done
	stop_targets
done
finish_checks
