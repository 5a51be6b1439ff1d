"""Sampling one benchtarget process: asyncdumpd (cold and warm), gdb and
eu-stack, each with the pause the target's probe felt, in rounds whose order
rotates so that no tool always runs first after a quiet spell."""
import json
import re
import socket
import statistics
import time

from .perfprofile import profile_daemon
from .probe import Probe
from .procs import BenchError, Daemon, Target, monotonic_ns, run_timed

TOOLS = ("asyncdump", "gdb", "eu-stack")
# With --baseline-build-dir: the same measurements of another build's
# asyncdumpd (the old path, issue 18), in the same rotation.
BASELINE = "asyncdump-baseline"
TOOL_TIMEOUT_S = 900
FRAMES = ("frame_one", "frame_two", "frame_three")
# The marker of the line each frame is suspended at (tests/targets/README.md).
FRAME_MARKERS = {"frame_one": "frame_one_awaits_frame_two",
                 "frame_two": "frame_two_awaits_frame_three",
                 "frame_three": "frame_three_awaits_sleep"}
FULL_CHECK_MAX_BYTES = 32 << 20  # parse smaller documents whole; count names in larger


class _ReceiveBuffer:
    """Where responses are received: kept between requests, so that its pages
    are faulted in once and the clock measures the daemon, not the client's
    allocator (http.client's chunked reading allocated and joined per chunk:
    a first warm request of 10,000 tasks after a cold one took 150-190 ms
    through it while curl took 50-60 ms and the daemon's CPU time was 40-60 ms)."""

    def __init__(self):
        self.buf = bytearray(1 << 20)

    def receive(self, sock):
        """Everything until the peer closes; returns the length."""
        got = 0
        while True:
            if got == len(self.buf):
                self.buf.extend(bytes(len(self.buf)))
            n = sock.recv_into(memoryview(self.buf)[got:])
            if n == 0:
                return got
            got += n


_RECEIVE = _ReceiveBuffer()


