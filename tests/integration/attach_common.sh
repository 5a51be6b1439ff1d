# SPDX-License-Identifier: MIT
# Sourced by the attach_*.sh tests: the helper programs (built by make check
# from tests/integration/*.c), a temporary directory, and cleanup of every
# process a test starts, even when it fails.
set -u

: "${top_builddir:?run through make check, or set top_builddir}"
helpers="$top_builddir/tests/integration"
STOPPER="$helpers/stopper"
CHURN="$helpers/churn"
HOLDER="$helpers/holder"
for h in "$STOPPER" "$CHURN" "$HOLDER"; do
	[ -x "$h" ] || { echo "FAIL: $h is not built" >&2; exit 1; }
done

tmp=$(mktemp -d)
started=""

cleanup() {
	for p in $started; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# remember PID: kill it on exit
remember() {
	started="$started $1"
}

# wait_for_line FILE TEXT: up to 5 s for a line starting with TEXT
wait_for_line() {
	for _ in $(seq 100); do
		grep -q "^$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no '$2' in $1 after 5 s: $(cat "$1" 2>/dev/null)"
}

# start_churn [churn options]: sets churn_pid, counters in $tmp/counters
start_churn() {
	"$CHURN" --counters "$tmp/counters" "$@" > "$tmp/churn.out" 2> "$tmp/churn.err" &
	churn_pid=$!
	remember "$churn_pid"
	wait_for_line "$tmp/churn.out" READY
}

# stop_churn: SIGTERM, wait, sets churn_report to its last line
stop_churn() {
	kill -TERM "$churn_pid" || fail "churn (pid $churn_pid) is gone"
	wait "$churn_pid"
	local rc=$?
	[ "$rc" = 0 ] || fail "churn exited with $rc: $(cat "$tmp/churn.err")"
	churn_report=$(tail -n 1 "$tmp/churn.out")
}

heartbeat() {
	"$CHURN" --read "$tmp/counters" | sed 's/.*heartbeat=//'
}

# assert_runs: the workers beat
assert_runs() {
	local a b
	a=$(heartbeat)
	sleep 0.1
	b=$(heartbeat)
	[ "$b" -gt "$a" ] || fail "pid $churn_pid does not run (heartbeat $a then $b)"
}

# assert_frozen: no worker beats
assert_frozen() {
	local a b
	a=$(heartbeat)
	sleep 0.1
	b=$(heartbeat)
	[ "$b" = "$a" ] || fail "pid $churn_pid runs while it should be stopped ($a then $b)"
}

# task_states PID: the state letter of every thread
task_states() {
	local t
	for t in /proc/"$1"/task/*; do
		sed 's/.*) //' "$t/stat" 2>/dev/null | cut -c1
	done | sort | uniq | tr -d '\n'
}

# assert_untraced PID: no tracer, no thread left in tracing stop
assert_untraced() {
	local tracer states
	tracer=$(awk '/^TracerPid:/ { print $2 }' /proc/"$1"/status)
	[ "$tracer" = 0 ] || fail "pid $1 is still traced by $tracer"
	states=$(task_states "$1")
	case "$states" in
	*t*) fail "pid $1 has threads left in tracing stop (states: $states)" ;;
	esac
}
