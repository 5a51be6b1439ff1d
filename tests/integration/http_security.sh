#!/bin/bash
# asyncdumpd's defenses: the bearer token over TCP, the unix socket's
# SO_PEERCRED rule (a user other than root sees and samples only its own
# processes), the request rate limit, the connection limit and timeout, and
# refusing to start on a bad token file.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

[ "$(id -u)" = 0 ] || fail "this test needs root (to run a client as nobody)"
nobody=65534

start_target demo debug
demo=$TARGET_PID
start_sleeper "$nobody"
nobody_sleep=$SLEEPER_PID
start_sleeper
root_sleep=$SLEEPER_PID

# A directory every user can reach, for the socket (HARNESS_TMP is private).
sockdir=$(mktemp -d /tmp/asyncdump-sock.XXXXXX) || fail "mktemp"
on_exit "rm -rf '$sockdir'"
chmod 755 "$sockdir"
sock=$sockdir/asyncdumpd.sock
token=s3cr3t-$RANDOM$RANDOM
printf '%s\n' "$token" >"$HARNESS_TMP/token"

start_daemon --unix "$sock" --token-file "$HARNESS_TMP/token"
[ -n "$BASE" ] || fail "no TCP listener besides the unix socket: $(cat "$DAEMON_LOG")"
grep -q "listening on unix:$sock" "$DAEMON_LOG" || fail "no unix listener: $(cat "$DAEMON_LOG")"
[ -S "$sock" ] || fail "$sock is not a socket"

# unix_get [--as UID] PATH: status and body over the unix socket.
unix_get() {
	local as=()
	if [ "$1" = --as ]; then
		as=(setpriv --reuid="$2" --regid="$2" --clear-groups)
		shift 2
	fi
	HTTP_REQUESTS=$((HTTP_REQUESTS + 1))
	local body=$sockdir/body.$HTTP_REQUESTS
	touch "$body" && chmod 666 "$body"
	HTTP_STATUS=$("${as[@]}" curl -sS --max-time 60 --unix-socket "$sock" -o "$body" -w '%{http_code}' \
		"http://localhost$1") || fail "curl over $sock as ${as[*]:-root}: $1 failed"
	HTTP_BODY=$(cat "$body")
}
pid_listed() { printf '%s' "$HTTP_BODY" | json_get "any(p['pid'] == $1 for p in d['pids'])"; }

note "the bearer token over TCP"
assert_http 403 permission_denied /pids
assert_http 403 permission_denied "/pids/$demo/tasks"
assert_http 403 permission_denied /metrics
assert_http 403 permission_denied /pids -H "Authorization: Bearer wrong"
assert_http 403 permission_denied /pids -H "Authorization: Bearer ${token}x"
assert_http 403 permission_denied /pids -H "Authorization: Bearer ${token:0:5}"
assert_http 403 permission_denied /pids -H "Authorization: Basic $token"
assert_http 403 permission_denied /pids -H "X-Token: $token"
assert_http 200 - /pids -H "Authorization: Bearer $token"
assert_eq true "$(pid_listed "$demo")" "with the token, /pids lists demo"
assert_http 200 - /metrics -H "authorization: bearer $token"
# liveness and the viewer's own files need no token (they show no process data)
assert_http 200 - /healthz
assert_http 200 - /
assert_http 200 - /app.js

note "the unix socket: root sees everything, without a token"
unix_get /pids
assert_eq 200 "$HTTP_STATUS" "root over the unix socket: /pids"
assert_eq true "$(pid_listed "$demo")" "root sees demo"
assert_eq true "$(pid_listed "$nobody_sleep")" "root sees nobody's sleep"
unix_get "/pids/$root_sleep/tasks"
assert_eq 422 "$HTTP_STATUS" "root samples its own non-Rust process"

note "the unix socket: nobody sees and samples only its own processes"
unix_get --as "$nobody" /healthz
assert_eq 200 "$HTTP_STATUS" "nobody: /healthz"
unix_get --as "$nobody" /pids
assert_eq 200 "$HTTP_STATUS" "nobody: /pids"
assert_eq true "$(pid_listed "$nobody_sleep")" "nobody sees its sleep"
assert_eq false "$(pid_listed "$demo")" "nobody does not see root's demo"
assert_eq false "$(pid_listed "$root_sleep")" "nobody does not see root's sleep"
assert_eq "[$nobody]" "$(printf '%s' "$HTTP_BODY" | json_get 'sorted(set(p["uid"] for p in d["pids"]))')" "nobody sees only uid $nobody"
unix_get --as "$nobody" "/pids/$demo/tasks"
assert_eq 403 "$HTTP_STATUS" "nobody samples root's demo"
assert_eq permission_denied "$(printf '%s' "$HTTP_BODY" | json_get 'd["error"]["code"]')" "nobody: error code"
assert_contains "$HTTP_BODY" "belongs to another user" "nobody: the message says why"
unix_get --as "$nobody" "/pids/$demo/tasks/1"
assert_eq 403 "$HTTP_STATUS" "nobody asks for one of root's tasks"
unix_get --as "$nobody" "/pids/$nobody_sleep/tasks"
assert_eq 422 "$HTTP_STATUS" "nobody samples its own sleep (not Rust)"
assert_running "$demo" "demo after the unix clients"
grep -q "TracerPid:	0" "/proc/$demo/status" || fail "demo is traced"