def _parse_response(raw):
    """(status, body) of one HTTP/1.1 response, its body de-chunked."""
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        raise BenchError(f"no end of headers in the response: {bytes(raw[:300])!r}")
    lines = bytes(raw[:head_end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    body = raw[head_end + 4:]
    if headers.get("transfer-encoding", "").lower() != "chunked":
        return status, bytes(body)
    parts, at = [], 0
    while True:
        line_end = body.find(b"\r\n", at)
        if line_end < 0:
            raise BenchError("a chunked response ends inside a chunk header")
        size = int(bytes(body[at:line_end]).split(b";")[0], 16)
        if size == 0:
            return status, b"".join(parts)
        start = line_end + 2
        if start + size > len(body):
            raise BenchError("a chunked response ends inside a chunk")
        parts.append(memoryview(body)[start:start + size])
        at = start + size + 2


def http_get(port, path, timeout=TOOL_TIMEOUT_S):
    """One request on a new connection, as a client would, timed from the
    connect to the last byte: (seconds, status, body). The response is read
    raw into a buffer kept between requests and parsed after the clock
    stops (see _ReceiveBuffer)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Connection: close\r\n\r\n").encode()
    start = monotonic_ns()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        length = _RECEIVE.receive(sock)
    seconds = (monotonic_ns() - start) / 1e9
    return (seconds,) + _parse_response(bytes(memoryview(_RECEIVE.buf)[:length]))


def marker_lines(source_path):
    """NAME → line of every `// @mark NAME` in a target's source."""
    marks = {}
    with open(source_path) as f:
        for number, line in enumerate(f, 1):
            found = re.search(r"// @mark ([A-Za-z0-9_]+)\s*$", line)
            if found:
                marks[found.group(1)] = number
    return marks


def check_trace(body, tasks, marks):
    """The trace of a benchtarget holds its `tasks` tasks, each frame_one →
    frame_two → frame_three suspended at the marked lines; returns pause_us."""
    pause = re.search(rb'"pause_us":\s*(\d+)', body)
    if not pause:
        raise BenchError(f"no pause_us in the trace: {body[:300]!r}")
    for frame in FRAMES:
        found = len(re.findall(rb'"name":\s*"benchtarget::' + frame.encode() + rb'"', body))
        if found != tasks:
            raise BenchError(f"the trace has {found} frames benchtarget::{frame}, "
                             f"expected {tasks} (one per task)")
    if len(body) <= FULL_CHECK_MAX_BYTES:
        for task in json.loads(body)["tasks"]:
            frame = task["root"]
            if not frame or frame["name"] != "benchtarget::frame_one":
                continue
            for name in FRAMES:
                line = marks[FRAME_MARKERS[name]]
                if not frame or frame["name"] != "benchtarget::" + name or \
                        (frame.get("location") or {}).get("line") != line:
                    raise BenchError(f"task {task['id']}: expected benchtarget::{name} suspended "
                                     f"at line {line}, got {json.dumps(frame)[:300]}")
                frame = frame["children"][0] if frame["children"] else None
    return int(pause.group(1))


def check_text(body, tasks, marks):
    """The text format of the same trace: each of the `tasks` tasks' frames
    on its own line, suspended at the marked line."""
    for frame in FRAMES:
        line = marks[FRAME_MARKERS[frame]]
        found = len(re.findall(rb"benchtarget::" + frame.encode() + rb"\(\) suspended at "
                               rb"\S*main\.rs:" + str(line).encode() + rb"\b", body))
        if found != tasks:
            raise BenchError(f"the text has {found} lines of benchtarget::{frame} at line {line}, "
                             f"expected {tasks} (one per task)")


class TargetSession:
    """One benchtarget process and the tools measured against it."""

    def __init__(self, ctx, profile, tasks):
        self.ctx = ctx
        self.tasks = tasks
        self.marks = marker_lines(ctx.source("benchtarget"))
        log = ctx.work_file(f"benchtarget-{profile}-{tasks}.log")
        self.target = Target([ctx.target_bin("benchtarget", profile), "--tasks", str(tasks)],
                             ["TASKS", "PROBE_PORT", "PROBE_PERIOD_US", "PROBE_SCHED",
                              "PROBE_NORMAL_PORT"], log)
        if int(self.target.info["TASKS"]) != tasks:
            raise BenchError(f"benchtarget reports TASKS {self.target.info['TASKS']}, "
                             f"asked for {tasks}")
        self.probe = Probe(int(self.target.info["PROBE_PORT"]))
        self.normal_probe = Probe(int(self.target.info["PROBE_NORMAL_PORT"]))
        self.threads = self.target.thread_count()

    def close(self):
        self.probe.close()
        self.normal_probe.close()
        self.target.close()

    def _felt(self, action):
        """Runs action() between probe resets and reads: (its result, max gap µs
        of the real-time probe, of the normal-priority probe)."""
        self.probe.reset()
        self.normal_probe.reset()
        result = action()
        gap = self.probe.read()
        normal = self.normal_probe.read()
        if not self.target.alive():
            raise BenchError(f"benchtarget ({self.tasks} tasks) died during a measurement")
        return result, gap["max_gap_us"], normal["max_gap_us"]

    def sample(self, daemon):
        (wall, status, body), felt, felt_normal = self._felt(
            lambda: http_get(daemon.port, f"/pids/{self.target.pid}/tasks"))
        if status != 200:
            raise BenchError(f"asyncdumpd answered {status} for {self.tasks} tasks: {body[:500]!r}")
        pause = check_trace(body, self.tasks, self.marks)
        return {"wall_s": wall, "felt_us": felt, "felt_normal_us": felt_normal, "pause_us": pause,
                "bytes": len(body)}

    def sample_text(self, daemon):
        """A warm request for the text format (after the JSON ones: it does not
        count in the daemon's peak RSS above)."""
        wall, status, body = http_get(daemon.port, f"/pids/{self.target.pid}/tasks?format=text")
        if status != 200:
            raise BenchError(f"asyncdumpd answered {status} for text, {self.tasks} tasks: {body[:500]!r}")
        check_text(body, self.tasks, self.marks)
        return {"wall_s": wall, "bytes": len(body)}

    def measure_asyncdump(self, path=None):
        """A fresh daemon: its first sample (cold: the debuginfo index is built),
        then a warm one; the daemon's peak RSS and the warm sample's CPU time;
        then a warm text request."""
        daemon = Daemon(path or self.ctx.asyncdumpd, self.ctx.web_root,
                        self.ctx.work_file("asyncdumpd.log"))
        try:
            cold = self.sample(daemon)
            cpu_before = daemon.cpu_seconds()
            warm = self.sample(daemon)
            warm["cpu_s"] = daemon.cpu_seconds() - cpu_before
            peak = daemon.peak_rss_kb()
            text = self.sample_text(daemon)
        finally:
            daemon.close()
        return {"cold": cold, "warm": warm, "peak_rss_kb": peak, "warm_text": text}

    def _tool(self, argv, line_pattern, name):
        (wall, status, out), felt, felt_normal = self._felt(lambda: run_timed(argv, TOOL_TIMEOUT_S))
        shown = len(re.findall(line_pattern, out, re.M))
        if status != 0 or shown != self.threads:
            raise BenchError(f"{name} exited {status} and showed {shown} of {self.threads} "
                             f"threads: {' '.join(argv)}")
        return {"wall_s": wall, "felt_us": felt, "felt_normal_us": felt_normal}

    def measure_gdb(self):
        return self._tool(["gdb", "-p", str(self.target.pid), "-batch", "-ex", "thread apply all bt"],
                          rb"^Thread \d+ \(", "gdb")

    def measure_eu_stack(self):
        return self._tool(["eu-stack", "-p", str(self.target.pid)], rb"^TID \d+:", "eu-stack")

    def measure_idle(self, seconds):
        """The largest gap with nobody stopping the target: the noise floor."""
        _, felt, felt_normal = self._felt(lambda: time.sleep(seconds))
        return felt, felt_normal

    def round(self, index):
        measures = {"asyncdump": self.measure_asyncdump, "gdb": self.measure_gdb,
                    "eu-stack": self.measure_eu_stack}
        tools = TOOLS
        if self.ctx.baseline_asyncdumpd:
            measures[BASELINE] = lambda: self.measure_asyncdump(self.ctx.baseline_asyncdumpd)
            tools = TOOLS + (BASELINE,)
        order = tools[index % len(tools):] + tools[:index % len(tools)]
        result = {tool: measures[tool]() for tool in order}
        result["idle_us"], result["idle_normal_us"] = self.measure_idle(
            max(0.1, result["asyncdump"]["warm"]["wall_s"]))
        return result


def measure_target(ctx, profile, tasks, runs, perf_requests):
    """The rounds on one benchtarget; perf_requests > 0 adds a profile of
    asyncdumpd over that many warm samples."""
    session = TargetSession(ctx, profile, tasks)
    try:
        rounds = []
        for index in range(runs):
            rounds.append(session.round(index))
            ctx.progress(f"{profile} N={tasks} round {index + 1}/{runs}: "
                         f"asyncdump felt {rounds[-1]['asyncdump']['warm']['felt_us']} µs, "
                         f"gdb felt {rounds[-1]['gdb']['felt_us']} µs")
        result = {"profile": profile, "tasks": tasks, "threads": session.threads,
                  "probe_sched": session.target.info["PROBE_SCHED"],
                  "probe_period_us": int(session.target.info["PROBE_PERIOD_US"]),
                  "rounds": rounds}
        if perf_requests:
            expected_s = statistics.median(r["asyncdump"]["warm"]["wall_s"] for r in rounds)
            result["perf"] = profile_daemon(session, perf_requests, expected_s,
                                            ctx.work_file(f"perf-{profile}-{tasks}.data"))
        return result
    finally:
        session.close()


def measure_cold_demo(ctx, runs):
    """The example program's release binary: first sample of a fresh asyncdumpd
    (the debuginfo index included), and the CLI's wall time (always cold)."""
    target = Target([ctx.target_bin("demo", "release")], [], ctx.work_file("demo.log"))
    try:
        results = []
        for _ in range(runs):
            daemon = Daemon(ctx.asyncdumpd, ctx.web_root, ctx.work_file("asyncdumpd.log"))
            try:
                wall, status, body = http_get(daemon.port, f"/pids/{target.pid}/tasks")
            finally:
                daemon.close()
            if status != 200 or b'"demo::foo"' not in body:
                raise BenchError(f"asyncdumpd answered {status} for demo without demo::foo: "
                                 f"{body[:300]!r}")
            cli_wall, cli_status, text = run_timed([ctx.asyncdump, str(target.pid)], TOOL_TIMEOUT_S)
            if cli_status != 0 or b"demo::foo" not in text:
                raise BenchError(f"asyncdump {target.pid} exited {cli_status} without demo::foo")
            results.append({"daemon_first_s": wall, "cli_s": cli_wall})
        return results
    finally:
        target.close()


# Issue 18: the first capture of a process with many threads against a warm
# one. tokio's multi_thread runtime takes its worker count from the
# environment: 62 workers, main and the probe threads make 64 or more.
MANY_WORKERS = 62
THREADS_TASKS = 1000
THREADS_WARM_REQUESTS = 3


def measure_threads(ctx, runs):
    """A fresh asyncdumpd per round whose debuginfo index is already built
    (a first request to another benchtarget of the same binary): then the
    first request to a benchtarget with 64 threads (its unwinder is built,
    every thread unwound) and warm requests to it."""
    binary = ctx.target_bin("benchtarget", "release")
    keys = ["TASKS", "PROBE_PORT"]
    other = Target([binary, "--tasks", "100"], keys, ctx.work_file("threads-other.log"))
    try:
        results = []
        for index in range(runs):
            target = Target([binary, "--tasks", str(THREADS_TASKS)], keys,
                            ctx.work_file(f"threads-{index}.log"),
                            extra_env={"TOKIO_WORKER_THREADS": str(MANY_WORKERS)})
            daemon = Daemon(ctx.asyncdumpd, ctx.web_root, ctx.work_file("asyncdumpd-threads.log"))
            try:
                threads = target.thread_count()
                if threads < MANY_WORKERS + 2:
                    raise BenchError(f"benchtarget with TOKIO_WORKER_THREADS={MANY_WORKERS} has "
                                     f"{threads} threads")
                _, status, _ = http_get(daemon.port, f"/pids/{other.pid}/tasks")
                if status != 200:
                    raise BenchError(f"asyncdumpd answered {status} for the index-building request")
                walls = []
                for _ in range(1 + THREADS_WARM_REQUESTS):
                    wall, status, body = http_get(daemon.port, f"/pids/{target.pid}/tasks")
                    if status != 200 or len(re.findall(rb'"name":\s*"benchtarget::frame_three"',
                                                       body)) != THREADS_TASKS:
                        raise BenchError(f"asyncdumpd answered {status} for the 64-thread benchtarget "
                                         f"without its {THREADS_TASKS} tasks: {body[:300]!r}")
                    walls.append(wall)
                results.append({"threads": threads, "first_s": walls[0],
                                "warm_s": statistics.median(walls[1:])})
            finally:
                daemon.close()
                target.close()
        return results
    finally:
        other.close()
