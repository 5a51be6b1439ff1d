# shellcheck shell=bash
# The harness of asyncdump's integration tests: starting the Rust test
# targets (tests/targets), reading expected values from their source, and
# asserting. Source it from a bash test and call harness_init first:
#
#   [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#   . "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
#   harness_init
#   start_target demo debug 3
#   line=$(marker_line "$(target_src demo)/main.rs" foo_point3_awaits_joined)
#   out=$(curl -fsS "http://127.0.0.1:$port/pids/$TARGET_PID/tasks")
#   assert_eq 1 "$(printf '%s' "$out" | json_get 'len(d["tasks"])')" "demo's task count"
#
# Environment (exported by `make check`; defaults for running a test by
# hand): top_srcdir, top_builddir, TARGETS_DIR (the cargo target dir holding
# debug/ and release/); the tokio matrix: TOKIO_SUITES (the Debian suites
# whose crates the targets are built against, "bookworm trixie sid") and
# TARGETS_DIR_<suite> (each one's cargo target dir; see use_suite).
#
# Exit statuses follow the Automake test driver: 0 pass, 1 fail, 99 hard
# error. Works with and without set -euo pipefail. fail may be called from anywhere, also from inside $(...) or a
# pipeline: it then stops the whole test, not only the subshell. Every target
# started is killed when the test exits, however it exits.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "lib.sh: needs bash" >&2
	exit 99
fi

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${TARGETS_DIR:=$top_builddir/tests/targets/target}"
: "${TOKIO_SUITES:=bookworm trixie sid}"
: "${TARGETS_DIR_bookworm:=$TARGETS_DIR}"
SUITE=bookworm
SUITE_VERSIONS=
SUITE_LABEL=bookworm

# Seconds start_target waits for READY (targets give up by themselves after 20).
: "${HARNESS_READY_TIMEOUT:=30}"

HARNESS_MAIN_PID=$$
HARNESS_TMP=
# Processes stop_targets stops: the targets, and any other background
# process a test adds (HARNESS_PIDS+=("$!")).
HARNESS_PIDS=()
HARNESS_EXIT_HOOKS=()
HARNESS_STARTED=0
TARGET_PID=
TARGET_OUT=
TARGET_ERR=

# harness_init: installs the cleanup trap (stop_targets, exit hooks, temp dir)
# and makes HARNESS_TMP, a private temporary directory for the test.
harness_init() {
	HARNESS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/asyncdump-test.XXXXXX") ||
		{ echo "harness_init: cannot make a temporary directory" >&2; exit 99; }
	trap harness_cleanup EXIT
	trap 'exit 1' USR1
	trap 'exit 1' INT TERM HUP
}

# on_exit CMD...: runs CMD when the test exits (before the targets are
# stopped), e.g. on_exit kill "$daemon_pid".
on_exit() {
	HARNESS_EXIT_HOOKS+=("$*")
}

# harness_cleanup: the EXIT trap; keeps the test's exit status.
harness_cleanup() {
	local status=$? hook
	trap - EXIT USR1
	for hook in "${HARNESS_EXIT_HOOKS[@]}"; do
		eval "$hook" || true
	done
	stop_targets
	if [ -n "$HARNESS_TMP" ]; then
		rm -rf "$HARNESS_TMP"
	fi
	exit "$status"
}

# fail MSG...: prints "FAIL: MSG" on stderr and ends the test with status 1.
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	if [ "$BASHPID" != "$HARNESS_MAIN_PID" ]; then
		# In a subshell: exiting it alone would let the test go on.
		kill -USR1 "$HARNESS_MAIN_PID" 2>/dev/null || true
	fi
	exit 1
}

# note MSG...: prints a progress line into the test's log.
note() {
	printf '# %s\n' "$*" >&2
}

# assert_eq EXPECTED ACTUAL MSG: fails unless EXPECTED and ACTUAL are the same string.
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# assert_contains HAYSTACK NEEDLE MSG: fails unless NEEDLE occurs in HAYSTACK.
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "$3: '$2' not found in:
$(printf '%s' "$1" | head -c 4000)";;
	esac
}

# check_alive PID: true if PID exists and is not a zombie (a predicate, prints nothing).
check_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	case "${stat:0:1}" in
	Z | X | '') return 1;;
	esac
	return 0
}

# assert_alive PID MSG: fails unless PID is alive (see check_alive).
assert_alive() {
	check_alive "$1" || fail "$2: process $1 is not running"
}

