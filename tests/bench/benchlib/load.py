"""The cost of sampling to a loaded service: benchserver under wrk on
loopback, sampled once per second or not, in three arms:

- watch: a second asyncdumpd samples the server on its own through its watch
  list (--watch pid=PID --sample-interval 1s), as a fleet runs it: capture,
  decode, progress tracking and Prometheus metrics, no JSON rendered;
- nostop: the same with --sample-stop no: read while the server runs
  (issue 18), never stopping it;
- http: a client asks the (always running) asyncdumpd for GET /pids/PID/tasks
  every second, the whole JSON document each time.

Each arm runs off/on pairs, alternating off/on, on/off, and the arms' pairs
interleave, so that a drift in the machine's load hits all alike. Then, under
the same load, what sampling without a stop reads: GET ?stop=0 once per
second, each document's idle tasks compared with a stopped sample's."""
import json
import re
import subprocess
import threading
import time

from .procs import BenchError, Daemon, Target, spawn, stop
from .sampling import http_get

ARMS = ("watch", "nostop", "http")
WATCH_ARMS = ("watch", "nostop")
SAMPLE_PERIOD_S = 1.0
# The daemon wants stuck_threshold >= sample_interval. Its default (60 s) is
# longer than a watcher lives here: no idle task becomes "stuck" in a run.
STUCK_THRESHOLD_S = 60
WATCH_FIRST_SAMPLE_TIMEOUT_S = 60
WRK_THREADS = 2
WRK_CONNECTIONS = 32
UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(text):
    """Requests per second, p50 and p99 latency (ms) and the error count of
    `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", text, re.M))
    if not rps or set(latency) != {"50", "99"}:
        raise BenchError(f"cannot read wrk's output:\n{text}")

    def ms(value):
        number, unit = re.match(r"([\d.]+)(us|ms|s)$", value).groups()
        return float(number) * UNIT_MS[unit]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    return {"rps": float(rps.group(1)), "p50_ms": ms(latency["50"]), "p99_ms": ms(latency["99"]),
            "errors": errors}


class Sampler(threading.Thread):
    """GET /pids/PID/tasks once per SAMPLE_PERIOD_S until stopped."""

    def __init__(self, daemon, pid, idle_tasks):
        super().__init__(daemon=True)
        self.daemon_port = daemon.port
        self.path = f"/pids/{pid}/tasks"
        self.idle_tasks = idle_tasks
        self.done = threading.Event()
        self.pauses_us = []
        self.walls_s = []
        self.failure = None

    def run(self):
        next_at = time.monotonic() + SAMPLE_PERIOD_S / 2
        try:
            while not self.done.wait(max(0.0, next_at - time.monotonic())):
                wall, status, body = http_get(self.daemon_port, self.path)
                pause = re.search(rb'"pause_us":\s*(\d+)', body[:4096])
                if status != 200 or not pause:
                    raise BenchError(f"sampling benchserver: status {status}: {body[:300]!r}")
                # Checked once per run: the sampler must not load the machine itself.
                if not self.pauses_us:
                    self.check_complete(body)
                self.pauses_us.append(int(pause.group(1)))
                self.walls_s.append(wall)
                # A sample slower than the period delays the next, never piles up.
                next_at = max(next_at + SAMPLE_PERIOD_S, time.monotonic())
        except Exception as error:  # reported by the main thread
            self.failure = error

    def check_complete(self, body):
        idle = len(re.findall(rb'"name":\s*"benchserver::idle_background_task"', body))
        if idle != self.idle_tasks:
            raise BenchError(f"sampling benchserver: {idle} of {self.idle_tasks} idle tasks in the trace")


def watch_flags(pid, stop=True):
    return ["--watch", f"pid={pid}", "--sample-interval", f"{SAMPLE_PERIOD_S:g}s",
            "--stuck-threshold", f"{STUCK_THRESHOLD_S}s", "--log-level", "info"] + \
        ([] if stop else ["--sample-stop", "no"])


class Watcher:
    """A second asyncdumpd that samples the server itself once per
    SAMPLE_PERIOD_S through its watch list. Its first (cold) sample, which
    builds the debuginfo index, is taken before the measured run starts. The
    samples are read from its log (`sample pid=... pause_us=...` at info) and
    checked against the pause histogram /metrics has for the pid."""

    SAMPLE = re.compile(r"^\S+ \w+ sample pid=(\d+) locals=\d(?: stop=(\d))? outcome=(\S+)"
                        r"(?: pause_us=(\d+) tasks=(\d+))?(?: reread=(\d+) inconsistent=(\d+))?"
                        r" duration_ms=([\d.]+)")

    def __init__(self, ctx, pid, log_name, idle_tasks, stop=True):
        self.pid = pid
        self.idle_tasks = idle_tasks
        self.offset = 0
        self.stop = stop
        self.reads = []  # (tasks, reread, inconsistent) of each sample without a stop
        self.flags = watch_flags(pid, stop)
        self.daemon = Daemon(ctx.asyncdumpd, ctx.web_root, ctx.work_file(log_name), self.flags)
        try:
            self._wait_first_sample()
        except BaseException:
            self.daemon.close()
            raise

    def _wait_first_sample(self):
        deadline = time.monotonic() + WATCH_FIRST_SAMPLE_TIMEOUT_S
        while not self.new_samples():
            if time.monotonic() > deadline or self.daemon.proc.poll() is not None:
                raise BenchError(f"asyncdumpd {' '.join(self.flags)} took no sample of benchserver "
                                 f"in {WATCH_FIRST_SAMPLE_TIMEOUT_S} s (log: {self.daemon.log_path})")
            time.sleep(0.02)

    def new_samples(self):
        """The samples logged since the last call: [(pause_us, tasks, duration_s)]."""
        with open(self.daemon.log_path, "rb") as f:
            f.seek(self.offset)
            text = f.read()
        complete = text[:text.rfind(b"\n") + 1]  # a line being written waits for the next call
        self.offset += len(complete)
        samples = []
        for line in complete.decode(errors="replace").splitlines():
            found = self.SAMPLE.match(line)
            if not found:
                continue
            pid, stop, outcome, pause_us, tasks, reread, inconsistent, duration_ms = found.groups()
            if int(pid) != self.pid or outcome != "ok":
                raise BenchError(f"asyncdumpd's watch list: {line}")
            if int(tasks) < self.idle_tasks:
                raise BenchError(f"asyncdumpd's watch list: {tasks} tasks, fewer than the server's "
                                 f"{self.idle_tasks} idle ones: {line}")
            if (stop == "0") == self.stop:
                raise BenchError(f"asyncdumpd's watch list sampled with stop={stop}: {line}")
            if stop == "0":
                self.reads.append((int(tasks), int(reread), int(inconsistent)))
            samples.append((int(pause_us), int(tasks), float(duration_ms) / 1e3))
        return samples

    def pause_histogram(self):
        """(count, sum in seconds) of asyncdump_target_pause_seconds for the
        pid; without a stop nothing is paused: the count of samples is
        asyncdump_target_sample_duration_seconds', the sum 0."""
        _, status, body = http_get(self.daemon.port, "/metrics")
        text = body.decode(errors="replace")
        if status != 200:
            raise BenchError(f"asyncdumpd /metrics: status {status}: {text[:300]}")
        found = {}
        histogram = "pause_seconds" if self.stop else "sample_duration_seconds"
        for name, value in re.findall(r'^asyncdump_target_' + histogram + r'_(count|sum)\{[^}]*\bpid="'
                                      + str(self.pid) + r'"[^}]*\} (\S+)$', text, re.M):
            found[name] = float(value)
        if set(found) != {"count", "sum"}:
            raise BenchError(f"asyncdumpd /metrics has no asyncdump_target_{histogram} for pid {self.pid}")
        if not self.stop:
            found["sum"] = 0.0
        errors = re.findall(r'^asyncdump_target_sample_errors_total\{[^}]*\bpid="' + str(self.pid)
                            + r'"[^}]*\} (\S+)$', text, re.M)
        if any(float(n) for n in errors):
            raise BenchError(f"asyncdumpd's watch list failed to sample pid {self.pid}: see /metrics")
        return found["count"], found["sum"]

    def close(self):
        self.daemon.close()


