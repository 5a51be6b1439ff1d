#!/bin/bash
# asyncdumpd answers every kind of bad request with its precise status and a
# JSON error {"error": {"code", "message"}}, each triggered for real: a dead
# pid, malformed pids and queries, a non-Rust process, a process held by
# another tracer, paths outside the web root, a huge URL, a wrong method.
# The daemon survives all of it and the target is left running.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

start_target demo debug
demo=$TARGET_PID
start_sleeper
sleeper=$SLEEPER_PID
start_daemon

note "404: no such process, path or task"
dead=$(dead_pid)
assert_http 404 no_such_process "/pids/$dead/tasks"
assert_contains "$(printf '%s' "$HTTP_BODY" | json_get 'd["error"]["message"]')" "$dead" "the message names the pid"
assert_http 404 no_such_process "/pids/$dead/tasks/1"
assert_http 404 not_found "/pids/$demo"
assert_http 404 not_found "/pids/$demo/tasks/"
assert_http 404 not_found "/pids/$demo/tasks/1/more"
assert_http 404 not_found "/pids/$demo/stacks"
assert_http 404 not_found "/no/such/file.js"

note "400: malformed pids"
for pid in abc 1x -1 0 007 +5 99999999999999999999 4194305 %20 ''; do
	assert_http 400 invalid_argument "/pids/$pid/tasks"
done
assert_http 400 invalid_argument "/pids/abc/tasks/1"

note "400: malformed task ids and queries"
assert_http 400 invalid_argument "/pids/$demo/tasks/x1"
assert_http 400 invalid_argument "/pids/$demo/tasks?verbose=1"
assert_contains "$HTTP_BODY" "unknown query parameter 'verbose'" "the message names the parameter"
assert_http 400 invalid_argument "/pids/$demo/tasks?format=xml"
assert_http 400 invalid_argument "/pids/$demo/tasks?task=abc"
assert_http 400 invalid_argument "/pids/$demo/tasks?task=1&task=2"
assert_http 400 invalid_argument "/pids/$demo/tasks?locals=maybe"
assert_http 400 invalid_argument "/pids/$demo/tasks?max_age_ms=-5"
assert_http 400 invalid_argument "/pids/$demo/tasks?max_age_ms=60001"
assert_http 400 invalid_argument "/pids/$demo/tasks/1?format=text"
assert_http 400 invalid_argument "/pids?all=1"
assert_http 400 invalid_argument "/pids/$DAEMON_PID/tasks"

note "422: a process that is not a Rust program"
# sleep is C without debuginfo: the library may say either first
assert_http 422 - "/pids/$sleeper/tasks"
code=$(printf '%s' "$HTTP_BODY" | json_get 'd["error"]["code"]')
case "$code" in
not_rust | no_debuginfo) ;;
*) fail "sleep: error code $code, expected not_rust or no_debuginfo";;
esac
assert_contains "$(printf '%s' "$HTTP_BODY" | json_get 'd["error"]["message"]')" "$sleeper" "the 422 message names the pid"
assert_running "$sleeper" "sleep after its 422"

note "409: a process another tracer holds"
holder="$top_builddir/tests/integration/holder"
[ -x "$holder" ] || fail "no $holder (built by make check)"
"$holder" "$demo" >"$HARNESS_TMP/holder.out" 2>&1 &
holder_pid=$!
HARNESS_PIDS+=("$holder_pid")
deadline=$((SECONDS + 10))
until grep -qs HOLDING "$HARNESS_TMP/holder.out"; do
	kill -0 "$holder_pid" 2>/dev/null || fail "holder failed: $(cat "$HARNESS_TMP/holder.out")"
	[ "$SECONDS" -lt "$deadline" ] || fail "holder did not attach"
	sleep 0.05
done
assert_http 409 already_traced "/pids/$demo/tasks"
assert_eq "$holder_pid" "$(awk '/^TracerPid:/ {print $2}' "/proc/$demo/status")" "the holder still holds demo after the 409"
kill -TERM "$holder_pid"
wait "$holder_pid" 2>/dev/null
assert_running "$demo" "demo once the holder let go"

