#!/bin/bash
# Issue 18, sampling without a stop (asyncdump --no-stop). On idle targets
# of every runtime we read (tokio's three suites, async-std, smol, futures'
# block_on), both profiles: the document is the stopped sample's, task for
# task and frame for frame (main's block_on included: found on a thread
# parked in the standard library, whose frames keep frame pointers the
# sample does not know), with "stopped": false, no pause, and every task
# "consistent": true. On busy (its spinning task, and `churn`'s thread
# whose task wakes itself forever): the spinning thread is never stopped
# (its voluntary context switches do not move, where a stopped sample's
# do), the spinning task is still said to run on its thread, the churning
# task is marked "consistent": false, the others are not, and the document
# says which threads it could not unwind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

# voluntary_switches PID TID: how often the thread gave up its CPU.
voluntary_switches() {
	awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$1/task/$2/status"
}

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	targets=()
	for spec in "demo 3" "mains twin_futures" "mains blocked_current" leaves asyncstd smolrt; do
		# shellcheck disable=SC2086 # a target and its arguments
		set -- $spec
		start_target "$1" "$profile" "${@:2}"
		targets+=("${spec// /_}.$profile" "$TARGET_PID")
	done
	run_checks "idle targets without a stop ($profile)" "$ASYNCDUMP" "$HARNESS_TMP" "${targets[@]}" <<'PY'
import json
import re
import subprocess
import sys

import tracecheck as tc

asyncdump, tmp, args = sys.argv[1], sys.argv[2], sys.argv[3:]
TIMER_LEFT = re.compile(r"fires in -?\d+ s")
VOLATILE = ("consistent", "reads", "time_left_s", "deadline_ns")
# A target's thread that wakes on its own (async-std's runtime threads poll
# every second) can be caught running by one sample and parked by the
# next: the pair is sampled again, a few times at most.
ATTEMPTS = 3


def normal(v):
    """The document without what differs between two samples a moment
    apart: a timer's time left, and whether a task read consistently."""
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [normal(x) for x in v]
    if isinstance(v, str):
        return TIMER_LEFT.sub("fires in N s", v)
    return v


def sample(pid, name, *options):
    path = "%s/%s%s.json" % (tmp, name, "".join(o.replace("-", "") for o in options))
    with open(path, "w") as out:
        subprocess.run([asyncdump, "--json", *options, str(pid)], stdout=out, check=True, timeout=60)
    return tc.load(path)


def differences(stopped, doc):
    """What differs between the two documents, task for task and frame for frame."""
    found = []
    if stopped["warnings"] != doc["warnings"]:
        found.append("warnings: %r, without a stop %r" % (stopped["warnings"], doc["warnings"]))
    if normal(stopped["runtimes"]) != normal(doc["runtimes"]):
        found.append("runtimes: %r, without a stop %r" % (stopped["runtimes"], doc["runtimes"]))
    want, got = normal(stopped["tasks"]), normal(doc["tasks"])
    if len(want) != len(got):
        found.append("%d tasks, without a stop %d" % (len(want), len(got)))
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            found.append("task %d (%s %s):\n  stopped: %s\n  no stop: %s"
                         % (i, w["kind"], w["id"], json.dumps(w)[:1500], json.dumps(g)[:1500]))
    return found


for name, pid in zip(args[0::2], args[1::2]):
    c = tc.Check("%s without a stop" % name)
    for attempt in range(ATTEMPTS):
        stopped = sample(pid, name)
        doc = sample(pid, name, "--no-stop")
        found = differences(stopped, doc)
        if not found:
            break
    c.eq([], found, "what differs from a stopped sample (%d attempts)" % ATTEMPTS)
    c.eq(True, stopped.get("stopped"), "a stopped sample says so")
    c.eq(False, doc.get("stopped"), "stopped")
    c.eq(None, doc.get("pause_us"), "pause_us (nothing was paused)")
    c.true(doc["tasks"], "tasks were found")
    c.eq([], [(t["id"], t.get("consistent"), t.get("reads")) for t in doc["tasks"]
              if t.get("consistent") is not True or t.get("reads") != (1 if t.get("root") else 0)],
         "tasks not read consistently at their first read (all are idle)")
    c.eq([], [t["id"] for t in stopped["tasks"] if "consistent" in t],
         "a stopped sample's tasks say nothing of consistency")
    head = subprocess.run([asyncdump, "--no-stop", str(pid)], capture_output=True, text=True,
                          check=True, timeout=60).stdout.split("\n")[0]
    c.true(re.search(r", read at \S+ without stopping it$", head), "the text's header: %r" % head)
    c.done()
