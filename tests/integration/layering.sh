#!/bin/bash
# Issues 16 and 19, the shape of core/: runtime knowledge lives in the
# runtime adapters (core/runtime/NAME*.c), and the library's files form no
# loop.
#  - No "tokio" (any case) in core/ or include/asyncdump/ outside the tokio
#    adapter's own files, core/runtime/tokio*; the adapter registry
#    (core/runtime/registry.c) may name the adapter's ops, ad_tokio_runtime,
#    and nothing else of it. No other adapter's crate (async-task,
#    async-executor, async-std, async-io, async-global-executor, smol,
#    futures-executor) named outside core/runtime/.
#  - No reference loop between the library's objects: from the built
#    archive's symbols (nm), object A refers to B when A uses a symbol B
#    defines (a call, or a function's or table's address); that graph has
#    no cycle. In particular the decoding files (future.c, combinators.c,
#    leaves.c, the adapters) recurse only through the decode context's
#    function pointers.
#  - No #include loop between the headers of core/ and include/asyncdump/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
set -u

problems=0
problem() { printf 'FAIL: %s\n' "$*" >&2; problems=$((problems + 1)); }

# ---- runtime names
cd "$top_srcdir" || exit 1
[ -f core/runtime/tokio.c ] || problem "core/runtime/tokio.c is missing: the tokio adapter moved?"
hits=$(grep -rni tokio core include/asyncdump | grep -v '^core/runtime/tokio[^/]*:' |
	grep -v '^core/runtime/registry\.c:[0-9]*:[^:]*\bad_tokio_runtime\b[^a-z]*$')
[ -z "$hits" ] || problem "\"tokio\" outside the tokio adapter:
$hits"
# The exception above is narrow: the registry's lines that name the ops.
reg=$(grep -ci tokio core/runtime/registry.c)
[ "$reg" -le 2 ] || problem "core/runtime/registry.c names tokio $reg times (its declaration and list entry only)"
# The other adapters' crates: named in core/runtime/ only (the adapters
# and their registry), nowhere in the runtime-independent files.
crates='async[-_]task|async[-_]executor|async[-_]std|async[-_]io|async[-_]global[-_]executor|smol|futures[-_]executor'
hits=$(grep -rniE "$crates" core include/asyncdump | grep -v '^core/runtime/')
[ -z "$hits" ] || problem "a runtime's crate named outside core/runtime/:
$hits"

# ---- object reference loops
archive=$top_builddir/core/libasyncdump.a
[ -f "$archive" ] || problem "no $archive (build first)"
if [ -f "$archive" ]; then
	nm -A --defined-only "$archive" >"$HARNESS_TMP/defined" || problem "nm failed on $archive"
	nm -A -u "$archive" >"$HARNESS_TMP/undefined" || problem "nm failed on $archive"
	out=$(python3 - "$HARNESS_TMP/defined" "$HARNESS_TMP/undefined" <<'PY'
import collections
import sys

defined = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 3 and parts[1] in "TDRBV":
        defined[parts[2]] = parts[0].split(":")[1]
graph = collections.defaultdict(set)
objects = set(defined.values())
for line in open(sys.argv[2]):
    parts = line.split()
    obj, sym = parts[0].split(":")[1], parts[-1]
    if sym in defined and defined[sym] != obj:
        graph[obj].add(defined[sym])
# The test must see the decoding files to say anything about them.
for name in ("future", "combinators", "leaves", "tokio", "tokio_leaves", "registry", "capture"):
    if not any(o.endswith("-%s.o" % name) for o in objects):
        print("no object for %s.c in the archive" % name)
if not graph:
    print("no reference between objects: nm's output was not understood")
# Cycles: depth-first search, reporting each back edge's loop.
state, stack, loops = {}, [], []
def visit(v):
    state[v] = 1
    stack.append(v)
    for w in sorted(graph[v]):
        if state.get(w) == 1:
            loops.append(stack[stack.index(w):] + [w])
        elif w not in state:
            visit(w)
    stack.pop()
    state[v] = 2
for v in sorted(objects):
    if v not in state:
        visit(v)
for loop in loops:
    print("reference loop: " + " -> ".join(loop))
PY
	) || problem "the object graph check failed to run"
	[ -z "$out" ] || problem "$out"
fi

# ---- include loops
out=$(python3 - core include/asyncdump <<'PY'
import os
import re
import sys

headers = {}
for d in sys.argv[1:]:
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith(".h"):
                headers[os.path.join(root, f)] = None
def resolve(including, name):
    for cand in (os.path.join(os.path.dirname(including), name), os.path.join("core", name),
                 os.path.join("include", name)):
        if os.path.normpath(cand) in headers:
            return os.path.normpath(cand)
    return None
graph = {}
for h in headers:
    text = open(h).read()
    graph[os.path.normpath(h)] = [r for r in (resolve(h, n) for n in re.findall(r'#include "([^"]+)"', text)) if r]
if len(graph) < 10 or not any(graph.values()):
    print("the headers were not found or not understood")
state, stack = {}, []
def visit(v):
    state[v] = 1
    stack.append(v)
    for w in graph.get(v, []):
        if state.get(w) == 1:
            print("include loop: " + " -> ".join(stack[stack.index(w):] + [w]))
        elif w not in state:
            visit(w)
    stack.pop()
    state[v] = 2
for v in sorted(graph):
    if v not in state:
        visit(v)
PY
) || problem "the include graph check failed to run"
[ -z "$out" ] || problem "$out"

[ "$problems" = 0 ] || exit 1
echo "ok: no runtime name outside its adapter, no reference or include loop in core/"