# target_bin NAME [PROFILE]: prints the path of target NAME built in PROFILE
# (debug, the default, also called dev; or release).
target_bin() {
	local name=$1 dir
	case "${2:-debug}" in
	debug | dev) dir=debug;;
	release) dir=release;;
	*) fail "target_bin: unknown profile '$2' (debug, dev or release)";;
	esac
	local bin="$TARGETS_DIR/$dir/$name"
	[ -x "$bin" ] || fail "target_bin: no target '$name' at $bin; 'make check' builds the targets" \
		"(or: cd tests/targets && CARGO_TARGET_DIR=$TARGETS_DIR cargo build --offline [--release])"
	printf '%s\n' "$bin"
}

# use_suite SUITE: makes target_bin and start_target use the targets built
# against Debian SUITE's crates (one of TOKIO_SUITES): TARGETS_DIR becomes
# TARGETS_DIR_<SUITE> (default: bookworm's TARGETS_DIR with -SUITE appended,
# as Makefile.am builds them). Sets SUITE, SUITE_VERSIONS ("tokio 1.43.1
# futures 0.3.31 hyper 0.14.32 1.5.2", from the suite's Cargo.lock) and
# SUITE_LABEL ("trixie, tokio 1.43.1"), exports TRACE_SUITE=$SUITE_LABEL
# (tracecheck.py names it in every check) and notes the versions in the log.
# A suite that was not built fails the test: it is never skipped. Call it
# directly, not in $(...): it sets variables.
use_suite() {
	local suite=$1 var dir lock tokio
	[[ $suite =~ ^[a-z][a-z0-9]*$ ]] || fail "use_suite: bad suite name '$suite'"
	var="TARGETS_DIR_$suite"
	dir=${!var:-$TARGETS_DIR_bookworm-$suite}
	if [ "$suite" = bookworm ]; then
		lock=$top_srcdir/tests/targets/Cargo.lock
	else
		# matrix.sh's copy of the workspace, with the lock it resolved.
		lock=$dir/workspace/Cargo.lock
	fi
	[ -d "$dir" ] && [ -f "$lock" ] ||
		fail "use_suite: the targets were not built against $suite's crates (no $lock):" \
			"./dev check fetches them and 'make check' builds them (tests/targets/matrix.sh)"
	SUITE_VERSIONS=$("$top_srcdir/tests/targets/lock-versions.sh" "$lock") ||
		fail "use_suite: cannot read the versions of $suite's $lock"
	tokio=$(printf '%s\n' "$SUITE_VERSIONS" | awk '{ for (i = 1; i < NF; i++) if ($i == "tokio") print $(i + 1) }')
	[ -n "$tokio" ] || fail "use_suite: $suite's $lock has no tokio"
	# shellcheck disable=SC2034 # for the tests that source this file
	SUITE=$suite TARGETS_DIR=$dir
	SUITE_LABEL="$suite, tokio $tokio"
	TRACE_SUITE=$SUITE_LABEL
	export TRACE_SUITE
	note "suite $suite: $SUITE_VERSIONS (targets in $dir)"
}

# matrix_runs: prints SUITE/PROFILE for every suite of TOKIO_SUITES and both
# profiles (bookworm/debug bookworm/release trixie/debug ...). A test loops:
#   for run in $(matrix_runs); do
#   	use_suite "${run%/*}"; profile=${run#*/}
matrix_runs() {
	local suite
	for suite in $TOKIO_SUITES; do
		printf '%s/debug %s/release\n' "$suite" "$suite"
	done
}

# suite_has CRATE MAJOR: true if the current suite's lock resolved a
# version MAJOR.* of CRATE (one of those lock-versions.sh prints), e.g.
# `suite_has hyper 0` (a predicate, prints nothing).
suite_has() {
	printf '%s\n' "$SUITE_VERSIONS" | awk -v crate="$1" -v major="$2" '
		{ for (i = 1; i <= NF; i++) if ($i == crate) { in_crate = 1; continue }
			  else if ($i !~ /^[0-9]/) in_crate = 0
			  else if (in_crate && index($i, major ".") == 1) found = 1 }
		END { exit !found }'
}

# target_src NAME: prints the source directory of target NAME (tests/targets/NAME/src).
target_src() {
	local dir="$top_srcdir/tests/targets/$1/src"
	[ -d "$dir" ] || fail "target_src: no target '$1' in $top_srcdir/tests/targets"
	printf '%s\n' "$dir"
}

