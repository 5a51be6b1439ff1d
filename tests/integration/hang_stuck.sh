#!/bin/bash
# Hang detection on tests/targets/hang, watched by pid from a configuration
# file (interval 200 ms, threshold 1 s): after the threshold only
# stuck_on_notify is stuck; sleeps_in_loop, which sleeps again at the same
# line every 100 ms, never is (its timer's deadline moves). Expected waits
# (main by function glob, the deadlocked pair by file:line) are reported as
# such and not counted. /metrics, the JSON (unchanged_for_s, expected_wait)
# and the text format ([unchanged …]) agree.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"
. "$top_srcdir/tests/integration/hang_common.sh"

hang_markers
start_target hang debug
pid=$TARGET_PID
conf=$HARNESS_TMP/asyncdumpd.conf
cat >"$conf" <<EOF
[hang]
sample_interval = 200ms
stuck_threshold = 1s
expected_wait_fn = hang::main::*

[watch hang]
pid = $pid
expected_wait_at = hang/src/main.rs:$A_LINE
expected_wait_at = */main.rs:$B_LINE
EOF
start_daemon --config "$conf"

stuck_is_one() {
	fetch_metrics
	[ "$(prom_value asyncdump_stuck_tasks pid="$pid")" = 1 ]
}
note "the stuck task is reported once the threshold has passed"
eventually 15 "asyncdump_stuck_tasks{pid=\"$pid\"} never reached 1: $(prom asyncdump_stuck_tasks)" stuck_is_one

# Let sleeps_in_loop run through several more thresholds' worth of samples:
# it must never be reported, whenever we look.
for _ in 1 2 3 4 5 6 7 8; do
	sleep 0.25
	fetch_metrics
	assert_eq 1 "$(prom_value asyncdump_stuck_tasks pid="$pid" watch=hang)" "stuck tasks"
	assert_eq "hang::stuck_on_notify" \
		"$(prom_label function asyncdump_stuck_tasks_by_suspension_point pid="$pid")" \
		"the only place where tasks are stuck"
done
location=$(prom_label location asyncdump_stuck_tasks_by_suspension_point pid="$pid")
[[ $location =~ (^|/)hang/src/main\.rs:$STUCK_LINE$ ]] ||
	fail "stuck_on_notify's location label: expected hang/src/main.rs:$STUCK_LINE, got '$location'"
assert_eq 1 "$(prom_value asyncdump_stuck_tasks_by_suspension_point pid="$pid" \
	function=hang::stuck_on_notify)" "tasks stuck at stuck_on_notify"
assert_eq 3 "$(prom_value asyncdump_expected_wait_tasks pid="$pid")" \
	"expected waits: main and the deadlocked pair"
