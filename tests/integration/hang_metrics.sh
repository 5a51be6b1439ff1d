#!/bin/bash
# The Prometheus side of hang detection: the example alert rules pass
# `promtool check rules` and fire as intended on made-up series (`promtool
# test rules`); a live /metrics with every kind of watched process (stuck
# and deadlocked tasks, a process that is not Rust, a pid with no process,
# an exe path that needs escaping) passes `promtool check metrics`, carries
# no task id as a label, counts sample errors by reason, and shows one short
# pause per sample interval.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"
. "$top_srcdir/tests/integration/hang_common.sh"

command -v promtool >/dev/null ||
	fail "promtool is needed (Debian's prometheus package; ./dev installs it)"
rules=$top_srcdir/docs/asyncdump.rules.yml

note "promtool check rules"
out=$(promtool check rules "$rules" 2>&1) || fail "promtool check rules $rules: $out"
assert_contains "$out" "SUCCESS: 5 rules found" "promtool check rules"

note "promtool test rules: the alerts fire with the labels and text intended"
api='pid="42",exe="/usr/bin/api",watch="api"'
cat >"$HARNESS_TMP/rules.test.yml" <<EOF
rule_files:
  - $rules
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'asyncdump_stuck_tasks{$api}'
        values: '0 0 1 1 1 1 1 0'
      - series: 'asyncdump_stuck_tasks_by_suspension_point{$api,function="api::worker::park",location="src/worker.rs:12"}'
        values: '_ _ 1 1 1 1 1 _'
      - series: 'asyncdump_deadlock_cycles{$api}'
        values: '0 0 0 2 2 2 2 2'
      - series: 'asyncdump_target_up{$api}'
        values: '1+0x30'
    alert_rule_test:
      - eval_time: 3m
        alertname: AsyncTasksStuck
        exp_alerts: []
      - eval_time: 5m
        alertname: AsyncTasksStuck
        exp_alerts:
          - exp_labels: {severity: warning, pid: "42", exe: /usr/bin/api, watch: api}
            exp_annotations:
              summary: "1 async task(s) stuck in /usr/bin/api (pid 42)"
              description: "1 task(s) of /usr/bin/api (pid 42, watch api) have been suspended at the same place, on the same resource, for longer than the stuck threshold. See where with asyncdump_stuck_tasks_by_suspension_point, or run \`asyncdump 42\`."
      - eval_time: 7m
        alertname: AsyncTasksStuck
        exp_alerts: []
      - eval_time: 5m
        alertname: AsyncTasksStuckAt
        exp_alerts:
          - exp_labels: {severity: warning, pid: "42", exe: /usr/bin/api, watch: api, function: "api::worker::park", location: "src/worker.rs:12"}
            exp_annotations:
              summary: "1 task(s) stuck at api::worker::park (src/worker.rs:12)"
              description: "In /usr/bin/api (pid 42), 1 task(s) have not moved from api::worker::park at src/worker.rs:12 for longer than the stuck threshold. If waiting there is normal, add it to the watch's expected_wait_fn or expected_wait_at."
      - eval_time: 4m
        alertname: AsyncTaskDeadlock
        exp_alerts:
          - exp_labels: {severity: critical, pid: "42", exe: /usr/bin/api, watch: api}
            exp_annotations:
              summary: "Deadlock between async tasks in /usr/bin/api (pid 42)"
              description: "2 cycle(s) of tasks awaiting each other's JoinHandles in /usr/bin/api (pid 42): they can never finish. GET /pids/42/tasks lists them under \"cycles\"."
      - eval_time: 20m
        alertname: AsyncdumpTargetDown
        exp_alerts: []
EOF
out=$(promtool test rules "$HARNESS_TMP/rules.test.yml" 2>&1) ||
	fail "promtool test rules: $out"
assert_contains "$out" "SUCCESS" "promtool test rules"

