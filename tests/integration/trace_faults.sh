#!/bin/bash
# Issue 13, no frame can lose the document: with the test-only fault hook
# (configure --enable-fault-injection, ./dev check's build), every decode
# step in turn fails (ASYNCDUMP_FAULT=STEP for every occurrence, STEP:2 for
# the second only) on every trace-test target in both profiles. Each
# document must still be produced, validate against docs/trace.schema.json,
# keep every task of an un-faulted sample (same ids; block_on tasks by
# thread; a LocalSet's tasks even when the future holding the set cannot be
# decoded), and say where the step failed: a frame's error or,
# for a task's root, the task's note, naming the step. And a runtime adapter
# that cannot read its layout (STEP prepare:N fails the Nth adapter's
# prepare) loses only its own runtimes: in asyncstd's process (tokio,
# async-executor, futures-executor side by side) each in turn is missing and
# named in a warning, the other two are listed with all their tasks.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

grep -q '^#define AD_FAULT_INJECTION 1' "$top_builddir/config.h" 2>/dev/null || {
	echo "SKIP: built without --enable-fault-injection (./dev check enables it)"
	exit 77
}

steps=(member read env combinator leaf task)
# name|target|args: the targets and states of the trace_*.sh tests.
targets=("demo|demo|2" "sync|sync|" "shapes|shapes|" "counts|counts|--tasks 4 --two-runtimes" "server|server|")

for profile in debug release; do
	for entry in "${targets[@]}"; do
		IFS='|' read -r name target args <<<"$entry"
		# shellcheck disable=SC2086 # args is a list of arguments
		start_target "$target" "$profile" $args
		base="$HARNESS_TMP/$name.$profile"
		timeout 60 "$ASYNCDUMP" --json --locals "$TARGET_PID" >"$base.json" 2>"$base.err" ||
			fail "$name ($profile): the un-faulted sample failed: $(head -c 2000 "$base.err")"
		for step in "${steps[@]}"; do
			for spec in "$step" "$step:2"; do
				out="$base.fault-$spec"
				status=0
				ASYNCDUMP_FAULT=$spec timeout 60 "$ASYNCDUMP" --json --locals "$TARGET_PID" \
					>"$out.json" 2>"$out.err" || status=$?
				[ "$status" = 0 ] ||
					fail "$name ($profile), ASYNCDUMP_FAULT=$spec: exit status $status: $(head -c 2000 "$out.err")"
			done
			# The text renderer takes broken frames (member) and roots (task).
			case $step in member | task) ;; *) continue;; esac
			status=0
			ASYNCDUMP_FAULT=$step timeout 60 "$ASYNCDUMP" "$TARGET_PID" >"$base.fault-$step.txt" \
				2>"$base.fault-$step.txt.err" || status=$?
			[ "$status" = 0 ] ||
				fail "$name ($profile), ASYNCDUMP_FAULT=$step, text: exit status $status: $(head -c 2000 "$base.fault-$step.txt.err")"
			grep -q "injected fault: $step" "$base.fault-$step.txt" ||
				fail "$name ($profile), ASYNCDUMP_FAULT=$step, text: no line names the fault"
		done
		assert_running "$TARGET_PID" "$name ($profile) after the faulted samples"
		run_checks "$name ($profile)" "$top_srcdir/docs/trace.schema.json" "$base" "${steps[@]}" <<'PY'
import json
import sys

import jsonschema

import tracecheck as tc

schema_path, base = sys.argv[1:3]
steps = sys.argv[3:]
name = base.rsplit("/", 1)[-1].split(".")[0]
with open(schema_path) as f:
    validator = jsonschema.Draft202012Validator(json.load(f))
c = tc.Check(base.rsplit("/", 1)[-1])


def identity(task):
    thread = task.get("thread") or {}
    return (task["kind"], task.get("id"), thread.get("tid") if task["kind"] == "block_on" else None)


def frames(frame):
    stack = [frame] if frame else []
    while stack:
        f = stack.pop()
        yield f
        stack += [ch for ch in f.get("children", []) if "kind" in ch and "children" in ch]
        stack += f.get("locals", [])
        stack += [ch["root"] for ch in f.get("children", []) if ch.get("root")]


def errors_of(doc):
    out = []
    for t in doc["tasks"]:
        if t.get("note"):
            out.append(t["note"])
        out += [f["error"] for f in frames(t.get("root")) if f.get("error")]
    return out


