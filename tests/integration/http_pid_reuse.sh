#!/bin/bash
# Issue 15, finding 3: a sample belongs to one process, not to a pid. After
# a process exits and its pid is given to another program, a request with
# max_age_ms must not be served the first process's kept sample (another
# program's, possibly another user's): asyncdumpd keys its samples by pid and
# start time. The pid is reused on purpose through
# /proc/sys/kernel/ns_last_pid (root; retried when another fork takes it).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

[ -w /proc/sys/kernel/ns_last_pid ] || fail "needs root to reuse a pid (/proc/sys/kernel/ns_last_pid)"

exe_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["exe"])' <<<"$1"; }

start_daemon
start_target counts debug --tasks 3
first=$TARGET_PID
first_exe=$(readlink "/proc/$first/exe")
http_get "/pids/$first/tasks"
assert_eq 200 "$HTTP_STATUS" "the first process's sample"
assert_eq "$first_exe" "$(exe_of "$HTTP_BODY")" "the first sample's exe"

kill -KILL "$first"
wait "$first" 2>/dev/null
# The next fork must be the target's own: no $(...) between the two lines.
bin=$(target_bin demo debug)
out=$HARNESS_TMP/demo.out
reused=
for _ in $(seq 50); do
	echo $((first - 1)) >/proc/sys/kernel/ns_last_pid
	"$bin" >"$out" 2>/dev/null </dev/null &
	second=$!
	HARNESS_PIDS+=("$second")
	if [ "$second" = "$first" ]; then reused=1; break; fi
	kill -KILL "$second"
	wait "$second" 2>/dev/null
done
[ -n "$reused" ] || fail "could not get pid $first again in 50 tries"
deadline=$((SECONDS + 30))
until grep -q '^READY ' "$out"; do
	check_alive "$first" || fail "demo (pid $first) exited before READY"
	[ "$SECONDS" -lt "$deadline" ] || fail "demo (pid $first) not READY in 30 s"
	sleep 0.05
done
second_exe=$(readlink "/proc/$first/exe")
[ "$second_exe" != "$first_exe" ] || fail "the second program is the same as the first ($second_exe)"

note "pid $first now runs $second_exe: a kept sample of $first_exe must not be served"
http_get "/pids/$first/tasks?max_age_ms=60000"
assert_eq 200 "$HTTP_STATUS" "the second process's sample"
assert_eq "$second_exe" "$(exe_of "$HTTP_BODY")" "the exe of the sample served for the reused pid"
assert_running "$first" "the second process after its sample"
stop_daemon
