"""RESULTS.md: the machine, the method, the budget with pass/miss, and a
table per figure. Every figure is a median over the rounds, with min–max."""
import statistics

# The per-task increment may grow this much from one decade of N to the next:
# a linear cost stays near 1× (cache effects), a quadratic one reaches 10×.
LINEAR_MAX_GROWTH = 1.5


# ---- numbers

def median(values):
    return statistics.median(values)


def fmt_ms(ms):
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms"


def fmt_us(us):
    return fmt_ms(us / 1000)


def fmt_s(seconds):
    return fmt_ms(seconds * 1000)


def fmt_kb(kb):
    return f"{kb / 1024:.0f} MiB" if kb >= 10240 else f"{kb / 1024:.1f} MiB"


def spread(values, fmt):
    """median (min–max)"""
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def ratio(value):
    if value >= 10:
        return f"{value:.0f}×"
    return f"{value:.1f}×" if value >= 1 else f"{value:.2g}×"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---- what the rounds say

def warm(entry, key):
    return [r["asyncdump"]["warm"][key] for r in entry["rounds"]]


def cold(entry, key):
    return [r["asyncdump"]["cold"][key] for r in entry["rounds"]]


def tool(entry, name, key):
    return [r[name][key] for r in entry["rounds"]]


def peaks(entry, name="asyncdump"):
    return [r[name]["peak_rss_kb"] for r in entry["rounds"]]


BASELINE = "asyncdump-baseline"


def has_baseline(entry):
    return bool(entry) and all(BASELINE in r for r in entry["rounds"])


def base_warm(entry, key):
    return [r[BASELINE]["warm"][key] for r in entry["rounds"]]


def warm_text(entry, tool="asyncdump"):
    """Wall times of the warm text requests (runs before this one had none)."""
    return [r[tool]["warm_text"]["wall_s"] for r in entry["rounds"] if "warm_text" in r.get(tool, {})]


def normal_felt(values):
    """Rounds of an older raw.json have no normal-priority probe."""
    return [v for v in values if v is not None]


def per_round_ratio(entry, numerator, denominator):
    """Median of per-round ratios: both figures from the same moment of a noisy machine."""
    return median([n / max(d, 1e-9) for n, d in zip(numerator(entry), denominator(entry))])


def entries(results, profile):
    return sorted((e for e in results["targets"] if e["profile"] == profile), key=lambda e: e["tasks"])


def find(results, profile, tasks):
    for entry in results["targets"]:
        if entry["profile"] == profile and entry["tasks"] == tasks:
            return entry
    return None