note "the web root: nothing outside it, no listing"
for path in /../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc/passwd /%2E%2E/etc/passwd \
	/./index.html //etc/passwd /.hidden "/web/../../etc/passwd" "/%00/etc/passwd"; do
	http_get "$path"
	[ "$HTTP_STATUS" = 404 ] || [ "$HTTP_STATUS" = 400 ] || fail "GET $path: status $HTTP_STATUS"
	case "$HTTP_BODY" in *root:*) fail "GET $path served /etc/passwd";; esac
done
# The viewer built into the daemon: each file of web/ served as it is there.
for f in index.html app.js style.css favicon.svg; do
	curl -fsS -o "$HARNESS_TMP/served" "$BASE/$f" || fail "GET /$f from the built-in viewer"
	cmp -s "$HARNESS_TMP/served" "$top_srcdir/web/$f" || fail "GET /$f differs from web/$f"
done
curl -fsS -o "$HARNESS_TMP/served" "$BASE/" && cmp -s "$HARNESS_TMP/served" "$top_srcdir/web/index.html" ||
	fail "GET / is not web/index.html"
assert_http 404 not_found /nonexistent.js
# A web root that does not exist is a configuration error, said at start.
out=$("$ASYNCDUMPD" --listen 127.0.0.1:1 --web-root "$HARNESS_TMP/absent" 2>&1) &&
	fail "asyncdumpd started with a web root that does not exist"
case "$out" in
*"cannot use web root $HARNESS_TMP/absent"*"built into asyncdumpd"*) ;;
*) fail "asyncdumpd with an absent web root said: $out" ;;
esac
# A web root with a symlink that leads out of it, and a subdirectory.
webroot="$HARNESS_TMP/web"
mkdir -p "$webroot/sub"
printf '<p>viewer</p>\n' >"$webroot/index.html"
printf 'inner\n' >"$webroot/sub/inner.txt"
ln -s /etc/passwd "$webroot/passwd.txt"
ln -s /etc "$webroot/etc"
ln -s index.html "$webroot/alias.html"
stop_daemon
start_daemon --web-root "$webroot"
assert_http 404 not_found /passwd.txt
assert_http 404 not_found /etc/passwd
assert_http 404 not_found /sub
assert_http 404 not_found /sub/
assert_http 200 - /sub/inner.txt
assert_eq inner "$HTTP_BODY" "a file in a subdirectory"
assert_http 200 - /alias.html
assert_eq "<p>viewer</p>" "$HTTP_BODY" "a symlink that stays inside the web root"
assert_http 200 - /
assert_eq "<p>viewer</p>" "$HTTP_BODY" "/ serves index.html"

note "414: a URL over 2048 bytes"
long=$(head -c 3000 /dev/zero | tr '\0' a)
assert_http 414 uri_too_long "/pids/$demo/tasks?$long"
assert_http 414 uri_too_long "/$long"

note "405: methods other than GET and HEAD, with Allow"
for method in POST PUT DELETE PATCH; do
	assert_http 405 method_not_allowed "/pids/$demo/tasks" -X "$method"
	assert_eq "GET, HEAD" "$(header Allow)" "$method: the Allow header"
done
assert_http 405 method_not_allowed /healthz -X POST --data 'x=1'
http_get /healthz -I
assert_eq 200 "$HTTP_STATUS" "HEAD /healthz"

note "the daemon is still fine"
assert_http 200 - /healthz
assert_eq ok "$(printf '%s' "$HTTP_BODY" | json_get 'd["status"]')" "healthz after the errors"
assert_running "$demo" "demo after every error"
stop_daemon
assert_running "$demo" "demo after the daemon stopped"
grep -qE "request method=GET path=/pids/$demo/tasks status=409 duration_ms=[0-9.]+ " \
	"$HARNESS_TMP/asyncdumpd.1.log" || fail "no request line for the 409 in the first daemon's log"
grep -qE "request method=POST path=/healthz status=405 " "$DAEMON_LOG" ||
	fail "no request line for the 405 in the second daemon's log"
exit 0