clean = tc.load(base + ".json")
want = sorted(map(identity, clean["tasks"]), key=repr)
c.true(not [e for e in errors_of(clean) if "injected fault" in e], "the un-faulted sample has no injected fault")
for step in steps:
    for spec in (step, step + ":2"):
        what = "ASYNCDUMP_FAULT=%s" % spec
        doc = tc.load("%s.fault-%s.json" % (base, spec))
        problems = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        c.true(not problems, "%s: the document does not validate: %s" % (
            what, "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message) for e in problems[:5])))
        got = sorted(map(identity, doc["tasks"]), key=repr)
        # Every task stands, a LocalSet's too: they are found in the heap,
        # not through the frame that holds the LocalSet.
        c.eq(want, got, "%s: the tasks (kind, id, block_on thread)" % what)
        named = [e for e in errors_of(doc) if "injected fault: %s #" % step in e]
        if spec == step and (step != "combinator" or name == "shapes"):
            # Every target has tasks, async fns and leaves; shapes has the
            # combinators (select!, join!, FuturesUnordered).
            c.true(named, "%s: no frame error or task note names the step; errors: %r" % (what, errors_of(doc)[:5]))
        if spec != step:
            # The second occurrence may be a detail a leaf does without (a
            # timer's deadline): the document stands, less precise.
            c.true(all("injected fault: %s #2 " % step in e for e in named),
                   "%s: only the second occurrence fails: %r" % (what, named[:5]))
c.done()
PY
		stop_targets
	done
done
# One adapter's prepare fails: its runtimes are missing and said missing.
start_target asyncstd debug
base="$HARNESS_TMP/asyncstd-prepare"
timeout 60 "$ASYNCDUMP" --json "$TARGET_PID" >"$base.json" 2>"$base.err" ||
	fail "asyncstd: the un-faulted sample failed: $(head -c 2000 "$base.err")"
for n in 1 2 3; do
	status=0
	ASYNCDUMP_FAULT=prepare:$n timeout 60 "$ASYNCDUMP" --json "$TARGET_PID" >"$base.$n.json" \
		2>"$base.$n.err" || status=$?
	[ "$status" = 0 ] || fail "asyncstd, ASYNCDUMP_FAULT=prepare:$n: exit status $status: $(head -c 2000 "$base.$n.err")"
done
run_checks "asyncstd, one adapter's prepare failing" "$base" <<'PY'
import sys

import tracecheck as tc

base = sys.argv[1]
c = tc.Check("asyncstd, ASYNCDUMP_FAULT=prepare:N")
clean = tc.load(base + ".json")
kinds = [r["kind"] for r in clean["runtimes"]]
c.eq({"tokio", "async-executor", "futures-executor"}, set(kinds), "the un-faulted sample's runtime kinds")
c.eq([], clean["warnings"], "the un-faulted sample's warnings")


def tasks_by_kind(doc):
    out = {}
    for t in doc["tasks"]:
        if t["kind"] != "block_on":
            out.setdefault(doc["runtimes"][t["runtime"]]["kind"], set()).add(t["id"])
    return out


want = tasks_by_kind(clean)
failed_kinds = set()
for n in (1, 2, 3):
    doc = tc.load("%s.%d.json" % (base, n))
    named = [w for w in doc["warnings"] if "injected fault: prepare #%d" % n in w]
    if not c.eq(1, len(named), "prepare:%d: one warning names the failed adapter: %r" % (n, doc["warnings"])):
        continue
    failed = named[0].split(":")[0]
    failed_kinds.add(failed)
    c.true("not listed" in named[0], "prepare:%d: the warning says its tasks are not listed" % n)
    got = tasks_by_kind(doc)
    c.true(failed not in got and failed not in [r["kind"] for r in doc["runtimes"]],
           "prepare:%d: no runtime or task of the failed adapter %s" % (n, failed))
    c.eq({k: v for k, v in want.items() if k != failed}, got,
         "prepare:%d: the other adapters' tasks, all of them" % n)
c.eq({"tokio", "async-executor", "futures-executor"}, failed_kinds, "each adapter failed once")
c.done()
PY
assert_running "$TARGET_PID" "asyncstd after the faulted samples"
stop_targets
finish_checks
