#!/bin/bash
# asyncdumpd under load: 200 concurrent requests against two targets are all
# answered (200, or 503 past the in-flight bound, never 409 against itself:
# samples of one pid are serialised and shared); the daemon still answers and
# both targets still run, neither stopped nor traced. A bound of one sample in
# flight gives real 503s. SIGTERM in the middle of a load stops the daemon
# cleanly and leaves no target stopped.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

start_target demo debug 1
demo1=$TARGET_PID
start_target demo debug 3
demo3=$TARGET_PID

# load N PARALLEL: N requests alternating between the targets (JSON and
# text), PARALLEL at a time; prints one status code per line.
load() {
	local n=$1 parallel=$2 args=() i pid
	for ((i = 0; i < n; i++)); do
		pid=$demo1
		[ $((i % 2)) = 1 ] && pid=$demo3
		case $((i % 4)) in
		0 | 1) args+=(-o /dev/null "$BASE/pids/$pid/tasks");;
		*) args+=(-o /dev/null "$BASE/pids/$pid/tasks?format=text");;
		esac
	done
	curl -s --no-progress-meter --max-time 120 --parallel --parallel-immediate --parallel-max "$parallel" \
		-w '%{http_code}\n' "${args[@]}"
}

note "200 requests, 50 at a time"
start_daemon --rate-limit 0
load 200 50 >"$HARNESS_TMP/codes"
assert_eq 200 "$(wc -l <"$HARNESS_TMP/codes")" "answers"
others=$(grep -vxE '200|503' "$HARNESS_TMP/codes" | sort | uniq -c)
[ -z "$others" ] || fail "answers other than 200 and 503: $others; log: $(grep -E 'status=(4|5)' "$DAEMON_LOG" | head -5)"
oks=$(grep -cx 200 "$HARNESS_TMP/codes")
[ "$oks" -ge 100 ] || fail "only $oks of 200 answers were 200 with 8 samples in flight allowed"
assert_http 200 - /healthz
assert_running "$demo1" "demo 1 after the load"
assert_running "$demo3" "demo 3 after the load"
samples=$(grep -cE " sample pid=($demo1|$demo3) .*outcome=ok" "$DAEMON_LOG")
http_get /metrics
shared=$(awk '$1 == "asyncdumpd_sample_reuses_total{how=\"shared\"}" { print $2 }' <<<"$HTTP_BODY")
assert_eq "$oks" "$((samples + ${shared:-0}))" "every 200 comes from a sample taken for it or shared with it"
[ "$samples" -lt "$oks" ] || fail "no request shared a running sample ($samples samples for $oks answers)"
assert_eq 0 "$(grep -c 'already_traced' "$DAEMON_LOG")" "the daemon never collides with itself"
assert_eq 200 "$(grep -cE "request method=GET path=/pids/($demo1|$demo3)/tasks(\\?format=text)? status=" "$DAEMON_LOG")" \
	"one log line per request"
stop_daemon

note "one sample in flight: the other target's requests get 503"
start_daemon --rate-limit 0 --max-samples-in-flight 1
load 100 50 >"$HARNESS_TMP/codes"
assert_eq 100 "$(wc -l <"$HARNESS_TMP/codes")" "answers"
others=$(grep -vxE '200|503' "$HARNESS_TMP/codes" | sort | uniq -c)
[ -z "$others" ] || fail "answers other than 200 and 503: $others"
grep -qx 503 "$HARNESS_TMP/codes" || fail "no 503 with one sample in flight for two targets"
grep -qx 200 "$HARNESS_TMP/codes" || fail "no 200 at all"
grep -qE "request method=GET path=/pids/[0-9]+/tasks.* status=503 " "$DAEMON_LOG" || fail "no 503 in the log"
assert_running "$demo1" "demo 1 after the 503s"
assert_running "$demo3" "demo 3 after the 503s"
stop_daemon

note "SIGTERM during a load"
note "concurrent requests for one sample do not each hold a copy of its document (issue 15, finding 5; issue 18)"
# Whole documents are streamed task by task (chunked): each request holds a
# buffer, not the document (before, each rendered its own copy: 6 x 100,000
# tasks took 7.5 GB). Six at once must take less than half of six copies;
# what they do take is each connection's thread and buffers (about 0.6 MiB
# each under ASan).
start_target counts release --tasks 3000
big=$TARGET_PID
# Under ASan, freed memory waits in a quarantine instead of being reused, so
# the peak RSS would count every allocation ever made, not the live ones.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" start_daemon --rate-limit 0
curl -s -D "$HARNESS_TMP/headers" -o "$HARNESS_TMP/first" "$BASE/pids/$big/tasks?max_age_ms=60000" ||
	fail "the first request failed"
grep -qi '^transfer-encoding: chunked' "$HARNESS_TMP/headers" ||
	fail "the document is not streamed: $(cat "$HARNESS_TMP/headers")"
