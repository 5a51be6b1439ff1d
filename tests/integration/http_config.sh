#!/bin/bash
# asyncdumpd's configuration: a file is applied, flags override it (the first
# --listen replaces the file's addresses), a bad file or flag stops the daemon
# before it listens with FILE:LINE (or --flag) and exit status 78, a bad
# command line with 2; --version and --help; and systemd socket activation
# (LISTEN_PID/LISTEN_FDS) replaces the configured listeners.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

# run_daemon ARGS...: runs asyncdumpd expecting it to refuse to start; sets
# STATUS and ERR (its stderr).
run_daemon() {
	STATUS=0
	timeout 10 "$ASYNCDUMPD" "$@" >"$HARNESS_TMP/out" 2>"$HARNESS_TMP/err" || STATUS=$?
	ERR=$(cat "$HARNESS_TMP/err")
}

note "--version and --help"
version=$(sed -nE 's/^AC_INIT\(\[asyncdump\], \[([^]]+)\].*/\1/p' "$top_srcdir/configure.ac")
assert_eq "asyncdumpd $version" "$("$ASYNCDUMPD" --version)" "--version"
help=$("$ASYNCDUMPD" --help) || fail "--help exited with $?"
for flag in --listen --unix --config --web-root --token-file --max-connections \
	--max-connections-per-ip --max-samples-in-flight --rate-limit --connection-timeout \
	--log-level --version --help; do
	assert_contains "$help" "  $flag" "--help documents $flag"
done
assert_contains "$help" "78" "--help documents the exit status of a bad configuration"

note "a bad command line: status 2"
run_daemon --no-such-flag
assert_eq 2 "$STATUS" "an unknown flag"
assert_eq "asyncdumpd: unknown option --no-such-flag; see --help" "$ERR" "its message"
run_daemon --listen
assert_eq 2 "$STATUS" "a flag without its value"
run_daemon stray
assert_eq 2 "$STATUS" "a stray argument"

note "a bad flag value: status 78, naming the flag"
run_daemon --max-connections 0
assert_eq 78 "$STATUS" "--max-connections 0"
assert_eq "asyncdumpd: --max-connections: bad value '0' for max_connections: expected an integer from 1 to 10000" \
	"$ERR" "its message"
run_daemon --listen localhost:7070
assert_eq 78 "$STATUS" "--listen with a host name"
assert_contains "$ERR" "--listen: bad value 'localhost:7070'" "its message"
run_daemon --log-level loud
assert_eq 78 "$STATUS" "--log-level loud"

note "a bad file: status 78 with FILE:LINE, before listening"
conf=$HARNESS_TMP/asyncdumpd.conf
port=$(free_port)
printf '# test\nlisten = 127.0.0.1:%s\n\n[watch api]\nexe = /usr/bin/api\nstuck_threshold = soon\n' "$port" >"$conf"
run_daemon --config "$conf"
assert_eq 78 "$STATUS" "a bad duration"
assert_eq "asyncdumpd: $conf:6: stuck_threshold: bad duration 'soon': expected an integer with an optional unit ms, s, m or h (e.g. 500ms, 10s, 2m)" \
	"$ERR" "its message"
curl -s --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null && fail "the daemon listened with a bad file"
printf 'listen = 127.0.0.1:1\nlisten_on = x\n' >"$conf"
run_daemon --config "$conf"
assert_eq 78 "$STATUS" "an unknown key"
assert_contains "$ERR" "$conf:2: unknown key 'listen_on'" "its message"
printf '[watch a]\npid = 1\n[watch a]\npid = 2\n' >"$conf"
run_daemon --config "$conf"
assert_eq 78 "$STATUS" "a duplicate watch"
assert_contains "$ERR" "$conf:3: duplicate section [watch a] (first at line 1)" "its message"
run_daemon --config "$HARNESS_TMP/missing.conf"
assert_eq 78 "$STATUS" "a missing file"
assert_eq "asyncdumpd: $HARNESS_TMP/missing.conf: cannot read the configuration: No such file or directory" "$ERR" "its message"

note "the file is applied"
printf 'listen = 127.0.0.1:0\nlog_level = warn\nrate_limit = 1/s\n[hang]\nsample_interval = 5s\n' >"$conf"
start_daemon --no-tcp --config "$conf" --log-level info
[ -n "$BASE" ] || fail "the file's listen address is not used: $(cat "$DAEMON_LOG")"
dead=$(dead_pid)
# back to back in one curl: a loaded machine may take a second between two
codes=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' "$BASE/pids/$dead/tasks" "$BASE/pids/$dead/tasks")
assert_eq "404 429 " "$codes" "two requests at rate_limit = 1/s"
stop_daemon

note "flags override the file"
port_file=$(free_port)
printf 'listen = 127.0.0.1:%s\nlog_level = error\nrate_limit = 1/s\n' "$port_file" >"$conf"
start_daemon --config "$conf" --log-level info --rate-limit 0
assert_eq 1 "$(grep -c 'listening on' "$DAEMON_LOG")" "one listener: the flag's"
[ "${BASE##*:}" != "$port_file" ] || fail "the file's port was used despite --listen"
curl -s --max-time 2 "http://127.0.0.1:$port_file/healthz" >/dev/null && fail "the file's address is still served"
for _ in 1 2 3; do assert_http 404 no_such_process "/pids/$dead/tasks"; done
grep -q ' info request ' "$DAEMON_LOG" || fail "--log-level info did not override log_level = error"
stop_daemon

note "socket activation: LISTEN_FDS replaces the configured listeners"
configured=$(free_port)
python3 - "$ASYNCDUMPD" "$HARNESS_TMP/activated.port" "$configured" "$top_srcdir/web" \
	2>"$HARNESS_TMP/activated.log" <<'PY' &
import os, socket, sys
daemon, port_file, configured, web = sys.argv[1:5]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(port_file, "w").write("%d\n" % s.getsockname()[1])
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", LISTEN_FDNAMES="http")
os.execve(daemon, [daemon, "--listen", "127.0.0.1:" + configured, "--web-root", web], env)
PY
DAEMON_PID=$!
DAEMON_LOG=$HARNESS_TMP/activated.log
wait_for_log ' started pid=' "$DAEMON_LOG" "$DAEMON_PID"
BASE=http://127.0.0.1:$(cat "$HARNESS_TMP/activated.port")
assert_http 200 - /healthz
assert_eq 1 "$(grep -c 'listening on' "$DAEMON_LOG")" "one listener: the activated socket"
curl -s --max-time 2 "http://127.0.0.1:$configured/healthz" >/dev/null &&
	fail "the configured --listen is served despite socket activation"
grep -q "started pid=$DAEMON_PID" "$DAEMON_LOG" || fail "LISTEN_PID named another process"
stop_daemon

note "LISTEN_PID of another process: the configured listeners are used"
LISTEN_PID=1 LISTEN_FDS=1 start_daemon
assert_http 200 - /healthz
stop_daemon
exit 0