note "the unix socket: the kernel's rule, not a uid comparison (issue 15, finding 2)"
# nobody's own process that the kernel forbids nobody to trace: a setgid
# copy of the demo (group root, which nobody lacks) is not dumpable.
cp "$(target_bin demo debug)" "$sockdir/demo-setgid"
chgrp 0 "$sockdir/demo-setgid"
chmod 2755 "$sockdir/demo-setgid"
setpriv --reuid="$nobody" --regid="$nobody" --clear-groups "$sockdir/demo-setgid" \
	>"$HARNESS_TMP/setgid.out" 2>"$HARNESS_TMP/setgid.err" </dev/null &
setgid_demo=$!
HARNESS_PIDS+=("$setgid_demo")
deadline=$((SECONDS + 30))
until grep -q '^READY ' "$HARNESS_TMP/setgid.out"; do
	check_alive "$setgid_demo" || fail "the setgid demo exited: $(cat "$HARNESS_TMP/setgid.err")"
	[ "$SECONDS" -lt "$deadline" ] || fail "the setgid demo is not READY in 30 s"
	sleep 0.05
done
assert_eq "$nobody" "$(awk '/^Uid:/ { print $2 }' "/proc/$setgid_demo/status")" "the setgid demo runs as nobody"
status=0
setpriv --reuid="$nobody" --regid="$nobody" --clear-groups "$ASYNCDUMP" "$setgid_demo" >/dev/null 2>&1 || status=$?
[ "$status" != 0 ] || fail "nobody's own CLI may trace the setgid demo: the kernel's rule changed?"
unix_get --as "$nobody" "/pids/$setgid_demo/tasks"
assert_eq 403 "$HTTP_STATUS" "nobody samples its non-dumpable setgid demo through the daemon"
assert_contains "$HTTP_BODY" "the kernel does not let uid $nobody read process $setgid_demo" "the message says why"
unix_get "/pids/$setgid_demo/tasks"
assert_eq 200 "$HTTP_STATUS" "root samples the setgid demo"

stop_daemon
[ -e "$sock" ] && fail "the unix socket $sock is left behind after the stop"

note "a unix socket only: no TCP listener by default"
start_daemon --no-tcp --unix "$sock"
[ -z "$BASE" ] || fail "TCP listener without --listen: $(grep listening "$DAEMON_LOG")"
assert_eq 1 "$(grep -c 'listening on' "$DAEMON_LOG")" "one listener"
unix_get /healthz
assert_eq 200 "$HTTP_STATUS" "/healthz on the unix socket"
stop_daemon

note "the rate limit: 429 beyond N/s, /healthz and /metrics never limited"
start_daemon --rate-limit 2/s
dead=$(dead_pid)
urls=()
for _ in $(seq 12); do urls+=(-o /dev/null "$BASE/pids/$dead/tasks"); done
codes=$(curl -s -w '%{http_code}\n' "${urls[@]}" | sort | uniq -c)
assert_contains "$codes" " 429" "12 quick requests at 2/s"
assert_contains "$codes" " 404" "the first requests at 2/s"
assert_http 429 rate_limited "/pids/$dead/tasks"
for _ in $(seq 10); do assert_http 200 - /healthz; done
assert_http 200 - /metrics
grep -q 'asyncdumpd_http_requests_total{code="429"}' <<<"$HTTP_BODY" || fail "no 429 in the metrics"
sleep 1.2
assert_http 404 no_such_process "/pids/$dead/tasks"
stop_daemon

note "wrong tokens count against the rate limit (no guessing at full speed)"
start_daemon --rate-limit 2/s --token-file "$HARNESS_TMP/token"
urls=()
for i in $(seq 12); do urls+=(-o /dev/null "$BASE/metrics?guess=$i"); done
# one connection, twelve guesses, as a token-guessing client would send them
codes=$(curl -s -H "Authorization: Bearer wrong" -w '%{http_code}\n' "${urls[@]}" | sort | uniq -c)
assert_contains "$codes" " 403" "the first wrong tokens at 2/s"
assert_contains "$codes" " 429" "12 quick wrong tokens at 2/s"
stop_daemon