! grep -qi '^content-length:' "$HARNESS_TMP/headers" || fail "a streamed document has a Content-Length"
doc_kb=$(($(stat -c %s "$HARNESS_TMP/first") / 1024))
[ "$doc_kb" -gt 1024 ] || fail "the document of 3,000 tasks is only $doc_kb KiB"
hwm_before=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
args=()
for i in 1 2 3 4 5 6; do args+=(-o "$HARNESS_TMP/body$i" "$BASE/pids/$big/tasks?max_age_ms=60000"); done
codes=$(curl -s --max-time 120 --parallel --parallel-immediate -w '%{http_code}\n' "${args[@]}" | sort | uniq -c)
assert_contains "$codes" "6 200" "six concurrent requests for a 3,000-task target"
hwm_after=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
for i in 1 2 3 4 5 6; do
	cmp -s "$HARNESS_TMP/first" "$HARNESS_TMP/body$i" || fail "response $i differs from the first (the same sample)"
done
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["tasks"]) >= 3000, len(d["tasks"])' \
	"$HARNESS_TMP/body6" || fail "a streamed document is not a whole JSON document"
[ $((hwm_after - hwm_before)) -lt $((3 * doc_kb)) ] ||
	fail "six concurrent responses grew asyncdumpd's peak RSS by $((hwm_after - hwm_before)) KiB, more than three documents ($doc_kb KiB each)"
stop_daemon

note "a request in flight when SIGTERM comes is answered whole"
# SIGTERM while a sample of 100,000 tasks is being taken (about a second
# here): the daemon stops accepting, lets the sample finish and its
# response go out, then exits. It used to stop its connections as soon as
# the sample was done, cutting the response off.
start_target counts release --tasks 100000
huge=$TARGET_PID
start_daemon --rate-limit 0
assert_http 200 - "/pids/$huge/tasks?format=text" # the binary is indexed
curl -s --max-time 120 -o "$HARNESS_TMP/cut" "$BASE/pids/$huge/tasks" &
client=$!
sleep 0.3
stop_daemon 60
wait "$client" || fail "the response in flight was cut off by SIGTERM (curl exit $?)"
tail -n +"$(grep -n 'stopping on SIGTERM' "$DAEMON_LOG" | cut -d: -f1)" "$DAEMON_LOG" |
	grep -q "sample pid=$huge .*outcome=ok" ||
	fail "the sample was not in flight when SIGTERM came: $(tail -5 "$DAEMON_LOG")"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["tasks"]) >= 100000, len(d["tasks"])' \
	"$HARNESS_TMP/cut" || fail "the response sent across SIGTERM is not a whole document"

note "a memory budget for samples in flight (issue 15, finding 5)"
start_target counts release --tasks 3000
big2=$TARGET_PID
start_daemon --rate-limit 0 --sample-memory 1MiB
assert_http 422 too_large "/pids/$big/tasks"
assert_contains "$HTTP_BODY" "more than the whole memory budget for samples (sample_memory, 1.0 MiB)" "the message says why"
need=$(sed -n 's/.*the snapshot needs \([0-9]*\)\.[0-9] MiB.*/\1/p' <<<"$HTTP_BODY")
[ -n "$need" ] || fail "no size in: $HTTP_BODY"
stop_daemon
# room for one snapshot of this size, not two: the second of two samples
# taken together waits its turn with a 503, before its target is stopped
start_daemon --rate-limit 0 --sample-memory "$((need + need / 2 + 1))MiB"
codes=$(curl -s --max-time 120 --parallel --parallel-immediate -w '%{http_code}\n' \
	-o /dev/null "$BASE/pids/$big/tasks?locals=1" -o /dev/null "$BASE/pids/$big2/tasks?locals=1" | sort | tr '\n' ' ')
assert_eq "200 503 " "$codes" "two samples that do not fit the budget together"
assert_http 200 - "/pids/$big2/tasks"
stop_daemon
assert_running "$big" "a target after the budget tests"
assert_running "$big2" "the other target after the budget tests"

start_daemon --rate-limit 0
load 60 20 >"$HARNESS_TMP/codes" 2>/dev/null &
loader=$!
# wait until samples are under way, then stop the daemon in their middle
deadline=$((SECONDS + 30))
until grep -q ' sample pid=' "$DAEMON_LOG"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no sample started: $(tail -5 "$DAEMON_LOG")"
	sleep 0.01
done
stop_daemon
wait "$loader" || true
grep -q 'stopping on SIGTERM' "$DAEMON_LOG" || fail "the daemon did not log the SIGTERM"
for pid in "$demo1" "$demo3"; do
	# whatever the daemon was doing, the targets are detached and running
	for _ in 1 2 3; do
		assert_running "$pid" "demo $pid after the daemon stopped under load"
		sleep 0.1
	done
done
exit 0
