#!/bin/bash
# Issue 17, cores not taken by gcore, and cores that do not fit:
#  - a core the kernel writes on SIGABRT (ulimit -c unlimited) gives the
#    live trace taken just before (corecheck.py);
#  - the same core truncated (a size limit, a partial copy) gives a partial
#    trace, exit status 0, with warnings naming the missing memory; cut
#    before its notes it is refused with a clear message, never a crash;
#  - a core whose executable was rebuilt since is refused by build-id, and
#    traced with --exe pointing at the original;
#  - a core traced on "another machine" where the program is stripped and its
#    DWARF is a separate file: refused without it, traced with --debuginfo-dir;
#  - the design example built with Debian's rustc 1.63 (as trace_rustc163.sh
#    builds it), through a gcore.
# The kernel writes cores where /proc/sys/kernel/core_pattern says: a plain
# "core" (Debian's default) puts them in the process's directory. A pattern
# that pipes to a program (systemd-coredump, apport) is set to "core" for the
# test and restored, which needs root.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"
. "$top_srcdir/tests/integration/core_common.sh"

# ---- the kernel's core
pattern_file=/proc/sys/kernel/core_pattern
pattern=$(cat "$pattern_file")
if [ "$pattern" != core ] && [ "$pattern" != core.%p ]; then
	[ "$(id -u)" = 0 ] || fail "core_pattern is '$pattern': root is needed to set it to 'core' for the test"
	printf '%s\n' core >"$pattern_file" || fail "cannot set $pattern_file"
	on_exit "printf '%s\n' '$pattern' >'$pattern_file'"
	note "core_pattern '$pattern' set to 'core' for the test"
fi
kdir=$HARNESS_TMP/kernel
mkdir -p "$kdir"
ulimit -c unlimited || fail "cannot lift the core size limit (ulimit -c unlimited)"
cd "$kdir" || fail "cd $kdir"
start_target shapes release
cd - >/dev/null || fail "cd back"
ulimit -c 0
kpid=$TARGET_PID
sample "$kpid" kernel.live
kill -ABRT "$kpid"
deadline=$((SECONDS + 60))
while check_alive "$kpid" || ! { [ -f "$kdir/core" ] || [ -f "$kdir/core.$kpid" ]; }; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no core from the kernel in $kdir: $(ls "$kdir")"
	sleep 0.1
done
kcore=$kdir/core
[ -f "$kcore" ] || kcore=$kdir/core.$kpid
# The kernel writes the file before the process is reaped: wait for its size to settle.
size=-1
while [ "$size" != "$(stat -c %s "$kcore")" ]; do size=$(stat -c %s "$kcore"); sleep 0.5; done
trace_core "$kcore" kernel.core
compare_core "shapes (release), the kernel's core" kernel.live kernel.core

# ---- truncated: by a third (the upper mappings: stacks, libraries' data)
head -c $((size * 2 / 3)) "$kcore" >"$HARNESS_TMP/truncated.core"
trace_core "$HARNESS_TMP/truncated.core" truncated
run_checks "truncated core" "$HARNESS_TMP/kernel.live.json" "$HARNESS_TMP/truncated.json" <<'PY'
import re, sys
import tracecheck as tc
live, cut = tc.load(sys.argv[1]), tc.load(sys.argv[2])
c = tc.Check("a core truncated to two thirds")
lost = [w for w in cut["warnings"] if "is truncated" in w]
c.eq(1, len(lost), "warnings that say the core is truncated: %r" % cut["warnings"])
if lost:
    c.true(re.search(r"\d+ of \d+ bytes of memory are missing, in \d+ mappings: 0x[0-9a-f]+-0x[0-9a-f]+ \(", lost[0]),
           "the warning names the ranges lost: %r" % lost[0])
c.eq(live["pid"], cut["pid"], "pid")
c.true(len(cut["tasks"]) <= len(live["tasks"]), "no more tasks than the live trace")
live_ids = {t["id"] for t in live["tasks"] if t["id"] is not None}
for t in cut["tasks"]:
    if t["id"] is not None:
        c.true(t["id"] in live_ids, "task %s of the truncated core is a live task" % t["id"])
c.done()
PY
head -c 4096 "$kcore" >"$HARNESS_TMP/headers.core"
status=0
"$ASYNCDUMP" --core "$HARNESS_TMP/headers.core" >/dev/null 2>"$HARNESS_TMP/headers.err" || status=$?
assert_eq 2 "$status" "exit status for a core cut inside its notes"
assert_contains "$(cat "$HARNESS_TMP/headers.err")" "is not a usable core file: truncated before" \
	"the message for a core cut inside its notes"
rm -f "$HARNESS_TMP/truncated.core" "$kcore"

