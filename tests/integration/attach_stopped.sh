#!/bin/sh
# SPDX-License-Identifier: MIT
# A process stopped by SIGSTOP stays stopped after samples; one that ran runs.
. "$top_srcdir/tests/integration/attach_common.sh"

start_churn

kill -STOP "$churn_pid"
for _ in $(seq 100); do
	[ "$(task_states "$churn_pid")" = T ] && break
	sleep 0.02
done
[ "$(task_states "$churn_pid")" = T ] || fail "SIGSTOP did not stop pid $churn_pid"

"$STOPPER" --count 5 --verify "$churn_pid" > "$tmp/stop.out" 2>&1 || fail "$(cat "$tmp/stop.out")"
sleep 0.05
[ "$(task_states "$churn_pid")" = T ] ||
	fail "after stop/resume the stopped process is in states $(task_states "$churn_pid")"
assert_untraced "$churn_pid"
assert_frozen
"$STOPPER" --snapshot --count 3 "$churn_pid" > "$tmp/snap.out" 2>&1 || fail "$(cat "$tmp/snap.out")"
sleep 0.05
[ "$(task_states "$churn_pid")" = T ] ||
	fail "after snapshots the stopped process is in states $(task_states "$churn_pid")"
assert_frozen

kill -CONT "$churn_pid"
assert_runs

"$STOPPER" --count 5 "$churn_pid" > "$tmp/stop2.out" 2>&1 || fail "$(cat "$tmp/stop2.out")"
"$STOPPER" --snapshot "$churn_pid" > "$tmp/snap2.out" 2>&1 || fail "$(cat "$tmp/snap2.out")"
assert_untraced "$churn_pid"
case "$(task_states "$churn_pid")" in
*T*) fail "the running process was left stopped" ;;
esac
assert_runs
stop_churn
exit 0
