#!/bin/bash
# Issue 17, asyncdumpd: a zstd-compressed core in the cores directory, named
# as systemd-coredump names them, is listed by GET /cores (pid, comm, time,
# size, a Rust program with type debuginfo) and traced by
# GET /cores/{name}/tasks: the same document as the live process's just
# before (corecheck.py), ?format=text and /tasks/{id} as for a pid. Owner
# rules over the unix socket: nobody sees and reads only its own cores.
# Bad names are refused; metrics count the cores traced and their errors.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"
. "$top_srcdir/tests/integration/core_common.sh"
. "$top_srcdir/tests/integration/http_common.sh"

[ "$(id -u)" = 0 ] || fail "this test needs root (to run a client as nobody)"
command -v zstd >/dev/null || fail "no zstd (Debian package zstd; ./dev installs it)"
nobody=65534
bootid=0123456789abcdef0123456789abcdef

cores=$(mktemp -d /tmp/asyncdump-cores.XXXXXX) || fail "mktemp"
on_exit "rm -rf '$cores'"
chmod 755 "$cores"
sock=$cores/asyncdumpd.sock

start_target demo debug 3
sample "$TARGET_PID" live
take_gcore "$TARGET_PID" "$HARNESS_TMP/demo.core"
pid=$TARGET_PID
stop_targets
# systemd-coredump's name: core.COMM.UID.BOOTID.PID.TIME (microseconds),
# the time it was written.
usec=$(date +%s%6N)
name=core.demo.0.$bootid.$pid.$usec.zst
zstd -q "$HARNESS_TMP/demo.core" -o "$cores/$name" || fail "zstd failed"
rm -f "$HARNESS_TMP/demo.core"
# nobody's core (a copy under its uid in the name) and a file that is no core.
nobody_name=core.demo.$nobody.$bootid.$pid.$usec.zst
cp "$cores/$name" "$cores/$nobody_name"
printf 'not a core\n' >"$cores/notes.txt"

start_daemon --cores-dir "$cores" --unix "$sock"

note "GET /cores"
assert_http 200 - /cores
printf '%s' "$HTTP_BODY" >"$HARNESS_TMP/cores.json"
run_checks "GET /cores" "$HARNESS_TMP/cores.json" "$name" "$nobody_name" "$pid" "$usec" \
	"$(target_bin demo debug)" <<'PY'
import json, sys, datetime
import tracecheck as tc
path, name, nobody_name, pid, usec, exe = sys.argv[1:7]
pid, usec = int(pid), int(usec)
c = tc.Check("GET /cores")
doc = tc.load(path)
by_name = {e["name"]: e for e in doc["cores"]}
c.eq(sorted([name, nobody_name, "notes.txt"]), sorted(by_name), "the files listed to root")
e = by_name.get(name, {})
when = datetime.datetime.fromtimestamp(usec // 1000000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
for key, want in (("pid", pid), ("comm", "demo"), ("uid", 0), ("compression", "zstd"), ("exe", exe),
                  ("is_rust", True), ("has_type_debuginfo", True), ("exe_matches", True), ("reason", None)):
    c.eq(want, e.get(key), "%s: %s" % (name, key))
c.eq("%s.%06dZ" % (when, usec % 1000000), e.get("time"), "%s: time, from the name" % name)
import os
c.eq(os.path.getsize(os.path.join(doc["dir"], name)), e.get("size"), "%s: size on disk" % name)
c.eq(65534, by_name.get(nobody_name, {}).get("uid"), "the uid of nobody's core, from its name")
bad = by_name.get("notes.txt", {})
c.true(bad.get("reason") and "not an ELF file" in bad["reason"], "notes.txt: reason %r" % bad.get("reason"))
c.eq(None, bad.get("is_rust"), "notes.txt: is_rust unknown")
c.done()
PY

note "GET /cores/{name}/tasks: the live document"
assert_http 200 - "/cores/$name/tasks?locals=1"
printf '%s' "$HTTP_BODY" >"$HARNESS_TMP/daemon.json"
assert_http 200 - "/cores/$name/tasks?format=text"
printf '%s' "$HTTP_BODY" >"$HARNESS_TMP/daemon.txt"
compare_core "demo 3 (zstd core, GET /cores/{name}/tasks)" live daemon
first=$(json_get 'd["tasks"][0]["id"] if d["tasks"][0]["id"] is not None else ""' <"$HARNESS_TMP/daemon.json")
if [ -n "$first" ]; then
	assert_http 200 - "/cores/$name/tasks/$first"
	assert_eq "$first" "$(printf '%s' "$HTTP_BODY" | json_get 'd["id"]')" "GET /cores/$name/tasks/$first: its id"
fi
assert_http 404 not_found "/cores/$name/tasks/999999"

note "names that are not one core of the directory"
assert_http 404 not_found "/cores/core.absent/tasks"
# (%2F is a '/' once decoded: a path below a name, not a name)
assert_http 404 not_found "/cores/..%2Fetc/tasks"
assert_http 400 invalid_argument "/cores/.hidden/tasks"
assert_http 404 not_found "/cores/$name/other"
assert_http 400 invalid_argument "/cores/notes.txt/tasks"
assert_http 400 invalid_argument "/cores/$name/tasks?bogus=1"

note "owner rules over the unix socket"
unix_get() {
	HTTP_REQUESTS=$((HTTP_REQUESTS + 1))
	local body=$cores/body.$HTTP_REQUESTS
	touch "$body" && chmod 666 "$body"
	HTTP_STATUS=$(setpriv --reuid="$nobody" --regid="$nobody" --clear-groups \
		curl -sS --max-time 60 --unix-socket "$sock" -o "$body" -w '%{http_code}' \
		"http://localhost$1") || fail "curl over $sock as nobody: $1 failed"
	HTTP_BODY=$(cat "$body")
}
unix_get /cores
assert_eq 200 "$HTTP_STATUS" "GET /cores as nobody"
assert_eq "$nobody_name" "$(printf '%s' "$HTTP_BODY" | json_get '" ".join(e["name"] for e in d["cores"])')" \
	"the cores nobody sees"
unix_get "/cores/$name/tasks"
assert_eq 403 "$HTTP_STATUS" "GET root's core as nobody"
unix_get "/cores/$nobody_name/tasks"
assert_eq 200 "$HTTP_STATUS" "GET its own core as nobody"

note "metrics"
assert_http 200 - /metrics
printf '%s\n' "$HTTP_BODY" | grep -qE '^asyncdumpd_cores_traced_total\{outcome="ok"\} [4-9]' ||
	fail "no count of the cores traced: $(printf '%s\n' "$HTTP_BODY" | grep cores_traced)"
printf '%s\n' "$HTTP_BODY" | grep -qE '^asyncdumpd_cores_traced_total\{outcome="invalid_argument"\} 1$' ||
	fail "no count of the core that was not one: $(printf '%s\n' "$HTTP_BODY" | grep cores_traced)"
stop_daemon
finish_checks
