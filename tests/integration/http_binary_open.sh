#!/bin/bash
# Issue 19: indexing a binary (up to a second for a large one) holds no lock
# that other captures need. With the test-only hook (configure
# --enable-fault-injection, ./dev check's build) opening the release demo
# takes 6 s longer; a request for the debug demo, another binary, made
# while it opens is answered before the slow one, and the slow one is
# answered too. A second request for the binary being opened (another
# process of it) waits for that one opening instead of indexing it again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/http_common.sh"

grep -q '^#define AD_FAULT_INJECTION 1' "$top_builddir/config.h" 2>/dev/null || {
	echo "SKIP: built without --enable-fault-injection (./dev check enables it)"
	exit 77
}

start_target demo release 1
slow1=$TARGET_PID
start_target demo release 2
slow2=$TARGET_PID
start_target demo debug 1
fast=$TARGET_PID
case "$(readlink "/proc/$slow1/exe")" in
*/release/demo) ;;
*) fail "the release demo is not at .../release/demo: $(readlink "/proc/$slow1/exe")";;
esac

ASYNCDUMP_SLOW_OPEN=/release/demo:6000 start_daemon --rate-limit 0

# get NAME PID: the tasks of PID in the background, its status and the
# time it was answered (epoch ns) in $HARNESS_TMP/NAME.
get() {
	{ curl -s --max-time 60 -o "$HARNESS_TMP/$1.body" -w '%{http_code}' "$BASE/pids/$2/tasks" \
		>"$HARNESS_TMP/$1.code"; date +%s%N >"$HARNESS_TMP/$1.at"; } &
}

note "another binary is served while one is being opened"
started=$(date +%s%N)
get slow1 "$slow1"
slow1_job=$!
# by then the slow request is opening its binary (checked below: it is
# answered last, after the hook's delay)
sleep 1
get slow2 "$slow2"
slow2_job=$!
get fast "$fast"
fast_job=$!
wait "$fast_job"
kill -0 "$slow1_job" 2>/dev/null ||
	fail "the debug demo was answered only after the release demo: it waited for the other binary's opening (or the hook delayed nothing)"
wait "$slow1_job" "$slow2_job"
for name in slow1 slow2 fast; do
	assert_eq 200 "$(cat "$HARNESS_TMP/$name.code")" "the $name request's status"
done
fast_at=$(cat "$HARNESS_TMP/fast.at")
slow1_at=$(cat "$HARNESS_TMP/slow1.at")
[ "$fast_at" -lt "$slow1_at" ] || fail "the debug demo was answered after the release demo's binary was opened"
[ $(((slow1_at - started) / 1000000)) -ge 6000 ] ||
	fail "the release demo was answered in $(((slow1_at - started) / 1000000)) ms, before the hook's 6 s"
for name in slow1 slow2 fast; do
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["tasks"], "no task"' \
		"$HARNESS_TMP/$name.body" || fail "the $name document has no task"
done

note "the binary is indexed once: the second process of it waited for the first opening"
# Each opening of the release demo sleeps 6 s: two openings in a row would
# have answered the second process 12 s after the first request.
slow2_at=$(cat "$HARNESS_TMP/slow2.at")
[ $(((slow2_at - started) / 1000000)) -lt 10500 ] ||
	fail "the second release demo was answered $(((slow2_at - started) / 1000000)) ms after the first request: its binary was opened again"
stop_daemon
assert_running "$slow1" "the first release demo after the test"
assert_running "$slow2" "the second release demo after the test"
assert_running "$fast" "the debug demo after the test"
exit 0
