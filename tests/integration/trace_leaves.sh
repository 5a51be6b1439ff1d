#!/bin/bash
# Issue 14, leaves with identity (tests/targets/leaves), both profiles: each
# task has the exact chain its source marks and the leaf of its wait, checked
# against what the target printed after READY: the fd of each socket wait
# (accept, read, a copy_bidirectional stalled writing upstream (both of its
# directions, each with its own socket and count) and its feeder,
# a TcpStream::connect that never completes (SYN-SENT: its socket, connecting),
# a FramedRead<_, LinesCodec> read through StreamExt::next (the half line
# its codec holds), a SendAll into a
# FramedWrite whose peer never reads, a UdpSocket recv, a UnixListener accept,
# a UnixStream read, an AsyncFd readable), the socket as the
# kernel saw it (addresses, ports, TCP state, queues), the copy's other fd;
# broadcast recv (a leaf, never a walk into its waiter list), watch changed,
# Barrier, a bounded mpsc send on a full channel, a oneshot's Sender and
# Receiver sharing one channel identity, acquire_owned, JoinSet::join_next, a
# spawn_blocking JoinHandle, interval tick, sleep_until and timeout; the
# futures crate's oneshot, mpsc (through StreamExt::next) and Mutex. The
# documents validate against docs/trace.schema.json; the text says the
# sockets as in the design.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	start_target leaves "$profile"
	sample "$TARGET_PID" "leaves.$profile"
	run_checks "leaves ($profile)" "$profile" "$(target_src leaves)" "$HARNESS_TMP/leaves.$profile" \
		"$TARGET_PID" "$TARGET_OUT" "$top_srcdir/docs/trace.schema.json" <<'PY'
import json
import re
import sys

import jsonschema

import tracecheck as tc

profile, src_dir, base, pid, out_path, schema_path = sys.argv[1:7]
pid = int(pid)
raw = tc.target_info(out_path)
unix_path = raw.pop("UNIX_PATH")[0]
info = {k: int(v[0]) for k, v in raw.items()}
src = tc.Source("leaves", src_dir)
c = tc.Check("leaves (%s, pid %d)" % (profile, pid))
doc = tc.load(base + ".json")
with open(schema_path) as f:
    try:
        jsonschema.validate(doc, json.load(f))
        c.true(True, "")
    except jsonschema.ValidationError as e:
        c.true(False, "the document does not validate against the schema: %s" % e.message)

LO = "127.0.0.1:%d"
connecting_fds = tc.tcp_fds(pid, remote_port=info["CONNECT_PORT"], state="02")
c.eq(1, len(connecting_fds), "one socket of the target in SYN-SENT to CONNECT_PORT")


def io(fd, interest, **extra):
    return dict({"kind": "io", "fd": fd, "interest": interest}, **extra)


