#!/bin/bash
# The man pages render without a warning and agree with the programs: every
# long option of `asyncdumpd --help` / `asyncdump --help` is documented in
# asyncdumpd(8) / asyncdump(1) and every documented option exists; every key
# the configuration parser knows is documented in asyncdumpd.conf(5) and in
# the installed example file, and nothing else is; every daemon and [hang]
# key has its command-line flag.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
set -u

tmp=$HARNESS_TMP
problems=0
problem() { printf 'FAIL: %s\n' "$*" >&2; problems=$((problems + 1)); }

docs=$top_srcdir/docs
pages="asyncdump.1 asyncdumpd.8 asyncdumpd.conf.5"

# ---- rendering: groff's warnings (as man -l shows them), and mandoc's lint
for page in $pages; do
	out=$(groff -man -ww -z "$docs/$page" 2>&1)
	[ -z "$out" ] || problem "groff -man -ww warns about $page: $out"
	out=$(MANWIDTH=80 man --warnings -l "$docs/$page" 2>&1 > /dev/null)
	[ -z "$out" ] || problem "man -l $page warns: $out"
	if command -v mandoc > /dev/null; then
		out=$(mandoc -T lint -W warning "$docs/$page" 2>&1)
		[ -z "$out" ] || problem "mandoc -T lint: $out"
	else
		echo "note: mandoc not installed, lint not run (./dev installs it)"
	fi
done

# Long options named by the .TP tags of a page's OPTIONS section (the roff
# source, so that running text mentioning an option does not count).
documented_options() {
	awk '
		/^\.SH / { in_options = ($2 == "OPTIONS"); next }
		in_options && /^\.TP/ { tag = 1; next }
		tag { print; tag = 0 }
	' "$1" | grep -oE -- '\\-\\-[a-z][a-z0-9\\-]*' | sed 's/\\-/-/g' | sort -u
}

# Long options a program's --help lists: those that start a line (running
# text may mention other things, as "--flag:" in a message format).
help_options() {
	"$1" --help 2>&1 | grep -oE -- '^[[:blank:]]+--[a-z][a-z0-9-]*' | tr -d '[:blank:]' | sort -u
}

check_options() {
	local prog=$1 page=$2 bin=$top_builddir/$1
	if [ ! -x "$bin" ]; then
		problem "$bin not built"
		return
	fi
	"$bin" --help > "$tmp/$prog.help" 2>&1 || problem "$prog --help exited with status $?"
	help_options "$bin" > "$tmp/$prog.help-options"
	documented_options "$docs/$page" > "$tmp/$prog.man-options"
	[ -s "$tmp/$prog.help-options" ] || problem "$prog --help mentions no long option"
	[ -s "$tmp/$prog.man-options" ] || problem "$page documents no long option"
	local missing
	missing=$(comm -23 "$tmp/$prog.help-options" "$tmp/$prog.man-options" | tr '\n' ' ')
	[ -z "$missing" ] || problem "$prog --help has options $page does not document: $missing"
	missing=$(comm -13 "$tmp/$prog.help-options" "$tmp/$prog.man-options" | tr '\n' ' ')
	[ -z "$missing" ] || problem "$page documents options $prog --help does not know: $missing"
}

check_options asyncdumpd asyncdumpd.8
check_options asyncdump asyncdump.1

# ---- configuration keys: ask the parser which keys each section knows, by
# giving it an unknown one ("…; known keys there: a, b, c"). Runs in a
# pipeline: fail (which ends the whole test), not problem.
known_keys() {
	local header=$1 conf=$tmp/unknown-key.conf
	printf '%s\nno_such_key = 1\n' "$header" > "$conf"
	timeout 10 "$top_builddir/asyncdumpd" --config "$conf" --listen 127.0.0.1:0 > "$tmp/out" 2>&1 &&
		fail "asyncdumpd accepted a configuration with an unknown key"
	grep -q "$conf:2: .*no_such_key" "$tmp/out" ||
		fail "asyncdumpd's message for an unknown key names no file:line: $(cat "$tmp/out")"
	sed -n 's/.*known keys there: //p' "$tmp/out" | tr -d ' ' | tr ',' '\n' | sed '/^$/d'
}

if [ -x "$top_builddir/asyncdumpd" ]; then
	known_keys '# daemon' | sort -u > "$tmp/daemon-keys"
	known_keys '[hang]' | sort -u > "$tmp/hang-keys"
	known_keys '[watch w]' | sort -u > "$tmp/watch-keys"
	sort -u "$tmp/daemon-keys" "$tmp/hang-keys" "$tmp/watch-keys" > "$tmp/parser-keys"
	[ "$(wc -l < "$tmp/daemon-keys")" -ge 5 ] ||
		problem "could not read the daemon keys from asyncdumpd: $(cat "$tmp/out")"

	# Keys documented in asyncdumpd.conf(5): the `.BI "key = "` tags.
	grep -oE '^\.BI? "[a-z_]+ = ' "$docs/asyncdumpd.conf.5" |
		sed -E 's/^\.BI? "([a-z_]+) = /\1/' | sort -u > "$tmp/man-keys"
	missing=$(comm -23 "$tmp/parser-keys" "$tmp/man-keys" | tr '\n' ' ')
	[ -z "$missing" ] || problem "asyncdumpd.conf(5) does not document keys: $missing"
	missing=$(comm -13 "$tmp/parser-keys" "$tmp/man-keys" | tr '\n' ' ')
	[ -z "$missing" ] || problem "asyncdumpd.conf(5) documents keys the parser rejects: $missing"

	# The example file shows each key (commented out). A watch selects its
	# process by exactly one of pid, exe and comm: it shows exe, and names
	# the other two in its comments.
	sed -nE 's/^#([a-z_]+) = .*/\1/p' "$top_srcdir/systemd/asyncdumpd.conf" | sort -u > "$tmp/example-keys"
	missing=$(comm -23 "$tmp/parser-keys" "$tmp/example-keys" | grep -vxE 'pid|comm' | tr '\n' ' ')
	[ -z "$missing" ] || problem "systemd/asyncdumpd.conf does not show keys: $missing"
	missing=$(comm -13 "$tmp/parser-keys" "$tmp/example-keys" | tr '\n' ' ')
	[ -z "$missing" ] || problem "systemd/asyncdumpd.conf shows keys the parser rejects: $missing"

	# Each daemon and [hang] key is also a flag (--max-connections for
	# max_connections); a watch's selectors are --watch's values.
	sort -u "$tmp/daemon-keys" "$tmp/hang-keys" | sed 's/_/-/g; s/^/--/' > "$tmp/key-flags"
	missing=$(comm -23 "$tmp/key-flags" "$tmp/asyncdumpd.help-options" | tr '\n' ' ')
	[ -z "$missing" ] || problem "daemon and [hang] keys without an asyncdumpd flag: $missing"
fi

[ "$problems" -eq 0 ] || fail "$problems check(s) failed"
echo "man pages OK"
