#!/bin/sh
# SPDX-License-Identifier: MIT
# The tool killed (SIGKILL) while it holds the process: the kernel detaches
# and the process runs on, signals and all. Asked to terminate (SIGTERM;
# SIGINT is handled alike but a shell starts background jobs with it ignored)
# while it holds it: the signal waits until the process is resumed.
. "$top_srcdir/tests/integration/attach_common.sh"

start_churn

# 1. SIGKILL mid-sample.
"$STOPPER" --hold-ms 20000 "$churn_pid" > "$tmp/stop.out" 2>&1 &
stopper=$!
remember $stopper
wait_for_line "$tmp/stop.out" STOPPED
[ "$(task_states "$churn_pid")" = t ] ||
	fail "not every thread is stopped: states $(task_states "$churn_pid")"
assert_frozen
kill -KILL $stopper
wait $stopper 2>/dev/null
sleep 0.1
assert_untraced "$churn_pid"
assert_runs
"$CHURN" --send "$churn_pid" --counters "$tmp/counters" --usr1 3 --rt 3 > "$tmp/send.out" 2>&1 ||
	fail "signals after the kill: $(cat "$tmp/send.out")"

# 2. SIGTERM mid-sample: blocked until the resume, then the tool exits.
"$STOPPER" --hold-ms 3000 "$churn_pid" > "$tmp/stop2.out" 2>&1 &
stopper=$!
remember $stopper
wait_for_line "$tmp/stop2.out" STOPPED
kill -TERM $stopper
sleep 0.2
kill -0 $stopper 2>/dev/null || fail "SIGTERM ended the tool while it held pid $churn_pid"
[ "$(task_states "$churn_pid")" = t ] || fail "the process was resumed early"
wait $stopper
rc=$?
[ $rc = $((128 + 15)) ] || fail "the tool ignored SIGTERM (exit $rc): $(cat "$tmp/stop2.out")"
grep -q '^ok' "$tmp/stop2.out" && fail "SIGTERM should end the tool right after the resume"
assert_untraced "$churn_pid"
assert_runs

stop_churn
case "$churn_report" in
"usr1=3 rt=3 "*"workers=4/4") ;;
*) fail "expected 3 signals of each kind and 4 live workers, got: $churn_report" ;;
esac
exit 0
