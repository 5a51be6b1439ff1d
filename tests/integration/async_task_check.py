# SPDX-License-Identifier: MIT
"""The checks trace_asyncstd.sh and trace_smol.sh share: the tasks the
asyncstd and smolrt targets (tests/targets) spawn on an async-executor, each
in an async fn named after what it waits on, with the chain and the leaf
their source marks (tracecheck.py)."""

import os
import re

import tracecheck as tc


def leaf_of(task):
    """The blocked_on at the end of a task's single-child path, or None."""
    return tc.follow_path(task["root"])[-1].get("blocked_on") if task.get("root") else None


def thread_named(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    return None


def block_on_of_thread(c, doc, pid, name):
    """The block_on task of the target's thread named `name`, or None (a failure)."""
    tid = thread_named(pid, name)
    return c.block_on(doc, tid) if c.true(tid, "no thread %s" % name) else None


def check_executor_tasks(c, doc, src, target, pid, info, timer_marker):
    """The tasks both targets spawn on their global executor; returns
    {fn: task}. timer_marker: "sleep" (async-std) or "timer" (async-io)."""
    accept_fds = tc.tcp_fds(pid, local_port=int(info["ACCEPT_PORT"][0]), state="0A")
    c.eq(1, len(accept_fds), "the listener on ACCEPT_PORT among the target's fds")
    read_fds = tc.tcp_fds(pid, local_port=int(info["READ_PORT"][0]), state="01")
    c.eq(1, len(read_fds), "the accepted socket on READ_PORT among the target's fds")
    t = target + "::"
    leaves = {
        "sleeps": ("sleeps_awaits_" + timer_marker, tc.TIMER),
        "accepts_on_listener": ("accepts_on_listener_awaits_accept",
                                {"kind": "io", "fd": accept_fds[0] if accept_fds else None,
                                 "interest": "readable"}),
        "reads_tcp": ("reads_tcp_awaits_read",
                      {"kind": "io", "fd": read_fds[0] if read_fds else None, "interest": "readable"}),
        "recvs_channel": ("recvs_channel_awaits_recv", tc.MPMC_RECV),
        "sends_on_full_channel": ("sends_on_full_channel_awaits_send", tc.MPMC_SEND),
        "holds_mutex": ("holds_mutex_awaits_" + timer_marker, tc.TIMER),
        "waits_on_mutex": ("waits_on_mutex_awaits_lock", "mutex"),
        "holds_read_lock": ("holds_read_lock_awaits_" + timer_marker, tc.TIMER),
        "waits_on_rwlock_write": ("waits_on_rwlock_write_awaits_write", "rwlock"),
        # Semaphore::new(0), acquire() wants one.
        "waits_on_semaphore": ("waits_on_semaphore_awaits_acquire",
                               {"kind": "semaphore", "permits_wanted": 1, "permits_available": 0}),
        "waits_on_barrier": ("waits_on_barrier_awaits_wait", "barrier"),
        "waits_on_event": ("waits_on_event_awaits_listen", "notify"),
        "awaited_child": ("awaited_child_awaits_" + timer_marker, tc.TIMER),
    }
    found = {}
    for fn, (marker, leaf) in leaves.items():
        task = c.one_task(doc, t + fn)
        if task:
            found[fn] = task
            c.eq("idle", task["state"], "%s: state" % fn)
            c.eq("async-executor", doc["runtimes"][task["runtime"]]["kind"], "%s: its runtime's kind" % fn)
            c.check_tree(task, {"chain": [(t + fn, "suspended", marker)], "leaf": leaf}, src, "task " + fn)
    nested = c.one_task(doc, t + "nested_outer")
    if nested:
        found["nested_outer"] = nested
        c.check_tree(nested, {"chain": [(t + "nested_outer", "suspended", "nested_outer_awaits_middle"),
                                        (t + "nested_middle", "suspended", "nested_middle_awaits_inner"),
                                        (t + "nested_inner", "suspended", "nested_inner_awaits_" + timer_marker)],
                              "leaf": tc.TIMER}, src, "task nested_outer")
    # The channel's two ends: a Sender and a Receiver of different channels.
    if "recvs_channel" in found and "sends_on_full_channel" in found:
        ends = [leaf_of(found[fn]) for fn in ("recvs_channel", "sends_on_full_channel")]
        c.true(all(e and e.get("channel") for e in ends), "channel leaves name their channel: %r" % ends)
    awaits = c.one_task(doc, t + "awaits_task")
    child = found.get("awaited_child")
    if awaits and child:
        found["awaits_task"] = awaits
        c.check_tree(awaits, {"chain": [(t + "awaits_task", "suspended", "awaits_task_awaits_child")],
                              "leaf": {"kind": "task", "task_id": child["id"]},
                              "link": {"task_id": child["id"], "root": {
                                  "chain": [(t + "awaited_child", "suspended",
                                             "awaited_child_awaits_" + timer_marker)],
                                  "leaf": tc.TIMER}}}, src, "task awaits_task")
    return found