assert_eq 1 "$(prom_value asyncdump_target_up pid="$pid")" "up"
assert_eq 1 "$(prom_value asyncdump_stuck_threshold_seconds pid="$pid")" "threshold"
total=$(prom asyncdump_target_tasks pid="$pid" | cut -f 1 | python3 -c '
import sys; print(int(sum(float(l) for l in sys.stdin)))')
assert_eq 5 "$total" "tasks of hang by state, summed (4 spawned + main's block_on)"
longest=$(prom_value asyncdump_longest_unchanged_seconds pid="$pid")
python3 -c "import sys; sys.exit(not float('$longest') >= 1.0)" ||
	fail "longest unchanged time $longest, expected at least the 1 s threshold"
exe=$(prom_label exe asyncdump_target_up pid="$pid")
assert_eq "$(readlink "/proc/$pid/exe")" "$exe" "the exe label"

note "the JSON: unchanged_for_s on every task, expected_wait where configured"
http_get "/pids/$pid/tasks"
assert_eq 200 "$HTTP_STATUS" "GET /pids/$pid/tasks"
doc=$HTTP_BODY
unchanged() {
	printf '%s' "$doc" | json_get "[t for t in d['tasks'] if t['root'] and t['root']['name'] == '$1'][0]['unchanged_for_s']"
}
expected_wait() {
	printf '%s' "$doc" | json_get "[t.get('expected_wait', False) for t in d['tasks'] if t['root'] and t['root']['name'] == '$1'][0]"
}
python3 -c "import sys; sys.exit(not $(unchanged hang::stuck_on_notify) >= 1.0)" ||
	fail "stuck_on_notify: unchanged_for_s $(unchanged hang::stuck_on_notify), expected >= 1"
python3 -c "import sys; sys.exit(not $(unchanged hang::sleeps_in_loop) < 1.0)" ||
	fail "sleeps_in_loop: unchanged_for_s $(unchanged hang::sleeps_in_loop), expected < 1"
assert_eq false "$(expected_wait hang::stuck_on_notify)" "stuck_on_notify is no expected wait"
assert_eq false "$(expected_wait hang::sleeps_in_loop)" "sleeps_in_loop is no expected wait"
assert_eq true "$(expected_wait hang::deadlock_a)" "deadlock_a: expected_wait_at main.rs:$A_LINE"
assert_eq true "$(expected_wait hang::deadlock_b)" "deadlock_b: expected_wait_at */main.rs:$B_LINE"
assert_eq true "$(printf '%s' "$doc" | json_get "[t.get('expected_wait', False) for t in d['tasks'] if t['kind'] == 'block_on'][0]")" \
	"main's block_on: expected_wait_fn hang::main::*"
assert_eq 5 "$(printf '%s' "$doc" | json_get "len([t for t in d['tasks'] if 'unchanged_for_s' in t])")" \
	"tasks with unchanged_for_s"

stuck_id=$(printf '%s' "$doc" | task_id_of hang::stuck_on_notify)
http_get "/pids/$pid/tasks/$stuck_id"
python3 -c "import sys; sys.exit(not $(printf '%s' "$HTTP_BODY" | json_get "d['unchanged_for_s']") >= 1.0)" ||
	fail "GET /pids/$pid/tasks/$stuck_id: unchanged_for_s below the threshold: $HTTP_BODY"
a_id=$(printf '%s' "$doc" | task_id_of hang::deadlock_a)
http_get "/pids/$pid/tasks?task=$a_id"
assert_eq true "$(printf '%s' "$HTTP_BODY" | json_get "d['tasks'][0]['expected_wait']")" \
	"?task=$a_id keeps expected_wait"

note "the text format: [unchanged …] on the task lines"
http_get "/pids/$pid/tasks?format=text"
text=$HTTP_BODY
stuck_header=$(printf '%s\n' "$text" | grep -E "^task 0x[0-9a-f]+ \\(id $stuck_id, [a-z]+\\)")
# a loaded machine may take minutes to get here: 1m30s is as right as 42s
[[ $stuck_header =~ \~\ blocked\ on\ notify\ 0x[0-9a-f]+\ \[unchanged\ ([0-9]+[hm])*[0-9]+s\]$ &&
	$stuck_header != *"[unchanged 0s]" ]] ||
	fail "stuck_on_notify's line in the text format: '$stuck_header'"
loop_id=$(printf '%s' "$doc" | task_id_of hang::sleeps_in_loop)
loop_header=$(printf '%s\n' "$text" | grep -E "^task 0x[0-9a-f]+ \\(id $loop_id, [a-z]+\\)")
[[ $loop_header =~ \[unchanged\ 0s\]$ ]] || fail "sleeps_in_loop's line in the text format: '$loop_header'"

note "the log says where tasks are stuck"
grep -qE "hang watch=hang pid=$pid stuck=1 .*first_stuck_at=\"hang::stuck_on_notify [^\"]*main\\.rs:$STUCK_LINE\"" \
	"$DAEMON_LOG" || fail "no log line about the stuck task: $(grep ' hang ' "$DAEMON_LOG")"

stop_daemon
assert_running "$pid" "the watched target after the daemon stopped"
exit 0
