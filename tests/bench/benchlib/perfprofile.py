"""Where asyncdumpd's time goes: perf over warm samples of a benchtarget.

Three views of one recording: asyncdumpd's own functions with the time spent
in them and below (call graphs from DWARF: the build has no frame pointers),
the functions that burn the time themselves, whatever library they are in,
and the same by library."""
import collections
import os
import re
import signal
import subprocess
import time

from .procs import BenchError, Daemon, run_timed, spawn, stop

PERF_SAMPLES = 3000  # enough for 1 % resolution; more only slows perf report
STACK_BYTES = 8192
INCLUSIVE_MIN_PERCENT = 4
SELF_MIN_PERCENT = 2
# perf report rows: [children %] self % object [[.] symbol], then IPC columns ("-  -").
ROW = re.compile(r"^\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(\S+)(?:\s+\[[.k]\]\s+(.+?))?(?:\s+-\s+-)?\s*$")


def perf_report(perf_data, sort, *options):
    """(percent, object, symbol or None) rows; the first percent column."""
    _, status, out = run_timed(["perf", "report", "-i", perf_data, "--stdio", "--sort", sort,
                                "-g", "none", *options], 600)
    if status != 0:
        raise BenchError(f"perf report failed on {perf_data}")
    rows = []
    for line in out.decode(errors="replace").splitlines():
        found = ROW.match(line)
        if found:
            rows.append((float(found.group(1)), found.group(3), found.group(4)))
    return rows


def self_rows(perf_data):
    """Functions by their own time; a library's unsymbolized addresses count as one."""
    shares = collections.Counter()
    for pct, dso, symbol in perf_report(perf_data, "dso,symbol", "--no-children", "--percent-limit", "0.1"):
        shares[(dso, "(no symbols)" if symbol.startswith("0x") else symbol)] += pct
    return [(pct, dso, symbol) for (dso, symbol), pct in shares.most_common() if pct >= SELF_MIN_PERCENT]


def profile_daemon(session, requests, expected_s, perf_data):
    """Records asyncdumpd over `requests` warm samples of the session's target,
    each expected to take about expected_s."""
    hz = int(min(999, max(49, PERF_SAMPLES / (requests * expected_s))))
    ctx = session.ctx
    daemon = Daemon(ctx.asyncdumpd, ctx.web_root, ctx.work_file("asyncdumpd-perf.log"))
    try:
        session.sample(daemon)  # cold: not profiled
        if os.path.exists(perf_data):
            os.remove(perf_data)  # or perf keeps it as .old
        perf = spawn(["perf", "record", "-q", "-F", str(hz), "--call-graph", f"dwarf,{STACK_BYTES}",
                      "-p", str(daemon.pid), "-o", perf_data],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)  # perf attaches
        walls = [session.sample(daemon)["wall_s"] for _ in range(requests)]
        stop(perf, signal.SIGINT, timeout=120)
    finally:
        daemon.close()
    inclusive = {}  # a function perf lists twice (inlined and not): its larger share
    for pct, dso, symbol in perf_report(perf_data, "dso,symbol", "--children", "--percent-limit",
                                        str(INCLUSIVE_MIN_PERCENT)):
        if dso == "asyncdumpd":
            inclusive[symbol] = max(pct, inclusive.get(symbol, 0))
    by_object = [(pct, dso) for pct, dso, _ in perf_report(perf_data, "dso", "--no-children",
                                                           "--percent-limit", str(SELF_MIN_PERCENT))]
    return {"requests": requests, "walls_s": walls,
            "inclusive": sorted(((pct, "asyncdumpd", sym) for sym, pct in inclusive.items()), reverse=True),
            "self": self_rows(perf_data), "by_object": by_object}
