#!/bin/bash
# The web viewer against the real asyncdumpd and a live target: the design
# example (demo, suspension point 1) is chosen in the page, its tasks opened,
# the suspension lines of the source's `// @mark` markers and the leaf timer
# found, main's "awaits task" link followed (viewer.test.mjs). Screenshot:
# $top_builddir/tests/browser/artifacts/viewer.png.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/browser/env.sh"
harness_init

daemon="$top_builddir/asyncdumpd"
[ -x "$daemon" ] || fail "no $daemon: build it first (make check builds it)"

start_target demo debug 1
src="$(target_src demo)/main.rs"
MAIN_LINE=$(marker_line "$src" main_awaits_foo)
FOO_LINE=$(marker_line "$src" foo_point1_awaits_sleep)
SLEEP_LINE=$(marker_line "$src" sleep_awaits_timer)
export TARGET_PID MAIN_LINE FOO_LINE SLEEP_LINE

# A port free a moment ago may be taken by the time the daemon binds it:
# try a few.
log="$HARNESS_TMP/asyncdumpd.log"
daemon_pid=
for _ in 1 2 3; do
	port=$(free_port)
	"$daemon" --listen "127.0.0.1:$port" 2>"$log" &
	daemon_pid=$!
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break 2
		check_alive "$daemon_pid" || break
		sleep 0.1
	done
	kill "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
done
[ -n "$daemon_pid" ] || fail "asyncdumpd did not start; its log: $(tail -c 2000 "$log")"
on_exit "kill $daemon_pid 2>/dev/null; wait $daemon_pid 2>/dev/null"
export VIEWER_URL="http://127.0.0.1:$port/"

if ! node --test-reporter=spec "$top_srcdir/tests/browser/viewer.test.mjs"; then
	mkdir -p "$top_builddir/tests/browser/artifacts"
	cp "$log" "$top_builddir/tests/browser/artifacts/viewer-asyncdumpd.log"
	fail "the viewer test failed; asyncdumpd's log (whole: tests/browser/artifacts/viewer-asyncdumpd.log):" \
		"$(grep -m 1 -A 12 -E 'ERROR|FATAL' "$log" || tail -c 3000 "$log")"
fi

# Sampled from the page, the target runs on: not stopped, not traced.
assert_alive "$TARGET_PID" "demo after the viewer sampled it"
state=$(awk '/^State:/ { print $2 }' "/proc/$TARGET_PID/status")
tracer=$(awk '/^TracerPid:/ { print $2 }' "/proc/$TARGET_PID/status")
case "$state" in t | T) fail "demo is left stopped (State $state)";; esac
assert_eq 0 "$tracer" "demo's TracerPid after the viewer sampled it"
