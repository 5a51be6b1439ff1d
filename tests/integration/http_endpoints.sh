#!/bin/bash
# Every endpoint of asyncdumpd against the design example (target demo,
# suspension point 1: foo awaits sleep(), bar() and baz() are created but not
# polled): /healthz, /pids, /pids/PID/tasks with each query parameter,
# /pids/PID/tasks/ID, /metrics, the viewer's files; and the log lines.
# Expected lines come from the demo's @mark comments.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

src=$(target_src demo)/main.rs
sleep_line=$(marker_line "$src" sleep_awaits_timer)
foo_line=$(marker_line "$src" foo_point1_awaits_sleep)

start_target demo debug 1
demo=$TARGET_PID
start_sleeper
sleeper=$SLEEPER_PID
start_daemon

# frame DOC NAME: "LINE NOT_POLLED" of the first frame called NAME anywhere in
# the document DOC (a file; task links and locals included), or "absent".
frame() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
stack = list(doc["tasks"]) if "tasks" in doc else [doc]
while stack:
    node = stack.pop()
    if not isinstance(node, dict):
        continue
    if node.get("name") == sys.argv[2]:
        loc = node.get("location") or {}
        print(loc.get("line"), json.dumps(bool(node.get("not_polled"))))
        sys.exit(0)
    for key in ("children", "locals"):
        stack.extend(node.get(key) or [])
    if isinstance(node.get("root"), dict):
        stack.append(node["root"])
print("absent")
EOF
}

save() { printf '%s' "$HTTP_BODY" >"$HARNESS_TMP/$1"; printf '%s\n' "$HARNESS_TMP/$1"; }

note "GET /healthz"
assert_http 200 - /healthz
assert_eq ok "$(printf '%s' "$HTTP_BODY" | json_get 'd["status"]')" "healthz status"
assert_eq application/json "$(header Content-Type)" "healthz content type"
assert_eq no-store "$(header Cache-Control)" "healthz Cache-Control"

note "GET /pids"
assert_http 200 - /pids
pids=$(save pids.json)
entry() { json_get "[p for p in d['pids'] if p['pid'] == $1]" <"$pids"; }
assert_eq true "$(json_get "[p['traceable'] for p in d['pids'] if p['pid'] == $demo][0]" <"$pids")" "demo is traceable"
assert_eq demo "$(json_get "[p['comm'] for p in d['pids'] if p['pid'] == $demo][0]" <"$pids")" "demo's comm"
assert_eq "$(readlink "/proc/$demo/exe")" "$(json_get "[p['exe'] for p in d['pids'] if p['pid'] == $demo][0]" <"$pids")" "demo's exe"
assert_eq "$(id -u)" "$(json_get "[p['uid'] for p in d['pids'] if p['pid'] == $demo][0]" <"$pids")" "demo's uid"
assert_eq true "$(json_get "'tokio' in [p['runtimes'] for p in d['pids'] if p['pid'] == $demo][0]" <"$pids")" "demo's runtimes name tokio"
assert_eq null "$(json_get "[p['reason'] for p in d['pids'] if p['pid'] == $demo][0]" <"$pids")" "demo has no reason not to be traced"
assert_eq false "$(json_get "[p['traceable'] for p in d['pids'] if p['pid'] == $sleeper][0]" <"$pids")" "sleep is not traceable"
reason=$(json_get "[p['reason'] for p in d['pids'] if p['pid'] == $sleeper][0]" <"$pids")
[ -n "$reason" ] && [ "$reason" != null ] || fail "sleep has no reason for not being traceable"
assert_eq "[]" "$(entry "$DAEMON_PID")" "the daemon does not list itself"
assert_running "$demo" "demo after /pids (decided without stopping it)"

note "GET /pids/$demo/tasks (JSON)"
assert_http 200 - "/pids/$demo/tasks"
assert_eq application/json "$(header Content-Type)" "trace content type"
assert_eq no-store "$(header Cache-Control)" "trace Cache-Control"
doc=$(save tasks.json)
assert_eq "$demo" "$(json_get 'd["pid"]' <"$doc")" "the document's pid"
assert_eq "$sleep_line false" "$(frame "$doc" 'demo::sleep')" "demo::sleep suspended at its marker"
assert_eq "$foo_line false" "$(frame "$doc" 'demo::foo')" "demo::foo suspended at its marker"
assert_eq absent "$(frame "$doc" 'demo::bar')" "bar (not polled) without locals"
captured1=$(json_get 'd["captured_at"]' <"$doc")
foo_id=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([t["id"] for t in d["tasks"] if t.get("root") and t["root"]["name"] == "demo::foo"][0])' "$doc") ||
	fail "no task with root demo::foo: $(head -c 2000 "$doc")"

