# shellcheck shell=bash
# top_srcdir and top_builddir come from lib.sh.
# shellcheck disable=SC2154
# Shared by the trace_*.sh tests (not a test itself): sampling a target with
# the asyncdump CLI and checking that the target runs on afterwards. Source it
# after lib.sh and harness_init. The assertions on the samples are Python
# (tests/integration/tracecheck.py), run with run_checks.

ASYNCDUMP="$top_builddir/asyncdump"
[ -x "$ASYNCDUMP" ] || fail "no asyncdump CLI at $ASYNCDUMP; 'make check' builds it"

# assert_running PID MSG: PID is alive and not stopped (state T or t in
# /proc/PID/stat): a sample must leave the target running.
assert_running() {
	local stat state
	assert_alive "$1" "$2"
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || fail "$2: process $1 is gone"
	stat=${stat##*) }
	state=${stat:0:1}
	case "$state" in
	T | t) fail "$2: process $1 is left stopped (state $state)";;
	esac
}

# sample PID NAME: samples PID twice with the CLI: the JSON document with the
# locals into $HARNESS_TMP/NAME.json, the text format into $HARNESS_TMP/NAME.txt.
# Fails if either run fails; checks that PID runs on after each.
sample() {
	local pid=$1 name=$2 status
	status=0
	timeout 60 "$ASYNCDUMP" --json --locals "$pid" >"$HARNESS_TMP/$name.json" 2>"$HARNESS_TMP/$name.json.err" ||
		status=$?
	[ "$status" = 0 ] || fail "asyncdump --json --locals $pid ($name): exit status $status: $(head -c 2000 "$HARNESS_TMP/$name.json.err")"
	assert_running "$pid" "$name after the JSON sample"
	timeout 60 "$ASYNCDUMP" "$pid" >"$HARNESS_TMP/$name.txt" 2>"$HARNESS_TMP/$name.txt.err" || status=$?
	[ "$status" = 0 ] || fail "asyncdump $pid ($name): exit status $status: $(head -c 2000 "$HARNESS_TMP/$name.txt.err")"
	assert_running "$pid" "$name after the text sample"
}

CHECKS_FAILED=0

# run_checks WHAT ARGS... <<'PY' ... PY: runs the Python checks on stdin with
# ARGS (sys.argv[1:]) and tracecheck importable. A failure is remembered, not
# fatal, so that one run reports every profile: end with finish_checks.
run_checks() {
	local what="$1 [$SUITE_LABEL]"
	shift
	# No __pycache__ in the source tree (read-only under distcheck).
	if ! PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$top_srcdir/tests/integration${PYTHONPATH:+:$PYTHONPATH}" \
		python3 - "$@"; then
		note "$what: checks failed (above)"
		CHECKS_FAILED=1
	fi
}

# finish_checks: fails the test if any run_checks failed; exits 0 otherwise.
finish_checks() {
	[ "$CHECKS_FAILED" = 0 ] || fail "some checks failed (FAIL lines above)"
	exit 0
}