LEAVES = {
    "accepts_on_listener": ("accepts_on_listener_awaits_accept", io(info["ACCEPT_FD"], "readable")),
    "reads_tcp": ("reads_tcp_awaits_read_exact", io(info["READ_FD"], "readable")),
    # Both directions wait, each with its own count: inbound -> upstream to
    # write to the stalled upstream (bytes moved), upstream -> inbound to
    # read from it (nothing ever came).
    "proxies_to_stalled_upstream": ("proxies_to_stalled_upstream_awaits_copy", {"branches": [
        {"chain": [], "leaf": io(info["PROXY_UP_FD"], "writable", other_fd=info["PROXY_IN_FD"])},
        {"chain": [], "leaf": io(info["PROXY_UP_FD"], "readable", other_fd=info["PROXY_IN_FD"],
                                 bytes_moved=0)}]}),
    "feeds_proxy": ("feeds_proxy_awaits_write_all", io(info["FEED_FD"], "writable")),
    # The peer sent "no newline yet": 14 bytes the codec holds, no whole line.
    "reads_framed_lines": ("reads_framed_lines_awaits_next", io(info["FRAMED_FD"], "readable", buffered_bytes=14)),
    "sends_all_lines": ("sends_all_lines_awaits_send_all", io(info["SEND_ALL_FD"], "writable")),
    "sends_framed_line": ("sends_framed_line_awaits_send", io(info["SEND_LINE_FD"], "writable")),
    "recvs_udp": ("recvs_udp_awaits_recv", io(info["UDP_FD"], "readable")),
    # SYN sent, never answered: the new socket, waiting to become writable.
    "connects_to_full_listener": ("connects_to_full_listener_awaits_connect",
                                  io(connecting_fds[0] if connecting_fds else None, "writable",
                                     phase="connecting")),
    "accepts_on_unix_listener": ("accepts_on_unix_listener_awaits_accept", io(info["UNIX_LISTENER_FD"], "readable")),
    "reads_unix_stream": ("reads_unix_stream_awaits_read", io(info["UNIX_STREAM_FD"], "readable")),
    "waits_async_fd_readable": ("waits_async_fd_readable_awaits_readable", io(info["ASYNC_FD"], "readable")),
    "recvs_broadcast": ("recvs_broadcast_awaits_recv", "broadcast"),
    "recvs_futures_oneshot": ("recvs_futures_oneshot_awaits_receiver", "oneshot"),
    "nexts_futures_mpsc": ("nexts_futures_mpsc_awaits_next", tc.MPSC_RECV),
    "locks_futures_mutex": ("locks_futures_mutex_awaits_lock", "mutex"),
    "waits_watch_changed": ("waits_watch_changed_awaits_changed", "watch"),
    "waits_on_barrier": ("waits_on_barrier_awaits_wait", "barrier"),
    "sends_on_full_mpsc": ("sends_on_full_mpsc_awaits_send", tc.MPSC_SEND),
    "oneshot_sender_waits_closed": ("oneshot_sender_waits_closed_awaits_closed", "oneshot"),
    "oneshot_receiver_waits": ("oneshot_receiver_waits_awaits_receiver", "oneshot"),
    # Semaphore::new(0): acquire_owned wants one of none.
    "acquires_owned_permit": ("acquires_owned_permit_awaits_acquire_owned",
                              {"kind": "semaphore", "permits_wanted": 1, "permits_available": 0}),
    "joins_next_in_set": ("joins_next_in_set_awaits_join_next", "join_set"),
    "joined_in_set": ("joined_in_set_awaits_sleep", tc.TIMER),
    "awaits_spawn_blocking": ("awaits_spawn_blocking_awaits_handle", {"kind": "task", "blocking": True}),
    "ticks_interval": ("ticks_interval_awaits_tick", tc.TIMER),
    "sleeps_until": ("sleeps_until_awaits_sleep_until", tc.TIMER),
}

tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
c.eq(sorted("leaves::" + fn for fn in list(LEAVES) + ["times_out"]),
     sorted(t["root"]["name"] if t.get("root") else "(none)" for t in tasks), "the tasks' root fns")
c.eq(info["TASKS"], len(tasks), "tasks (TASKS)")
leaf = {}
for fn, (marker, want) in LEAVES.items():
    t = c.one_task(doc, "leaves::" + fn)
    if t:
        c.eq("idle", t["state"], "%s: state" % fn)
        spec = {"chain": [("leaves::" + fn, "suspended", marker)]}
        spec.update(want if isinstance(want, dict) and "branches" in want else {"leaf": want})
        c.check_tree(t, spec, src, "task " + fn)
        leaf[fn] = t.get("blocked_on") or {}
t = c.one_task(doc, "leaves::times_out")
c.check_tree(t, {"chain": [("leaves::times_out", "suspended", "times_out_awaits_timeout")],
                 "fork": re.compile(r"tokio::time::timeout::Timeout<tokio::sync::oneshot::Receiver<u32>>"),
                 "branches": [{"chain": [], "leaf": "oneshot"}, {"chain": [], "leaf": tc.TIMER}]},
             src, "task times_out")


def socket(fn, **want):
    s = leaf.get(fn, {}).get("socket")
    if not c.true(isinstance(s, dict), "%s: no socket on its leaf %r" % (fn, leaf.get(fn))):
        return {}
    for key, value in want.items():
        c.eq(value, s.get(key), "%s: socket %s" % (fn, key))
    return s


socket("accepts_on_listener", family="ipv4", protocol="tcp", local=LO % info["ACCEPT_PORT"], peer=None, origin=None,
       state="LISTEN", rx_queue=0)
# The peer's 5 bytes were taken by read_exact, which waits for 59 more.
socket("reads_tcp", family="ipv4", protocol="tcp", local=LO % info["READ_PORT"],
       peer=LO % info["READ_PEER_PORT"], state="ESTABLISHED", rx_queue=0, origin="accepted")