note "?format=text"
assert_http 200 - "/pids/$demo/tasks?format=text"
assert_eq "text/plain; charset=utf-8" "$(header Content-Type)" "text content type"
assert_contains "$HTTP_BODY" "demo::sleep() suspended at " "text: sleep"
assert_contains "$HTTP_BODY" "main.rs:$sleep_line" "text: sleep's line"
assert_contains "$HTTP_BODY" "demo::foo() suspended at " "text: foo"
assert_contains "$HTTP_BODY" "main.rs:$foo_line" "text: foo's line"
assert_http 200 - "/pids/$demo/tasks?format=json"
assert_eq "$demo" "$(printf '%s' "$HTTP_BODY" | json_get 'd["pid"]')" "format=json"

note "?task=$foo_id and /tasks/$foo_id"
assert_http 200 - "/pids/$demo/tasks?task=$foo_id"
assert_eq "[$foo_id]" "$(printf '%s' "$HTTP_BODY" | json_get '[t["id"] for t in d["tasks"]]')" "?task: only that task"
assert_http 200 - "/pids/$demo/tasks/$foo_id"
assert_eq "$foo_id" "$(printf '%s' "$HTTP_BODY" | json_get 'd["id"]')" "/tasks/ID: its id"
assert_eq demo::foo "$(printf '%s' "$HTTP_BODY" | json_get 'd["root"]["name"]')" "/tasks/ID: its root"
assert_eq "$sleep_line false" "$(frame "$(save task.json)" 'demo::sleep')" "/tasks/ID: its subtree"
assert_http 200 - "/pids/$demo/tasks?task=$foo_id&format=text"
assert_contains "$HTTP_BODY" "demo::foo() suspended at " "?task with format=text"
assert_http 404 not_found "/pids/$demo/tasks/999999"
assert_http 404 not_found "/pids/$demo/tasks?task=999999"

note "?locals=1: the futures created but not polled"
assert_http 200 - "/pids/$demo/tasks?locals=1"
doc=$(save locals.json)
assert_eq "$foo_line false" "$(frame "$doc" 'demo::foo')" "locals: foo"
read -r _ bar_not_polled <<<"$(frame "$doc" 'demo::bar')"
assert_eq true "$bar_not_polled" "locals: bar is shown, not polled"
read -r _ baz_not_polled <<<"$(frame "$doc" 'demo::baz')"
assert_eq true "$baz_not_polled" "locals: baz is shown, not polled"
assert_http 200 - "/pids/$demo/tasks/$foo_id?locals=true"
read -r _ bar_not_polled <<<"$(frame "$(save task-locals.json)" 'demo::bar')"
assert_eq true "$bar_not_polled" "/tasks/ID?locals=true: bar"

note "?stop=0: read while the process runs (issue 18)"
assert_http 200 - "/pids/$demo/tasks?stop=0"
assert_eq false "$(printf '%s' "$HTTP_BODY" | json_get 'd["stopped"]')" "?stop=0: stopped"
assert_eq null "$(printf '%s' "$HTTP_BODY" | json_get 'd["pause_us"]')" "?stop=0: pause_us"
assert_eq "[true]" "$(printf '%s' "$HTTP_BODY" | json_get 'sorted(set(t["consistent"] for t in d["tasks"]))')" "?stop=0: every idle task read consistently"
assert_eq "$foo_line false" "$(frame "$(save nostop.json)" 'demo::foo')" "?stop=0: foo where a stopped sample has it"
grep -q " sample pid=$demo locals=0 stop=0 outcome=ok" "$DAEMON_LOG" || fail "the log does not say the sample did not stop"
assert_http 200 - "/pids/$demo/tasks?stop=1"
assert_eq true "$(printf '%s' "$HTTP_BODY" | json_get 'd["stopped"]')" "?stop=1: stopped"
assert_http 400 invalid_argument "/pids/$demo/tasks?stop=maybe"
assert_contains "$HTTP_BODY" "stop" "?stop=maybe: the error names the parameter"

note "?max_age_ms: reuse a recent sample, or take a fresh one"
samples_before=$(grep -c " sample pid=$demo .*outcome=ok" "$DAEMON_LOG")
sleep 0.05
assert_http 200 - "/pids/$demo/tasks"
captured2=$(printf '%s' "$HTTP_BODY" | json_get 'd["captured_at"]')
[ "$captured2" != "$captured1" ] || fail "two requests without max_age_ms share a sample ($captured1)"
assert_http 200 - "/pids/$demo/tasks?max_age_ms=60000"
assert_eq "$captured2" "$(printf '%s' "$HTTP_BODY" | json_get 'd["captured_at"]')" "max_age_ms=60000 reuses the last sample"
assert_http 200 - "/pids/$demo/tasks?max_age_ms=60000&locals=1"
# the kept sample has no locals: this one must be new, with them
[ "$(printf '%s' "$HTTP_BODY" | json_get 'd["captured_at"]')" != "$captured2" ] ||
	fail "a request with locals reused a sample taken without"
