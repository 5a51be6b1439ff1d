#!/usr/bin/env bash
# matrix.sh SUITE REGISTRY SRCDIR TARGET_DIR: builds the test workspace
# SRCDIR (tests/targets) against another Debian suite's crates, REGISTRY (a
# cargo directory source made by debian-suite.sh), in both profiles, into
# TARGET_DIR. The workspace is copied to TARGET_DIR/workspace with a lock
# file of its own, resolved offline against REGISTRY (the source tree's
# Cargo.lock is bookworm's). Members listed in the root manifest's
# [workspace.metadata.matrix] skip (and skip-SUITE) are left out (the
# benchmark), those in
# extra are added (targets for crates bookworm lacks, e.g. hyper 1), and a
# member is left out when REGISTRY has no version of one of its crates
# (sid packages no hyper 0.14). Prints the members built and the versions of
# tokio, futures and hyper the suite's lock file resolved.
#
# A second run with the same TARGET_DIR rebuilds nothing: files are copied
# with their times and rewritten only when they change, so that ./dev's
# second build tree can point at the first one's TARGET_DIR.
#
# When REGISTRY does not exist (the suite was never fetched: ./dev check
# fetches it) nothing is built and the trace tests fail for that suite.
set -euo pipefail

suite=${1:?usage: matrix.sh SUITE REGISTRY SRCDIR TARGET_DIR}
registry=${2:?usage: matrix.sh SUITE REGISTRY SRCDIR TARGET_DIR}
srcdir=${3:?usage: matrix.sh SUITE REGISTRY SRCDIR TARGET_DIR}
target=${4:?usage: matrix.sh SUITE REGISTRY SRCDIR TARGET_DIR}
cargo=${CARGO:-cargo}

if [ ! -d "$registry" ]; then
	echo "matrix.sh: no crates of $suite at $registry (tests/targets/debian-suite.sh $suite DIR" \
		"fetches them; ./dev check does): the $suite targets are not built" >&2
	exit 0
fi
registry=$(cd "$registry" && pwd)
srcdir=$(cd "$srcdir" && pwd)
mkdir -p "$target/workspace"
target=$(cd "$target" && pwd)
ws=$target/workspace

# replace_if_changed FILE: moves FILE.new over FILE unless they are equal.
replace_if_changed() {
	if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv -f "$1.new" "$1"; fi
}

members=$(python3 - "$srcdir/Cargo.toml" "$registry" "$suite" <<'PY'
import os
import re
import sys
import tomllib

root_path, registry, suite = sys.argv[1:4]
root_dir = os.path.dirname(root_path)
with open(root_path, "rb") as f:
    root = tomllib.load(f)
ws = root["workspace"]
matrix = ws.get("metadata", {}).get("matrix", {})
skip = matrix.get("skip", []) + matrix.get("skip-" + suite, [])
members = [m for m in ws["members"] if m not in skip] + matrix.get("extra", [])

available = {}
for entry in os.listdir(registry):
    m = re.match(r"^(.+)-(\d+)\.(\d+)\.(\d+)", entry)
    if m:
        available.setdefault(m.group(1), []).append(tuple(int(x) for x in m.group(2, 3, 4)))


def satisfied(name, req):
    """Cargo's default (caret) requirement: same major, or same minor below 1.0."""
    m = re.match(r"^\^?(\d+)(?:\.(\d+))?(?:\.(\d+))?$", req.strip())
    if not m:
        return True  # another form: let cargo decide
    want = tuple(int(x) if x else 0 for x in m.groups())
    for have in available.get(name, []):
        if have < want:
            continue
        if want[0] > 0 and have[0] == want[0]:
            return True
        if want[0] == 0 and have[0] == 0 and (want[1] == 0 or have[1] == want[1]):
            return True
    return False


for member in members:
    with open(os.path.join(root_dir, member, "Cargo.toml"), "rb") as f:
        manifest = tomllib.load(f)
    missing = []
    for name, spec in manifest.get("dependencies", {}).items():
        if isinstance(spec, dict) and spec.get("workspace"):
            spec = ws.get("dependencies", {}).get(name, {})
        if isinstance(spec, str):
            spec = {"version": spec}
        if "path" in spec or "version" not in spec:
            continue
        name = spec.get("package", name)
        if not satisfied(name, spec["version"]):
            missing.append("%s %s" % (name, spec["version"]))
    if missing:
        print("matrix.sh: %s: leaving out %s (no %s)" % (suite, member,
                                                        ", ".join(missing)), file=sys.stderr)
    else:
        print(member)
PY
)
[ -n "$members" ] || { echo "matrix.sh: no member of $srcdir builds against $suite" >&2; exit 1; }

for member in $members; do
	mkdir -p "$ws/$member"
	cp -a "$srcdir/$member/." "$ws/$member/"
	chmod -R u+w "$ws/$member"
done
list=$(printf '"%s", ' $members)
python3 - "$srcdir/Cargo.toml" "[${list%, }]" >"$ws/Cargo.toml.new" <<'PY'
import re
import sys

root = open(sys.argv[1]).read()
root = re.sub(r"members\s*=\s*\[[^\]]*\]", "members = %s" % sys.argv[2], root, count=1, flags=re.S)
root = re.sub(r"\nexclude\s*=\s*\[[^\]]*\]", "", root, count=1, flags=re.S)
sys.stdout.write(root)
PY
replace_if_changed "$ws/Cargo.toml"
mkdir -p "$ws/.cargo"
cat >"$ws/.cargo/config.toml.new" <<EOF
# Made by tests/targets/matrix.sh: Debian $suite's crates, offline.
[source.crates-io]
replace-with = "$suite"

[source.$suite]
directory = "$registry"

[net]
offline = true
EOF
replace_if_changed "$ws/.cargo/config.toml"

cd "$ws"
# Resolved afresh each time: sid moves, and an unchanged resolution
# rebuilds nothing.
"$cargo" generate-lockfile --offline --quiet
CARGO_TARGET_DIR=$target "$cargo" build --quiet --offline --locked --workspace
CARGO_TARGET_DIR=$target "$cargo" build --quiet --offline --locked --workspace --release
echo "$suite: built $(echo $members | tr '\n' ' ')"
"$srcdir/lock-versions.sh" "$ws/Cargo.lock" | sed "s/^/$suite: /"