def run_wrk(url, seconds):
    return spawn(["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", url],
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def one_run(server, daemon, url, seconds, sampling, idle_tasks, arm="http", watcher=None):
    """One wrk run. Sampling in the http arm: a client thread of ours asks
    `daemon`; in the watch arm: `watcher`, started by the caller."""
    busy = watcher.daemon if watcher else daemon  # whose CPU time sampling costs
    if watcher:
        watcher.new_samples()  # those before the run
        histogram_before = watcher.pause_histogram()
    cpu_before = busy.cpu_seconds()
    started = time.monotonic()
    wrk = run_wrk(url, seconds)
    sampler = Sampler(daemon, server.pid, idle_tasks) if sampling and arm == "http" else None
    if sampler:
        sampler.start()
    try:
        out, _ = wrk.communicate(timeout=seconds + 60)
    finally:
        if sampler:
            sampler.done.set()
            sampler.join()
        stop(wrk)
    cpu_s = busy.cpu_seconds() - cpu_before
    window_s = time.monotonic() - started
    if sampler and sampler.failure:
        raise sampler.failure
    if not server.alive():
        raise BenchError("benchserver died under load")
    result = parse_wrk(out.decode(errors="replace"))
    result.update(arm=arm, sampling=sampling, seconds=seconds, daemon_cpu_s=cpu_s,
                  pauses_us=sampler.pauses_us if sampler else [],
                  sample_walls_s=sampler.walls_s if sampler else [])
    if watcher:
        histogram = watcher.pause_histogram()
        samples = watcher.new_samples()
        check_watch_samples(samples, histogram_before, histogram, window_s)
        result.update(pauses_us=[pause for pause, _, _ in samples],
                      sample_walls_s=[duration for _, _, duration in samples],
                      metrics_samples=histogram[0] - histogram_before[0],
                      metrics_pause_s=histogram[1] - histogram_before[1],
                      reads=list(watcher.reads))
        watcher.reads.clear()
    return result


def check_watch_samples(samples, before, after, window_s):
    """About one sample per period over the run, each one in the pid's pause
    histogram too (give or take the one being logged at either end). A sample
    that takes longer than the period (decoded at nice 19 on saturated CPUs,
    issue 18) skips the slot it overran: the next comes a period after it ends
    (daemon/watch.c)."""
    spacing = [SAMPLE_PERIOD_S + (duration if duration > SAMPLE_PERIOD_S else 0)
               for _, _, duration in samples] or [SAMPLE_PERIOD_S]
    expected = window_s / (sum(spacing) / len(spacing))
    if abs(len(samples) - expected) > 1.5:
        raise BenchError(f"asyncdumpd's watch list took {len(samples)} samples in {window_s:.1f} s, "
                         f"not one per {SAMPLE_PERIOD_S:g} s (or per sample, when longer)")
    counted = after[0] - before[0]
    if abs(counted - len(samples)) > 1:
        raise BenchError(f"asyncdumpd logged {len(samples)} samples but /metrics counted {counted:.0f}")


IDLE_TASK = "benchserver::idle_background_task"
# What differs between two reads of an idle task a moment apart.
VOLATILE = ("consistent", "reads", "time_left_s", "deadline_ns", "unchanged_for_s")


def normal(v):
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [normal(x) for x in v]
    if isinstance(v, str):
        return re.sub(r"fires in -?\d+ s", "fires in N s", v)
    return v


def idle_tasks_of(doc):
    return {t["id"]: normal(t) for t in doc["tasks"]
            if t.get("root") and t["root"].get("name") == IDLE_TASK}


def measure_nostop_fidelity(ctx, server, daemon, url, seconds, idle_tasks):
    """Under wrk, GET /pids/PID/tasks?stop=0 once per second for `seconds`:
    how many tasks were read again or marked inconsistent, and whether any
    idle task (they never change) reads otherwise than in a stopped sample
    taken just before."""
    _, status, body = http_get(daemon.port, f"/pids/{server.pid}/tasks")
    if status != 200:
        raise BenchError(f"a stopped sample of benchserver: status {status}: {body[:300]!r}")
    reference = idle_tasks_of(json.loads(body))
    if len(reference) != idle_tasks:
        raise BenchError(f"a stopped sample of benchserver has {len(reference)} of {idle_tasks} idle tasks")
    wrk = run_wrk(url, seconds)
    docs = []
    try:
        deadline = time.monotonic() + seconds - SAMPLE_PERIOD_S
        next_at = time.monotonic() + SAMPLE_PERIOD_S / 2
        while time.monotonic() < deadline:
            time.sleep(max(0.0, next_at - time.monotonic()))
            wall, status, body = http_get(daemon.port, f"/pids/{server.pid}/tasks?stop=0")
            if status != 200:
                raise BenchError(f"GET ?stop=0 under load: status {status}: {body[:300]!r}")
            doc = json.loads(body)
            idle = idle_tasks_of(doc)
            docs.append({
                "wall_s": wall, "tasks": len(doc["tasks"]),
                "reread": sum(1 for t in doc["tasks"] if t.get("reads", 1) > 1),
                "inconsistent": sum(1 for t in doc["tasks"] if t.get("consistent") is False),
                "idle_read": len(idle),
                "idle_differing": sum(1 for i, t in reference.items() if i in idle and idle[i] != t),
                "idle_missing": sum(1 for i in reference if i not in idle),
                "idle_inconsistent": sum(1 for t in doc["tasks"] if t.get("root")
                                         and t["root"].get("name") == IDLE_TASK
                                         and t.get("consistent") is False),
            })
            next_at = max(next_at + SAMPLE_PERIOD_S, time.monotonic())
        out, _ = wrk.communicate(timeout=seconds + 60)
    finally:
        stop(wrk)
    if not server.alive():
        raise BenchError("benchserver died under load")
    ctx.progress(f"without a stop under load: {len(docs)} samples, "
                 f"{sum(d['inconsistent'] for d in docs)} tasks inconsistent, "
                 f"{sum(d['idle_differing'] + d['idle_missing'] for d in docs)} idle tasks differing or missing")
    return {"seconds": seconds, "wrk": parse_wrk(out.decode(errors="replace")), "samples": docs}


def measure_load(ctx, pairs, seconds, idle_tasks, fidelity_seconds):
    server = Target([ctx.target_bin("benchserver", "release"), "--idle-tasks", str(idle_tasks)],
                    ["PORT", "IDLE_TASKS"], ctx.work_file("benchserver.log"))
    daemon = None
    try:
        daemon = Daemon(ctx.asyncdumpd, ctx.web_root, ctx.work_file("asyncdumpd-load.log"))
        url = f"http://127.0.0.1:{server.info['PORT']}/"
        # Every arm warm: the debuginfo index built, the server's connections served once.
        http_get(daemon.port, f"/pids/{server.pid}/tasks")
        one_run(server, daemon, url, 2, False, idle_tasks)
        runs = []
        for pair in range(pairs):
            for index, arm in enumerate(ARMS):
                order = (False, True) if (pair + index) % 2 == 0 else (True, False)
                for sampling in order:
                    watcher = None
                    if arm in WATCH_ARMS and sampling:
                        watcher = Watcher(ctx, server.pid, f"asyncdumpd-{arm}-{pair + 1}.log", idle_tasks,
                                          stop=arm == "watch")
                    try:
                        runs.append(one_run(server, daemon, url, seconds, sampling, idle_tasks, arm, watcher))
                    finally:
                        if watcher:
                            watcher.close()
                    last = runs[-1]
                    ctx.progress(f"load pair {pair + 1}/{pairs} {arm} sampling={'on' if sampling else 'off'}: "
                                 f"{last['rps']:.0f} req/s, p99 {last['p99_ms']:.2f} ms"
                                 + (f", {len(last['pauses_us'])} samples" if sampling else ""))
        fidelity = measure_nostop_fidelity(ctx, server, daemon, url, fidelity_seconds, idle_tasks)
        return {"idle_tasks": idle_tasks, "threads": server.thread_count(), "seconds": seconds,
                "wrk": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{seconds}s --latency",
                "watch_flags": " ".join(watch_flags("PID")),
                "nostop_flags": " ".join(watch_flags("PID", stop=False)), "runs": runs,
                "fidelity": fidelity}
    finally:
        if daemon:
            daemon.close()
        server.close()
