#!/usr/bin/env bash
# Issue 15, finding 6: corrupt debuginfo must be called corrupt. A truncated
# .debug_abbrev used to get "a Rust program without a tokio runtime", an
# empty .debug_str "rebuild it with debug = true", a corrupt separate debug
# file the same wrong advice. Each damaged copy of the design example must
# fail with an error that says the DWARF is corrupt and names the damaged
# file - never a crash, and the target runs on.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init

orig=$(target_bin demo debug)
dir="$HARNESS_TMP/damaged"
mkdir -p "$dir"

# section_file NAME: the section's bytes, from the original.
objcopy --dump-section .debug_abbrev="$dir/abbrev" --dump-section .debug_str="$dir/str" "$orig" /dev/null 2>/dev/null ||
	objcopy --dump-section .debug_abbrev="$dir/abbrev" --dump-section .debug_str="$dir/str" "$orig" "$dir/scratch"
head -c 100 "$dir/abbrev" >"$dir/abbrev.short"
: >"$dir/str.empty"

mkdir -p "$dir/abbrev-truncated/debug" "$dir/str-empty/debug" "$dir/debugfile-corrupt/debug"
objcopy --update-section .debug_abbrev="$dir/abbrev.short" "$orig" "$dir/abbrev-truncated/debug/demo"
objcopy --update-section .debug_str="$dir/str.empty" "$orig" "$dir/str-empty/debug/demo"
# a stripped program whose separate debug file (.gnu_debuglink) is damaged
objcopy --only-keep-debug "$orig" "$dir/debugfile-corrupt/demo.debug.good"
objcopy --update-section .debug_abbrev="$dir/abbrev.short" "$dir/debugfile-corrupt/demo.debug.good" \
	"$dir/debugfile-corrupt/debug/demo.debug"
objcopy --strip-debug --add-gnu-debuglink="$dir/debugfile-corrupt/debug/demo.debug" "$orig" \
	"$dir/debugfile-corrupt/debug/demo"

for form in abbrev-truncated str-empty debugfile-corrupt; do
	TARGETS_DIR="$dir/$form" start_target demo debug 1
	damaged="$dir/$form/debug/demo"
	[ "$form" = debugfile-corrupt ] && damaged="$dir/$form/debug/demo.debug"
	status=0
	timeout 60 "$top_builddir/asyncdump" "$TARGET_PID" >"$dir/$form.out" 2>"$dir/$form.err" || status=$?
	message=$(cat "$dir/$form.err")
	note "$form: status $status: $message"
	[ "$status" != 0 ] || fail "$form: asyncdump succeeded on damaged DWARF: $(head -c 500 "$dir/$form.out")"
	[ "$status" -lt 124 ] || fail "$form: asyncdump timed out or crashed (status $status)"
	assert_contains "$message" "is corrupt" "$form: the error says the DWARF is corrupt"
	assert_contains "$message" "$damaged" "$form: the error names the damaged file"
	case "$message" in
	*"without a tokio runtime"* | *"rebuild it with type debuginfo"*)
		fail "$form: wrong advice: $message";;
	esac
	assert_alive "$TARGET_PID" "the $form copy after the sample"
	kill -KILL "$TARGET_PID"
done
echo "damaged debuginfo is reported as corrupt, naming the file"