def increments(points):
    """Per-task increment between consecutive task counts: [(n1, n2, Δvalue/Δn)]."""
    return [(a[0], b[0], (b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(points, points[1:])]


# ---- the budget

class Budget:
    def __init__(self):
        self.rows = []
        self.misses = []

    def note(self, what, measured, over, verdict=None):
        """A figure shown beside the budget, not part of it."""
        self.rows.append((what, "— (informational)", measured, verdict or
                          ("informational (over 1 %)" if over else "informational (under 1 %)")))

    def check(self, what, limit_text, measured, ok):
        if measured is None:
            self.rows.append((what, limit_text, "not measured in this run", "—"))
            return
        self.rows.append((what, limit_text, measured, "pass" if ok else "**MISS**"))
        if not ok:
            self.misses.append(f"{what}: {measured} (budget {limit_text})")


def budget_pause(budget, results, tasks, limit_ms):
    entry = find(results, "release", tasks)
    what, limit = f"pause felt by the target, {tasks:,} tasks", f"≤ {limit_ms} ms"
    if not entry:
        budget.check(what, limit, None, False)
        return
    felt_ms = median(warm(entry, "felt_us")) / 1000
    budget.check(what, limit, f"{fmt_ms(felt_ms)} (asyncdump says {fmt_us(median(warm(entry, 'pause_us')))})",
                 felt_ms <= limit_ms)


def budget_linear(budget, results):
    rel = [e for e in entries(results, "release") if e["tasks"] >= 1000]
    if len(rel) < 3:
        budget.check("cost per task linear in N", "no quadratic step", None, False)
        return
    for name, values in (("warm request", lambda e: median(warm(e, "wall_s")) * 1e6),
                         ("pause", lambda e: median(warm(e, "pause_us"))),
                         ("peak RSS", lambda e: max(peaks(e)))):
        steps = increments([(e["tasks"], values(e)) for e in rel])
        first, last = steps[0][2], steps[-1][2]
        growth = last / first if first > 0 else float("inf")
        unit = "KiB" if name == "peak RSS" else "µs"
        budget.check(f"linear in N: {name}",
                     f"per-task increment grows ≤ {LINEAR_MAX_GROWTH}× from "
                     f"{steps[0][0]:,}→{steps[0][1]:,} to {steps[-1][0]:,}→{steps[-1][1]:,}",
                     f"{first:.2f} → {last:.2f} {unit}/task ({ratio(growth)})", growth <= LINEAR_MAX_GROWTH)


def budget_request(budget, results):
    entry = find(results, "release", 1000)
    what, limit = "warm end-to-end request, 1,000 tasks", "≤ 50 ms"
    if not entry:
        budget.check(what, limit, None, False)
        return
    wall = median(warm(entry, "wall_s"))
    budget.check(what, limit, fmt_s(wall), wall <= 0.050)


def budget_cold(budget, results):
    demo = results["demo"]
    what, limit = "cold first sample, demo (release)", "≤ 1 s"
    if not demo:
        budget.check(what, limit, None, False)
        return
    first = median([r["daemon_first_s"] for r in demo])
    budget.check(what, limit, f"{fmt_s(first)} (CLI {fmt_s(median([r['cli_s'] for r in demo]))})",
                 first <= 1.0)


def load_measured(s):
    # The wrk figures alone cannot resolve 1 % on a shared machine: the
    # resources taken from the service must stay under the budget too.
    text = (f"throughput {-s['throughput_cost'] * 100:+.2f} % with sampling (run-to-run spread "
            f"{s['noise'] * 100:.0f} %); resources taken {s['resource_cost'] * 100:.2f} %")
    return text, s["throughput_cost"] < 0.01 and s["resource_cost"] < 0.01


def budget_load(budget, results, nproc):
    """The budget is asyncdumpd's own periodic sampling (its watch list);
    GET /pids/PID/tasks every second is shown beside it, informational."""
    what, limit = "throughput cost of sampling once per second (asyncdumpd's watch list)", "< 1 %"
    watch = load_summary(results["load"], nproc, "watch") if results["load"] else None
    if not watch:
        budget.check(what, limit, None, False)
    else:
        budget.check(what, limit, *load_measured(watch))
    http = load_summary(results["load"], nproc, "http") if results["load"] else None
    if http:
        measured, ok = load_measured(http)
        budget.note("throughput cost of `GET /pids/PID/tasks` (whole JSON document) once per second",
                    measured, not ok)
    nostop = load_summary(results["load"], nproc, "nostop") if results["load"] else None
    if nostop:
        measured, ok = load_measured(nostop)
        budget.note("throughput cost of the watch list without a stop once per second (issue 18)",
                    measured, not ok)
    fidelity = fidelity_summary(results["load"]) if results["load"] else None
    if fidelity:
        wrong = fidelity["idle_differing"] + fidelity["idle_missing"] + fidelity["idle_inconsistent"]
        share = fidelity["inconsistent"] / fidelity["tasks"] if fidelity["tasks"] else 0
        budget.note("sampling without a stop under load: tasks marked inconsistent; idle traces "
                    "unlike a stopped sample's (issue 18)",
                    f"{share * 100:.3f} % of {fidelity['tasks']:,}; {wrong} of {fidelity['idle_read']:,}",
                    wrong > 0, "informational" if not wrong else "**idle traces differ**")


def note_daemon_cpu(budget, entry, tasks):
    """The warm request's work without the client and the waiting: asyncdumpd's
    CPU time (user + system, 10 ms ticks), and the old path's."""
    cpu = median(warm(entry, "cpu_s"))
    old = ""
    if has_baseline(entry):
        base = median(base_warm(entry, "cpu_s"))
        old = f"; old path {fmt_s(base)}, {ratio(base / max(cpu, 1e-9))} as much"
    budget.note(f"asyncdumpd CPU time per task, warm request, {tasks:,} tasks (issue 18)",
                f"{cpu / tasks * 1e6:.1f} µs ({fmt_s(cpu)}){old}", False, "informational")


def budget_issue18(budget, results):
    """Issue 18's goals: work per task, memory, the old path beside the new."""
    for tasks in (10000, 100000):
        entry = find(results, "release", tasks)
        what = f"decode + render per task, warm request, {tasks:,} tasks (issue 18)"
        if not entry:
            budget.check(what, "≤ 5 µs", None, False)
            continue
        per_task = median(warm(entry, "wall_s")) / tasks * 1e6
        budget.check(what, "≤ 5 µs", f"{per_task:.1f} µs ({fmt_s(median(warm(entry, 'wall_s')))})",
                     per_task <= 5)
        what = f"warm request vs the old path (baseline build, same rounds), {tasks:,} tasks (issue 18)"
        if not has_baseline(entry):
            budget.check(what, "≥ 5× faster", None, False)
        else:
            speedup = per_round_ratio(entry, lambda x: base_warm(x, "wall_s"), lambda x: warm(x, "wall_s"))
            budget.check(what, "≥ 5× faster", f"{ratio(speedup)} ({fmt_s(median(base_warm(entry, 'wall_s')))} → "
                         f"{fmt_s(median(warm(entry, 'wall_s')))})", speedup >= 5)
        note_daemon_cpu(budget, entry, tasks)
        what = f"decode + render per task, warm text request, {tasks:,} tasks (issue 18)"
        walls = warm_text(entry)
        if not walls:
            budget.check(what, "≤ 5 µs", None, False)
            continue
        per_task = median(walls) / tasks * 1e6
        budget.check(what, "≤ 5 µs", f"{per_task:.1f} µs ({fmt_s(median(walls))})", per_task <= 5)
        what = f"warm text request vs the old path (baseline build, same rounds), {tasks:,} tasks (issue 18)"
        base_walls = warm_text(entry, BASELINE) if has_baseline(entry) else []
        if len(base_walls) != len(walls):
            budget.check(what, "≥ 5× faster", None, False)
        else:
            speedup = median([b / max(n, 1e-9) for b, n in zip(base_walls, walls)])
            budget.check(what, "≥ 5× faster", f"{ratio(speedup)} ({fmt_s(median(base_walls))} → "
                         f"{fmt_s(median(walls))})", speedup >= 5)
    entry = find(results, "release", 100000)
    what = "asyncdumpd peak RSS, 100,000 tasks (issue 18)"
    if not entry:
        budget.check(what, "≤ 100 MB", None, False)
    else:
        peak = max(peaks(entry))
        old = f"; old path {fmt_kb(max(peaks(entry, BASELINE)))}" if has_baseline(entry) else ""
        budget.check(what, "≤ 100 MB", f"{fmt_kb(peak)}{old}", peak * 1024 <= 100e6)
    threads = results.get("threads")
    what = "first capture of a process with 64 threads vs a warm one (issue 18)"
    if not threads:
        budget.check(what, "≤ 2×", None, False)
    else:
        first_over_warm = median([r["first_s"] / r["warm_s"] for r in threads])
        budget.check(what, "≤ 2×", f"{first_over_warm:.1f}× ({fmt_s(median([r['first_s'] for r in threads]))} "
                     f"vs {fmt_s(median([r['warm_s'] for r in threads]))})", first_over_warm <= 2)
    entry = find(results, "release", 1000)
    if entry and normal_felt([r["asyncdump"]["warm"].get("felt_normal_us") for r in entry["rounds"]]):
        new = median(normal_felt([r["asyncdump"]["warm"].get("felt_normal_us") for r in entry["rounds"]]))
        old = (f"; old path {fmt_us(median(base_warm(entry, 'felt_normal_us')))}"
               if has_baseline(entry) else "")
        budget.note("pause felt by a normal-priority probe, 1,000 tasks (issue 18)",
                    f"{fmt_us(new)} (real-time probe {fmt_us(median(warm(entry, 'felt_us')))}){old}", False,
                    "informational")


def evaluate(results, nproc):
    budget = Budget()
    for tasks, limit_ms in ((1000, 1), (10000, 10), (100000, 100)):
        budget_pause(budget, results, tasks, limit_ms)
    budget_request(budget, results)
    budget_cold(budget, results)
    budget_load(budget, results, nproc)
    budget_linear(budget, results)
    budget_issue18(budget, results)
    return budget


# ---- the loaded service

def load_summary(load, nproc, arm):
    """One arm's figures, or None when it did not run. Runs without an "arm"
    (older raw.json) are of the http arm."""
    runs = [r for r in load["runs"] if r.get("arm", "http") == arm]
    off = [r for r in runs if not r["sampling"]]
    on = [r for r in runs if r["sampling"]]
    if not on or not off:
        return None
    # Pairs in the order they ran: (off, on) or (on, off).
    pairs = [(runs[i], runs[i + 1]) if not runs[i]["sampling"] else (runs[i + 1], runs[i])
             for i in range(0, len(runs) - 1, 2)]
    pauses = [p for r in on for p in r["pauses_us"]]
    summary = {
        "off": off, "on": on,
        "throughput_cost": median([(a["rps"] - b["rps"]) / a["rps"] for a, b in pairs]),
        "p99_increase_ms": median([b["p99_ms"] - a["p99_ms"] for a, b in pairs]),
        "pauses_us": pauses,
        "samples_per_run": [len(r["pauses_us"]) for r in on],
        "sample_walls_s": [w for r in on for w in r["sample_walls_s"]],
        "daemon_cpu_share_on": median([r["daemon_cpu_s"] / r["seconds"] for r in on]),
        "cpu_per_sample_s": median([r["daemon_cpu_s"] / max(len(r["pauses_us"]), 1) for r in on]),
        "pause_share_on": median([sum(r["pauses_us"]) / 1e6 / r["seconds"] for r in on]),
        "noise": (max(r["rps"] for r in off) - min(r["rps"] for r in off)) / median([r["rps"] for r in off]),
        "nproc": nproc,
    }
    # What sampling takes from a saturated machine: the time the service is
    # stopped, plus asyncdumpd's CPU time as a share of all CPUs.
    summary["resource_cost"] = summary["pause_share_on"] + summary["daemon_cpu_share_on"] / nproc
    return summary


# ---- sections

def section_header(facts, results):
    plan = results["plan"]
    first = results["targets"][0] if results["targets"] else None
    threads = f"{first['threads']} threads" if first else ""
    sched = first["probe_sched"] if first else "?"
    period = first["probe_period_us"] if first else 200
    return f"""# asyncdump benchmark results

Produced by `./dev bench` (tests/bench/run; this run: `{facts['command']}`), {facts['date']},
commit {facts['commit']}, in {facts['duration_min']:.1f} min.

Machine: {facts['nproc']} CPUs ({facts['model']}), {facts['memory_gib']} GiB, Linux {facts['kernel']};
load average {facts['loadavg_start']:.1f} at the start and {facts['loadavg_end']:.1f} at the end
(a shared machine: other builds and tests ran meanwhile, hence medians and per-round ratios).
Tools: {facts['gdb']}; {facts['eu-stack']}; {facts['wrk']}; {facts['rustc']}.

## Method

- **Target**: `tests/targets/benchtarget --tasks N`: N tasks, each `frame_one` → `frame_two` →
  `frame_three` blocked on a one-hour `tokio::time::sleep`, on a multi_thread runtime ({threads}
  in all). Profiles: {', '.join(plan['profiles'])}; N: {', '.join(f'{n:,}' for n in plan['tasks'])}.
- **Felt pause**: a thread of the target wakes every {period} µs (scheduling: {sched}, no timer
  slack) and keeps the largest gap between two wake-ups; the benchmark resets it right before a
  tool runs and reads it right after. A stop of P µs shows as a gap of P to P + {period} µs, so
  the felt pause includes up to one period. *Idle* is the same reading with no tool running,
  over as long as a warm request: the machine's noise floor. A second probe thread runs at the
  normal priority (SCHED_OTHER, as the target's own threads): it also feels the CPU time a tool
  takes from the target around the pause, e.g. decoding right after the resume (issue 18).
- **Rounds**: {plan['runs']} per target, tools in rotating order: asyncdumpd (a fresh daemon per
  round: its first `GET /pids/PID/tasks` is the *cold* sample, building the debuginfo index; the
  second is *warm*; a third asks for the text format, `?format=text`, after the daemon's peak
  RSS is read), `gdb -p PID -batch -ex 'thread apply all bt'`, `eu-stack -p PID`. Request
  time is end to end: new connection to the response's last byte, read raw into a buffer
  kept between requests and parsed after the clock stops (Python's http.client, used before,
  allocated and joined per chunk: up to 130 ms more than curl for a warm request of 10,000
  tasks). Every asyncdumpd response is checked
  (N frames of each of `frame_one`, `frame_two`, `frame_three`, at the lines the source marks;
  in the text, N lines of each),
  every gdb/eu-stack run must show every thread: the times are of complete work.
- **eu-stack** stops one thread at a time, so the probe feels only its own thread's stop; gdb and
  asyncdump stop every thread at once. asyncdump's `pause_us` runs from the first thread stopped
  to the last resumed, so the probe (one thread) may feel a little less.
- Figures: median (min–max) over the rounds; ratios are medians of per-round ratios.
"""


def section_budget(budget):
    return "## Budget (release build, issues 10 and 18)\n\n" + table(
        ("budget", "limit", "measured (median)", "verdict"), budget.rows)


def section_pause(results):
    out = "## Pause felt by the target vs `pause_us` reported\n\n"
    for profile in results["plan"]["profiles"]:
        rows = []
        for e in entries(results, profile):
            normal = normal_felt([r["asyncdump"]["warm"].get("felt_normal_us") for r in e["rounds"]])
            idle_normal = normal_felt([r.get("idle_normal_us") for r in e["rounds"]])
            rows.append((f"{e['tasks']:,}", spread(warm(e, "felt_us"), fmt_us),
                         spread(normal, fmt_us) if normal else "—",
                         spread(base_warm(e, "felt_normal_us"), fmt_us) if has_baseline(e) else "—",
                         spread(warm(e, "pause_us"), fmt_us),
                         spread(cold(e, "felt_us"), fmt_us),
                         f"{median([f / max(p, 1) for f, p in zip(warm(e, 'felt_us'), warm(e, 'pause_us'))]):.2f}",
                         spread([r["idle_us"] for r in e["rounds"]], fmt_us),
                         spread(idle_normal, fmt_us) if idle_normal else "—"))
        out += f"\n{profile}:\n\n" + table(
            ("tasks", "felt (warm sample)", "felt, normal-priority probe", "the same, old path",
             "pause_us (warm)", "felt (cold sample)", "felt / pause_us", "idle noise floor",
             "idle, normal-priority probe"), rows)
    return out


def section_request(results):
    out = "## End-to-end request time and cost per task\n\n"
    for profile in results["plan"]["profiles"]:
        rows, previous = [], None
        for e in entries(results, profile):
            w = median(warm(e, "wall_s"))
            incr = f"{(w - previous[1]) / (e['tasks'] - previous[0]) * 1e6:.1f} µs" if previous else "—"
            rows.append((f"{e['tasks']:,}", spread(warm(e, "wall_s"), fmt_s), spread(cold(e, "wall_s"), fmt_s),
                         spread(warm(e, "cpu_s"), fmt_s), f"{median(warm(e, 'bytes')) / 2**20:.1f} MiB",
                         f"{w / e['tasks'] * 1e6:.1f} µs", incr,
                         f"{median(warm(e, 'pause_us')) / e['tasks']:.2f} µs"))
            previous = (e["tasks"], w)
        out += f"\n{profile}:\n\n" + table(
            ("tasks", "warm request", "cold (first) request", "daemon CPU per warm sample (10 ms ticks)", "JSON",
             "warm per task", "warm per added task", "pause per task"), rows)
    return out


def section_baseline(facts, results):
    """The old path (another build's asyncdumpd) beside the new, same rounds."""
    if not any(has_baseline(e) for e in results["targets"]):
        return ""
    out = (f"## The old path beside the new (issue 18)\n\nBaseline: `{facts.get('baseline')}`, "
           "an asyncdumpd built from the commit before issue 18's work, measured in the same rounds "
           "(its own fresh daemon, cold then warm sample, in the same rotation). Ratios are medians "
           "of per-round ratios, old / new. On a loaded machine the wall time is mostly waiting for "
           "a CPU; the daemon's CPU time per warm sample is the work done.\n")
    for profile in results["plan"]["profiles"]:
        rows = []
        for e in entries(results, profile):
            if not has_baseline(e):
                continue
            rows.append((
                f"{e['tasks']:,}", spread(base_warm(e, "wall_s"), fmt_s), spread(warm(e, "wall_s"), fmt_s),
                ratio(per_round_ratio(e, lambda x: base_warm(x, "wall_s"), lambda x: warm(x, "wall_s"))),
                f"{median(base_warm(e, 'wall_s')) / e['tasks'] * 1e6:.1f} → "
                f"{median(warm(e, 'wall_s')) / e['tasks'] * 1e6:.1f} µs",
                f"{fmt_s(median(base_warm(e, 'cpu_s')))} → {fmt_s(median(warm(e, 'cpu_s')))} "
                f"({ratio(per_round_ratio(e, lambda x: base_warm(x, 'cpu_s'), lambda x: [max(c, 0.01) for c in warm(x, 'cpu_s')]))})",
                f"{fmt_kb(max(peaks(e, BASELINE)))} → {fmt_kb(max(peaks(e)))}",
                f"{fmt_us(median(base_warm(e, 'felt_us')))} → {fmt_us(median(warm(e, 'felt_us')))}",
                f"{fmt_us(median(base_warm(e, 'felt_normal_us')))} → "
                f"{fmt_us(median(normal_felt([r['asyncdump']['warm'].get('felt_normal_us') for r in e['rounds']])))}"))
        if rows:
            out += f"\n{profile}:\n\n" + table(
                ("tasks", "old warm request", "new warm request", "old / new", "per task (old → new)",
                 "daemon CPU per warm sample (old → new, old / new)", "peak RSS (old → new)", "felt, real-time probe (old → new)",
                 "felt, normal-priority probe (old → new)"), rows)
    return out


def section_rss(results):
    out = "## asyncdumpd peak RSS (VmHWM after a cold and a warm sample)\n\n"
    for profile in results["plan"]["profiles"]:
        rows, previous = [], None
        for e in entries(results, profile):
            peak = max(peaks(e))
            incr = f"{(peak - previous[1]) / (e['tasks'] - previous[0]):.1f} KiB" if previous else "—"
            rows.append((f"{e['tasks']:,}", spread(peaks(e), fmt_kb), incr))
            previous = (e["tasks"], peak)
        out += f"\n{profile}:\n\n" + table(("tasks", "peak RSS", "per added task"), rows)
    return out


def section_tools(results):
    out = ("## asyncdump vs gdb vs eu-stack, same target, same rounds\n\n"
           "Pause as the probe felt it, wall time of the tool (asyncdump: warm request). "
           "Ratios > 1 mean asyncdump is shorter.\n")
    for profile in results["plan"]["profiles"]:
        rows = []
        for e in entries(results, profile):
            ours_felt = lambda x: warm(x, "felt_us")  # noqa: E731
            ours_wall = lambda x: warm(x, "wall_s")  # noqa: E731
            rows.append((
                f"{e['tasks']:,}",
                spread(warm(e, "felt_us"), fmt_us), spread(tool(e, "gdb", "felt_us"), fmt_us),
                spread(tool(e, "eu-stack", "felt_us"), fmt_us),
                ratio(per_round_ratio(e, lambda x: tool(x, "gdb", "felt_us"), ours_felt)),
                ratio(per_round_ratio(e, lambda x: tool(x, "eu-stack", "felt_us"), ours_felt)),
                spread(warm(e, "wall_s"), fmt_s), spread(tool(e, "gdb", "wall_s"), fmt_s),
                spread(tool(e, "eu-stack", "wall_s"), fmt_s),
                ratio(per_round_ratio(e, lambda x: tool(x, "gdb", "wall_s"), ours_wall)),
                ratio(per_round_ratio(e, lambda x: tool(x, "eu-stack", "wall_s"), ours_wall))))
        out += f"\n{profile}:\n\n" + table(
            ("tasks", "asyncdump felt", "gdb felt", "eu-stack felt", "gdb/asyncdump pause",
             "eu-stack/asyncdump pause", "asyncdump wall", "gdb wall", "eu-stack wall",
             "gdb/asyncdump wall", "eu-stack/asyncdump wall"), rows)
    return out


def section_demo(results):
    demo = results["demo"]
    return ("## Cold first sample of the example program (tests/targets/demo, release)\n\n" + table(
        ("what", "time"),
        [("first request to a fresh asyncdumpd (debuginfo index included)",
          spread([r["daemon_first_s"] for r in demo], fmt_s)),
         ("`asyncdump PID` (CLI, always cold), wall", spread([r["cli_s"] for r in demo], fmt_s))]))


def section_threads(results):
    threads = results.get("threads")
    if not threads:
        return ""
    return ("## First capture of a process with many threads (release benchtarget, "
            f"{threads[0]['threads']} threads, 1,000 tasks)\n\n"
            "A fresh asyncdumpd per round whose debuginfo index is built already (a request to "
            "another benchtarget of the same binary): the first request to the many-threaded "
            "process builds its unwinder and unwinds every thread; then warm requests.\n\n" + table(
                ("first request", "warm request (median of 3)", "first / warm"),
                [(spread([r["first_s"] for r in threads], fmt_s), spread([r["warm_s"] for r in threads], fmt_s),
                  f"{median([r['first_s'] / r['warm_s'] for r in threads]):.1f}×")]))


ARM_NAMES = {"watch": "watch list", "nostop": "watch, no stop", "http": "GET /tasks"}


def fidelity_summary(load):
    """What reading without a stop read under load: the fidelity phase's
    samples and the no-stop watch list's; None when neither ran."""
    fidelity = load.get("fidelity")
    logged = [x for r in load["runs"] if r.get("arm") == "nostop" for x in r.get("reads", [])]
    if not fidelity and not logged:
        return None
    docs = fidelity["samples"] if fidelity else []
    tasks = sum(d["tasks"] for d in docs) + sum(t for t, _, _ in logged)
    return {
        "docs": docs, "logged": logged, "tasks": tasks,
        "reread": sum(d["reread"] for d in docs) + sum(r for _, r, _ in logged),
        "inconsistent": sum(d["inconsistent"] for d in docs) + sum(i for _, _, i in logged),
        "idle_read": sum(d["idle_read"] for d in docs),
        "idle_differing": sum(d["idle_differing"] for d in docs),
        "idle_missing": sum(d["idle_missing"] for d in docs),
        "idle_inconsistent": sum(d["idle_inconsistent"] for d in docs),
    }


def section_fidelity(load):
    f = fidelity_summary(load)
    if not f:
        return ""
    fid = load.get("fidelity") or {}
    wrk = fid.get("wrk") or {}
    walls = [d["wall_s"] for d in f["docs"]]
    share = f["inconsistent"] / f["tasks"] if f["tasks"] else 0
    reread = f["reread"] / f["tasks"] if f["tasks"] else 0
    return f"""### What a sample without a stop reads under load (issue 18)

Samples without a stop: the no-stop watch list's ({len(f['logged'])}, from its log) and
{len(f['docs'])} `GET /pids/PID/tasks?stop=0` once per second over {fid.get('seconds', 0)} s of the same
wrk load ({wrk.get('rps', 0):.0f} req/s, p99 {fmt_ms(wrk.get('p99_ms', 0))}; request time
{spread(walls, fmt_s) if walls else '—'}). Each of the latter's {load['idle_tasks']:,} idle tasks (they never change)
is compared with a stopped sample taken just before, frame for frame (a timer's time left aside).

| | |
|---|---|
| tasks read (all samples) | {f['tasks']:,} |
| read again (their memory changed between reading and checking) | {f['reread']:,} ({reread * 100:.3f} %) |
| **marked inconsistent** (changed at each of 3 reads) | **{f['inconsistent']:,} ({share * 100:.3f} %)** |
| idle tasks read (`?stop=0`) | {f['idle_read']:,} |
| idle tasks whose trace differs from the stopped sample's | {f['idle_differing']:,} |
| idle tasks missing | {f['idle_missing']:,} |
| idle tasks marked inconsistent | {f['idle_inconsistent']:,} |
"""


def section_load(load, nproc):
    arms = [(arm, load_summary(load, nproc, arm)) for arm in ("watch", "nostop", "http")]
    arms = [(arm, s) for arm, s in arms if s]
    header = [""] + [{"watch": "watch list, 1/s (the budget)",
                      "nostop": "watch list without a stop, 1/s (issue 18)",
                      "http": "`GET /pids/PID/tasks`, 1/s (informational)"}[arm] for arm, _ in arms]

    def row(label, cell):
        return [label] + [cell(arm, s) for arm, s in arms]
    rows = [
        row("throughput without → with sampling (medians)",
            lambda a, s: f"{median([r['rps'] for r in s['off']]):.0f} → {median([r['rps'] for r in s['on']]):.0f} req/s"),
        row("throughput change (median of per-pair changes)", lambda a, s: f"{-s['throughput_cost'] * 100:+.2f} %"),
        row("p99 latency without → with sampling (medians)",
            lambda a, s: f"{fmt_ms(median([r['p99_ms'] for r in s['off']]))} → "
                         f"{fmt_ms(median([r['p99_ms'] for r in s['on']]))}"),
        row("p99 change (median per pair)", lambda a, s: f"{s['p99_increase_ms']:+.2f} ms"),
        row("samples per run", lambda a, s: spread(s["samples_per_run"], str)),
        row("pause per sample", lambda a, s: spread(s["pauses_us"], fmt_us)),
        row("time per sample", lambda a, s: spread(s["sample_walls_s"], fmt_s)
            + (" (capture + decode, as logged)" if a != "http" else " (request, end to end)")),
        row("server stopped (pauses / run time)", lambda a, s: f"{s['pause_share_on'] * 100:.2f} %"),
        row("asyncdumpd CPU (10 ms ticks)",
            lambda a, s: f"{s['daemon_cpu_share_on'] * 100:.1f} % of one CPU, "
                         f"≈ {fmt_s(s['cpu_per_sample_s'])} per sample"),
        row(f"the same, as a share of the {nproc} CPUs", lambda a, s: f"{s['daemon_cpu_share_on'] / nproc * 100:.2f} %"),
        row("**resources taken** (stopped + CPU share)", lambda a, s: f"**{s['resource_cost'] * 100:.2f} %**"),
        row("run-to-run spread of throughput without sampling", lambda a, s: f"{s['noise'] * 100:.1f} %"),
    ]
    runs = [(i + 1, ARM_NAMES[r.get("arm", "http")], "on" if r["sampling"] else "off", f"{r['rps']:.0f}",
             fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]), len(r["pauses_us"]) or "—",
             f"{r['daemon_cpu_s']:.2f} s", r["errors"])
            for i, r in enumerate(load["runs"])]
    return f"""## Cost to a loaded service

`tests/targets/benchserver --idle-tasks {load['idle_tasks']}` (hyper 0.14, release,
{load['threads']} threads) under `{load['wrk']}` on loopback, sampled once per second or not.
wrk, the server and asyncdumpd share the machine's CPUs. An asyncdumpd runs throughout, idle
unless asked. Two ways of sampling, two arms:

- **watch list** (the budget's arm): a second asyncdumpd,
  `asyncdumpd {load.get('watch_flags', '--watch pid=PID --sample-interval 1s')}`, samples the
  server on its own once per second, as a fleet runs it (Prometheus scrapes `/metrics`, nobody
  asks for JSON): each sample is a capture, its decoding and hang detection's progress
  tracking; no JSON is rendered. It is started before each of the arm's runs with sampling and
  stopped after it; its first, cold sample (the debuginfo index) is taken before wrk starts, so
  the run sees the steady state. Its samples are read from its log (`sample pid=… pause_us=…`)
  and checked: about one per second, every one successful and complete (at least the server's
  idle tasks), and as many as `/metrics`' `asyncdump_target_pause_seconds_count` for the pid.
- **watch list without a stop** (issue 18): the same second asyncdumpd with
  `--sample-stop no` (`{load.get('nostop_flags', '')}`): the server is read while it runs,
  never stopped (no pause; each task checked against the server after it is decoded, read
  again when it changed). Its samples are checked the same way, against
  `asyncdump_target_sample_duration_seconds_count`.
- **`GET /pids/PID/tasks`** (informational): a client thread asks the asyncdumpd that runs
  throughout for the whole JSON document of the server's tasks every second, as a script
  polling the API would. Rendering that document costs more than taking the sample (see
  *Where asyncdumpd's time goes*).

The budget line, "sampling once per second", is the watch-list arm: that is asyncdumpd's own
periodic sampling, the one that runs all the time on a fleet. Pulling the whole JSON document
every second is a client's choice, not how asyncdumpd samples; its cost is the second,
informational line of the budget table. Each arm runs off/on pairs (alternately off/on and
on/off), the two arms' pairs interleaved, so that a drift in the machine's load hits both
alike. The throughput change is the median of per-pair changes; the machine is shared, so it
is noisy. *Resources taken* is the time the server is stopped plus asyncdumpd's CPU time as a
share of all CPUs (wrk and the server saturate them): an estimate of the throughput cost that
does not depend on that noise. The budget asks both to stay under 1 %.

{table(header, rows)}
{table(("run", "arm", "sampling", "req/s", "p50", "p99", "samples", "asyncdumpd CPU", "errors"), runs)}
{section_fidelity(load)}"""


