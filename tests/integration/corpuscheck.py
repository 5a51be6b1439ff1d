# SPDX-License-Identifier: MIT
"""Properties of a trace of a corpus program (tests/corpus): a program nobody
on this project wrote, so no chain is known in advance. What is asserted
comes from the program's source (what it spawns, where main awaits) and from
its observable state (the connections the driver holds open, the sockets in
/proc), never from asyncdump's output:

- every task is there: as many spawned tasks as the program's source spawns
  for the connections and requests it holds (own-* rules: as many tasks of
  the program's own code, any other task one of a known library's, like
  smol's async-process driver);
- every spawned task runs on a runtime of the kind the source spawns on
  (tokio::spawn: tokio; async-std's task::spawn, smol::spawn: async-executor),
  and main's block_on on the one its block_on runs, if any;
- the main future is decoded: a block_on task on the main thread whose
  outermost frame of the program's own code is the program's main (above it
  only a known library's frames: async-std's block_on runs it in a
  LocalExecutor's run), suspended on the line the source says;
- no frame is undecodable, every task has a tree;
- no `other` leaf for a type of the libraries asyncdump knows (tokio, h2,
  hyper, futures...), and no pending path without a leaf;
- every io leaf has an fd, which is a socket of the program; the listening
  socket (or the socket to the peer, or the bound UDP socket) is among them;
  for the own-* rules, every io leaf's fd is a socket on PORT and every
  connection accepted there is one's; an io leaf's connection accepted on
  PORT says so (origin "accepted"), a client's connection to PORT says it
  made it ("connected");
- every frame of the program's own code has a line in its source file;
- the text format lists every task, and no line there runs longer than
  MAX_LINE characters (long generic names are elided).

Usage: python3 corpuscheck.py WHAT JSON TEXT PID SOURCE CRATE RULE MAIN_AWAIT PORT ROLE DRIVER_OUT RUNTIME MAIN_FN

RUNTIME: the runtime kind of the spawned tasks, "/" and main's block_on's
when it differs ("none": smol::block_on is async-io's, which runs no executor:
the document's runtime is null). MAIN_FN: the future main
passes to block_on, under the crate ("main": main's own async block).
"""

import os
import re
import sys

import tracecheck as tc

# Crates whose futures asyncdump must recognise: an `other` leaf of theirs is
# a decoding gap, never an answer.
KNOWN_LIBRARIES = ("tokio", "tokio_util", "tokio_stream", "h2", "hyper", "hyper_util",
                   "http_body_util", "futures_util", "futures_core", "futures_channel",
                   "futures", "tower", "tracing", "core", "std", "alloc",
                   "async_std", "smol", "async_io", "async_executor", "async_task",
                   "async_global_executor", "async_channel", "async_lock", "event_listener",
                   "futures_lite", "async_process", "async_net", "blocking", "polling")
ASYNC_KINDS = tc.ASYNC_KINDS
MAX_LINE = 400


def walk(frame, path=()):
    """(frame, path of ancestors) for every frame of a tree, task links skipped
    (each linked task is checked as a task of its own)."""
    stack = [(frame, path)]
    while stack:
        f, p = stack.pop()
        if tc.is_link(f):
            continue
        yield f, p
        for c in reversed(f.get("children", [])):
            stack.append((c, p + (f,)))
        for c in reversed(f.get("locals", []) or []):
            stack.append((c, p + (f,)))


def crate_of(type_name):
    """"tokio" for "tokio::net::...", "h2" for "<h2::proto::...>", None for "()"."""
    m = re.match(r"[<&*\s(]*(?:mut\s+|const\s+|dyn\s+)*([A-Za-z_][A-Za-z0-9_]*)::", type_name or "")
    return m.group(1) if m else None


def shower(crate):
    """A tracecheck.Source that only shows locations (for tc.show_tree)."""
    src = tc.Source.__new__(tc.Source)
    src.crate = crate
    return src


