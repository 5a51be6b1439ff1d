# SPDX-License-Identifier: MIT
"""Assertions on asyncdump's trace documents, for the trace_*.sh tests.

The tests sample a Rust target (tests/targets) with `asyncdump --json
--locals` and `asyncdump`, then describe what its source says each task must
look like: the chain of async frames from the task's root down to its leaf,
each with its state and the line of a `// @mark NAME` marker, and what the
leaf waits on. Expected values come from the target's source and from what it
printed after READY, never from the tool's output.

A spec (see check_tree) describes a frame subtree:

    {"chain": [FRAME, ...],         # the target's own async frames on the
                                    # single-child path, root first
     "leaf": KIND | {...} | None,   # what the path's last frame waits on
     "branches": [SPEC, ...],       # or: the path ends in a fork (join,
                                    # select, join_all...), one spec per
                                    # child, in any order
     "fork": NAME,                  # (optional) the fork frame's name
     "link": {"task_id": N, "root": SPEC}          # the last frame awaits
           | {"task_id": N, "recursion": True, "cycle": [N, N]}}  # task N

FRAME is (name, state, marker) or (name, state, marker, macro_file), where
marker is a marker's name or a location from Source.header_line; name is a
string or a compiled regular expression (fullmatch); macro_file (e.g.
"select.rs") says the await comes from a tokio (or futures) macro: the frame
then has a macro_location in that file of tokio's (futures'), and its
location stays in the target's source.

Non-async frames (combinators, leaves such as tokio's Sleep) and async frames
of other crates (tokio's Mutex::lock...) may sit anywhere on the path: only
the target's own async frames are compared, but all of them, in order.

Usage from a test (python3 - ARGS <<'PY'):

    import tracecheck as tc
    c = tc.Check("demo 1 (debug)")
    doc = tc.load(json_path)
    src = tc.Source("demo", src_dir)
    task = c.one_task(doc, "demo::foo")
    c.check_tree(task, {"chain": [("demo::foo", "suspended", "foo_point1_awaits_sleep")],
                        "leaf": tc.TIMER}, src)
    c.done()
"""

import itertools
import json
import os
import re
import sys

ASYNC_KINDS = ("async_fn", "async_block", "async_closure")
# A timer of the targets: each sleeps an hour (or an hour and a few seconds).
TIMER = {"kind": "timer", "time_left_s_over": 3000}
# pending(): std's, futures-lite's (smol), futures-util's, async-std's.
NEVER = {"kind": "never", "description": "nothing: pending() never completes"}
# A channel's two waits, said alike by every library: tokio's and
# futures-channel's are mpsc, async-channel's mpmc (kind mpsc: many senders).
MPSC_RECV = {"kind": "mpsc", "description": re.compile(r"mpsc channel 0x[0-9a-f]+: recv waits for a message")}
MPSC_SEND = {"kind": "mpsc", "description": re.compile(r"mpsc channel 0x[0-9a-f]+ full: send waits for capacity")}
MPMC_RECV = {"kind": "mpsc", "description": re.compile(r"mpmc channel 0x[0-9a-f]+: recv waits for a message")}
MPMC_SEND = {"kind": "mpsc", "description": re.compile(r"mpmc channel 0x[0-9a-f]+ full: send waits for capacity")}
REGISTRY = "/usr/share/cargo/registry"
MARKER_RE = re.compile(r"// @mark ([A-Za-z0-9_]+)[ \t]*$")


def load(path):
    with open(path) as f:
        return json.load(f)


