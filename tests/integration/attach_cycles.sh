#!/bin/sh
# SPDX-License-Identifier: MIT
# 200 stop/resume cycles, then snapshots, of a process that creates and ends
# threads all the time while another process sends it signals: every thread
# is held at each stop, every signal arrives exactly once, no thread is lost
# or left stopped.
. "$top_srcdir/tests/integration/attach_common.sh"

USR1=300
RT=300
WORKERS=4

start_churn --workers $WORKERS
"$CHURN" --send "$churn_pid" --counters "$tmp/counters" --usr1 $USR1 --rt $RT \
	--interval-us 1500 > "$tmp/sender.out" 2>&1 &
sender=$!
remember $sender

"$STOPPER" --count 200 --interval-us 1000 --verify "$churn_pid" > "$tmp/stop.out" 2>&1 ||
	fail "stop/resume cycles: $(cat "$tmp/stop.out")"
"$STOPPER" --snapshot --count 20 --interval-us 1000 "$churn_pid" > "$tmp/snap.out" 2>&1 ||
	fail "snapshot cycles: $(cat "$tmp/snap.out")"
sent_during=$("$CHURN" --read "$tmp/counters" | sed 's/ rt=.*//; s/usr1=//')
wait $sender || fail "a signal was lost: $(cat "$tmp/sender.out")"
echo "stop: $(cat "$tmp/stop.out")"
echo "snapshot: $(cat "$tmp/snap.out")"
echo "SIGUSR1 handled while the cycles ran: $sent_during"
[ "$sent_during" -gt 0 ] || fail "no signal was sent while the process was being stopped"

# main + workers + churner were held at every cycle.
min=$(sed -n 's/.*threads_min=\([0-9]*\).*/\1/p' "$tmp/stop.out")
[ "$min" -ge $((WORKERS + 2)) ] || fail "a cycle held only $min threads"

assert_untraced "$churn_pid"
assert_runs
stop_churn
echo "target: $churn_report"
case "$churn_report" in
"usr1=$USR1 rt=$RT created="*" workers=$WORKERS/$WORKERS") ;;
*) fail "expected usr1=$USR1 rt=$RT and $WORKERS live workers, got: $churn_report" ;;
esac
created=$(echo "$churn_report" | sed 's/.*created=\([0-9]*\).*/\1/')
joined=$(echo "$churn_report" | sed 's/.*joined=\([0-9]*\).*/\1/')
[ "$created" = "$joined" ] || fail "threads created $created, joined $joined"
[ "$created" -gt 0 ] || fail "no thread was created"
exit 0
