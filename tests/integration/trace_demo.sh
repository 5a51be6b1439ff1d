#!/bin/bash
# The design discussion's example (tests/targets/demo) at its three suspension
# points, in both profiles (issues 4 and 5): task foo's exact chain of frames
# with the marked lines and a timer leaf an hour away; at point 1 bar and baz
# held as not-polled locals, at point 2 the not-polled join of them, at point
# 3 the join with bar suspended on its timer and baz completed; main's
# block_on future awaiting foo's JoinHandle with foo's tree under it (in
# both profiles); and the
# text format's shape: header, frames innermost first at paths relative to
# the source root, the join's branches drawn, foo nested under block_on.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	pids=()
	for point in 1 2 3; do
		start_target demo "$profile" "$point"
		pids+=("$TARGET_PID")
		sample "$TARGET_PID" "demo$point.$profile"
	done
	note "demo ($profile): pids ${pids[*]}"
	run_checks "demo ($profile)" "$profile" "$(target_src demo)" "$HARNESS_TMP" "${pids[@]}" <<'PY'
import re
import sys

import tracecheck as tc

profile, src_dir, tmp = sys.argv[1:4]
pids = [int(p) for p in sys.argv[4:7]]
src = tc.Source("demo", src_dir)
where = src.where
FOO_CHAINS = {
    1: [("demo::foo", "suspended", "foo_point1_awaits_sleep"),
        ("demo::sleep", "suspended", "sleep_awaits_timer")],
    2: [("demo::foo", "suspended", "foo_point2_awaits_sleep"),
        ("demo::sleep", "suspended", "sleep_awaits_timer")],
    3: [("demo::foo", "suspended", "foo_point3_awaits_joined")],
}
MAIN = re.compile(r"demo::main::\{async_block#\d+\}")
JOIN = re.compile(r"futures_util::future::join::Join<.*>")
failed = False


def foo_spec(point):
    if point == 3:
        # join(bar, baz): bar waits for its timer, baz completed on its first poll.
        return {"chain": FOO_CHAINS[3], "fork": JOIN, "branches": [
            {"chain": [("demo::bar", "suspended", "bar_awaits_timer")], "leaf": tc.TIMER},
            {"chain": [("demo::baz", "completed", "baz_completed")], "leaf": None}]}
    return {"chain": FOO_CHAINS[point], "leaf": tc.TIMER}


def local_summary(frame):
    return (frame["name"], frame["state"], frame.get("not_polled"), src.show_location(frame.get("location")))


def check_locals(c, foo, point):
    """bar and baz are created before point 1; join moves them at point 2;
    at point 3 foo holds only what it awaits."""
    locals_ = foo["root"].get("locals", []) if foo and foo.get("root") else []
    unresumed_bar_baz = [("demo::bar", "unresumed", None, src.header_line("bar")),
                         ("demo::baz", "unresumed", None, src.header_line("baz"))]
    if point == 1:
        c.eq(sorted((n, s, True, l) for n, s, _, l in unresumed_bar_baz),
             sorted(local_summary(f) for f in locals_), "foo's not-polled locals at point 1")
    elif point == 2:
        if c.eq(1, len(locals_), "foo's locals at point 2 (joined): %r" % [local_summary(f) for f in locals_]):
            joined = locals_[0]
            c.true(JOIN.fullmatch(joined["name"]) and joined.get("not_polled"),
                   "the local joined: expected a not-polled Join, got %r" % (local_summary(joined),))
            c.eq(sorted(unresumed_bar_baz), sorted(local_summary(f) for f in joined["children"]),
                 "the branches of the not-polled join")
    else:
        c.eq([], [local_summary(f) for f in locals_], "foo's locals at point 3")


def frame_lines(body):
    """The text lines of the demo's own frames, innermost first, without the
    branch drawing: "demo::sleep() suspended at demo/src/main.rs:40"."""
    result = []
    for line in body:
        m = re.match(r"^\s+(\|\s+)?(demo::\S+\(\) \w+ at \S+)( \[blocked on [^]]*\])?$", line)
        if m:
            result.append(m.group(2))
    return result


