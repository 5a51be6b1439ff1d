#!/bin/sh
# SPDX-License-Identifier: MIT
# A process held by another tracer: already_traced, naming that tracer's pid
# and name, from check, stop and snapshot; when only one of its threads is
# held, the threads seized before it are let go. Once the tracer leaves, the
# process can be sampled.
. "$top_srcdir/tests/integration/attach_common.sh"

# expect_traced HOLDER_PID [stopper options]
expect_traced() {
	local holder=$1 out rc
	shift
	out=$("$STOPPER" "$@" "$churn_pid" 2>&1)
	rc=$?
	[ $rc = 2 ] || fail "stopper $* exited with $rc: $out"
	case "$out" in
	"error: already_traced: "*"pid $churn_pid (churn)"*"by pid $holder (holder)"*) ;;
	*) fail "stopper $*: expected already_traced by pid $holder (holder), got: $out" ;;
	esac
	echo "stopper $*: $out"
}

start_churn

# 1. The whole process (its main thread) is held.
"$HOLDER" "$churn_pid" > "$tmp/holder.out" 2>&1 &
holder=$!
remember $holder
wait_for_line "$tmp/holder.out" HOLDING
expect_traced $holder --check
expect_traced $holder
expect_traced $holder --snapshot
assert_runs
kill -TERM $holder
wait $holder

# 2. Only the last worker is held: the attach fails midway.
worker=""
for t in /proc/"$churn_pid"/task/*; do
	[ "$(cat "$t/comm")" = worker-3 ] && worker=${t##*/}
done
[ -n "$worker" ] || fail "no worker-3 thread in pid $churn_pid"
"$HOLDER" "$worker" > "$tmp/holder2.out" 2>&1 &
holder=$!
remember $holder
wait_for_line "$tmp/holder2.out" HOLDING
expect_traced $holder
# Every other thread was detached again.
for t in /proc/"$churn_pid"/task/*; do
	[ "${t##*/}" = "$worker" ] && continue
	tracer=$(awk '/^TracerPid:/ { print $2 }' "$t/status" 2>/dev/null)
	[ "${tracer:-0}" = 0 ] || fail "thread ${t##*/} is still traced by $tracer"
done
assert_runs
kill -TERM $holder
wait $holder

# 3. Free again.
"$STOPPER" --verify "$churn_pid" > "$tmp/stop.out" 2>&1 || fail "$(cat "$tmp/stop.out")"
assert_untraced "$churn_pid"
assert_runs
stop_churn
case "$churn_report" in
*"workers=4/4") ;;
*) fail "workers lost: $churn_report" ;;
esac
exit 0
