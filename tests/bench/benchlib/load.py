"""The cost of sampling to a loaded service: benchserver under wrk on
loopback, with asyncdumpd running in both arms and, in one, sampling it once a
second. Runs alternate off/on, on/off, ... so that a drift in the machine's
load hits both arms alike."""
import re
import subprocess
import threading
import time

from .procs import BenchError, Daemon, Target, spawn, stop
from .sampling import http_get

SAMPLE_PERIOD_S = 1.0
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


def run_wrk(url, seconds):
    return spawn(["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", url],
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def one_run(server, daemon, url, seconds, sampling, idle_tasks):
    cpu_before = daemon.cpu_seconds()
    wrk = run_wrk(url, seconds)
    sampler = Sampler(daemon, server.pid, idle_tasks) if sampling else None
    if sampler:
        sampler.start()
    try:
        out, _ = wrk.communicate(timeout=seconds + 60)
    finally:
        if sampler:
            sampler.done.set()
            sampler.join()
        stop(wrk)
    if sampler and sampler.failure:
        raise sampler.failure
    if not server.alive():
        raise BenchError("benchserver died under load")
    result = parse_wrk(out.decode(errors="replace"))
    result.update(sampling=sampling, seconds=seconds, daemon_cpu_s=daemon.cpu_seconds() - cpu_before,
                  pauses_us=sampler.pauses_us if sampler else [],
                  sample_walls_s=sampler.walls_s if sampler else [])
    return result


def measure_load(ctx, pairs, seconds, idle_tasks):
    server = Target([ctx.target_bin("benchserver", "release"), "--idle-tasks", str(idle_tasks)],
                    ["PORT", "IDLE_TASKS"], ctx.work_file("benchserver.log"))
    daemon = None
    try:
        daemon = Daemon(ctx.asyncdumpd, ctx.web_root, ctx.work_file("asyncdumpd-load.log"))
        url = f"http://127.0.0.1:{server.info['PORT']}/"
        # Both arms warm: the debuginfo index built, the server's connections served once.
        http_get(daemon.port, f"/pids/{server.pid}/tasks")
        one_run(server, daemon, url, 2, False, idle_tasks)
        runs = []
        for pair in range(pairs):
            for sampling in ((False, True) if pair % 2 == 0 else (True, False)):
                runs.append(one_run(server, daemon, url, seconds, sampling, idle_tasks))
                ctx.progress(f"load pair {pair + 1}/{pairs} sampling={'on' if sampling else 'off'}: "
                             f"{runs[-1]['rps']:.0f} req/s, p99 {runs[-1]['p99_ms']:.2f} ms")
        return {"idle_tasks": idle_tasks, "threads": server.thread_count(), "seconds": seconds,
                "wrk": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{seconds}s --latency",
                "runs": runs}
    finally:
        if daemon:
            daemon.close()
        server.close()
