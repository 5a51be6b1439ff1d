"""The benchmark's plan: what to measure (full or --quick), where the
programs are, and the order of the measurements."""
import argparse
import atexit
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

from . import report
from .load import measure_load
from .procs import BenchError, kill_children
from .sampling import measure_cold_demo, measure_target, measure_threads

FULL = {"profiles": ["release", "debug"], "tasks": [100, 1000, 10000, 100000], "runs": 5,
        "load_pairs": 5, "load_seconds": 10, "fidelity_seconds": 180, "perf": True}
QUICK = {"profiles": ["release"], "tasks": [100, 1000, 10000], "runs": 3,
         "load_pairs": 2, "load_seconds": 5, "fidelity_seconds": 20, "perf": False}
LOAD_IDLE_TASKS = 1000
# Profiled with perf (release): the warm-request budget's N, over this many
# samples, and the largest N, over one.
PROFILE_TASKS, PROFILE_REQUESTS = 1000, 20
TARGET_CRATES = ("benchtarget", "benchserver", "demo")


class Context:
    """Where things are, and progress on stderr."""

    def __init__(self, top, build, baseline=None):
        self.top = top
        self.build = build
        # Another build's asyncdumpd, measured beside ours (the old path).
        self.baseline_asyncdumpd = os.path.join(baseline, "asyncdumpd") if baseline else None
        self.asyncdumpd = os.path.join(build, "asyncdumpd")
        self.asyncdump = os.path.join(build, "asyncdump")
        self.web_root = os.path.join(top, "web")
        self.targets = os.path.join(build, "tests", "targets", "target")
        self.work = os.path.join(build, "tests", "bench", "work")
        self.started = time.monotonic()
        os.makedirs(self.work, exist_ok=True)

    def target_bin(self, crate, profile):
        return os.path.join(self.targets, profile, crate)

    def source(self, crate):
        return os.path.join(self.top, "tests", "targets", crate, "src", "main.rs")

    def work_file(self, name):
        return os.path.join(self.work, name)

    def progress(self, message):
        print(f"bench [{time.monotonic() - self.started:6.0f} s] {message}", file=sys.stderr, flush=True)


