#!/usr/bin/env bash
# The oldest rustc asyncdump supports: Debian's rustc 1.63, which wraps every
# async fn in core::future::from_generator::GenFuture, names state machines
# {generator#N}-era style and keeps thread-locals in std's old fast::Key.
# The design example is built with it (Debian's cargo, offline, from a copy
# of the workspace with its own lock file), in both profiles, and its trace
# must be the same as with a current rustc, main's block_on future
# included: the lines come from the source's markers.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init

rustc163=/usr/bin/rustc
cargo163=/usr/bin/cargo
[ -x "$rustc163" ] && "$rustc163" --version | grep -q '^rustc 1\.63\.' ||
	fail "Debian's rustc 1.63 is not at $rustc163 (./dev installs the 'rustc' package)"
[ -x "$cargo163" ] || fail "Debian's cargo is not at $cargo163 (./dev installs the 'cargo' package)"

# A copy of the demo and its READY crate in a workspace of their own: the
# main workspace's lock file is in a format this cargo cannot read.
work="$top_builddir/tests/legacy-rustc"
mkdir -p "$work/.cargo"
for crate in demo ready; do
	mkdir -p "$work/$crate"
	cp -R "$top_srcdir/tests/targets/$crate/." "$work/$crate/"
	chmod -R u+w "$work/$crate"
done
cp "$top_srcdir/tests/targets/.cargo/config.toml" "$work/.cargo/config.toml"
python3 - "$top_srcdir/tests/targets/Cargo.toml" "$work/Cargo.toml" <<'PY'
import re, sys
root = open(sys.argv[1]).read()
root = re.sub(r'members\s*=\s*\[[^\]]*\]', 'members = ["demo", "ready"]', root, count=1, flags=re.S)
open(sys.argv[2], 'w').write(root)
PY
for profile in debug release; do
	flag=; [ "$profile" = release ] && flag=--release
	(cd "$work" && RUSTC="$rustc163" CARGO_TARGET_DIR="$work/target" "$cargo163" build --quiet --offline $flag -p demo) ||
		fail "building the demo ($profile) with rustc 1.63 failed"
done

TARGETS_DIR="$work/target"
src=$(target_src demo)/main.rs
for profile in debug release; do
	start_target demo "$profile" 3
	json=$("$top_builddir/asyncdump" --json "$TARGET_PID") || fail "asyncdump failed on the rustc 1.63 demo ($profile)"

	chain=$(printf '%s' "$json" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
task = next(t for t in d["tasks"] if t["kind"] == "task" and t["root"] and t["root"]["name"] == "demo::foo")
def walk(f, out):
    if f["kind"] in ("async_fn", "async_block"):
        loc = f["location"]
        out.append("%s %s %s:%d" % (f["name"], f["state"], os.path.basename(loc["file"]), loc["line"]))
    for c in f["children"]:
        walk(c, out)
    if f.get("blocked_on"):
        out.append("leaf " + f["blocked_on"]["kind"])
    return out
print("|".join(walk(task["root"], [])))
')
	expect="demo::foo suspended main.rs:$(marker_line "$src" foo_point3_awaits_joined)"
	expect+="|demo::bar suspended main.rs:$(marker_line "$src" bar_awaits_timer)|leaf timer"
	expect+="|demo::baz completed main.rs:$(marker_line "$src" baz_completed)"
	assert_eq "$expect" "$chain" "the rustc 1.63 demo's task foo ($profile: frames, then its leaf)"

	# main's block_on: its frame at the marked line, blocked on task foo.
	main=$(printf '%s' "$json" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
blocks = [t for t in d["tasks"] if t["kind"] == "block_on"]
foo = next(t for t in d["tasks"] if t["kind"] == "task" and t["root"] and t["root"]["name"] == "demo::foo")
if len(blocks) != 1:
    print("%d block_on tasks" % len(blocks))
elif not blocks[0]["root"]:
    print("none: " + (blocks[0]["note"] or ""))
else:
    r = blocks[0]["root"]
    b = blocks[0].get("blocked_on") or {}
    print("%s %s %s:%d awaits %s" % (r["name"], r["state"], os.path.basename(r["location"]["file"]),
          r["location"]["line"], "foo" if b.get("kind") == "task" and b.get("task_id") == foo["id"] else b))
')
	assert_eq "demo::main::{async_block#0} suspended main.rs:$(marker_line "$src" main_awaits_foo) awaits foo" \
		"$main" "the rustc 1.63 demo's block_on future ($profile)"
	assert_alive "$TARGET_PID"
	stop_targets
done
echo "rustc 1.63: the design example traces as with a current rustc, in both profiles"
