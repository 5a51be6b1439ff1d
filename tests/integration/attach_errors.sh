#!/bin/sh
# SPDX-License-Identifier: MIT
# What cannot be sampled says so: no such process, a zombie, no permission,
# a thread id instead of a process id; from check, stop and snapshot alike.
. "$top_srcdir/tests/integration/attach_common.sh"

# expect CODE TEXT PID [stopper options]: the error code and a text in the message
expect() {
	local code=$1 text=$2 pid=$3 out rc
	shift 3
	out=$("$STOPPER" "$@" "$pid" 2>&1)
	rc=$?
	[ $rc = 2 ] || fail "stopper $* $pid exited with $rc: $out"
	case "$out" in
	"error: $code: "*"$text"*) echo "ok: $out" ;;
	*) fail "stopper $* $pid: expected '$code' with '$text', got: $out" ;;
	esac
}

# No such process: one that has just exited.
sh -c 'exit 0' &
gone=$!
wait $gone
for mode in --check --verify --snapshot; do
	expect no_such_process "no process with pid $gone" $gone $mode
done

# A zombie: a child whose parent never reaps it.
sh -c 'sleep 0 & echo $! > "$1"; exec sleep 30' sh "$tmp/zombie" &
remember $!
for _ in $(seq 100); do
	[ -s "$tmp/zombie" ] && zombie=$(cat "$tmp/zombie") &&
		[ "$(awk '/^State:/ { print $2 }' /proc/"$zombie"/status 2>/dev/null)" = Z ] && break
	sleep 0.02
done
[ "$(awk '/^State:/ { print $2 }' /proc/"$zombie"/status)" = Z ] || fail "no zombie to test with"
for mode in --check --verify --snapshot; do
	expect zombie_process "pid $zombie (sleep) is a zombie" "$zombie" $mode
done

start_churn

# Not permitted: as root, drop to nobody; otherwise pid 1 belongs to root.
if [ "$(id -u)" = 0 ]; then
	cp "$STOPPER" "$tmp/stopper"
	chmod 755 "$tmp" "$tmp/stopper"
	for mode in --check --verify --snapshot; do
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
			"$tmp/stopper" $mode "$churn_pid" 2>&1)
		case "$out" in
		"error: permission_denied: "*"pid $churn_pid (churn"*"CAP_SYS_PTRACE"*) echo "ok: $out" ;;
		*) fail "as nobody, $mode: expected permission_denied, got: $out" ;;
		esac
	done
else
	for mode in --check --verify --snapshot; do
		expect permission_denied CAP_SYS_PTRACE 1 $mode
	done
fi

# A thread id is not a process id: the churner thread lives as long as the
# process (the threads it creates may end before stopper looks at them).
tid=""
for t in /proc/"$churn_pid"/task/*; do
	[ "$(cat "$t/comm" 2>/dev/null)" = churner ] && tid=${t##*/} && break
done
[ -n "$tid" ] || fail "no thread named churner in pid $churn_pid"
expect invalid_argument "is a thread of process $churn_pid" "$tid" --verify

assert_untraced "$churn_pid"
assert_runs
stop_churn
exit 0