PY
	for ((i = 1; i < ${#targets[@]}; i += 2)); do
		assert_running "${targets[i]}" "${targets[i - 1]} after its samples"
	done
	stop_targets

	start_target busy "$profile" churn
	busy_tid=$(target_info BUSY_TID)
	before=$(voluntary_switches "$TARGET_PID" "$busy_tid")
	timeout 60 "$ASYNCDUMP" --json --no-stop "$TARGET_PID" >"$HARNESS_TMP/busy.$profile.json" ||
		fail "asyncdump --json --no-stop on busy churn ($profile) failed"
	after=$(voluntary_switches "$TARGET_PID" "$busy_tid")
	assert_eq "$before" "$after" "busy ($profile): voluntary context switches of the spinning thread $busy_tid across a sample without a stop"
	timeout 60 "$ASYNCDUMP" --json "$TARGET_PID" >/dev/null || fail "asyncdump --json on busy churn ($profile) failed"
	stopped_after=$(voluntary_switches "$TARGET_PID" "$busy_tid")
	[ "$stopped_after" -gt "$after" ] ||
		fail "busy ($profile): a stopped sample left the spinning thread's voluntary context switches at $stopped_after: the check above proves nothing"
	assert_running "$TARGET_PID" "busy churn ($profile) after its samples"
	run_checks "busy churn without a stop ($profile)" "$ASYNCDUMP" "$(target_src busy)" \
		"$HARNESS_TMP/busy.$profile.json" "$TARGET_PID" "$busy_tid" <<'PY'
import json
import re
import subprocess
import sys

import tracecheck as tc

asyncdump, src_dir, path, pid, busy_tid = sys.argv[1:6]
pid, busy_tid = int(pid), int(busy_tid)
src = tc.Source("busy", src_dir)
c = tc.Check("busy churn without a stop (pid %d)" % pid)
doc = tc.load(path)
c.eq(False, doc["stopped"], "stopped")
busy = c.one_task(doc, "busy::spins_forever")
if busy:
    c.eq("running", busy["state"], "the spinning task's state")
    c.eq(busy_tid, (busy.get("thread") or {}).get("tid"),
         "the thread polling the spinning task (its thread-locals, read without a stop)")
    c.eq(True, busy.get("consistent"), "the spinning task reads consistently (its memory does not move)")
sleepers = c.tasks_by_root(doc, "busy::sleeps_while_other_spins", "task")
c.true(sleepers, "sleeping tasks")
# (read again, maybe: what was read before a tree, the list links and other
# tasks' headers since the previous tree, is checked with it)
c.eq([], [(t["id"], t.get("reads")) for t in sleepers if t.get("consistent") is not True],
     "sleepers not read consistently")
warnings = "\n".join(doc["warnings"])
c.true(re.search(r"\b2 threads were running on a CPU, not unwound", warnings),
       "a warning says the spinning and churning threads were not unwound: %r" % warnings)

# Where the churning task is suspended changes whenever its thread runs
# (each poll moves it to its other await): a sample must see it change
# (read it again, or mark it inconsistent) within a few samples. On a
# loaded machine its thread may have no CPU while its tree is read again,
# and the second read rightly holds. Whatever the read, its tree is at
# one of its awaits (mid-poll, the one it last left).
LINES = {src.markers["churns_forever_yields_first"], src.markers["churns_forever_yields_second"]}
seen = 0
for attempt in range(5):
    if attempt:
        doc = json.loads(subprocess.run([asyncdump, "--json", "--no-stop", str(pid)], capture_output=True,
                                        text=True, check=True, timeout=60).stdout)
    churn = c.one_task(doc, "busy::churns_forever")
    if not churn or not c.true(churn.get("root"), "the churning task's tree"):
        break
    root = churn["root"]
    c.eq("busy::churns_forever", root["name"], "the churning task's root")
    c.true((root.get("location") or {}).get("line") in LINES,
           "the churning task is at one of its awaits (lines %s): %r" % (sorted(LINES), root.get("location")))
    c.true(1 <= churn.get("reads", 0) <= 3, "reads of the churning task: %r" % churn.get("reads"))
    # Caught at rest between polls or in the middle of one, what it waits on
    # is a yield (tokio 1.5x's is a PollFn), never an unknown leaf.
    leaves, frames = [], [root]
    while frames:
        f = frames.pop()
        frames.extend(f.get("children") or [])
        if f.get("blocked_on"):
            leaves.append(f["blocked_on"]["kind"])
    c.eq([], [k for k in leaves if k != "yield"], "the churning task's leaves that are not yields")
    if churn.get("consistent") is False:
        c.eq(3, churn.get("reads"), "reads of a task marked inconsistent")
        # The churning task's tree and any other whose memory changed while
        # read (one run under load had two): the warning counts them all.
        marked = sum(1 for t in doc["tasks"] if t.get("consistent") is False)
        c.true(re.search(r"\b%d of \d+ future trees kept changing while read" % marked,
                         "\n".join(doc["warnings"])),
               "a warning counts the %d trees marked inconsistent: %r" % (marked, doc["warnings"]))
    if churn.get("reads", 0) > 1:
        seen += 1
        break
c.true(seen, "the churning task was seen changing (read again) in none of 5 samples")
c.done()
PY
	stop_targets
done
finish_checks
