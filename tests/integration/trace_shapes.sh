#!/bin/bash
# Issue 5, the shapes of future trees (tests/targets/shapes), both profiles:
# each task's exact chain of its own async frames (name, state, marked line)
# and its leaf: boxed recursion 25 levels deep through Pin<Box<dyn Future>>,
# an #[async_trait] method, tokio::select! and tokio::join! (their frames at
# the user's line, with a macro_location in tokio's source), join_all and
# FuturesUnordered of three, timeout (the inner future and a timer), a task
# awaiting another task's JoinHandle (that task's tree under it) and a task
# awaiting its own (a cycle [id, id], "recursion detected" in the text),
# futures::select, map/then, fuse and tracing's Instrumented. Issue 13:
# select!/join!/try_join! of tokio and futures at the user's line (the
# macro's first line) in a loop, under #[tracing::instrument], in nested
# blocks, biased, with an else, and every branch of a select!/join! over a
# hand-written future, a Sleep, a JoinHandle and a boxed dyn Future. Issue
# 14: no walk into shared state that is no future (broadcast's waiter list,
# channel ends held by a hand-written future).
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
        "branches": [simple("pending_forever", "pending_forever_awaits_pending", tc.NEVER),
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
    # select!/join! at the user's line (the macro's first line) in every shape.
    "select_in_loop": {"chain": [s("select_in_loop", "select_in_loop_awaits_select") + ("select.rs",)],
                       "branches": [simple("loop_branch", "loop_branch_awaits_sleep", tc.TIMER),
                                    {"chain": [], "leaf": "notify"}]},
    "select_nested_blocks": {
        "chain": [s("select_nested_blocks", "select_nested_blocks_awaits_select") + ("select.rs",)],
        "branches": [simple("nested_branch", "nested_branch_awaits_sleep", tc.TIMER),
                     {"chain": [], "leaf": "notify"}]},
    "select_biased": {"chain": [s("select_biased", "select_biased_awaits_select") + ("select.rs",)],
                      "branches": [{"chain": [], "leaf": "notify"},
                                   simple("biased_branch", "biased_branch_awaits_sleep", tc.TIMER)]},
    "select_else": {"chain": [s("select_else", "select_else_awaits_select") + ("select.rs",)],
                    "branches": [simple("else_branch", "else_branch_awaits_sleep", tc.TIMER),
                                 {"chain": [], "leaf": "notify"}]},
    "futures_select_macro": {
        "chain": [s("futures_select_macro", "futures_select_macro_awaits_select") + ("select_mod.rs",)],
        "branches": [simple("futures_macro_left", "futures_macro_left_awaits_sleep", tc.TIMER),
                     simple("futures_macro_right", "futures_macro_right_awaits_notified", "notify")]},
    "futures_join_macro": {
        "chain": [s("futures_join_macro", "futures_join_macro_awaits_join") + ("join_mod.rs",)],
        "branches": [{"chain": [s("futures_join_done", "futures_join_done_completed", "completed")], "leaf": None},
                     simple("futures_join_branch", "futures_join_branch_awaits_sleep", tc.TIMER)]},
    "try_join_macro": {"chain": [s("try_join_macro", "try_join_macro_awaits_join") + ("try_join.rs",)],
                       "branches": [simple("try_join_branch", "try_join_branch_awaits_sleep", tc.TIMER),
                                    simple("try_join_other", "try_join_other_awaits_notified", "notify")]},
}

# #[tracing::instrument] gives the fn's own state machine the attribute's
# line; the select! is in the block the attribute wraps the body in.
header = src.header_line("select_instrumented")
attr_line = int(header.rsplit(":", 1)[1]) - 1
c.true(src.lines[attr_line - 1].startswith("#[tracing::instrument"),
       "the line above select_instrumented is its #[tracing::instrument]")
SPECS["select_instrumented"] = {
    "chain": [("shapes::select_instrumented", "suspended", "shapes/src/main.rs:%d" % attr_line),
              (re.compile(r"shapes::select_instrumented::(\{async_fn#0\}::)?\{async_block#\d+\}"), "suspended",
               "select_instrumented_awaits_select", "select.rs")],
    "branches": [simple("instrumented_branch", "instrumented_branch_awaits_sleep", tc.TIMER),
                 {"chain": [], "leaf": "notify"}]}

c.true(depth >= 20, "the target's recursion is only %d deep (the issue asks 20+)" % depth)
c.eq([("tokio", "multi_thread")], [(r["kind"], r["flavor"]) for r in doc["runtimes"]], "runtimes")
tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
c.eq(ntasks, len(tasks), "tasks listed (TASKS)")
c.eq(ntasks + 1, len(doc["tasks"]), "tasks listed with main's block_on")
for t in tasks:
    c.eq("idle", t["state"], "task %s (%s): state" % (t["id"], t["root"] and t["root"]["name"]))
found = {}
for fn in list(SPECS) + ["awaits_other_task", "awaits_own_handle", "select_mixed", "join_mixed",
                         "mixed_child", "join_mixed_child", "holds_values"]:
    found[fn] = c.one_task(doc, "shapes::" + fn)
for fn, spec in SPECS.items():
    c.check_tree(found[fn], spec, src, "task " + fn)