def check_text(c, text, point, foo_id, foo_address, pid):
    sections = tc.text_sections(text)
    tasks = [s for s in sections if s[0].startswith("task ")]
    if not c.eq(1, len(tasks), "task sections in the text: %r" % [s[0] for s in sections]):
        return
    header, body = tasks[0]
    # "task 0x... (id 3, idle) ~ blocked on timer 0x..., fires in 3599 s": what
    # is in parentheses and after the timer's address is the tool's to choose.
    m = re.fullmatch(r"task (0x[0-9a-f]+)( \([^)]*\))?( ~ blocked on timer (0x[0-9a-f]+)(,[^]]*)?)?", header)
    if not c.true(m, "the task's header: %r" % header):
        return
    c.eq(foo_address, m.group(1), "the header's task address (the JSON's)")
    if point != 3:
        c.true(m.group(4), "the header says what foo is blocked on: %r" % header)
    if m.group(4):
        c.true(body and re.search(r"\[blocked on timer %s(,[^]]*)?\]$" % m.group(4), body[0]),
               "the innermost frame (first line) is blocked on the header's timer %s: %r"
               % (m.group(4), body[:1]))
    expected = {
        1: ["demo::sleep() suspended at " + where("sleep_awaits_timer"),
            "demo::foo() suspended at " + where("foo_point1_awaits_sleep")],
        2: ["demo::sleep() suspended at " + where("sleep_awaits_timer"),
            "demo::foo() suspended at " + where("foo_point2_awaits_sleep")],
    }
    lines = frame_lines(body)
    if point in expected:
        c.eq(expected[point], lines, "the text's frames, innermost first")
    else:
        bar = "demo::bar() suspended at " + where("bar_awaits_timer")
        baz = "demo::baz() completed at " + where("baz_completed")
        foo = "demo::foo() suspended at " + where("foo_point3_awaits_joined")
        c.true(lines in ([bar, baz, foo], [baz, bar, foo]),
               "the text's frames at point 3: expected bar and baz (either order) then foo, got %r" % lines)
        # The second branch is drawn aside ("| ...") and joins the first ("|/")
        # above the join, below which foo is.
        drawn = [i for i, l in enumerate(body) if re.match(r"^\s+\| demo::ba[rz]\(\)", l)]
        joins = [i for i, l in enumerate(body) if re.fullmatch(r"\s+\|/", l)]
        foo_at = [i for i, l in enumerate(body) if l.strip() == foo]
        c.true(len(drawn) == 1 and len(joins) == 1 and foo_at and drawn[0] < joins[0] < foo_at[0],
               "the join's branches drawn: expected one '| demo::ba?()' line, then '|/', then foo:\n%s"
               % "\n".join(body))
    blocks = [s for s in sections if s[0].startswith("block_on on thread %d " % pid)]
    if not c.eq(1, len(blocks), "block_on sections on thread %d: %r" % (pid, [s[0] for s in sections])):
        return
    header, body = blocks[0]
    # main's frame at the section's own indentation, awaiting task foo
    # (where the design puts the awaited task: "[blocked on task ...]", then the
    # task's header and its frames indented further); foo's frames after
    # foo's header.
    indent = lambda l: len(l) - len(l.lstrip())
    base = min(indent(l) for l in body) if body else 0
    main_line = "demo::main::{async_block#0} suspended at " + where("main_awaits_foo")
    main_at = [i for i, l in enumerate(body) if indent(l) == base and
               re.fullmatch(re.escape(main_line) + r"( \[blocked on task [^]]*\])?", l.strip())]
    nested = [i for i, l in enumerate(body) if re.match(r"^\s+task %s\b" % foo_address, l)]
    foo_line = "demo::foo() suspended at " + where(FOO_CHAINS[point][0][2])
    foo_at = [i for i, l in enumerate(body) if l.strip() == foo_line and indent(l) > base]
    c.true(len(main_at) == 1, "block_on's frame %r at the section's indentation:\n%s" % (main_line, "\n".join(body)))
    c.true(len(nested) == 1 and len(foo_at) == 1 and nested[0] < foo_at[0],
           "foo's tree (its header, then %r indented further than main's frame) under block_on:\n%s"
           % (foo_line, "\n".join(body)))

for point, pid in zip((1, 2, 3), pids):
    c = tc.Check("demo %d (%s, pid %d)" % (point, profile, pid))
    doc = tc.load("%s/demo%d.%s.json" % (tmp, point, profile))
    c.eq(pid, doc["pid"], "pid")
    c.eq([("tokio", "multi_thread")], [(r["kind"], r["flavor"]) for r in doc["runtimes"]], "runtimes")
    c.eq(["block_on", "task"], sorted(t["kind"] for t in doc["tasks"]), "task kinds (foo and main's block_on)")
    c.eq(1, doc["runtimes"][0]["tasks"] if doc["runtimes"] else None, "the runtime's task count")
    foo = c.one_task(doc, "demo::foo")
    foo_id = foo["id"] if foo else None
    if foo:
        c.true(isinstance(foo_id, int), "foo has a task id: %r" % foo_id)
        c.eq("idle", foo["state"], "foo's state")
        c.eq(0, foo["runtime"], "foo's runtime")
        c.eq("timer", (foo.get("blocked_on") or {}).get("kind"), "foo's summary (blocked_on)")
        c.check_tree(foo, foo_spec(point), src, "task foo")
    check_locals(c, foo, point)
    main = c.block_on(doc, pid)
    if main:
        c.eq("demo", main["thread"]["name"], "block_on's thread name")
        c.eq(0, main["runtime"], "block_on's runtime")
        c.check_block_on(main, profile, {
            "chain": [(MAIN, "suspended", "main_awaits_foo")],
            "leaf": {"kind": "task", "task_id": foo_id},
            "link": {"task_id": foo_id, "root": foo_spec(point)}}, src, "main's block_on")
    c.eq([], doc["cycles"], "cycles")
    with open("%s/demo%d.%s.txt" % (tmp, point, profile)) as f:
        check_text(c, f.read(), point, foo_id, foo["address"] if foo else None, pid)
    failed |= not c.report()
sys.exit(1 if failed else 0)
PY
	for pid in "${pids[@]}"; do
		assert_running "$pid" "demo ($profile) at the end"
	done
	stop_targets
done
finish_checks