up = socket("proxies_to_stalled_upstream", protocol="tcp", peer=LO % info["UPSTREAM_PORT"], state="ESTABLISHED",
            origin="connected")
c.true(up.get("tx_queue", 0) > 0, "the proxy's upstream socket has bytes queued to send: %r" % up)
c.true(leaf.get("proxies_to_stalled_upstream", {}).get("bytes_moved", 0) > 0,
       "the proxy has moved bytes: %r" % leaf.get("proxies_to_stalled_upstream"))
feed = socket("feeds_proxy", protocol="tcp", state="ESTABLISHED", origin="connected")
c.true(feed.get("tx_queue", 0) > 0, "the feeder's socket has bytes queued to send: %r" % feed)
socket("reads_framed_lines", protocol="tcp", state="ESTABLISHED", origin="accepted")
sent = socket("sends_all_lines", protocol="tcp", state="ESTABLISHED", origin="accepted")
c.true(sent.get("tx_queue", 0) > 0, "send_all's socket has bytes queued to send: %r" % sent)
line = socket("sends_framed_line", protocol="tcp", state="ESTABLISHED", origin="accepted")
c.true(line.get("tx_queue", 0) > 0, "the Framed's socket has bytes queued to send: %r" % line)
# The line and its newline, less what the socket took: still in the codec's buffer.
unsent = leaf.get("sends_framed_line", {}).get("buffered_bytes")
c.true(isinstance(unsent, int) and 0 < unsent <= (16 << 20) + 1 - line.get("tx_queue", 0),
       "the Framed's write buffer holds the rest of the line: %r" % leaf.get("sends_framed_line"))
socket("connects_to_full_listener", family="ipv4", protocol="tcp", peer=LO % info["CONNECT_PORT"],
       state="SYN_SENT", origin="connected")
socket("recvs_udp", family="ipv4", protocol="udp", local=LO % info["UDP_PORT"], peer=None, state="UNCONNECTED",
       rx_queue=0)
socket("accepts_on_unix_listener", family="unix", protocol="stream", local=unix_path, state="LISTEN")
socket("reads_unix_stream", family="unix", protocol="stream", state="CONNECTED")
socket("waits_async_fd_readable", family="unix", protocol="stream", state="CONNECTED")

# One oneshot: the Sender's task and the Receiver's task wait on the same channel.
tx, rx = leaf.get("oneshot_sender_waits_closed", {}), leaf.get("oneshot_receiver_waits", {})
c.true(tx.get("channel") is not None and tx.get("channel") == rx.get("channel"),
       "the oneshot's Sender and Receiver share a channel: %r, %r" % (tx, rx))
c.eq(tx.get("address"), rx.get("address"), "the oneshot's Sender and Receiver leaves' address")
for fn in ("recvs_broadcast", "waits_watch_changed", "sends_on_full_mpsc", "recvs_futures_oneshot",
           "nexts_futures_mpsc"):
    c.true(leaf.get(fn, {}).get("channel") is not None, "%s: the leaf names its channel: %r" % (fn, leaf.get(fn)))
c.true(leaf.get("awaits_spawn_blocking", {}).get("task_id") is not None,
       "the spawn_blocking handle names its task id: %r" % leaf.get("awaits_spawn_blocking"))


def frames(f):
    yield f
    for ch in f.get("children", []):
        if ch.get("kind") != "task":
            yield from frames(ch)


t = c.one_task(doc, "leaves::recvs_broadcast")
if t:
    names = [f["name"] for f in frames(t["root"])]
    c.eq([], [n for n in names if "Waiter" in n], "broadcast recv: no frame for the waiter list")
for t in tasks:
    for f in frames(t["root"]):
        b = f.get("blocked_on")
        c.true(not b or b["kind"] != "other", "task %s: an 'other' leaf: %s" % (t["id"], f["name"]))

with open(base + ".txt") as f:
    text = f.read()
want = "fd %d readable: tcp %s ← %s ESTABLISHED, 0 B queued" % (
    info["READ_FD"], LO % info["READ_PORT"], LO % info["READ_PEER_PORT"])
c.true(want in text, "the text says %r" % want)
want = "fd %d readable: tcp %s LISTEN" % (info["ACCEPT_FD"], LO % info["ACCEPT_PORT"])
c.true(want in text, "the text says %r" % want)
c.done()
PY
	assert_running "$TARGET_PID" "leaves ($profile) at the end"
	stop_targets
done
finish_checks