sleep 0.1
assert_http 200 - "/pids/$demo/tasks?max_age_ms=1"
[ "$(printf '%s' "$HTTP_BODY" | json_get 'd["captured_at"]')" != "$captured2" ] ||
	fail "max_age_ms=1 reused a sample older than 100 ms"
samples_after=$(grep -c " sample pid=$demo .*outcome=ok" "$DAEMON_LOG")
assert_eq 3 "$((samples_after - samples_before))" "samples taken for 4 requests, one reusing"

note "GET /metrics"
assert_http 200 - /metrics
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$(header Content-Type)" "metrics content type"
metrics=$(save metrics.txt)
python3 - "$metrics" <<'EOF' || fail "metrics are not in the Prometheus text format: $(head -c 2000 "$metrics")"
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEinfNa]+$')
typed = set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        typed.add(line.split()[2])
    elif line.startswith("# HELP ") or not line:
        continue
    elif not sample.match(line):
        sys.exit("bad line: " + line)
    else:
        name = re.split(r"[{ ]", line)[0]
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in typed and base not in typed:
            sys.exit("no TYPE for " + name)
EOF
metric() { awk -v n="$1" '$1 == n { print $2 }' "$metrics"; }
assert_eq 0 "$(metric asyncdumpd_samples_in_flight)" "nothing in flight"
assert_eq 1 "$(metric 'asyncdumpd_sample_reuses_total{how="cached"}')" "one cached reuse"
ok=$(metric 'asyncdumpd_samples_total{outcome="ok"}')
[ "${ok:-0}" -ge 7 ] || fail "samples_total{outcome=ok} is '$ok', expected at least 7"
# the ?stop=0 sample paused nothing
[ "$(metric asyncdumpd_sample_pause_seconds_count)" = "$((ok - 1))" ] ||
	fail "one pause observed per successful sample that stopped the process"
[ "$(metric 'asyncdumpd_http_requests_total{code="404"}')" = 2 ] || fail "two 404s counted: $(grep code= "$metrics")"
grep -q '^asyncdumpd_sample_duration_seconds_bucket{le="+Inf"} ' "$metrics" || fail "no duration histogram"

note "the web viewer"
assert_http 200 - /
assert_eq "text/html; charset=utf-8" "$(header Content-Type)" "/ content type"
assert_eq no-cache "$(header Cache-Control)" "/ Cache-Control"
assert_eq "$(cat "$top_srcdir/web/index.html")" "$HTTP_BODY" "/ is index.html"
assert_http 200 - /index.html
for file in app.js style.css favicon.svg; do
	[ -f "$top_srcdir/web/$file" ] || fail "the viewer has no $file"
	assert_http 200 - "/$file"
	assert_eq "$(cat "$top_srcdir/web/$file")" "$HTTP_BODY" "/$file content"
	assert_eq "public, max-age=300" "$(header Cache-Control)" "/$file Cache-Control"
	assert_eq nosniff "$(header X-Content-Type-Options)" "/$file nosniff"
done
assert_http 200 - /app.js
assert_eq "text/javascript; charset=utf-8" "$(header Content-Type)" "js content type"
assert_http 200 - /style.css
assert_eq "text/css; charset=utf-8" "$(header Content-Type)" "css content type"
assert_http 200 - /favicon.svg
assert_eq "image/svg+xml" "$(header Content-Type)" "svg content type"
assert_http 200 - "/?pid=$demo"
assert_eq "$(cat "$top_srcdir/web/index.html")" "$HTTP_BODY" "/ with the viewer's query"

note "the log: one line per request and per sample"
grep -qE "info request method=GET path=/pids/$demo/tasks\\?format=text status=200 duration_ms=[0-9.]+ " "$DAEMON_LOG" ||
	fail "no request line for ?format=text: $(grep request "$DAEMON_LOG" | head -5)"
grep -qE "info request method=GET path=/healthz status=200 " "$DAEMON_LOG" || fail "no request line for /healthz"
grep -qE "info sample pid=$demo locals=0 stop=1 outcome=ok pause_us=[0-9]+ tasks=[0-9]+ duration_ms=" "$DAEMON_LOG" ||
	fail "no sample line: $(grep sample "$DAEMON_LOG" | head -3)"
grep -qE "warn sample pid=$demo .*outcome=" "$DAEMON_LOG" && fail "a sample of demo failed: $(grep 'warn sample' "$DAEMON_LOG")"

assert_running "$demo" "demo after every endpoint"
stop_daemon
assert_running "$demo" "demo after the daemon stopped"
exit 0