def section_perf(results):
    profiled = [e for e in results["targets"] if "perf" in e]
    if results.get("perf_missing"):
        return "## Where asyncdumpd's time goes\n\nNot profiled: `perf` is not installed (Debian: linux-perf).\n"
    out = ""
    for e in profiled:
        p = e["perf"]
        out += (f"## Where asyncdumpd's time goes: {e['profile']}, {e['tasks']:,} tasks\n\n"
                f"`perf record --call-graph dwarf` over {p['requests']} warm sample(s) "
                f"({spread(p['walls_s'], fmt_s)} each, slower under perf). asyncdumpd's own functions, "
                "with what they call (≥ 4 %):\n\n")
        out += table(("share", "function"), [(f"{pct:.1f} %", sym) for pct, _, sym in p["inclusive"]])
        out += "\nWhat burns the time itself (≥ 2 %):\n\n"
        out += table(("share", "object", "symbol"), [(f"{pct:.1f} %", dso, sym) for pct, dso, sym in p["self"]])
        out += "\nBy object (≥ 2 %): " + ", ".join(f"{dso} {pct:.1f} %" for pct, dso in p["by_object"]) + ".\n\n"
    return out


def nostop_decision(results, nproc):
    """Whether sampling without a stop is better for the watch list, by this
    run's figures: the rule of issue 18 (its default only if better)."""
    load = results.get("load")
    watch = load_summary(load, nproc, "watch") if load else None
    nostop = load_summary(load, nproc, "nostop") if load else None
    fidelity = fidelity_summary(load) if load else None
    if not watch or not nostop or not fidelity:
        return "- **Sampling without stopping** (`--no-stop`, `?stop=0`, `sample_stop = no`): not measured in this run.\n"
    wrong = fidelity["idle_differing"] + fidelity["idle_missing"] + fidelity["idle_inconsistent"]
    better = (nostop["resource_cost"] < watch["resource_cost"]
              and nostop["throughput_cost"] <= watch["throughput_cost"] and not wrong)
    verdict = ("better on every count measured here: it could be the watch list's default"
               if better else
               "not better by this run's figures, so the watch list keeps stopping by default "
               "(`sample_stop = yes`); reading without a stop stays a choice")
    return f"""- **Sampling without stopping** (`--no-stop`, `?stop=0`, `sample_stop = no`; *Cost to a
  loaded service* above): the server is never stopped (its pauses, {watch['pause_share_on'] * 100:.2f} % of its
  time when stopping once per second, are gone), but a sample costs asyncdumpd more CPU
  ({fmt_s(nostop['cpu_per_sample_s'])} against {fmt_s(watch['cpu_per_sample_s'])}: every read of a task's tree is
  logged and compared with the process afterwards, {fidelity['reread'] * 100 / max(fidelity['tasks'], 1):.2f} % of the
  trees read again): resources taken {nostop['resource_cost'] * 100:.2f} % against {watch['resource_cost'] * 100:.2f} %,
  throughput {-nostop['throughput_cost'] * 100:+.2f} % against {-watch['throughput_cost'] * 100:+.2f} %, p99
  {nostop['p99_increase_ms']:+.2f} ms against {watch['p99_increase_ms']:+.2f} ms (run-to-run spread about
  {nostop['noise'] * 100:.0f} %). Under load, {fidelity['inconsistent'] * 100 / max(fidelity['tasks'], 1):.3f} % of the tasks read
  were marked inconsistent, and {wrong} of {fidelity['idle_read']:,} idle tasks read otherwise than a
  stopped sample has them. Hang detection never counts a task marked inconsistent as
  unchanged, so a task that changes while read cannot become stuck (the runs here are shorter
  than the 60 s threshold: no stuck task could be reported either way). Verdict: {verdict}.
"""


