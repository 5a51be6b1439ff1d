#!/usr/bin/env bash
# Debuginfo in the forms distributions ship it: compressed sections
# (SHF_COMPRESSED, zlib) and a stripped binary whose DWARF sits in a
# separate file named by .gnu_debuglink. Each copy of the design example
# must trace like the original: foo at its marked line, awaiting sleep at
# its marked line, on a timer. For every suite of the tokio matrix.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init

src=$(target_src demo)/main.rs
foo_line=$(marker_line "$src" foo_point1_awaits_sleep)
sleep_line=$(marker_line "$src" sleep_awaits_timer)
for suite in $TOKIO_SUITES; do
use_suite "$suite"
orig=$(target_bin demo release)
dir="$HARNESS_TMP/forms-$suite"
mkdir -p "$dir/compressed" "$dir/debuglinked"

objcopy --compress-debug-sections=zlib "$orig" "$dir/compressed/demo"
readelf -S "$dir/compressed/demo" | grep -A1 ' .debug_info' | grep -q 'C' ||
	fail "objcopy left .debug_info uncompressed"
objcopy --only-keep-debug "$orig" "$dir/debuglinked/demo.debug"
objcopy --strip-debug --add-gnu-debuglink="$dir/debuglinked/demo.debug" "$orig" "$dir/debuglinked/demo"
readelf -S "$dir/debuglinked/demo" | grep -q ' .debug_info' && fail "the stripped copy still has .debug_info"

for form in compressed debuglinked; do
	# start_target runs $TARGETS_DIR/PROFILE/NAME: point it at this copy.
	mkdir -p "$dir/$form/release"
	ln -sf "../demo" "$dir/$form/release/demo"
	TARGETS_DIR="$dir/$form" start_target demo release 1
	json=$("$top_builddir/asyncdump" --json "$TARGET_PID") ||
		fail "asyncdump failed on the $form copy of the demo ($SUITE_LABEL)"
	chain=$(printf '%s' "$json" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
task = next(t for t in d["tasks"] if t["root"] and t["root"]["name"] == "demo::foo")
out, f = [], task["root"]
while f:
    if f["kind"] == "async_fn":
        out.append("%s:%d" % (f["name"], f["location"]["line"]))
    if f.get("blocked_on"):
        out.append(f["blocked_on"]["kind"])
    f = f["children"][0] if f["children"] else None
print(" ".join(out))')
	assert_eq "demo::foo:$foo_line demo::sleep:$sleep_line timer" "$chain" "the $form copy's task foo ($SUITE_LABEL)"
	assert_alive "$TARGET_PID" "the $form copy ($SUITE_LABEL)"
done
done
echo "compressed and debuglinked debuginfo trace like the original"
