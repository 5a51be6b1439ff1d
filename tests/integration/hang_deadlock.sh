#!/bin/bash
# Deadlocks: deadlock_a and deadlock_b of tests/targets/hang await each
# other's JoinHandle. Watched by pid from the flags (--watch, --sample-interval,
# --stuck-threshold), the cycle is reported as a metric, in the JSON
# ("cycles": [[a, b, a]], smallest id first) and in the text format, and both
# tasks are stuck at their awaits once the threshold has passed. Bad flags
# are refused as the configuration file's values are.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"
. "$top_srcdir/tests/integration/hang_common.sh"

note "bad hang-detection flags stop the daemon with status 78"
bad_flags() {
	local status=0 err
	err=$(timeout 10 "$ASYNCDUMPD" --listen 127.0.0.1:0 "$@" 2>&1 >/dev/null) || status=$?
	assert_eq 78 "$status" "asyncdumpd $*: exit status"
	printf '%s\n' "$err"
}
assert_eq "asyncdumpd: --watch: bad value 'name=x' for watch: expected pid=PID, exe=GLOB or comm=GLOB" \
	"$(bad_flags --watch name=x)" "--watch name=x"
assert_contains "$(bad_flags --sample-interval 10ms)" "--sample-interval: sample_interval = 10ms is out of range" \
	"--sample-interval 10ms"
assert_eq "asyncdumpd: with the flags applied: [hang]: stuck_threshold (1000ms) is shorter than sample_interval (10000ms); a hang could never be seen twice" \
	"$(bad_flags --watch pid=1 --stuck-threshold 1s)" "a threshold below the default interval"

hang_markers
start_target hang release
pid=$TARGET_PID
start_daemon --watch "pid=$pid" --sample-interval 200ms --stuck-threshold 1s

deadlock_reported() {
	fetch_metrics
	[ "$(prom_value asyncdump_deadlock_cycles pid="$pid")" = 1 ] &&
		[ "$(prom_value asyncdump_stuck_tasks_by_suspension_point pid="$pid" \
			function=hang::deadlock_b)" = 1 ]
}
note "the cycle and the stuck pair in /metrics"
eventually 15 "no deadlock in /metrics: $(prom asyncdump_deadlock_cycles; prom asyncdump_stuck_tasks_by_suspension_point)" \
	deadlock_reported
assert_eq 1 "$(prom_value asyncdump_stuck_tasks_by_suspension_point pid="$pid" \
	function=hang::deadlock_a)" "tasks stuck at deadlock_a"
for fn_line in "hang::deadlock_a:$A_LINE" "hang::deadlock_b:$B_LINE"; do
	fn=${fn_line%:*} line=${fn_line##*:}
	location=$(prom_label location asyncdump_stuck_tasks_by_suspension_point pid="$pid" function="$fn")
	[[ $location =~ (^|/)hang/src/main\.rs:$line$ ]] ||
		fail "$fn's location label: expected hang/src/main.rs:$line, got '$location'"
done
# No expected waits were configured: main, stuck_on_notify and the pair.
assert_eq 4 "$(prom_value asyncdump_stuck_tasks pid="$pid")" "stuck tasks"
assert_eq "flag-1" "$(prom_label watch asyncdump_target_up pid="$pid")" "a --watch is named flag-N"

note "the cycle in the JSON"
http_get "/pids/$pid/tasks"
doc=$HTTP_BODY
a=$(printf '%s' "$doc" | task_id_of hang::deadlock_a)
b=$(printf '%s' "$doc" | task_id_of hang::deadlock_b)
[ "$a" != "$b" ] || fail "deadlock_a and deadlock_b have the same id $a"
if [ "$a" -lt "$b" ]; then cycle="[[$a, $b, $a]]"; else cycle="[[$b, $a, $b]]"; fi
assert_eq "$cycle" "$(printf '%s' "$doc" | json_get "d['cycles']")" "cycles"
assert_eq "$b" "$(printf '%s' "$doc" | json_get "[t['blocked_on']['task_id'] for t in d['tasks'] if t['id'] == $a][0]")" \
	"deadlock_a waits on deadlock_b"
assert_eq "$a" "$(printf '%s' "$doc" | json_get "[t['blocked_on']['task_id'] for t in d['tasks'] if t['id'] == $b][0]")" \
	"deadlock_b waits on deadlock_a"
python3 -c "import sys; sys.exit(not $(printf '%s' "$doc" | json_get "[t['unchanged_for_s'] for t in d['tasks'] if t['id'] == $a][0]") >= 1.0)" ||
	fail "deadlock_a is not unchanged for the threshold"

note "the cycle in the text format"
http_get "/pids/$pid/tasks?format=text"
first=${cycle:2}
first=${first%%,*}
second=$([ "$first" = "$a" ] && echo "$b" || echo "$a")
assert_contains "$HTTP_BODY" "cycle: task $first -> task $second -> task $first" "the text format's cycle line"

grep -qE "hang watch=flag-1 pid=$pid stuck=[0-9]+ cycles=1 " "$DAEMON_LOG" ||
	fail "no log line about the deadlock: $(grep ' hang ' "$DAEMON_LOG")"
stop_daemon
assert_running "$pid" "the watched target after the daemon stopped"
exit 0
