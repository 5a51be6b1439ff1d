#!/bin/bash
# Issue 13: the future a thread passed to block_on (tests/targets/mains), in
# both profiles: Handle::block_on, LocalSet::block_on, LocalSet::run_until
# awaited by Runtime::block_on's future, futures::executor::block_on, and
# Runtime::block_on (multi_thread and current_thread) and futures'
# block_on in a frame that holds a second future of the same type parked at
# another line, and a current_thread runtime whose thread a task blocks
# (never parked: the block_on future is found among the unpolled copies a
# running block_on's frame holds). Each block_on
# task's chain of frames and lines comes from the source's markers; a
# release build, where DWARF often gives the pinned future no location,
# must show the same trees (found by searching the pinning frame), and the
# held twin is never taken for the block_on future.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

modes=(handle local_set run_until futures twin_multi twin_current twin_futures blocked_current)

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	pids=()
	for mode in "${modes[@]}"; do
		start_target mains "$profile" "$mode"
		pids+=("$TARGET_PID")
		sample "$TARGET_PID" "$mode.$profile"
	done
	note "mains ($profile): pids ${pids[*]}"
	run_checks "mains ($profile)" "$profile" "$(target_src mains)" "$HARNESS_TMP" \
		"${modes[*]}" "${pids[@]}" <<'PY'
import sys

import tracecheck as tc

profile, src_dir, tmp, modes = sys.argv[1:5]
modes = modes.split()
pids = [int(p) for p in sys.argv[5:]]
src = tc.Source("mains", src_dir)
TWIN = {"chain": [("mains::twin", "suspended", "twin_block_on_awaits_timer")], "leaf": tc.TIMER}
SPECS = {
    "handle": {"chain": [("mains::handle_main", "suspended", "handle_main_awaits_timer")],
               "leaf": tc.TIMER},
    "local_set": {"chain": [("mains::local_set_main", "suspended", "local_set_main_awaits_timer")],
                  "leaf": tc.TIMER},
    "run_until": {"chain": [("mains::run_until_main", "suspended", "run_until_main_awaits_local_set"),
                            ("mains::run_until_inner", "suspended", "run_until_inner_awaits_timer")],
                  "leaf": tc.TIMER},
    "futures": {"chain": [("mains::futures_main", "suspended", "futures_main_awaits_notify")],
                "leaf": "notify"},
    "twin_multi": TWIN,
    "twin_current": TWIN,
    "twin_futures": TWIN,
    "blocked_current": {"chain": [("mains::blocked_main", "suspended", "blocked_main_awaits_timer")],
                        "leaf": tc.TIMER},
}
# The thread of blocked_current is inside its task's poll, not parked.
STATE = {"blocked_current": "running"}
failed = False
for mode, pid in zip(modes, pids):
    c = tc.Check("mains %s (%s, pid %d)" % (mode, profile, pid))
    doc = tc.load("%s/%s.%s.json" % (tmp, mode, profile))
    c.eq(pid, doc["pid"], "pid")
    block_ons = [t for t in doc["tasks"] if t["kind"] == "block_on"]
    c.eq(1, len(block_ons), "block_on tasks (only the main thread's): %s" % tc.summary(doc))
    main = c.block_on(doc, pid)
    if main:
        c.eq("mains", main["thread"]["name"], "block_on's thread name")
        c.eq(STATE.get(mode, "idle"), main["state"], "block_on's state (parked, or polling a task)")
        c.check_block_on(main, profile, SPECS[mode], src, "the main thread's block_on")
        if main.get("root"):
            c.eq(main["address"], main["root"]["address"], "the block_on task's address is its future's")
    failed |= not c.report()
sys.exit(1 if failed else 0)
PY
	for pid in "${pids[@]}"; do
		assert_running "$pid" "mains ($profile) at the end"
	done
	stop_targets
done
finish_checks