note "slow and greedy clients (issue 15, finding 4)"
# greedy.py ADDRESS N MODE: N connections from one client that trickle a
# header line every 0.3 s (MODE trickle) or send nothing (MODE idle), then
# one more complete request while they are held, then (trickle) waits for
# the daemon to cut them. Prints what happened as JSON.
cat >"$sockdir/greedy.py" <<'PY'
import json, socket, sys, time
address, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def connect():
    if address.startswith("/"):
        s = socket.socket(socket.AF_UNIX); s.connect(address)
    else:
        host, port = address.rsplit(":", 1); s = socket.create_connection((host, int(port)))
    return s
def status_of(s, timeout):
    s.settimeout(timeout)
    try:
        data = s.recv(200)
    except (socket.timeout, OSError):
        return None
    return data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else ("closed" if not data else "?")
held = [connect() for _ in range(n)]
refused = 0
for s in held:
    s.setblocking(False)
    try:
        if s.recv(200).startswith(b"HTTP/1.1 503"):
            refused += 1
    except BlockingIOError:
        pass
    s.setblocking(True)
    if mode == "trickle":
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
extra = connect()
extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
out = {"extra": status_of(extra, 5), "refused_at_once": refused}
if mode == "trickle":
    start, cut = time.monotonic(), set()
    while len(cut) < n and time.monotonic() - start < 8:
        for i, s in enumerate(held):
            if i in cut: continue
            try:
                s.sendall(b"X-Slow: 1\r\n")
                s.settimeout(0.01)
                if s.recv(200) == b"": cut.add(i)
            except socket.timeout:
                pass
            except OSError:
                cut.add(i)
        time.sleep(0.3)
    out["cut"] = len(cut)
    out["cut_after_s"] = round(time.monotonic() - start, 1)
print(json.dumps(out), flush=True)
if mode == "idle":
    time.sleep(4)  # still holding them while the caller tries another client
PY
start_daemon --max-connections-per-ip 4 --request-timeout 1500ms
result=$(python3 "$sockdir/greedy.py" "${BASE#http://}" 4 trickle)
note "4 trickling connections from one address: $result"
assert_eq 503 "$(json_get 'd["extra"]' <<<"$result")" "a fifth connection from that address is answered 503 at once"
assert_eq 4 "$(json_get 'd["cut"]' <<<"$result")" "the trickling connections are cut by the request timeout"
assert_http 200 - /healthz
stop_daemon

start_daemon --unix "$sock"
setpriv --reuid="$nobody" --regid="$nobody" --clear-groups /usr/bin/python3 "$sockdir/greedy.py" "$sock" 130 idle \
	>"$HARNESS_TMP/greedy.out" &
greedy=$!
HARNESS_PIDS+=("$greedy")
deadline=$((SECONDS + 30))
until [ -s "$HARNESS_TMP/greedy.out" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "nobody's 130 connections did not get an answer in 30 s"
	sleep 0.1
done
result=$(cat "$HARNESS_TMP/greedy.out")
note "nobody holds 130 connections to the unix socket: $result"
assert_eq 503 "$(json_get 'd["extra"]' <<<"$result")" "nobody's connections beyond its share are answered 503"
unix_get /healthz
assert_eq 200 "$HTTP_STATUS" "root is served while nobody holds its connections"
unix_get /pids
assert_eq 200 "$HTTP_STATUS" "root's /pids while nobody holds its connections"
wait "$greedy"
stop_daemon

note "the connection limit and the idle timeout"
start_daemon --max-connections 2 --connection-timeout 1s
port=${BASE##*:}
exec 5<>"/dev/tcp/127.0.0.1/$port" 6<>"/dev/tcp/127.0.0.1/$port"
sleep 0.2
curl -s --max-time 5 -o /dev/null "$BASE/healthz" && fail "a third connection was served with --max-connections 2"
# the idle connections are closed after the 1 s timeout: reading them ends
timeout 5 cat <&5 >/dev/null || fail "an idle connection was not closed after 1 s"
exec 5<&- 6<&-
sleep 0.2
assert_http 200 - /healthz
stop_daemon

note "a bad token file stops the daemon from starting"
for content in "" "   "; do
	printf '%s' "$content" >"$HARNESS_TMP/empty-token"
	status=0
	"$ASYNCDUMPD" --listen 127.0.0.1:0 --token-file "$HARNESS_TMP/empty-token" 2>"$HARNESS_TMP/err" || status=$?
	assert_eq 78 "$status" "an empty token file"
	assert_contains "$(cat "$HARNESS_TMP/err")" "token file $HARNESS_TMP/empty-token must hold one non-empty line" "its message"
done
status=0
"$ASYNCDUMPD" --listen 127.0.0.1:0 --token-file "$HARNESS_TMP/none" 2>"$HARNESS_TMP/err" || status=$?
assert_eq 78 "$status" "a missing token file"
assert_contains "$(cat "$HARNESS_TMP/err")" "$HARNESS_TMP/none: No such file or directory" "its message"
assert_running "$demo" "demo at the end"
exit 0
