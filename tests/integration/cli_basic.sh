#!/bin/bash
# The asyncdump CLI: its output for the design example is the daemon's
# (?format=text, ?locals=1, ?task=ID, and the JSON document), apart from the
# line that says when the sample was taken; each error class has its exit
# status and the same one-line message the daemon gives.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

# cli ARGS...: runs asyncdump; sets STATUS, OUT (stdout) and ERR (stderr).
cli() {
	STATUS=0
	timeout 60 "$ASYNCDUMP" "$@" >"$HARNESS_TMP/cli.out" 2>"$HARNESS_TMP/cli.err" || STATUS=$?
	OUT=$(cat "$HARNESS_TMP/cli.out")
	ERR=$(cat "$HARNESS_TMP/cli.err")
}

# same_error STATUS HTTP_PATH CLI_ARGS...: the CLI exits with STATUS and
# prints "asyncdump: M" where M is the daemon's message for HTTP_PATH.
same_error() {
	local status=$1 path=$2
	shift 2
	cli "$@"
	assert_eq "$status" "$STATUS" "asyncdump $*: exit status"
	[ -z "$OUT" ] || fail "asyncdump $*: printed on stdout: $OUT"
	http_get "$path"
	local message
	message=$(printf '%s' "$HTTP_BODY" | json_get 'd["error"]["message"]')
	assert_eq "asyncdump: $message" "$ERR" "asyncdump $*: its message is the daemon's for $path"
}

# body: the text format without its first line (which says when).
# The document without its first line (capture time, pause) and with a
# timer's time left masked: two samples are taken moments apart.
body() { tail -n +2 | sed -E 's/(fires in|overdue by) [0-9.]+ ?[a-z]*/\1 _/g'; }

note "--version, --help"
version=$(sed -nE 's/^AC_INIT\(\[asyncdump\], \[([^]]+)\].*/\1/p' "$top_srcdir/configure.ac")
cli --version
assert_eq "asyncdump $version" "$OUT" "--version"
cli --help
assert_eq 0 "$STATUS" "--help"
for flag in --json --task --locals --version --help; do
	assert_contains "$OUT" "  $flag" "--help documents $flag"
done
for status in 0 1 2 3 4 5 6 7 8; do
	grep -qE "^  $status  [a-z]" <<<"$OUT" || fail "--help does not document exit status $status"
done

start_target demo debug 1
demo1=$TARGET_PID
start_target demo debug 3
demo3=$TARGET_PID
start_sleeper
sleeper=$SLEEPER_PID
start_daemon --rate-limit 0

note "usage errors: 2"
cli
assert_eq 2 "$STATUS" "no pid"
assert_eq "asyncdump: expected one PID; see --help" "$ERR" "no pid: message"
cli 1 2
assert_eq 2 "$STATUS" "two pids"
cli --frobnicate 1
assert_eq 2 "$STATUS" "an unknown option"
cli --task
assert_eq 2 "$STATUS" "--task without an id"
cli --task x "$demo1"
assert_eq 2 "$STATUS" "a malformed task id"
same_error 2 /pids/abc/tasks abc
same_error 2 /pids/0/tasks 0

note "no such process: 3"
dead=$(dead_pid)
same_error 3 "/pids/$dead/tasks" "$dead"

note "not analyzable: 6"
same_error 6 "/pids/$sleeper/tasks" "$sleeper"

note "another tracer: 5"
"$top_builddir/tests/integration/holder" "$demo1" >"$HARNESS_TMP/holder.out" 2>&1 &
holder=$!
HARNESS_PIDS+=("$holder")
deadline=$((SECONDS + 10))
until grep -qs HOLDING "$HARNESS_TMP/holder.out"; do
	kill -0 "$holder" 2>/dev/null || fail "holder failed: $(cat "$HARNESS_TMP/holder.out")"
	[ "$SECONDS" -lt "$deadline" ] || fail "holder did not attach"
	sleep 0.05
done
same_error 5 "/pids/$demo1/tasks" "$demo1"
kill -TERM "$holder"
wait "$holder" 2>/dev/null
assert_running "$demo1" "demo 1 after the holder let go"

note "the design example: the CLI prints what the daemon serves"
for pid in "$demo1" "$demo3"; do
	cli "$pid"
	assert_eq 0 "$STATUS" "asyncdump $pid: $ERR"
	assert_contains "$OUT" "demo::foo() suspended at" "asyncdump $pid"
	head -n 1 <<<"$OUT" | grep -qE "^process $pid .*captured at " || fail "first line: $(head -n 1 <<<"$OUT")"
	http_get "/pids/$pid/tasks?format=text"
	assert_eq "$(body <<<"$HTTP_BODY")" "$(body <<<"$OUT")" "asyncdump $pid = ?format=text"

	cli --locals "$pid"
	http_get "/pids/$pid/tasks?format=text&locals=1"
	assert_eq "$(body <<<"$HTTP_BODY")" "$(body <<<"$OUT")" "asyncdump --locals $pid = ?locals=1"

	cli --json "$pid"
	assert_eq 0 "$STATUS" "asyncdump --json $pid"
	printf '%s' "$OUT" >"$HARNESS_TMP/cli.json"
	http_get "/pids/$pid/tasks"
	printf '%s' "$HTTP_BODY" >"$HARNESS_TMP/daemon.json"
	python3 - "$HARNESS_TMP/cli.json" "$HARNESS_TMP/daemon.json" <<'PY' || fail "asyncdump --json $pid differs from the daemon's document"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def drop_time_left(x):
    if isinstance(x, dict):
        x.pop("time_left_s", None)
        if "description" in x and isinstance(x["description"], str):
            x["description"] = x["description"].split(", fires in")[0]
        for v in x.values():
            drop_time_left(v)
    elif isinstance(x, list):
        for v in x:
            drop_time_left(v)
for d in (a, b):
    del d["captured_at"], d["pause_us"]
    drop_time_left(d)
if a != b:
    sys.exit("cli: %s\ndaemon: %s" % (json.dumps(a)[:1500], json.dumps(b)[:1500]))
PY
done
foo_id=$(json_get '[t["id"] for t in d["tasks"] if t.get("root") and t["root"]["name"] == "demo::foo"][0]' <"$HARNESS_TMP/daemon.json")
cli --task "$foo_id" "$demo3"
http_get "/pids/$demo3/tasks?format=text&task=$foo_id"
assert_eq "$(body <<<"$HTTP_BODY")" "$(body <<<"$OUT")" "asyncdump --task $foo_id = ?task=$foo_id"

note "no such task: 7"
same_error 7 "/pids/$demo3/tasks?task=999999&format=text" --task 999999 "$demo3"

assert_running "$demo1" "demo 1 at the end"
assert_running "$demo3" "demo 3 at the end"
stop_daemon
exit 0
