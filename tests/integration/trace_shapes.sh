#!/bin/bash
# Issue 5, the shapes of future trees (tests/targets/shapes), both profiles:
# each task's exact chain of its own async frames (name, state, marked line)
# and its leaf: boxed recursion 25 levels deep through Pin<Box<dyn Future>>,
# an #[async_trait] method, tokio::select! and tokio::join! (their frames at
# the user's line, with a macro_location in tokio's source), join_all and
# FuturesUnordered of three, timeout (the inner future and a timer), a task
# awaiting another task's JoinHandle (that task's tree under it) and a task
# awaiting its own (a cycle [id, id], "recursion detected" in the text),
# futures::select, map/then, fuse and tracing's Instrumented.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	start_target shapes "$profile"
	sample "$TARGET_PID" "shapes.$profile"
	run_checks "shapes ($profile)" "$profile" "$(target_src shapes)" "$HARNESS_TMP/shapes.$profile" \
		"$TARGET_PID" "$TARGET_OUT" <<'PY'
import re
import sys

import tracecheck as tc

profile, src_dir, base, pid, out_path = sys.argv[1:6]
pid = int(pid)
info = tc.target_info(out_path)
depth = int(info["RECURSION_DEPTH"][0])
ntasks = int(info["TASKS"][0])
src = tc.Source("shapes", src_dir)
c = tc.Check("shapes (%s, pid %d)" % (profile, pid))
doc = tc.load(base + ".json")


def s(fn, marker, state="suspended"):
    """A frame of shapes' own async fn fn."""
    return ("shapes::" + fn, state, marker)


def simple(fn, marker, leaf):
    return {"chain": [s(fn, marker)], "leaf": leaf}


RECURSE = re.compile(r"shapes::recurse::\{async_block#\d+\}")
WAIT = re.compile(r"shapes::(\{impl#\d+\}::|<[^>]*>::)?wait::\{async_block#\d+\}")
SPECS = {
    # recurse(depth) nests depth + 1 boxed async blocks; the innermost sleeps.
    "boxed_recursion": {"chain": [s("boxed_recursion", "boxed_recursion_awaits_recurse")]
                        + [(RECURSE, "suspended", "recurse_awaits_deeper")] * depth
                        + [(RECURSE, "suspended", "recurse_bottom_awaits_sleep")], "leaf": tc.TIMER},
    "async_trait_method": {"chain": [s("async_trait_method", "async_trait_method_awaits_wait"),
                                     (WAIT, "suspended", "wait_awaits_sleep")], "leaf": tc.TIMER},
    "select_macro": {"chain": [s("select_macro", "select_macro_awaits_select") + ("select.rs",)], "branches": [
        simple("select_timer_branch", "select_timer_branch_awaits_sleep", tc.TIMER),
        simple("select_notify_branch", "select_notify_branch_awaits_notified", "notify")]},
    "join_macro": {"chain": [s("join_macro", "join_macro_awaits_join") + ("join.rs",)], "branches": [
        {"chain": [s("join_done_branch", "join_done_branch_completed", "completed")], "leaf": None},
        simple("join_pending_branch", "join_pending_branch_awaits_sleep", tc.TIMER)]},
    "join_all_of_three": {"chain": [s("join_all_of_three", "join_all_of_three_awaits_join_all")],
                          "branches": [simple("join_all_member", "join_all_member_awaits_sleep", tc.TIMER)] * 3},
    "futures_unordered_of_three": {
        "chain": [s("futures_unordered_of_three", "futures_unordered_of_three_awaits_next")],
        "fork": re.compile(r"futures_util::stream::futures_unordered::FuturesUnordered<.*>"),
        "branches": [simple("unordered_member", "unordered_member_awaits_sleep", tc.TIMER)] * 3},
    "timeout_around_pending": {
        "chain": [s("timeout_around_pending", "timeout_around_pending_awaits_timeout")],
        "fork": re.compile(r"tokio::time::timeout::Timeout<.*>"),
        "branches": [simple("pending_forever", "pending_forever_awaits_pending", "other"),
                     {"chain": [], "leaf": tc.TIMER}]},
    "joined_child": simple("joined_child", "joined_child_awaits_sleep", tc.TIMER),
    "futures_select": {"chain": [s("futures_select", "futures_select_awaits_select")], "branches": [
        simple("select_left", "select_left_awaits_sleep", tc.TIMER),
        simple("select_right", "select_right_awaits_notified", "notify")]},
    "map_then_chain": {"chain": [s("map_then_chain", "map_then_chain_awaits_then"),
                                 s("chain_source", "chain_source_awaits_sleep")], "leaf": tc.TIMER},
    "fused": {"chain": [s("fused", "fused_awaits_fuse"), s("fused_inner", "fused_inner_awaits_sleep")],
              "leaf": tc.TIMER},
    "instrumented": {"chain": [s("instrumented", "instrumented_awaits_instrumented"),
                               s("instrumented_inner", "instrumented_inner_awaits_sleep")], "leaf": tc.TIMER},
}