# ---- rebuilt: the path now holds another program
rdir=$HARNESS_TMP/rebuilt
mkdir -p "$rdir/debug"
cp "$(target_bin demo debug)" "$rdir/debug/demo"
cp "$rdir/debug/demo" "$HARNESS_TMP/demo.original"
TARGETS_DIR_SAVED=$TARGETS_DIR TARGETS_DIR=$rdir
start_target demo debug 1
TARGETS_DIR=$TARGETS_DIR_SAVED
sample "$TARGET_PID" rebuilt.live
take_gcore "$TARGET_PID" "$HARNESS_TMP/rebuilt.core"
stop_targets
cp "$(target_bin shapes debug)" "$rdir/debug/demo.new"
mv "$rdir/debug/demo.new" "$rdir/debug/demo"
status=0
"$ASYNCDUMP" --core "$HARNESS_TMP/rebuilt.core" >/dev/null 2>"$HARNESS_TMP/rebuilt.err" || status=$?
assert_eq 6 "$status" "exit status for a core whose executable was rebuilt"
want_id=$(json_get 'd["build_id"]' <"$HARNESS_TMP/rebuilt.live.json")
assert_contains "$(cat "$HARNESS_TMP/rebuilt.err")" "the core's is $want_id (rebuilt since?)" \
	"the message names the core's build-id"
assert_contains "$(cat "$HARNESS_TMP/rebuilt.err")" "pass the original with --exe" "the message says what to do"
trace_core "$HARNESS_TMP/rebuilt.core" rebuilt.core --exe "$HARNESS_TMP/demo.original"
run_checks "rebuilt, --exe the original" "$HARNESS_TMP/rebuilt.live.json" "$HARNESS_TMP/rebuilt.core.json" \
	"$HARNESS_TMP/rebuilt.core.txt" "$HARNESS_TMP/demo.original" <<'PY'
import sys
import corecheck
import tracecheck as tc
live, core = tc.load(sys.argv[1]), tc.load(sys.argv[2])
c = tc.Check("demo 1 (debug), rebuilt since, --exe the original")
c.eq(sys.argv[4], core["exe"], "exe: the one given with --exe")
live["exe"] = core["exe"]
corecheck.compare(c, live, core, open(sys.argv[3]).read())
c.done()
PY
rm -f "$HARNESS_TMP/rebuilt.core"

# ---- travelled: on the other machine the program is stripped and its DWARF
# is a separate file in a directory of our choosing (by build-id)
tdir=$HARNESS_TMP/travelled
mkdir -p "$tdir/release" "$tdir/stripped" "$tdir/dbg"
cp "$(target_bin demo release)" "$tdir/release/demo"
TARGETS_DIR_SAVED=$TARGETS_DIR TARGETS_DIR=$tdir
start_target demo release 1
TARGETS_DIR=$TARGETS_DIR_SAVED
sample "$TARGET_PID" travelled.live
take_gcore "$TARGET_PID" "$HARNESS_TMP/travelled.core"
stop_targets
id=$(json_get 'd["build_id"]' <"$HARNESS_TMP/travelled.live.json")
[ ${#id} -gt 2 ] || fail "the live trace of the demo has no build-id: $id"
mkdir -p "$tdir/dbg/.build-id/${id:0:2}"
objcopy --only-keep-debug "$tdir/release/demo" "$tdir/dbg/.build-id/${id:0:2}/${id:2}.debug" ||
	fail "objcopy --only-keep-debug failed"
strip -o "$tdir/stripped/demo" "$tdir/release/demo" || fail "strip failed"
status=0
"$ASYNCDUMP" --core "$HARNESS_TMP/travelled.core" --exe "$tdir/stripped/demo" >/dev/null \
	2>"$HARNESS_TMP/travelled.err" || status=$?
assert_eq 6 "$status" "exit status for a stripped executable without its debug file"
assert_contains "$(cat "$HARNESS_TMP/travelled.err")" "has no DWARF debuginfo" \
	"the message for a stripped executable"
trace_core "$HARNESS_TMP/travelled.core" travelled.core --exe "$tdir/stripped/demo" \
	--debuginfo-dir "$tdir/dbg"
run_checks "stripped, --debuginfo-dir" "$HARNESS_TMP/travelled.live.json" \
	"$HARNESS_TMP/travelled.core.json" "$HARNESS_TMP/travelled.core.txt" "$tdir/stripped/demo" <<'PY'
import sys
import corecheck
import tracecheck as tc
live, core = tc.load(sys.argv[1]), tc.load(sys.argv[2])
c = tc.Check("demo 1 (release), stripped, its DWARF in --debuginfo-dir")
c.eq(sys.argv[4], core["exe"], "exe: the stripped one given with --exe")
live["exe"] = core["exe"]
corecheck.compare(c, live, core, open(sys.argv[3]).read())
c.done()
PY
rm -f "$HARNESS_TMP/travelled.core"

# ---- rustc 1.63
legacy=$top_builddir/tests/legacy-rustc/target
[ -x "$legacy/debug/demo" ] && [ -x "$legacy/release/demo" ] ||
	fail "no demo built with rustc 1.63 in $legacy: trace_rustc163.sh builds it (run it first)"
TARGETS_DIR=$legacy
for profile in debug release; do
	start_target demo "$profile" 3
	sample "$TARGET_PID" "legacy.$profile.live"
	take_gcore "$TARGET_PID" "$HARNESS_TMP/legacy.core"
	trace_core "$HARNESS_TMP/legacy.core" "legacy.$profile.core"
	compare_core "demo 3 ($profile), rustc 1.63" "legacy.$profile.live" "legacy.$profile.core"
	rm -f "$HARNESS_TMP/legacy.core"
	stop_targets
done
finish_checks