def parse_args(argv, top):
    parser = argparse.ArgumentParser(prog="tests/bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="release only, N up to 10,000, 3 runs, short load test (a few minutes)")
    parser.add_argument("--build-dir", default=os.path.join(top, "build"),
                        help="asyncdump's build tree (default: build/, what ./dev bench builds)")
    parser.add_argument("--output", help="the report (default tests/bench/RESULTS.md; "
                        "--quick: BUILD/tests/bench/RESULTS-quick.md)")
    parser.add_argument("--runs", type=int, help="rounds per target (default 5, --quick 3)")
    parser.add_argument("--tasks", help="comma-separated task counts, e.g. 1000,10000")
    parser.add_argument("--profiles", help="comma-separated: release,debug")
    parser.add_argument("--no-load", action="store_true", help="skip the loaded-service test")
    parser.add_argument("--baseline-build-dir",
                        help="also measure this build's asyncdumpd in the same rounds (e.g. a build "
                             "of the commit before a change): the old path beside the new")
    parser.add_argument("--baseline-label", help="what the baseline build is (e.g. its commit)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is missed")
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.runs:
        plan["runs"] = args.runs
    if args.tasks:
        plan["tasks"] = [int(n) for n in args.tasks.split(",")]
    if args.profiles:
        plan["profiles"] = args.profiles.split(",")
    plan["load"] = not args.no_load
    args.build_dir = os.path.abspath(args.build_dir)
    if not args.output:
        args.output = (os.path.join(args.build_dir, "tests", "bench", "RESULTS-quick.md") if args.quick
                       else os.path.join(top, "tests", "bench", "RESULTS.md"))
    return args, plan


def check_prerequisites(ctx, plan):
    for exe in (ctx.asyncdumpd, ctx.asyncdump) + ((ctx.baseline_asyncdumpd,) if ctx.baseline_asyncdumpd else ()):
        if not os.access(exe, os.X_OK):
            raise BenchError(f"{exe} is missing: build asyncdump first (./dev bench does)")
    config_log = os.path.join(ctx.build, "config.log")
    if os.path.exists(config_log):
        with open(config_log, errors="replace") as f:
            head = f.read(4096)
        if "--enable-asan" in head or "--enable-ubsan" in head or "--enable-valgrind" in head:
            raise BenchError(f"{ctx.build} is a sanitizer build: benchmark a plain one (./dev bench uses build/)")
    needed = ["gdb", "eu-stack", "cargo"] + (["wrk"] if plan["load"] else [])
    missing = [tool for tool in needed if not shutil.which(tool)]
    if missing:
        raise BenchError(f"missing {', '.join(missing)}: ./dev installs them (Debian packages "
                         "gdb, elfutils, wrk; cargo)")
    if os.geteuid() != 0:
        ctx.progress("not root: the probe cannot run SCHED_FIFO, expect a higher noise floor")


def build_targets(ctx):
    crates = [arg for crate in TARGET_CRATES for arg in ("-p", crate)]
    env = dict(os.environ, CARGO_TARGET_DIR=ctx.targets)
    for extra in ([], ["--release"]):
        ctx.progress(f"cargo build {' '.join(extra) or '(dev)'}: {', '.join(TARGET_CRATES)}")
        subprocess.run(["cargo", "build", "--quiet", "--offline", "--locked", *crates, *extra],
                       cwd=os.path.join(ctx.top, "tests", "targets"), env=env, check=True)


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine(ctx):
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    dirty = subprocess.run(["git", "-C", ctx.top, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(), "model": model, "kernel": platform.release(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg_start": os.getloadavg()[0],
        "commit": first_line(["git", "-C", ctx.top, "rev-parse", "--short", "HEAD"]) +
                  (" + uncommitted changes" if dirty else ""),
        "gdb": first_line(["gdb", "--version"]), "eu-stack": first_line(["eu-stack", "--version"]),
        "wrk": first_line(["wrk", "--version"]).split(" [")[0], "rustc": first_line(["rustc", "--version"]),
    }


def measure(ctx, plan):
    results = {"plan": plan, "targets": [], "demo": None, "load": None}
    results["perf_missing"] = plan["perf"] and shutil.which("perf") is None
    profiled = {max(plan["tasks"]): 1, PROFILE_TASKS: PROFILE_REQUESTS} \
        if plan["perf"] and not results["perf_missing"] else {}
    for profile in plan["profiles"]:
        for tasks in plan["tasks"]:
            ctx.progress(f"benchtarget {profile}, {tasks} tasks")
            results["targets"].append(measure_target(
                ctx, profile, tasks, plan["runs"], profiled.get(tasks, 0) if profile == "release" else 0))
    ctx.progress("cold first sample of the example (demo, release)")
    results["demo"] = measure_cold_demo(ctx, plan["runs"])
    ctx.progress("first capture of a benchtarget with 64 threads against warm ones (release)")
    results["threads"] = measure_threads(ctx, plan["runs"])
    if plan["load"]:
        ctx.progress(f"benchserver under wrk: {plan['load_pairs']} pairs of {plan['load_seconds']} s runs "
                     "per arm (watch list stopping, watch list without a stop, GET /pids/PID/tasks), "
                     f"then {plan['fidelity_seconds']} s of GET ?stop=0")
        results["load"] = measure_load(ctx, plan["load_pairs"], plan["load_seconds"], LOAD_IDLE_TASKS,
                                       plan["fidelity_seconds"])
    return results


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv):
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    args, plan = parse_args(argv, top)
    atexit.register(kill_children)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    ctx = Context(top, args.build_dir,
                  os.path.abspath(args.baseline_build_dir) if args.baseline_build_dir else None)
    try:
        check_prerequisites(ctx, plan)
        build_targets(ctx)
        facts = machine(ctx)
        results = measure(ctx, plan)
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        kill_children()
    facts["loadavg_end"] = os.getloadavg()[0]
    facts["duration_min"] = (time.monotonic() - ctx.started) / 60
    facts["command"] = " ".join(["tests/bench/run", *argv])
    facts["baseline"] = args.baseline_label or args.baseline_build_dir
    with open(ctx.work_file("raw.json"), "w") as f:
        json.dump({"machine": facts, "results": results}, f, indent=1)
    text, misses = report.render(facts, results)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)
    ctx.progress(f"wrote {args.output} (raw figures: {ctx.work_file('raw.json')})")
    for miss in misses:
        print(f"bench: budget missed: {miss}", file=sys.stderr)
    return 1 if misses and args.strict else 0
