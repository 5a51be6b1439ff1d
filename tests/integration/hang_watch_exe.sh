#!/bin/bash
# Watching by executable name: a target started after the daemon is picked
# up (its series appear in /metrics, its tasks carry unchanged_for_s), a
# process of another name is not, and the target is dropped with its series
# when it exits. The target is a copy of tests/targets/hang under a name of
# its own, so that no other test's processes match the watch.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"
. "$top_srcdir/tests/integration/hang_common.sh"

name=hang-watched-$$
copies=$HARNESS_TMP/targets
mkdir -p "$copies/debug"
cp "$(target_bin hang debug)" "$copies/debug/$name"

start_daemon --watch "exe=$name" --sample-interval 200ms --stuck-threshold 1s
fetch_metrics
assert_eq 0 "$(prom_value asyncdump_watched_processes)" "watched processes before the target starts"
assert_eq "" "$(prom asyncdump_target_up)" "series before the target starts"

note "a process of another name is not watched"
start_target hang debug
other=$TARGET_PID

note "the target started after the daemon is picked up"
TARGETS_DIR=$copies start_target "$name" debug
pid=$TARGET_PID
is_watched() {
	fetch_metrics
	[ "$(prom_value asyncdump_target_up pid="$pid")" = 1 ]
}
eventually 10 "pid $pid never watched: $(prom asyncdump_target_up)" is_watched
assert_eq "$copies/debug/$name" "$(prom_label exe asyncdump_target_up pid="$pid")" "its exe label"
assert_eq 1 "$(prom_value asyncdump_watched_processes)" "watched processes"
assert_eq "" "$(prom asyncdump_target_up pid="$other")" "the process named hang"
grep -qE "watch name=flag-1 pid=$pid exe=\"[^\"]*/$name\" .*: watching" "$DAEMON_LOG" ||
	fail "no log line about watching $pid: $(grep 'watch name' "$DAEMON_LOG")"
http_get "/pids/$pid/tasks"
assert_eq 5 "$(printf '%s' "$HTTP_BODY" | json_get "len([t for t in d['tasks'] if 'unchanged_for_s' in t])")" \
	"tasks with unchanged_for_s in a watched process"
http_get "/pids/$other/tasks"
assert_eq 0 "$(printf '%s' "$HTTP_BODY" | json_get "len([t for t in d['tasks'] if 'unchanged_for_s' in t])")" \
	"tasks with unchanged_for_s in a process not watched"

note "the target exits: dropped with its series"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
is_dropped() {
	fetch_metrics
	[ "$(prom_value asyncdump_watched_processes)" = 0 ] &&
		[ -z "$(prom asyncdump_target_up pid="$pid")" ] &&
		[ -z "$(prom asyncdump_stuck_tasks pid="$pid")" ] &&
		[ -z "$(prom asyncdump_target_tasks pid="$pid")" ] &&
		[ -z "$(prom asyncdump_target_sample_duration_seconds_count pid="$pid")" ]
}
eventually 10 "pid $pid still watched after it exited: $(prom asyncdump_target_up)" is_dropped
grep -qE "watch name=flag-1 pid=$pid: the process exited; no longer watched" "$DAEMON_LOG" ||
	fail "no log line about dropping $pid: $(grep 'watch name' "$DAEMON_LOG")"

note "a second process of that name is picked up in turn"
TARGETS_DIR=$copies start_target "$name" debug
pid=$TARGET_PID
eventually 10 "pid $pid never watched: $(prom asyncdump_target_up)" is_watched
stop_daemon
assert_running "$pid" "the watched target after the daemon stopped"
assert_running "$other" "the other target"
exit 0