# start_target NAME PROFILE [ARGS...]: starts target NAME (see target_bin)
# in the background, waits until it printed READY <pid> (all its tasks
# parked), and sets TARGET_PID, TARGET_OUT (its stdout: READY, then the extra
# lines, see target_info) and TARGET_ERR (its stderr). Fails if the target
# exits or is not ready in HARNESS_READY_TIMEOUT seconds. Call it directly,
# not in $(...): it sets variables.
start_target() {
	[ -n "$HARNESS_TMP" ] || fail "start_target: call harness_init first"
	local name=$1 profile=$2
	shift 2
	local bin
	bin=$(target_bin "$name" "$profile")
	HARNESS_STARTED=$((HARNESS_STARTED + 1))
	local out="$HARNESS_TMP/$name.$HARNESS_STARTED.out" err="$HARNESS_TMP/$name.$HARNESS_STARTED.err"
	# Created here: the background child opens them only when it gets to run.
	: >"$out"
	: >"$err"
	"$bin" "$@" >"$out" 2>"$err" </dev/null &
	local pid=$!
	HARNESS_PIDS+=("$pid")
	local what="target $name ($profile${*:+, args: $*}, pid $pid)"
	local deadline=$((SECONDS + HARNESS_READY_TIMEOUT))
	# READY and the extra lines come in one write: wait for a complete last line.
	until grep -q '^READY ' "$out" && [ -z "$(tail -c 1 "$out")" ]; do
		if ! check_alive "$pid"; then
			local status=0
			wait "$pid" 2>/dev/null || status=$?
			fail "$what exited (status $status) before READY; stderr: $(head -c 2000 "$err")"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "$what not READY after ${HARNESS_READY_TIMEOUT}s; stdout: $(head -c 500 "$out");" \
				"stderr: $(head -c 2000 "$err")"
		fi
		sleep 0.05
	done
	local ready
	ready=$(grep -m 1 '^READY ' "$out")
	assert_eq "READY $pid" "$ready" "$what: its READY line"
	# shellcheck disable=SC2034 # for the tests that source this file
	TARGET_PID=$pid TARGET_OUT=$out TARGET_ERR=$err
}

# target_info KEY [OUTFILE]: prints the value of the first "KEY value" line a
# target printed after READY (default OUTFILE: $TARGET_OUT), e.g.
# port=$(target_info PORT).
target_info() {
	local key=$1 file=${2:-$TARGET_OUT} value
	[ -f "$file" ] || fail "target_info: no target output '$file' (start_target first)"
	value=$(awk -v key="$key" '$1 == key { sub(/^[^ ]+ ?/, ""); print; found = 1; exit }
		END { exit !found }' "$file") ||
		fail "target_info: the target printed no '$key' line; its output: $(head -c 1000 "$file")"
	printf '%s\n' "$value"
}

# stop_targets: kills every target started by this test (TERM, then KILL
# after 5 s; stopped ones are continued so they can die) and reaps them.
stop_targets() {
	local pid live=()
	for pid in "${HARNESS_PIDS[@]}"; do
		if check_alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			kill -CONT "$pid" 2>/dev/null || true
			live+=("$pid")
		fi
	done
	local deadline=$((SECONDS + 5))
	for pid in "${live[@]}"; do
		while check_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.05
		done
		if check_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${HARNESS_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	HARNESS_PIDS=()
	return 0
}

# list_markers FILE: prints "NAME LINE" for every "// @mark NAME" in FILE.
list_markers() {
	[ -f "$1" ] || fail "list_markers: no such file: $1"
	awk 'match($0, /\/\/ @mark [A-Za-z0-9_]+[ \t]*$/) {
		name = substr($0, RSTART + 9); sub(/[ \t]+$/, "", name); print name, FNR }' "$1"
}

# marker_line FILE NAME: prints the line number of "// @mark NAME" in FILE;
# fails if the marker is missing or not unique.
marker_line() {
	local file=$1 name=$2 lines count
	[[ $name =~ ^[A-Za-z0-9_]+$ ]] || fail "marker_line: bad marker name '$name'"
	lines=$(list_markers "$file" | awk -v name="$name" '$1 == name { print $2 }')
	count=$(printf '%s' "$lines" | grep -c . || true)
	[ "$count" = 1 ] || fail "marker_line: marker '$name' found $count times in $file${lines:+ (lines $(printf "%s" "$lines" | tr "\n" " "))}"
	printf '%s\n' "$lines"
}

# json_get EXPR: reads a JSON document on stdin and prints the Python
# expression EXPR evaluated with the document bound to d: strings bare,
# numbers as Python prints them, anything else as JSON (true, null, [...]).
# Fails on invalid JSON or a failing expression.
json_get() {
	local expr=$1 doc result
	doc=$(cat)
	result=$(printf '%s' "$doc" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError as e:
    sys.exit("not JSON: %s" % e)
try:
    r = eval(sys.argv[1], {"d": d, "json": json})
except Exception as e:
    sys.exit("%s: %s" % (type(e).__name__, e))
if isinstance(r, str):
    print(r)
elif isinstance(r, (bool, dict, list, tuple)) or r is None:
    print(json.dumps(r))
else:
    print(r)
' "$expr" 2>&1) || fail "json_get '$expr': $result; the document: $(printf '%s' "$doc" | head -c 1000)"
	printf '%s\n' "$result"
}

# free_port: prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' ||
		fail "free_port: cannot find a free port"
}
