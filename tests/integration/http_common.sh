# shellcheck shell=bash
# Helpers of the asyncdumpd and asyncdump tests (http_*.sh, cli_*.sh), on top
# of lib.sh. Not a test itself. Source it after lib.sh and harness_init:
#
#   start_daemon [FLAGS...]     asyncdumpd on 127.0.0.1:<free port>; sets
#                               DAEMON_PID, DAEMON_LOG, BASE (http://127.0.0.1:PORT)
#   http_get PATH [CURL ARGS]   GET $BASE$PATH; sets HTTP_STATUS, HTTP_BODY
#                               (the body's text), HTTP_HEADERS (a file)
#   assert_http STATUS CODE PATH [CURL ARGS]
#                               GET, and expect STATUS and, unless CODE is -,
#                               the JSON error code CODE
#   assert_running PID MSG      alive and not stopped (state not t/T)
#   stop_daemon                 SIGTERM; expects a clean exit (status 0)

ASYNCDUMPD="$top_builddir/asyncdumpd"
ASYNCDUMP="$top_builddir/asyncdump"
DAEMON_PID=
DAEMON_LOG=
DAEMON_STARTS=0
BASE=

[ -x "$ASYNCDUMPD" ] || fail "no asyncdumpd at $ASYNCDUMPD; build it first"
[ -x "$ASYNCDUMP" ] || fail "no asyncdump at $ASYNCDUMP; build it first"
command -v curl >/dev/null || fail "curl is needed (./dev installs it)"

# kill_daemon: the exit hook; never leaves a daemon behind.
kill_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		local deadline=$((SECONDS + 10))
		while kill -0 "$DAEMON_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.05
		done
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
	fi
	return 0
}
on_exit kill_daemon

# wait_for_log PATTERN FILE PID: waits until FILE has a line matching the ERE
# PATTERN; fails if PID exits first or after 20 s.
wait_for_log() {
	local pattern=$1 file=$2 pid=$3 deadline=$((SECONDS + 20))
	until grep -qE "$pattern" "$file" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || fail "asyncdumpd exited before logging '$pattern': $(cat "$file")"
		[ "$SECONDS" -lt "$deadline" ] || fail "asyncdumpd did not log '$pattern' in 20 s: $(cat "$file")"
		sleep 0.05
	done
}

# start_daemon [FLAGS...]: one daemon at a time per test. The port is the one
# the daemon picked for --listen 127.0.0.1:0 (read from its log), so tests
# running in parallel never collide. With --no-tcp, no --listen is added.
start_daemon() {
	[ -z "$DAEMON_PID" ] || fail "start_daemon: a daemon is already running"
	local listen=(--listen 127.0.0.1:0)
	if [ "${1:-}" = --no-tcp ]; then
		listen=()
		shift
	fi
	DAEMON_STARTS=$((DAEMON_STARTS + 1))
	DAEMON_LOG="$HARNESS_TMP/asyncdumpd.$DAEMON_STARTS.log"
	"$ASYNCDUMPD" "${listen[@]}" "$@" 2>"$DAEMON_LOG" </dev/null &
	DAEMON_PID=$!
	wait_for_log ' started pid=' "$DAEMON_LOG" "$DAEMON_PID"
	local port
	port=$(sed -nE 's|.*listening on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$DAEMON_LOG" | head -n 1)
	BASE=${port:+http://127.0.0.1:$port}
}

# stop_daemon [SECONDS]: SIGTERM, and expect exit status 0 within SECONDS
# (10).
stop_daemon() {
	local pid=$DAEMON_PID status=0 patience=${1:-10}
	local deadline=$((SECONDS + patience))
	kill -TERM "$pid" || fail "stop_daemon: no daemon $pid"
	while kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "asyncdumpd did not stop within $patience s of SIGTERM"
		sleep 0.05
	done
	wait "$pid" || status=$?
	DAEMON_PID=
	assert_eq 0 "$status" "asyncdumpd's exit status after SIGTERM"
	grep -q ' stopped$' "$DAEMON_LOG" || fail "asyncdumpd did not log its clean stop: $(tail -5 "$DAEMON_LOG")"
}

HTTP_REQUESTS=0
# http_get PATH [CURL ARGS...]
http_get() {
	local path=$1
	shift
	HTTP_REQUESTS=$((HTTP_REQUESTS + 1))
	local body="$HARNESS_TMP/body.$HTTP_REQUESTS"
	HTTP_HEADERS="$HARNESS_TMP/headers.$HTTP_REQUESTS"
	HTTP_STATUS=$(curl -sS --path-as-is --max-time 60 -o "$body" -D "$HTTP_HEADERS" \
		-w '%{http_code}' "$@" "$BASE$path") || fail "curl $* $BASE$path failed (status $HTTP_STATUS)"
	HTTP_BODY=$(cat "$body")
}

# header NAME: the value of a header of the last response (case-insensitive).
header() {
	awk -v name="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" -F': ' '
		{ sub(/\r$/, "") }
		tolower($1) == name { sub(/^[^:]*: /, ""); print; exit }' "$HTTP_HEADERS"
}

# assert_http STATUS CODE PATH [CURL ARGS...]
assert_http() {
	local status=$1 code=$2 path=$3
	shift 3
	http_get "$path" "$@"
	[ "$HTTP_STATUS" = "$status" ] ||
		fail "GET $path: expected status $status, got $HTTP_STATUS: $(printf '%s' "$HTTP_BODY" | head -c 1000)"
	if [ "$code" != - ]; then
		# one python run for both: the code, and whether there is a message
		assert_eq "$code has a message" \
			"$(printf '%s' "$HTTP_BODY" | json_get 'd["error"]["code"] + (" has a message" if d["error"]["message"] else " has none")')" \
			"GET $path: error code"
		assert_eq "application/json" "$(header Content-Type)" "GET $path: error content type"
	fi
}

# assert_running PID MSG: the target lives and is not left stopped or traced.
assert_running() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || fail "$2: process $pid is gone"
	state=$(awk '{print $3}' "/proc/$pid/stat")
	case "$state" in
	t | T | Z | X) fail "$2: process $pid is in state $state";;
	esac
	assert_eq 0 "$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" "$2: tracer of process $pid"
}

# start_sleeper [AS_USER]: a non-Rust process (sleep 600) of ours or of AS_USER;
# sets SLEEPER_PID. Killed at exit.
start_sleeper() {
	if [ -n "${1:-}" ]; then
		setpriv --reuid="$1" --regid="$1" --clear-groups sleep 600 &
	else
		sleep 600 &
	fi
	SLEEPER_PID=$!
	HARNESS_PIDS+=("$SLEEPER_PID")
	# setpriv execs sleep: wait until it has (comm changes)
	local deadline=$((SECONDS + 5))
	until [ "$(cat "/proc/$SLEEPER_PID/comm" 2>/dev/null)" = sleep ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "sleep $SLEEPER_PID did not start"
		sleep 0.02
	done
}

# dead_pid: a pid that no process has (a child that was reaped).
dead_pid() {
	local pid
	true &
	pid=$!
	wait "$pid"
	while kill -0 "$pid" 2>/dev/null; do pid=$((pid + 1)); done
	printf '%s\n' "$pid"
}