def section_issue18_open(results, nproc):
    """Issue 18's goals that this benchmark does not measure (yet), and why
    the measured ones stand where they do."""
    return """## Issue 18: what is not measured, and where the time goes

- **The pause**: on this machine (a virtual machine) the kernel's first write to a page of
  ours costs it about 6 µs even when the page is present, so copying a 16 MiB heap into a
  freshly faulted-in buffer took 25 ms and into one the kernel had written once 3 ms: the
  pause had grown from 3.6 ms to 31 ms at 10,000 tasks between two runs on different kernels.
  The snapshot now has the kernel write one byte of each page of the copy buffer before the
  stop (a `process_vm_readv` of our own memory), which moves that cost out of the pause.
  With huge pages in the copy buffer (below) the pause's copy is faster too: 100,000 tasks
  paused 33 ms in the previous run of this benchmark (on ab5763b).
- **First capture with 64 threads** (measured above): a process's first capture builds its
  unwinder (libdwfl with every mapped module, for their CFI) and unwinds every thread. The
  unwinder no longer opens the executable's DWARF a second time: functions, scopes and names
  come from the debuginfo index already open (issue 19's one DWARF stack), which is what brought
  the first capture near a warm one; skipping threads was not needed. Since the last session
  a warm capture reuses the memory the capture before it left (below) and the first has none
  to reuse, so the ratio grew: 1.5× (47 ms vs 32 ms) two sessions ago, 1.9× and 2.0× in the
  last session's two runs (the second, on 05d4baa, missed by its rounding: 61 ms vs 30), 1.6×
  in this one (60 ms vs 38: the warm captures were slower on a busier machine). By hand,
  five fresh daemons each, interleaved with the build before (e5d7768): first capture 40.4 →
  40.9 ms (medians), warm 34 → 29.5 ms. Where a first capture's time goes, timed in the code
  over three of this benchmark's rounds (a build that logged each phase, not kept): the
  unwinder's build and the unwinding of all 67 threads 5 ms against 3.6 ms warm, so skipping
  threads would save at most a millisecond or two; the snapshot 18–20 ms against 14–16, the
  decoding of the 1,000 tasks 17 ms against 9, and 6 ms more after the sample (the response).
  A perf profile of five first and five warm captures puts the difference in page faults of
  fresh memory (`native_set_pte`, `native_set_pmd`, `clear_page_erms`, and `ad_trace_frame_create`
  writing its first frames) — the memory a warm capture takes from the one before.
- **Decode + render per task**: counted by callgrind (instructions, whatever the load), a
  warm JSON request at 10,000 tasks went from 1,128 million to 613, 521, 421 and 256 million in
  earlier sessions and to 164 million in the last one (16,400 a task; 166 million now, with
  the JSON writer in a file of its own and the text's header counting a join's other waiting
  branches: 271 → 273 million for text). That session: a frame's
  members that every frame of its type at one suspension point writes alike (kind, name,
  type; state, location) are kept as first written and copied after (256 → 209 million); the
  index of tasks by id is made only at the first task link; the tokio task's `Stage` enum is
  found once per task type instead of through its wrappers per task (→ 196); what a task's
  vtable says (read-only memory, one per task type: its trailer and id offsets, its type) is
  read once per vtable a walk instead of three reads per task outside the copy (→ 181); an
  async fn's state and awaited field are kept per variant with its location; and a task's
  summary, the same blocked_on as its leaf's, is copied from the leaf's compact JSON
  (→ 164). That met the goal at 10,000 tasks (4.2 µs JSON, 4.4 µs text, in that run), not
  at 100,000 (6.8 and 8.6 µs), where the warm request was mostly the kernel's: under perf 66 %
  of asyncdumpd's time was in the kernel, 40 % zeroing fresh pages (`clear_page_erms`) of the
  copy buffer and the trace's pool, which every sample mapped anew; what that costs depends on
  the host's memory (by hand on the quiet machine the same request took half as long), and the
  "linear in N" rows missed for the same reason. Since the last session a sample's copy buffer
  and its pool's large chunks are kept for the next sample (`core/spare.c`, owned by the context):
  written again, their pages need no zeroing. Kept memory is advised `MADV_FREE`, so the
  kernel takes it back when it needs memory, and asyncdumpd unmaps what no sample used for
  15 s (past the watch list's default 10 s interval). Under perf by hand, `clear_page_erms`
  went from 16 % of a warm 100,000-task request to none (in the profile of the run on
  05d4baa, from 40 % to under 2 %); at 100,000 tasks the request was 4.1 µs a task (JSON)
  and 3.6 µs (text) in the run on b0608d0, 3.7 and 4.2 µs in the one on 05d4baa, and 3.1 and
  3.6 µs in this one, 10–12× the old path's, and the "linear in N" rows pass in all three. The
  warm request of each round reuses what its daemon's cold one left. The price is memory
  held while samples come: by hand at 100,000 tasks asyncdumpd's RSS stayed at 295 MiB after
  a request and fell to 133 MiB (the kept sample, as before) 17 s later. Earlier: a
  trace keeps one copy of each type name, display name and suspension
  point, shared by its frames, and its frames and their blocked_on come from the trace's pool
  (allocations 18 → 1.2 a task); what is the same for every instance of a type is worked out
  once per sample or once per binary; snapshot reads try the segment of the last read first;
  keys are copied with their constant length and strings scanned sixteen bytes a step (SSE2).
  Instructions were then no longer where the time went. On this virtual machine the first
  touch of a 4 KiB page costs the kernel several microseconds, and a warm request at 100,000
  tasks touched about 65,000 fresh pages: the copy buffer (prepared before the pause) and the
  trace's pool. Both now take transparent huge pages where they are filled (the copy buffer
  in each 2 MiB window its ranges fill at least half of; the pool's chunks grow with it, and
  from 2 MiB are mappings of their own); the decoder asks for the next task's memory while it
  decodes this one (a prefetch through the reader: the copy is read long after it was made,
  one cache miss after another); the net tables (`/proc/PID/net/tcp` walks every bucket of the
  kernel's connection hash) are read only when a leaf has a socket to name; the unwinder keeps
  each pc's scope chain; and responses go out in 128 KiB chunks instead of 16 KiB (870 poll +
  send rounds for 10,000 tasks, 8,500 for 100,000). asyncdumpd's own CPU time for a warm
  request, beside the old path's, is in the informational rows of the budget (10 ms ticks). The
  wall times above are end to end, on a machine whose two CPUs the target, its probes, the
  client and asyncdumpd share. Until this run the client read through Python's http.client,
  whose chunked reading allocated and joined per chunk: the first warm request after a cold one
  took 150–190 ms at 10,000 tasks through it while curl took 50–60 ms and the daemon's CPU time
  was 40–60 ms; the previous run's wall times (14.8 and 12.8 µs a task) were largely the
  client's. By hand, with curl, on the quiet machine: 45–75 ms at 10,000 tasks and 0.35–0.72 s
  at 100,000, against 1.5–1.6 s at 100,000 for 7c7a6f6 measured the same way. What is left is spread over the decoder's walk
  (variant and member reads through the reader, the recognisers' name tests), the JSON text
  (57 members a task), the pause's copy and sending 134 MiB; going well below 5 µs needs
  decode plans that read an instance without asking DWARF-shaped questions.
- **Text format**: drawn from the same walk as JSON, into a tree of plain nodes in one pool
  emptied after each task. A warm text request at 10,000 tasks went from 1,347 to 634 million
  instructions in an earlier session, to 388 million in the next (allocations 28 → 1.2 a
  task): the pool's allocation inline, member lookups that compare addresses and first bytes
  before `memcmp`, and line numbers, ids and addresses written without `vasprintf`; and to
  271 million in this one (27,100 a task): the decoder's share above; the task's tree leaves
  out what the text never shows (a frame's type and address, a blocked_on's members but its
  description) and points at the trace's strings instead of copying them (→ 312); a frame's
  members are read in one walk over them instead of a lookup by key each, about a dozen a
  frame (→ 271); control bytes are looked for eight bytes a step. What is left is building and
  walking a tree of the JSON document for each task; drawing the text from the trace
  directly is what would close the distance to JSON.
""" + nostop_decision(results, nproc) + """- **Rows at the edge of their budget**: on this shared 2-CPU machine some rows land on either
  side of their limit from one run to the next with the same code. The watch list's cost
  (issue 10's budget) was 0.95 % of resources and -0.41 % throughput in the run on b0608d0,
  1.00 % and -1.46 % in the one on 05d4baa, and 1.05 % and +4.26 % in this one (asyncdumpd's
  CPU is counted in 10 ms ticks, 17 or 18 ms a sample, and the throughput's run-to-run spread
  was 21 % then and 58 % now: the sampling's own cost is below what this machine can
  resolve); the felt pause at 1,000 tasks was 1.0 ms (a miss) in the run on b0608d0, 0.91 ms
  on 05d4baa and 0.99 ms in this one; the first capture with 64 threads is above.
- **Decoding at a low priority**: implemented (`asyncdumpd --decode-priority normal|nice|idle`,
  for the watch list's samples; requests decode at the normal priority, a client waiting), but
  not the default: on this shared 2-CPU machine, benchserver under wrk got watch-list samples of
  1.4–3.6 s at nice 19 instead of about 30 ms, and a watch test's first sample missed its 10 s
  deadline, while the normal-priority probe felt a request decoded at the normal priority no more
  than the real-time probe did (see the pause table). Both probes are in the tables above.
- **Peak RSS** (measured above): a compact model is done (interned strings, frames in the
  trace's pool, structs without padding): asyncdumpd's RSS while it keeps a sample of 100,000
  tasks went from about 180 to 120 MiB, of which about 30 MiB is the daemon with its
  debuginfo (the 100-task row): the model is about 0.9 KiB a task. The peak is reached
  at the end of decoding, when the snapshot (the target's 160 MB heap, copied whole during the
  stop so that the pause stays short) and the model are both held. The heap is the tasks
  themselves: each benchtarget task is one tokio task cell of 1,536 bytes (`Cell<…>` in the
  target's DWARF: byte size 0x600, aligned to 128, its three-deep future and `Sleep` inline),
  so a stopped copy of the 100,000 cells alone is 150 MB, more than the goal's 1 KiB a task
  for the whole daemon. Reaching it needs a snapshot that copies only the bytes of a cell the
  decoder reads (planned from the last sample's reads, with a read outside the plan made
  good) or decoding from the stopped target in parts, and a model below 0.9 KiB a task; none
  is started. How much of the copy the decoder reads was measured this session (a build that
  recorded every read served from the copy, not kept): for 100,000 benchtarget tasks it read
  5.5 MB of the 166 MB copied, 55 bytes a task, in 800,000 distinct 64-byte lines (8 a task,
  51 MB), and touched every one of the 40,644 pages copied. Planning the copy by page would
  save nothing; by line, from the last sample's reads, it would hold about a third. What is
  unsolved is a read outside the plan (a task created since, a cell reused by a task of
  another type): in a stopped sample it can only be made good by another stop, or the task
  marked inconsistent as without a stop. And such a plan helps only a warm sample: the
  first sample of a process, which this row measures (the peak over a cold and a warm
  one), has no reads to plan from and copies the heap whole, so the peak would stay at the
  copy plus the model. Decoding from the stopped target in parts instead trades memory for
  pause, measured by hand on the same 166 MB heap of 100,000 tasks, stopped: 40,656 reads of
  one page each took 167–617 ms (4–15 µs a page, three rounds) where one read of the whole
  mapping took 23–33 ms, and the decoding (3.7 µs a task) would then run while the target is
  stopped too: half a second of pause against 23 ms. We keep the short pause. Per-type decode plans cached per binary are begun (resolved field and variant
  types live beside them; the task's Stage enum, above).
- **The pause at 1,000 tasks**: most of it was waiting for the target's seven threads to reach
  their stops after PTRACE_INTERRUPT, then re-reading maps and pagemap, and copying. Each
  thread was seized and interrupted in turn, so the seizes counted in the pause, and the
  real-time sampler polled for the stops with `sched_yield`, which yields to no normal thread:
  the target's threads had one CPU of the two to reach their stops (0.4–0.7 ms for seven,
  against 0.1–0.2 ms). Now every thread is seized before the first interrupt, and between
  polls the sampler sleeps in `sigtimedwait` for the SIGCHLD the kernel sends a tracer at each
  ptrace-stop (only where the program leaves SIGCHLD at its default; otherwise it polls as
  before); the used part of a thread's stack (64 KiB or less) is copied without reading its
  pagemap. Dropping the real-time priority until every thread had stopped was as fast on the
  quiet machine but, with three busy loops beside the target, paused 3.0 ms at the median and
  10.8 ms at worst, against 0.94 and 1.04 ms sleeping real-time (1,000 tasks, 12 samples
  each). Measured interleaved with the build before (7b8b814; `pause_us`, medians of 10), with
  the first of these changes (real-time only once stopped), which the final one matches when
  the machine is quiet: 100 tasks 1.07 → 0.58 ms, 1,000 tasks 1.33 → 0.85 ms, 10,000 tasks
  4.4 → 4.3 ms. What was left
  at 1,000 tasks, timed in the code: 0.1–0.25 ms for the stops, 0.1 ms re-reading maps,
  0.05–0.15 ms reading the pagemap of the heap and arenas, 0.35–0.5 ms copying 2 MB, 0.05 ms
  detaching. This session the copy is shared: while the process is stopped its threads take
  no CPU, so a copy of a megabyte or more is split with a second thread, started before the
  stop, woken as the pause begins and spinning until the copy is planned (woken only then, and
  joined in the pause, it made 1,000 tasks slower). Interleaved with the build before
  (`pause_us`, medians): 1,000 tasks 1.14 → 0.99 ms, 10,000 5.5 → 3.5 ms, 100,000
  23.7 → 17.6 ms. In the run on b0608d0 the pause at 1,000 tasks was 0.92 ms (`pause_us`) and
  was felt as 1.0 ms, a miss by the probe's resolution (0.63 and 0.79 ms in the run before);
  on 05d4baa 0.73 and 0.91 ms, in this run 0.96 and 0.99 ms. The machine's pauses were longer all this session,
  10,000 tasks too (2.4–2.5 ms against 1.6). Interleaved by
  hand with the build before this session's change (kept memory; `pause_us`, medians of 15
  and 12): 1,000 tasks 0.80 → 0.73 ms, 10,000 tasks 2.69 → 2.69 ms.
"""


def render(facts, results):
    budget = evaluate(results, facts["nproc"])
    parts = [section_header(facts, results), section_budget(budget), section_pause(results),
             section_request(results), section_baseline(facts, results), section_rss(results),
             section_tools(results),
             section_demo(results), section_threads(results)]
    if results["load"]:
        parts.append(section_load(results["load"], facts["nproc"]))
    parts.append(section_perf(results))
    parts.append(section_issue18_open(results, facts["nproc"]))
    return "\n".join(p for p in parts if p), budget.misses