note "a live /metrics passes promtool check metrics"
odd_dir=$HARNESS_TMP/'odd "dir"\with'
mkdir -p "$odd_dir/debug"
cp "$(target_bin hang debug)" "$odd_dir/debug/hang"
TARGETS_DIR=$odd_dir start_target hang debug
pid=$TARGET_PID
start_sleeper
dead=$(dead_pid)
started=$(date +%s.%N)
start_daemon --watch "pid=$pid" --watch "pid=$SLEEPER_PID" --watch "pid=$dead" \
	--sample-interval 200ms --stuck-threshold 1s

all_reported() {
	fetch_metrics
	[ "$(prom_value asyncdump_deadlock_cycles pid="$pid")" = 1 ] &&
		[ "$(prom_value asyncdump_stuck_tasks pid="$pid")" = 4 ] &&
		[ -n "$(prom asyncdump_target_sample_errors_total pid="$SLEEPER_PID")" ] &&
		[ -n "$(prom asyncdump_target_sample_errors_total pid="$dead" reason=no_such_process)" ]
}
eventually 15 "not everything reported: $(printf '%s' "$METRICS" | grep -v '^#' | grep asyncdump_ | head -c 3000)" \
	all_reported
assert_eq 3 "$(prom_value asyncdump_watched_processes)" "watched processes"
assert_eq "$odd_dir/debug/hang" "$(prom_label exe asyncdump_target_up pid="$pid")" \
	"an exe label with a quote and a backslash, escaped and read back"
assert_eq 0 "$(prom_value asyncdump_target_up pid="$SLEEPER_PID")" "up of a process that is not Rust"
assert_eq 0 "$(prom_value asyncdump_target_up pid="$dead")" "up of a pid with no process"
assert_eq unknown "$(prom_label exe asyncdump_target_up pid="$dead")" "the exe of a pid with no process"
reason=$(prom_label reason asyncdump_target_sample_errors_total pid="$SLEEPER_PID")
assert_eq not_rust "$reason" "why sleep cannot be sampled"
# Samples come one per interval, never in a burst; each pauses the target
# briefly. A loaded machine takes longer per sample: wait for three.
three_samples() {
	fetch_metrics
	local n
	n=$(prom_value asyncdump_target_pause_seconds_count pid="$pid")
	case $n in '' | none) return 1;; esac
	[ "$n" -ge 3 ]
}
eventually 60 "fewer than 3 samples of $pid" three_samples
samples=$(prom_value asyncdump_target_pause_seconds_count pid="$pid")
elapsed=$(python3 -c "import time; print(time.time() - $started)")
python3 -c "import sys; sys.exit(not 3 <= $samples <= $elapsed / 0.2 + 1)" ||
	fail "$samples samples of $pid in ${elapsed}s at one per 200 ms"
assert_eq "$samples" "$(prom_value asyncdump_target_pause_seconds_bucket pid="$pid" le=0.1)" \
	"pauses of 100 ms or less (a handful of tasks: well under a millisecond each)"
assert_eq "$(prom_value asyncdump_target_pause_seconds_count pid="$pid")" \
	"$(prom_value asyncdump_target_pause_seconds_bucket pid="$pid" le=+Inf)" "the +Inf bucket is the count"
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$(header Content-Type)" "the content type of /metrics"

printf '%s\n' "$METRICS" >"$HARNESS_TMP/metrics.txt"
out=$(promtool check metrics <"$HARNESS_TMP/metrics.txt" 2>&1) ||
	fail "promtool check metrics: $out"
assert_eq "" "$out" "promtool check metrics has nothing to say"

# Bounded cardinality: processes, states, reasons and at most 10 places, never tasks.
labels=$(printf '%s\n' "$METRICS" | python3 -c '
import re, sys
names = set()
for line in sys.stdin:
    if line.startswith("asyncdump_"):
        names.update(re.findall(r"[{,]([a-z_]+)=\"", line))
print(" ".join(sorted(names)))')
assert_eq "exe function le location pid reason state watch" "$labels" "the label names of asyncdump_* series"
stop_daemon
exit 0
