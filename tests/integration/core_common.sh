# shellcheck shell=bash
# shellcheck disable=SC2154
# Shared by the core_*.sh tests (not a test itself): taking cores of the
# test targets and tracing them with `asyncdump --core`. Source it after
# lib.sh, harness_init and trace_common.sh.

command -v gcore >/dev/null || fail "no gcore (Debian package gdb)"

# take_gcore PID FILE: writes a core of the running PID with gdb's gcore,
# which detaches and lets it run on.
take_gcore() {
	local pid=$1 file=$2
	timeout 120 gcore -o "$file.gcore" "$pid" >"$file.gcore.log" 2>&1 ||
		fail "gcore $pid failed: $(tail -c 2000 "$file.gcore.log")"
	mv "$file.gcore.$pid" "$file" || fail "gcore $pid wrote no $file.gcore.$pid"
	assert_running "$pid" "after gcore"
}

# trace_core FILE NAME [ARGS...]: traces the core FILE with the CLI: the JSON
# document with the locals into $HARNESS_TMP/NAME.json, the text into
# $HARNESS_TMP/NAME.txt. Fails if either run fails.
trace_core() {
	local file=$1 name=$2 status=0
	shift 2
	timeout 60 "$ASYNCDUMP" --json --locals --core "$file" "$@" >"$HARNESS_TMP/$name.json" \
		2>"$HARNESS_TMP/$name.json.err" || status=$?
	[ "$status" = 0 ] || fail "asyncdump --json --core $file ($name): exit status $status: $(head -c 2000 "$HARNESS_TMP/$name.json.err")"
	timeout 60 "$ASYNCDUMP" --core "$file" "$@" >"$HARNESS_TMP/$name.txt" \
		2>"$HARNESS_TMP/$name.txt.err" || status=$?
	[ "$status" = 0 ] || fail "asyncdump --core $file ($name): exit status $status: $(head -c 2000 "$HARNESS_TMP/$name.txt.err")"
}

# compare_core WHAT LIVE_NAME CORE_NAME: checks that the core's trace is the
# live one (tests/integration/corecheck.py), as a run_checks.
compare_core() {
	run_checks "$1" "$1" "$HARNESS_TMP/$2.json" "$HARNESS_TMP/$3.json" "$HARNESS_TMP/$3.txt" <<'PY'
import json
import sys

import corecheck
import tracecheck as tc

what, live_path, core_path, text_path = sys.argv[1:5]
c = tc.Check(what + ": core against live")
with open(text_path) as f:
    text = f.read()
corecheck.compare(c, tc.load(live_path), tc.load(core_path), text)
c.done()
PY
}
