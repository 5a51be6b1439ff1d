"""The processes the benchmark starts: targets (READY protocol), asyncdumpd,
timed tool runs. Every child dies with the benchmark, even when it is killed:
PR_SET_PDEATHSIG for a SIGKILL of the benchmark, kill_children() for the rest."""
import ctypes
import os
import re
import select
import signal
import subprocess
import time

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_children = []

# No tool may wait on the network for debuginfo (gdb, eu-stack, libdw).
QUIET_ENV = dict(os.environ, DEBUGINFOD_URLS="", LC_ALL="C")


class BenchError(Exception):
    """A measurement that could not be taken: the benchmark stops with it."""


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(argv, extra_env=None, **kwargs):
    """Popen that is killed when the benchmark ends, however it ends."""
    env = dict(QUIET_ENV, **(extra_env or {}))
    proc = subprocess.Popen(argv, preexec_fn=_die_with_parent, env=env, **kwargs)
    _children.append(proc)
    return proc


def stop(proc, sig=signal.SIGTERM, timeout=10):
    """Ends a child we started and reaps it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in _children:
        _children.remove(proc)


def kill_children():
    for proc in list(_children):
        stop(proc, signal.SIGKILL)


def monotonic_ns():
    """CLOCK_MONOTONIC, the clock the target's probe uses."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def run_timed(argv, timeout):
    """Runs a command to completion: (wall seconds, exit status, stdout)."""
    start = monotonic_ns()  # the tool's start-up counts, as for a user
    proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, signal.SIGKILL)
        raise BenchError(f"{argv[0]} took more than {timeout} s: {' '.join(argv)}")
    wall = (monotonic_ns() - start) / 1e9
    _children.remove(proc)
    return wall, proc.returncode, out


class Target:
    """A test target started and READY: its pid and the KEY value lines it
    printed after READY."""

    def __init__(self, argv, expect_keys, log_path, timeout=120, extra_env=None):
        self.argv = argv
        self.log = open(log_path, "wb")
        self.proc = spawn(argv, extra_env, stdout=subprocess.PIPE, stderr=self.log)
        self.pid = self.proc.pid
        self.info = self._wait_ready(expect_keys, timeout, log_path)
        self._wait_watcher_gone()

    def _wait_ready(self, keys, timeout, log_path):
        deadline = time.monotonic() + timeout
        text = b""
        fd = self.proc.stdout.fileno()
        while True:
            lines = text.decode(errors="replace").splitlines()
            info = dict(line.split(" ", 1) for line in lines if " " in line)
            if lines and lines[0] == f"READY {self.pid}" and all(k in info for k in keys):
                return info
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.close()
                with open(log_path, errors="replace") as f:
                    why = f.read().strip()
                raise BenchError(f"{' '.join(self.argv)} did not print READY {self.pid} and "
                                 f"{' '.join(keys)} (got {text!r}): {why}")
            if select.select([fd], [], [], min(left, 0.5))[0]:
                chunk = os.read(fd, 4096)
                text += chunk
                if not chunk:
                    time.sleep(0.05)  # end of file: the target is exiting

    def _wait_watcher_gone(self, timeout=10):
        """The READY watcher thread exits right after READY: wait for it, so
        that the thread count stays what the tools will see."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready-watcher" not in self.thread_names():
                return
            time.sleep(0.01)
        raise BenchError(f"{self.argv[0]}: the ready-watcher thread did not exit after READY")

    def thread_names(self):
        names = []
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    names.append(f.read().strip())
            except FileNotFoundError:
                pass  # exited meanwhile
        return names

    def alive(self):
        return self.proc.poll() is None

    def thread_count(self):
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def close(self):
        stop(self.proc, signal.SIGKILL)
        self.proc.stdout.close()
        self.log.close()


def proc_status_kb(pid, field):
    """A kB figure of /proc/PID/status (VmHWM, VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid):
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat; fields[0] is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Daemon:
    """asyncdumpd on a free loopback port, its log in a file; `extra` are
    more flags (e.g. a watch list)."""

    LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")

    def __init__(self, exe, web_root, log_path, extra=()):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = spawn([exe, "--listen", "127.0.0.1:0", "--web-root", web_root,
                           "--rate-limit", "0", *extra], stdout=subprocess.DEVNULL, stderr=self.log)
        self.pid = self.proc.pid
        self.port = self._wait_listening()

    def _wait_listening(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, errors="replace") as f:
                found = self.LISTENING.search(f.read())
            if found:
                return int(found.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.close()
        with open(self.log_path, errors="replace") as f:
            raise BenchError(f"asyncdumpd did not start listening: {f.read().strip()}")

    def peak_rss_kb(self):
        return proc_status_kb(self.pid, "VmHWM")

    def cpu_seconds(self):
        return cpu_seconds(self.pid)

    def close(self):
        stop(self.proc)
        self.log.close()
