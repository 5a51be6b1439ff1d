# SPDX-License-Identifier: MIT
"""Comparing the trace of a core with the trace of the live process it was
taken from, for the core_*.sh tests.

The live trace is what the trace_*.sh tests check against the targets'
`// @mark` lines; a core of the same parked process must give the same
document: the same runtimes, tasks, frames (names, states, lines), leaves and
addresses. What a core cannot hold is left out of the comparison, by name:
  - the time (captured_at, pause_us, a timer's time left and the description
    that says it): the core is taken after the live sample;
  - sockets' peers and queues (read from /proc/PID/net after the live sample,
    not part of the memory): the fd and its interest are compared;
  - thread names but the main thread's (a core keeps only the process's
    name): they must be null in the core, not wrong.
"""

import tracecheck as tc

TIME_KEYS = ("time_left_s",)


def _leaf(b):
    b = dict(b)
    for k in TIME_KEYS:
        b.pop(k, None)
    b.pop("socket", None)
    b.pop("description", None)
    return b


def _normalize(node):
    """A copy of a frame tree (or any JSON value) without what a core lacks."""
    if isinstance(node, list):
        return [_normalize(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "blocked_on" and isinstance(v, dict):
            out[k] = _normalize(_leaf(v))
        else:
            out[k] = _normalize(v)
    return out


def _paths(a, b, where, diffs):
    """The places where JSON values a and b differ (at most 10)."""
    if len(diffs) >= 10:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                diffs.append("%s.%s: only in the %s trace" % (where, k, "live" if k in a else "core"))
            else:
                _paths(a[k], b[k], "%s.%s" % (where, k), diffs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append("%s: %d items live, %d in the core" % (where, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            _paths(x, y, "%s[%d]" % (where, i), diffs)
    elif a != b:
        diffs.append("%s: live %r, core %r" % (where, a, b))


def compare(c, live, core, core_text=None):
    """Checks (into tracecheck.Check c) that the core's document is the live one."""
    pid = live["pid"]
    c.eq("live", live.get("source"), "the live document's source")
    c.eq("core", core.get("source"), "the core document's source")
    c.eq(None, core.get("pause_us"), "pause_us of a core (nothing was paused)")
    c.true(core.get("captured_at") and core["captured_at"] >= live["captured_at"],
           "the core's captured_at (%r) is not at or after the live sample's (%r)"
           % (core.get("captured_at"), live.get("captured_at")))
    for key in ("pid", "exe", "build_id", "source_root", "runtimes", "cycles", "warnings"):
        c.eq(live[key], core[key], "document field %s" % key)
    c.true(live["tasks"], "the live trace has tasks to compare")
    c.eq(len(live["tasks"]), len(core["tasks"]), "number of tasks")
    for lt, ct in zip(live["tasks"], core["tasks"]):
        what = "task %s (%s, %s)" % (lt.get("id"), lt["kind"], lt["address"])
        lt, ct = _normalize(lt), _normalize(ct)
        lth, cth = lt.pop("thread", None), ct.pop("thread", None)
        if lth and lth["tid"] != pid:
            # Only the main thread's name is in a core.
            c.eq(None, (cth or {}).get("name"), what + ": a thread name the core cannot know")
            lth = dict(lth, name=None)
        c.eq(lth, cth, what + ": thread")
        diffs = []
        _paths(lt, ct, "", diffs)
        c.eq([], diffs, what + ": differences")
    if core_text is not None:
        head = core_text.split("\n", 1)[0]
        c.true(head.startswith("process %d " % pid) and "from a core written at" in head,
               "the core's text header: %r" % head)
        sections = tc.text_sections(core_text)
        c.eq(len(core["tasks"]), len(sections), "task sections in the core's text")