c.true(depth >= 20, "the target's recursion is only %d deep (the issue asks 20+)" % depth)
c.eq([("tokio", "multi_thread")], [(r["kind"], r["flavor"]) for r in doc["runtimes"]], "runtimes")
tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
c.eq(ntasks, len(tasks), "tasks listed (TASKS)")
c.eq(ntasks + 1, len(doc["tasks"]), "tasks listed with main's block_on")
for t in tasks:
    c.eq("idle", t["state"], "task %s (%s): state" % (t["id"], t["root"] and t["root"]["name"]))
found = {}
for fn in list(SPECS) + ["awaits_other_task", "awaits_own_handle"]:
    found[fn] = c.one_task(doc, "shapes::" + fn)
for fn, spec in SPECS.items():
    c.check_tree(found[fn], spec, src, "task " + fn)

child = found["joined_child"]
if found["awaits_other_task"] and child:
    c.check_tree(found["awaits_other_task"], {
        "chain": [s("awaits_other_task", "awaits_other_task_awaits_handle")],
        "leaf": {"kind": "task", "task_id": child["id"]},
        "link": {"task_id": child["id"], "root": SPECS["joined_child"]}}, src, "task awaits_other_task")
own = found["awaits_own_handle"]
if own:
    c.check_tree(own, {
        "chain": [s("awaits_own_handle", "awaits_own_handle_awaits_itself")],
        "leaf": {"kind": "task", "task_id": own["id"]},
        "link": {"task_id": own["id"], "recursion": True, "cycle": [own["id"], own["id"]]}},
        src, "task awaits_own_handle")
    c.eq([[own["id"], own["id"]]], doc["cycles"], "cycles (awaits_own_handle awaits itself)")

main = c.block_on(doc, pid)
c.check_block_on(main, profile, {
    "chain": [(re.compile(r"shapes::main::\{async_block#\d+\}"), "suspended", "main_awaits_forever")],
    "leaf": "other"}, src, "main's block_on")

# The text: the self-await is cut short, the macro frames are at the user's line.
with open(base + ".txt") as f:
    sections = tc.text_sections(f.read())


def indent(line):
    return len(line) - len(line.lstrip())


def root_line(fn):
    """The text line of the task whose root is fn: the line of fn's frame at
    its section's own indentation (awaited tasks are indented further)."""
    found = []
    for header, body in sections:
        base = min(indent(l) for l in body) if body else 0
        found += [(l.strip(), body) for l in body
                  if header.startswith("task ") and indent(l) == base and l.strip().startswith("shapes::%s() " % fn)]
    c.eq(1, len(found), "text lines of task %s's root frame: %r" % (fn, [l for l, _ in found]))
    return found[0] if found else ("", [])


_, body = root_line("awaits_own_handle")
c.true(any("recursion detected" in l for l in body),
       "awaits_own_handle's text says 'recursion detected':\n%s" % "\n".join(body))
for fn, marker in (("select_macro", "select_macro_awaits_select"), ("join_macro", "join_macro_awaits_join")):
    line, _ = root_line(fn)
    want = "shapes::%s() suspended at %s" % (fn, src.where(marker))
    c.true(line.startswith(want), "%s's text frame: expected it to start with %r, got %r" % (fn, want, line))
c.done()
PY
	assert_running "$TARGET_PID" "shapes ($profile) at the end"
	stop_targets
done
finish_checks