def target_info(out_path):
    """The "KEY value" lines a target printed after READY: {KEY: [values]}."""
    info = {}
    with open(out_path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            info.setdefault(key, []).append(value)
    return info


def spawned_lines(out_path):
    """counts' "SPAWNED k=v ..." lines as dicts, ints where they are numbers."""
    result = []
    for value in target_info(out_path).get("SPAWNED", []):
        entry = {}
        for field in value.split():
            k, _, v = field.partition("=")
            entry[k] = int(v) if v.isdigit() else v
        result.append(entry)
    return result


class Source:
    """A target's main.rs: its markers, and how its frames' files look."""

    def __init__(self, crate, src_dir):
        self.crate = crate
        self.path = os.path.join(src_dir, "main.rs")
        self.markers = {}
        with open(self.path) as f:
            self.lines = f.read().split("\n")
        for number, text in enumerate(self.lines, 1):
            m = MARKER_RE.search(text)
            if m:
                if m.group(1) in self.markers:
                    raise ValueError("%s: marker %s is not unique" % (self.path, m.group(1)))
                self.markers[m.group(1)] = number

    def where(self, marker):
        """"demo/src/main.rs:48" for a marker: the file as the text format shows it."""
        if marker not in self.markers:
            raise KeyError("%s: no marker %s" % (self.path, marker))
        return "%s/src/main.rs:%d" % (self.crate, self.markers[marker])

    def header_line(self, fn):
        """The line of `async fn NAME(`: where an unresumed state machine of NAME is."""
        pattern = re.compile(r"^\s*(pub\s+)?async fn %s\b" % re.escape(fn))
        found = [n for n, text in enumerate(self.lines, 1) if pattern.search(text)]
        if len(found) != 1:
            raise ValueError("%s: async fn %s declared %d times" % (self.path, fn, len(found)))
        return "%s/src/main.rs:%d" % (self.crate, found[0])

    def owns(self, frame):
        """True for an async frame of the target's own code."""
        return frame.get("kind") in ASYNC_KINDS and frame["name"].startswith(self.crate + "::")

    def show_location(self, location):
        """A location as "demo/src/main.rs:48" when in the target's source, else in full."""
        if not location:
            return None
        file = location.get("file") or "?"
        marker = "/%s/src/" % self.crate
        if marker in file:
            file = file[file.rindex(marker) + 1:]
        return "%s:%s" % (file, location.get("line"))


def is_link(child):
    return child.get("kind") == "task" and "task_id" in child


def frame_children(frame):
    """A frame's children that are frames (not task links)."""
    return [c for c in frame.get("children", []) if not is_link(c)]


def show_tree(frame, src, depth=0, limit=40):
    """A compact rendering of a subtree for failure messages."""
    lines = []

    def visit(f, d):
        if len(lines) >= limit:
            return
        pad = "  " * d
        if is_link(f):
            lines.append("%s-> task %s%s" % (pad, f["task_id"], " (recursion)" if f.get("recursion") else ""))
            return
        b = f.get("blocked_on")
        lines.append("%s%s %s %s %s%s" % (pad, f.get("kind"), f.get("name", "?")[:110], f.get("state"),
                                          src.show_location(f.get("location")) or "-",
                                          " [%s]" % b["kind"] if b else ""))
        for c in f.get("children", []):
            visit(c, d + 1)

    visit(frame, depth)
    return "\n".join(lines)


def name_matches(expected, actual):
    if isinstance(expected, re.Pattern):
        return expected.fullmatch(actual) is not None
    return expected == actual


def show_name(expected):
    return "/%s/" % expected.pattern if isinstance(expected, re.Pattern) else expected


def follow_path(frame):
    """The single-child path from frame: the frames on it, root first. It ends at
    a frame with no frame child, with several, or with a task link."""
    path = [frame]
    while True:
        children = frame_children(path[-1])
        if len(children) != 1 or len(path) > 1000:
            return path
        path.append(children[0])


def chain_of(frame, src):
    """The task's chain as the module's doc describes it: the target's own async
    frames on the single-child path from frame, as (name, state, "crate/src/main.rs:LINE"),
    and the blocked_on kind of the path's last frame (None: waits on nothing)."""
    path = follow_path(frame)
    own = [(f["name"], f["state"], src.show_location(f.get("location"))) for f in path if src.owns(f)]
    return own, (path[-1].get("blocked_on") or {}).get("kind")


class Check:
    """Collects failures, so that one run reports every wrong frame at once."""

    def __init__(self, what):
        # The tokio matrix: the suite the target was built against, and its
        # tokio (lib.sh's use_suite), in every check's name.
        suite = os.environ.get("TRACE_SUITE")
        self.what = "%s [%s]" % (what, suite) if suite else what
        self.failures = []
        self.checks = 0

    def fail(self, message):
        self.failures.append(message)

    def eq(self, expected, actual, message):
        self.checks += 1
        if expected != actual:
            self.fail("%s: expected %r, got %r" % (message, expected, actual))
            return False
        return True

    def true(self, condition, message):
        self.checks += 1
        if not condition:
            self.fail(message)
        return bool(condition)

    def report(self):
        """Prints the failures (or that all passed); True if all passed."""
        for f in self.failures:
            print("FAIL: %s: %s" % (self.what, f), file=sys.stderr)
        if self.failures:
            print("# %s: %d of %d checks failed" % (self.what, len(self.failures), self.checks),
                  file=sys.stderr)
        else:
            print("# %s: %d checks passed" % (self.what, self.checks), file=sys.stderr)
        return not self.failures

    def done(self):
        """report(), then exits 1 if anything failed."""
        if not self.report():
            sys.exit(1)

    # ---- finding tasks

    def tasks_by_root(self, doc, name, kind=None):
        return [t for t in doc["tasks"] if t.get("root") and name_matches(name, t["root"]["name"])
                and (kind is None or t["kind"] == kind)]

    def one_task(self, doc, name, kind="task"):
        """The one task (of `kind`) whose root future is `name`, or None (a failure)."""
        found = self.tasks_by_root(doc, name, kind)
        if not self.true(len(found) == 1, "expected one %s whose root is %s, found %d; tasks: %s"
                         % (kind, show_name(name), len(found), summary(doc))):
            return None
        return found[0]

    def block_on(self, doc, tid):
        """The block_on task on thread tid, or None (a failure)."""
        found = [t for t in doc["tasks"] if t["kind"] == "block_on" and t.get("thread")
                 and t["thread"]["tid"] == tid]
        if not self.true(len(found) == 1, "expected one block_on task on thread %d, found %d; tasks: %s"
                         % (tid, len(found), summary(doc))):
            return None
        return found[0]

    # ---- trees

    def check_tree(self, task, spec, src, what=None):
        """Checks a task's tree (task["root"]) against spec (see the module's doc)."""
        if task is None:
            return False
        what = what or "task %s (%s)" % (task.get("id"), task["kind"])
        if not self.true(task.get("root") is not None,
                         "%s: no root (note: %r)" % (what, task.get("note"))):
            return False
        errors = tree_errors(task["root"], spec, src)
        self.checks += 1
        if errors:
            self.fail("%s:\n    %s\n  its tree:\n%s" % (what, "\n    ".join(errors),
                                                       show_tree(task["root"], src, 2)))
            return False
        return True

    def check_block_on(self, task, profile, spec, src, what):
        """A block_on task: its tree matches spec, in every profile (a release
        build's future is found even where DWARF gives it no location)."""
        if task is None:
            return
        self.check_tree(task, spec, src, "%s (%s)" % (what, profile))


def summary(doc):
    return ", ".join("%s:%s:%s" % (t.get("id"), t["kind"], t["root"]["name"][:60] if t.get("root") else None)
                     for t in doc["tasks"])


def leaf_errors(frame, leaf):
    """What is wrong with the blocked_on of the path's last frame, against leaf
    (a kind, a dict of kind and fields, or None: waits on nothing)."""
    b = frame.get("blocked_on")
    if leaf is None:
        return [] if b is None else ["expected no blocked_on at the end, got %r" % b]
    if isinstance(leaf, str):
        leaf = {"kind": leaf}
    if b is None:
        return ["expected the leaf to be blocked on %s, got no blocked_on (at %s)"
                % (leaf["kind"], frame.get("name"))]
    errors = []
    for key, value in leaf.items():
        if key == "time_left_s_over":
            left = b.get("time_left_s")
            if not isinstance(left, (int, float)) or left <= value:
                errors.append("expected the timer's time_left_s > %s, got %r (blocked_on %r)"
                              % (value, left, b))
        elif isinstance(value, re.Pattern):
            if not isinstance(b.get(key), str) or not value.fullmatch(b[key]):
                errors.append("expected blocked_on %s to match %r, got %r (blocked_on %r)"
                              % (key, value.pattern, b.get(key), b))
        elif b.get(key) != value:
            errors.append("expected blocked_on %s = %r, got %r (blocked_on %r)" % (key, value, b.get(key), b))
    return errors


def frame_errors(frame, expected, src):
    name, state, marker = expected[:3]
    errors = []
    if not name_matches(name, frame["name"]):
        errors.append("expected %s, got %s" % (show_name(name), frame["name"]))
    if frame["state"] != state:
        errors.append("%s: expected state %s, got %s" % (frame["name"], state, frame["state"]))
    # A marker's name, or a location already made (Source.header_line).
    want = marker if ":" in marker else src.where(marker)
    got = src.show_location(frame.get("location"))
    if got != want:
        errors.append("%s: expected location %s (marker %s), got %s" % (frame["name"], want, marker, got))
    if len(expected) > 3:
        errors.extend(macro_errors(frame, expected[3], src))
    return errors


def macro_errors(frame, macro_file, src):
    """A frame suspended in a tokio or futures macro: its location is the user's
    line, its macro_location the macro's source in tokio or futures."""
    errors = []
    loc = frame.get("location") or {}
    if REGISTRY in (loc.get("file") or ""):  # installed, or another suite's copy
        errors.append("%s: location points into the registry: %r" % (frame["name"], loc))
    mloc = frame.get("macro_location")
    if not mloc:
        errors.append("%s: no macro_location (expected one in tokio's %s)" % (frame["name"], macro_file))
    elif not (mloc.get("file") or "").endswith("/" + macro_file) or not (
            "tokio" in mloc["file"] or "futures" in mloc["file"]):
        errors.append("%s: macro_location %r is not in tokio's or futures' %s" % (frame["name"], mloc, macro_file))
    return errors


def show_chain(items):
    """"a -> b (x24) -> c": repeated frames (a recursion) once, with their count."""
    groups = []
    for item in items:
        if groups and groups[-1][0] == item:
            groups[-1][1] += 1
        else:
            groups.append([item, 1])
    return " -> ".join(i if n == 1 else "%s (x%d)" % (i, n) for i, n in groups) or "(no async frame)"


def tree_errors(frame, spec, src):
    """Everything wrong with the subtree at frame against spec (empty: it matches)."""
    path = follow_path(frame)
    own = [f for f in path if src.owns(f)]
    expected = spec.get("chain", [])
    errors = []
    if len(own) != len(expected):
        errors.append("expected the chain %s, got %s" % (
            show_chain("%s %s %s" % (show_name(e[0]), e[1], e[2]) for e in expected),
            show_chain("%s %s %s" % f for f in chain_of(frame, src)[0])))
    else:
        for f, e in zip(own, expected):
            errors.extend(frame_errors(f, e, src))
    end = path[-1]
    children = frame_children(end)
    links = [c for c in end.get("children", []) if is_link(c)]
    if "branches" in spec:
        if "fork" in spec and not name_matches(spec["fork"], end["name"]):
            errors.append("expected the fork at %s, got %s" % (show_name(spec["fork"]), end["name"]))
        errors.extend(branch_errors(end, children, spec["branches"], src))
    else:
        if children:
            errors.append("expected the path to end at a leaf, but %s has %d children"
                          % (end["name"], len(children)))
        errors.extend(leaf_errors(end, spec.get("leaf")))
    if "link" in spec:
        errors.extend(link_errors(end, links, spec["link"], src))
    elif links:
        errors.append("unexpected task link under %s" % end["name"])
    return errors


def branch_errors(end, children, branches, src):
    if len(children) != len(branches):
        return ["expected %d branches under %s, got %d" % (len(branches), end["name"], len(children))]
    best = None
    for order in itertools.permutations(children):
        errors = []
        for child, branch in zip(order, branches):
            errors.extend(tree_errors(child, branch, src))
        if not errors:
            return []
        if best is None or len(errors) < len(best):
            best = errors
    return ["branches of %s (in the closest order): %s" % (end["name"], "; ".join(best))]


def link_errors(end, links, link, src):
    errors = []
    if end.get("awaits_task") != link["task_id"]:
        errors.append("%s: expected awaits_task %r, got %r" % (end["name"], link["task_id"], end.get("awaits_task")))
    if len(links) != 1:
        return errors + ["%s: expected one task link child, got %d" % (end["name"], len(links))]
    l = links[0]
    if l["task_id"] != link["task_id"]:
        errors.append("task link: expected task %r, got %r" % (link["task_id"], l["task_id"]))
    if link.get("recursion"):
        if not l.get("recursion"):
            errors.append("task link to %r: expected recursion, got %r" % (l["task_id"], sorted(l)))
        elif "cycle" in link and l.get("cycle") != link["cycle"]:
            errors.append("task link: expected cycle %r, got %r" % (link["cycle"], l.get("cycle")))
    elif "root" in link:
        if not l.get("root"):
            errors.append("task link to %r has no root: %r" % (l["task_id"], l))
        else:
            errors.extend("in the linked task %s: %s" % (l["task_id"], e)
                          for e in tree_errors(l["root"], link["root"], src))
    return errors


# ---- sockets of a process, from /proc (the expected fd of an io leaf)

def _socket_inodes(pid):
    """{inode: fd} of the process's sockets."""
    result = {}
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m:
            result[int(m.group(1))] = int(fd)
    return result


def tcp_fds(pid, local_port=None, remote_port=None, state=None):
    """The process's file descriptors of IPv4/IPv6 TCP sockets with that local
    port, remote port and state ("0A" listen, "01" established)."""
    inodes = _socket_inodes(pid)
    fds = []
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            with open(table) as f:
                rows = f.read().split("\n")[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) < 10:
                continue
            lport = int(cols[1].rsplit(":", 1)[1], 16)
            rport = int(cols[2].rsplit(":", 1)[1], 16)
            inode = int(cols[9])
            if local_port is not None and lport != local_port:
                continue
            if remote_port is not None and rport != remote_port:
                continue
            if state is not None and cols[3] != state:
                continue
            if inode in inodes:
                fds.append(inodes[inode])
    return sorted(fds)


# ---- the text format

def text_sections(text):
    """The text output's task sections, [(header, [body lines])]: a header is an
    unindented "task ...", "local task ..." or "block_on ..." line, its body the
    indented lines after it (the "process ..." and "cycle: ..." lines are not
    sections)."""
    sections = []
    current = None
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line[0] in " \t":
            if current is not None:
                current[1].append(line)
        elif line.startswith(("task ", "local task ", "block_on ")):
            current = (line, [])
            sections.append(current)
        else:
            current = None
    return sections
