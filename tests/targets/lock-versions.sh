#!/bin/sh
# lock-versions.sh CARGO.LOCK: prints the versions of tokio, futures and
# hyper a lock file resolved, on one line: "tokio 1.43.1 futures 0.3.31
# hyper 0.14.32 1.5.2" (a crate resolved twice has both versions; one not in
# the lock is left out).
set -eu
lock=${1:?usage: lock-versions.sh CARGO.LOCK}
[ -f "$lock" ] || { echo "lock-versions.sh: no lock file $lock" >&2; exit 1; }
awk '
	/^\[\[package\]\]/ { name = "" }
	/^name = / { name = $3; gsub(/"/, "", name) }
	/^version = / && (name == "tokio" || name == "futures" || name == "hyper") {
		v = $3; gsub(/"/, "", v); seen[name] = seen[name] " " v
	}
	END {
		out = ""
		n = split("tokio futures hyper", order, " ")
		for (i = 1; i <= n; i++)
			if (order[i] in seen) out = out (out == "" ? "" : " ") order[i] seen[order[i]]
		print out
	}' "$lock"