def udp_fds(pid, local_port):
    """The process's fds of IPv4/IPv6 UDP sockets bound to local_port."""
    inodes = tc._socket_inodes(pid)
    fds = []
    for table in ("udp", "udp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                rows = f.read().split("\n")[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and int(cols[1].rsplit(":", 1)[1], 16) == local_port and int(cols[9]) in inodes:
                fds.append(inodes[int(cols[9])])
    return sorted(fds)


def own_outermost(root, crate):
    """(the first frame of the program's own code, outermost first, and its
    ancestors), or (None, ())."""
    for f, path in walk(root):
        if (f.get("name") or "").startswith(crate + "::"):
            return f, path
    return None, ()


def socket_fds(pid):
    fds = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:["):
                fds.add(int(fd))
        except OSError:
            pass
    return fds


def source_line(path, needle):
    """The one line of the program's source containing `needle`."""
    with open(path) as f:
        found = [n for n, text in enumerate(f.read().split("\n"), 1) if needle in text]
    if len(found) != 1:
        raise SystemExit("corpuscheck: %r occurs on %d lines of %s" % (needle, len(found), path))
    return found[0]


def expected_tasks(rule, connections, requests, peers):
    """(how to compare, count) for the spawned tasks, from what the source spawns."""
    if rule == "per-connection-and-request":  # one task per accepted connection, one per request
        return "==", connections + requests
    if rule == "per-connection":              # one task per accepted connection
        return "==", connections
    if rule == "one":                         # one spawn, at the start
        return "==", 1
    if rule == "at-least-per-connection":     # a library's connection tasks
        return ">=", connections
    if rule == "own-per-connection":          # one task of its own per accepted connection
        return "==", connections
    if rule == "own-none":                    # spawns nothing
        return "==", 0
    if rule == "own-chat":                    # a-chat: its broker, a reader per connection, a writer per peer
        return "==", 1 + connections + peers
    raise SystemExit("corpuscheck: no rule %s" % rule)


def main(argv):
    (what, json_path, text_path, pid, source, crate, rule, main_await, port, role,
     driver_out, runtime, main_fn) = argv[1:14]
    task_runtime, main_runtime = (runtime.split("/") + [runtime])[:2]
    pid, port = int(pid), int(port)
    source = os.path.realpath(source)
    c = tc.Check(what)
    doc = tc.load(json_path)
    with open(text_path) as f:
        text = f.read()
    info = tc.target_info(driver_out)
    connections = int(info["CONNECTIONS"][0])
    requests = int(info["REQUESTS"][0])

    tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
    peers = int(info.get("PEERS", [0])[0])
    op, want = expected_tasks(rule, connections, requests, peers)
    counted = tasks
    if rule.startswith("own-"):
        counted = [t for t in tasks if ((t.get("root") or {}).get("name") or "").startswith(crate + "::")]
        for t in tasks:
            if t not in counted:
                lib = crate_of((t.get("root") or {}).get("name"))
                c.true(lib in KNOWN_LIBRARIES, "task %s: its root %r is neither the program's nor a known library's"
                       % (t.get("id"), (t.get("root") or {}).get("name")))
    c.true(len(counted) == want if op == "==" else len(counted) >= want,
           "spawned tasks: expected %s %d (%d connections, %d requests held), got %d: %s"
           % (op, want, connections, requests, len(counted), tc.summary(doc)))
    for t in tasks:
        rt = t.get("runtime")
        kind = doc["runtimes"][rt]["kind"] if isinstance(rt, int) else None
        c.eq(task_runtime, kind, "task %s: its runtime's kind" % t.get("id"))
    # Spawn order: a runtime's tasks by ascending id, whatever order its list keeps.
    pairs = zip(doc["tasks"], doc["tasks"][1:])
    unordered = [(a["id"], b["id"]) for a, b in pairs if a["kind"] == b["kind"] and
                 a.get("runtime") == b.get("runtime") and isinstance(a.get("id"), int) and
                 isinstance(b.get("id"), int) and a["id"] >= b["id"]]
    c.eq([], unordered[:5], "tasks of one runtime listed out of id order")

    # The main future.
    mains = [t for t in doc["tasks"] if t["kind"] == "block_on" and (t.get("thread") or {}).get("tid") == pid]
    if c.true(len(mains) == 1, "expected one block_on task on the main thread %d, got %d: %s"
              % (pid, len(mains), tc.summary(doc))):
        main = mains[0]
        root = main.get("root")
        rt = main.get("runtime")
        if main_runtime == "none":
            c.eq(None, rt, "main's block_on runs no runtime")
        else:
            c.eq(main_runtime, doc["runtimes"][rt]["kind"] if isinstance(rt, int) else None,
                 "main's block_on: its runtime's kind")
        if c.true(root is not None, "main's block_on: no root decoded (note: %r)" % main.get("note")):
            own, above = own_outermost(root, crate)
            c.true(own is not None and own["name"].startswith(crate + "::" + main_fn),
                   "main's block_on: its outermost frame of the program's own code, %r, is not %s::%s's future"
                   % (own and own["name"], crate, main_fn))
            c.true(all(crate_of(a["name"]) in KNOWN_LIBRARIES for a in above),
                   "main's block_on: above main's future, a frame of no known library: %s"
                   % [a["name"] for a in above])
            if main_await:
                line = source_line(source, main_await)
                here = [f for f, _ in walk(root) if f.get("kind") in ASYNC_KINDS and f["state"] == "suspended"
                        and (f.get("location") or {}).get("line") == line
                        and os.path.realpath((f.get("location") or {}).get("file") or "") == source]
                c.true(here, "main's block_on: no frame suspended at %s:%d (`%s`); its tree:\n%s"
                       % (os.path.basename(source), line, main_await,
                          tc.show_tree(root, shower(crate), 1)))

    # A nested async block is named by its full path, never like its parent:
    # no spawned task's root is named like main's block.
    main_root = ((mains[0].get("root") or {}).get("name") if len(mains) == 1 else None)
    for t in tasks:
        root_name = (t.get("root") or {}).get("name")
        c.true(not main_root or root_name != main_root,
               "task %s: its root is named %r like main's block_on future" % (t.get("id"), root_name))

    # Every tree, frame by frame.
    sockets = socket_fds(pid)
    io_fds = set()
    io_sockets = {}
    for t in doc["tasks"]:
        who = "task %s (%s)" % (t.get("id"), t["kind"])
        root = t.get("root")
        if not c.true(root is not None, "%s: no tree (note: %r)" % (who, t.get("note"))):
            continue
        for f, path in walk(root):
            name, kind = f.get("name") or "?", f.get("kind")
            where = "%s: %s" % (who, name[:200])
            c.true(not f.get("error"), "%s: undecodable: %s" % (where, f.get("error")))
            b = f.get("blocked_on")
            frame_children = [x for x in f.get("children", []) if not tc.is_link(x)]
            links = [x for x in f.get("children", []) if tc.is_link(x)]
            if b and b.get("kind") == "other":
                lib = crate_of(f.get("type"))
                c.true(lib not in KNOWN_LIBRARIES and lib != crate,
                       "%s: an `other` leaf for %s's type %s" % (where, lib, (f.get("type") or "")[:300]))
            if f["state"] in ("pending", "suspended") and not frame_children and not links \
                    and not f.get("not_polled"):
                c.true(b is not None, "%s: pending (%s) with no leaf: what does it wait on? type %s"
                       % (where, f["state"], (f.get("type") or "")[:300]))
            if b and b.get("kind") == "io":
                fd = b.get("fd")
                if c.true(isinstance(fd, int) and fd >= 0, "%s: an io leaf without an fd: %r" % (where, b)):
                    io_fds.add(fd)
                    io_sockets[fd] = b.get("socket") or {}
                    c.true(fd in sockets, "%s: io leaf fd %d is not a socket of process %d (its sockets: %s)"
                           % (where, fd, pid, sorted(sockets)))
            if kind in ASYNC_KINDS and name.startswith(crate + "::"):
                loc = f.get("location") or {}
                c.true(os.path.realpath(loc.get("file") or "") == source and (loc.get("line") or 0) > 0,
                       "%s: a frame of the program's own code without a line in %s: %r"
                       % (where, os.path.basename(source), loc))
            c.true(len(name) <= MAX_LINE, "%s: a name of %d characters (not elided)" % (where, len(name)))

    # The sockets the program must be waiting on.
    if role == "server":
        listening = tc.tcp_fds(pid, local_port=port, state="0A")
        c.eq(1, len(listening), "the listening socket on port %d among the program's fds" % port)
        c.true(set(listening) <= io_fds, "the listening socket %s is no io leaf's fd (io leaves: %s)"
               % (listening, sorted(io_fds)))
        if rule.startswith("own-"):
            accepted = tc.tcp_fds(pid, local_port=port, state="01")
            c.eq(connections, len(accepted), "connections accepted on port %d among the program's fds" % port)
            c.true(set(accepted) <= io_fds, "accepted connections %s that no io leaf waits on (io leaves: %s)"
                   % (accepted, sorted(io_fds)))
            c.true(io_fds <= set(listening) | set(accepted), "io leaves on fds %s, not the program's sockets on port %d"
                   % (sorted(io_fds - set(listening) - set(accepted)), port))
        # A connection made to the program's port was accepted, not made.
        for fd in sorted(set(tc.tcp_fds(pid, local_port=port, state="01")) & io_fds):
            c.eq("accepted", io_sockets[fd].get("origin"), "the origin of fd %d, accepted on port %d: %r"
                 % (fd, port, io_sockets[fd]))
    elif role == "udp-server":
        bound = udp_fds(pid, port)
        c.eq(1, len(bound), "the UDP socket bound to port %d among the program's fds" % port)
        c.true(bound and io_fds == set(bound), "io leaves on fds %s, expected exactly the UDP socket %s"
               % (sorted(io_fds), bound))
    else:
        peers = tc.tcp_fds(pid, remote_port=port, state="01")
        c.true(len(peers) >= 1, "no connection to port %d among the program's fds" % port)
        c.true(set(peers) & io_fds, "no io leaf on the connection(s) %s to port %d (io leaves: %s)"
               % (peers, port, sorted(io_fds)))
        for fd in sorted(set(peers) & io_fds):
            c.eq("connected", io_sockets[fd].get("origin"), "the origin of fd %d, the program's connection "
                 "to port %d: %r" % (fd, port, io_sockets[fd]))

    # The text format.
    sections = tc.text_sections(text)
    c.eq(len(doc["tasks"]), len(sections), "task sections in the text format")
    c.true("[undecodable" not in text, "the text format has an undecodable frame")
    long_lines = [l for l in text.split("\n") if len(l) > MAX_LINE]
    c.true(not long_lines, "%d text lines longer than %d characters, e.g. %s"
           % (len(long_lines), MAX_LINE, long_lines[0][:300] + "…" if long_lines else ""))
    c.done()


if __name__ == "__main__":
    main(sys.argv)
