#!/bin/bash
# Issue 15, finding 1: a task list that loops without returning to its head.
# One corrupted word - a task's link pointing back at the task itself - made
# one sample walk a million tasks and decode each (gigabytes, minutes), and a
# first task linked to itself hid every other task without a word. This test
# corrupts a stock target's task links through /proc/PID/mem (root) and
# expects a bounded sample: at most the tasks that exist, done in seconds,
# with a warning naming the task where the list comes back on itself.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

TASKS=24

# corrupt PID JSON WHICH: in the cell of the WHICH-th task of the list (first
# or middle, in list order), every word that points at another task's header
# is made to point at this task itself. The document lists tasks by id; the
# target's tokio (1.24, the default suite) keeps its one owned-task list
# newest first, so list order is by id, descending.
corrupt() {
	python3 - "$@" <<'PY'
import json, struct, sys
pid, doc_path, which = int(sys.argv[1]), sys.argv[2], sys.argv[3]
doc = json.load(open(doc_path))
in_list_order = sorted((t for t in doc["tasks"] if t["kind"] == "task"), key=lambda t: t["id"], reverse=True)
heads = [int(t["address"], 16) if isinstance(t["address"], str) else t["address"] for t in in_list_order]
victim = heads[0] if which == "first" else heads[len(heads) // 2]
others = set(heads) - {victim}
# the cell ends before the next cell: never write past the nearest header
limit = min([h for h in heads if h > victim] + [victim + 4096])
with open("/proc/%d/mem" % pid, "r+b", buffering=0) as mem:
    mem.seek(victim)
    cell = mem.read(limit - victim)
    hits = 0
    for off in range(0, len(cell) - 7, 8):
        (word,) = struct.unpack_from("<Q", cell, off)
        if word in others:
            mem.seek(victim + off)
            mem.write(struct.pack("<Q", victim))
            hits += 1
if not hits:
    sys.exit("no link to another task in the cell of task 0x%x" % victim)
print("0x%x" % victim)
PY
}

for which in first middle; do
	start_target counts release --tasks "$TASKS"
	pid=$TARGET_PID
	sample "$pid" "clean.$which"
	victim=$(corrupt "$pid" "$HARNESS_TMP/clean.$which.json" "$which") || fail "could not corrupt the task list of $pid"
	note "task $victim of pid $pid now links to itself ($which in the list)"
	start=$SECONDS
	sample "$pid" "corrupt.$which"
	elapsed=$((SECONDS - start))
	[ "$elapsed" -le 30 ] || fail "the sample of a corrupt list took ${elapsed}s"
	python3 - "$HARNESS_TMP/corrupt.$which.json" "$victim" "$TASKS" "$which" <<'PY' || fail "checks of the corrupt list ($which) failed"
import json, sys
doc = json.load(open(sys.argv[1]))
victim, ntasks, which = int(sys.argv[2], 16), int(sys.argv[3]), sys.argv[4]
tasks = [t for t in doc["tasks"] if t["kind"] == "task"]
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok = ok and cond
check(len(tasks) <= ntasks + 1, "at most the %d tasks that exist, not a loop over them (got %d)" % (ntasks + 1, len(tasks)))
addrs = [int(t["address"], 16) if isinstance(t["address"], str) else t["address"] for t in tasks]
check(addrs.count(victim) == 1, "task 0x%x listed once" % victim)
warned = [w for w in doc["warnings"] if "comes back to task 0x%x" % victim in w]
check(len(warned) == 1, "a warning names task 0x%x: %s" % (victim, doc["warnings"]))
sys.exit(0 if ok else 1)
PY
	kill -KILL "$pid"
done


