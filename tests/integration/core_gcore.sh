#!/bin/bash
# Issue 17: a core taken with gdb's gcore while a target is parked gives the
# trace of the live process taken just before: same runtimes, tasks, frames,
# lines, leaves and addresses (tests/integration/corecheck.py says what a
# core cannot hold). For the targets of trace_sync, trace_shapes and
# trace_demo, both profiles, every suite of the tokio matrix, and on sid
# trace_asyncstd's (tasks no registry lists, found in the core's heap: a
# StaticExecutor's, futures' pools'); the target runs on after the core is
# taken.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"
. "$top_srcdir/tests/integration/core_common.sh"

for run in $(matrix_runs); do
	use_suite "${run%/*}"; profile=${run#*/}
	targets="sync shapes demo:1 demo:3"
	[ "${run%/*}" != sid ] || targets="$targets asyncstd"
	for target in $targets; do
		name=${target/:/}.$profile
		if [ "${target#*:}" != "$target" ]; then
			start_target "${target%:*}" "$profile" "${target#*:}"
		else
			start_target "$target" "$profile"
		fi
		sample "$TARGET_PID" "$name.live"
		take_gcore "$TARGET_PID" "$HARNESS_TMP/$name.core"
		trace_core "$HARNESS_TMP/$name.core" "$name.core"
		compare_core "$name" "$name.live" "$name.core"
		rm -f "$HARNESS_TMP/$name.core"
		stop_targets
	done
done
finish_checks