child = found["joined_child"]
if found["awaits_other_task"] and child:
    c.check_tree(found["awaits_other_task"], {
        "chain": [s("awaits_other_task", "awaits_other_task_awaits_handle")],
        "leaf": {"kind": "task", "task_id": child["id"]},
        "link": {"task_id": child["id"], "root": SPECS["joined_child"]}}, src, "task awaits_other_task")
# select!/join! over a hand-written future, a Sleep, a JoinHandle and a boxed
# dyn Future: every branch, each what it is.
for fn, macro, child_fn, boxed_fn in (("select_mixed", "select.rs", "mixed_child", "mixed_boxed"),
                                      ("join_mixed", "join.rs", "join_mixed_child", "join_mixed_boxed")):
    child = found[child_fn]
    if found[fn] and child:
        c.check_tree(found[fn], {
            "chain": [s(fn, fn + "_awaits_" + macro.split(".")[0]) + (macro,)],
            "branches": [
                {"chain": [], "leaf": {"kind": "other", "description": "shapes::Forever"}},
                {"chain": [], "leaf": tc.TIMER},
                {"chain": [], "leaf": {"kind": "task", "task_id": child["id"]},
                 "link": {"task_id": child["id"], "root": simple(child_fn, child_fn + "_awaits_sleep", tc.TIMER)}},
                simple(boxed_fn, boxed_fn + "_awaits_sleep", tc.TIMER)]}, src, "task " + fn)

# A walk that cannot run away (issue 14): no value that is no future (channel
# ends, a watch version, tokio's broadcast waiter list) is a frame.
NOT_FUTURES = re.compile(r"tokio::sync::(broadcast::(Waiter|Receiver|Sender)|watch::|oneshot::Sender)")


def all_frames(frame):
    out, stack = [], [frame]
    while stack:
        f = stack.pop()
        out.append(f)
        stack += [ch for ch in f.get("children", []) if ch.get("kind") != "task"] + f.get("locals", [])
    return out


waiters = c.tasks_by_root(doc, "shapes::broadcast_waiter")
c.eq(3, len(waiters), "broadcast_waiter tasks")
for t in waiters:
    frames = all_frames(t["root"])
    # broadcast_waiter → Receiver::recv (an async fn) → (tokio 1.53:
    # Coop<Recv> →) Recv; without the bound, ~128 waiters (issue 14).
    c.true(len(frames) <= 5 and not [f for f in frames if NOT_FUTURES.search(f["type"])],
           "broadcast_waiter (task %s): the walk stops at the Recv future: %r" % (
               t["id"], [f["type"][:80] for f in frames][:10]))
    root = t["root"]
    c.eq(("shapes::broadcast_waiter", src.where("broadcast_waiter_awaits_recv")),
         (root["name"], src.show_location(root.get("location"))), "broadcast_waiter's frame")
    # What the leaf says is leaves.c's; here: one Recv future, the leaf.
    recv = [f for f in frames if f["type"].startswith("tokio::sync::broadcast::Recv<")]
    c.true(len(recv) == 1 and recv[0].get("blocked_on") and not recv[0]["children"],
           "broadcast_waiter awaits one Recv, a leaf: %r" % [(f["type"][:80], f.get("blocked_on")) for f in frames])
holder = found.get("holds_values")
if holder:
    c.check_tree(holder, {"chain": [s("holds_values", "holds_values_awaits_holder")], "leaf": tc.TIMER},
                 src, "task holds_values")
    frames = all_frames(holder["root"])
    c.true(not [f for f in frames if NOT_FUTURES.search(f["type"])] and
           [f["name"] for f in frames if f["kind"] == "future"] == ["shapes::Holder", "tokio::time::sleep::Sleep"],
           "holds_values: the Holder's frames are itself and its Sleep: %r" % [f["type"][:80] for f in frames])

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
    "leaf": tc.NEVER}, src, "main's block_on")

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
for fn, marker in [("select_macro", "select_macro_awaits_select"), ("join_macro", "join_macro_awaits_join")] + [
        (fn, marker) for fn, marker in ((fn, SPECS[fn]["chain"][0][2]) for fn in SPECS)
        if SPECS[fn]["chain"][0][0] == "shapes::" + fn and len(SPECS[fn]["chain"][0]) == 4] + [
        ("select_mixed", "select_mixed_awaits_select"), ("join_mixed", "join_mixed_awaits_join")]:
    line, _ = root_line(fn)
    want = "shapes::%s() suspended at %s" % (fn, src.where(marker))
    c.true(line.startswith(want), "%s's text frame: expected it to start with %r, got %r" % (fn, want, line))
# A join's or select's header names its first waiting branch and counts the
# others, as many as the branches the source leaves pending.
for fn, spec in SPECS.items():
    if "branches" not in spec:
        continue
    pending = sum(1 for b in spec["branches"] if b.get("leaf") is not None)
    headers = [h for h, body in sections if h.startswith("task ") and body and
               body[-1].strip().startswith("shapes::%s() " % fn)]
    c.eq(1, len(headers), "text blocks whose outermost frame is %s" % fn)
    more = re.search(r" \[\+(\d+) more below\]", headers[0]) if headers else None
    c.eq(pending - 1, int(more.group(1)) if more else 0,
         "%s's header counts its other waiting branches: %r" % (fn, headers[:1]))
c.done()
PY
	assert_running "$TARGET_PID" "shapes ($profile) at the end"
	stop_targets
done
finish_checks
