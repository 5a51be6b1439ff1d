#!/bin/bash
# `make install DESTDIR=…` puts every file where configure said, nothing
# anywhere else; the installed programs run and report the version of
# configure.ac; `make uninstall` takes everything away again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
set -u

tmp=$HARNESS_TMP
problems=0
problem() { printf 'FAIL: %s\n' "$*" >&2; problems=$((problems + 1)); }
root=$tmp/root

# The build tree's make, without the jobserver of the make running this test.
run_make() { env -u MAKEFLAGS -u MFLAGS make --no-print-directory -C "$top_builddir" "$@"; }

# A directory variable as make expands it (bindir → /usr/local/bin).
make_dir() {
	# Last line: make may first regenerate a Makefile whose Makefile.am changed.
	# "//" made single, as find prints paths (distcheck's unit dir has one).
	printf 'print-dir:\n\t@echo $(%s)\n' "$1" | run_make -s -f Makefile -f - print-dir |
		tail -n 1 | sed 's|//*|/|g'
}

version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
[ -n "$version" ] || fail "no version in $top_srcdir/configure.ac's AC_INIT"

bindir=$(make_dir bindir)
sysconfdir=$(make_dir sysconfdir)
mandir=$(make_dir mandir)
pkgdatadir=$(make_dir pkgdatadir)
unitdir=$(make_dir systemdsystemunitdir)
for d in "$bindir" "$sysconfdir" "$mandir" "$pkgdatadir" "$unitdir"; do
	case $d in /*) ;; *) fail "installation directory '$d' is not absolute";; esac
done

# One install at a time in a build tree: install_layout.sh and
# systemd_units.sh may run in parallel (make -j check), and an install that
# has to rebuild something must not race another.
flock "$top_builddir" env -u MAKEFLAGS -u MFLAGS \
	make --no-print-directory -C "$top_builddir" install DESTDIR="$root" > "$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "make install DESTDIR=$root failed"; }

# ---- the programs
for prog in asyncdumpd asyncdump; do
	p=$root$bindir/$prog
	if [ ! -x "$p" ]; then
		problem "$prog not installed as an executable at $bindir/$prog"
		continue
	fi
	got=$("$p" --version 2>&1) || problem "$prog --version exited with status $?"
	[ "$got" = "$prog $version" ] ||
		problem "$prog --version printed '$got', expected '$prog $version' (configure.ac)"
done
# ---- systemd units: the service names the installed daemon and configuration
service=$root$unitdir/asyncdumpd.service
socket=$root$unitdir/asyncdumpd.socket
[ -f "$socket" ] || problem "asyncdumpd.socket not installed in $unitdir"
cmp -s "$socket" "$top_srcdir/systemd/asyncdumpd.socket" ||
	problem "installed asyncdumpd.socket differs from systemd/asyncdumpd.socket"
if [ -f "$service" ]; then
	exec_start=$(sed -n 's/^ExecStart=//p' "$service")
	want="$bindir/asyncdumpd --config $sysconfdir/asyncdump/asyncdumpd.conf"
	[ "$exec_start" = "$want" ] ||
		problem "asyncdumpd.service: ExecStart=$exec_start, expected ExecStart=$want"
	grep -n '@[a-z_]*@' "$service" >&2 &&
		problem "asyncdumpd.service still has unsubstituted @variables@"
else
	problem "asyncdumpd.service not installed in $unitdir"
fi

# ---- the example configuration, unchanged
conf=$root$sysconfdir/asyncdump/asyncdumpd.conf
cmp -s "$conf" "$top_srcdir/systemd/asyncdumpd.conf" ||
	problem "$sysconfdir/asyncdump/asyncdumpd.conf missing or different from systemd/asyncdumpd.conf"

# ---- man pages, where man finds them
for page in asyncdump.1 asyncdumpd.8 asyncdumpd.conf.5; do
	section=${page##*.}
	installed=$root$mandir/man$section/$page
	cmp -s "$installed" "$top_srcdir/docs/$page" ||
		problem "man page $page missing from $mandir/man$section or different from docs/$page"
	found=$(MANPATH=$root$mandir man -w "$section" "${page%.*}" 2>/dev/null)
	[ "$found" = "$installed" ] ||
		problem "man -w $section ${page%.*} with MANPATH=$root$mandir found '$found', not $installed"
done

# ---- the web viewer: every file of web/ the browser loads is compiled into
# the installed daemon (it serves them with nothing installed beside it)
viewer_files=$(cd "$top_srcdir/web" && find . -type f \
	\( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' -o -name '*.png' \
	-o -name '*.ico' \) | sed 's|^\./||' | sort)
[ -n "$viewer_files" ] || problem "no viewer files found in $top_srcdir/web"
if [ -x "$root$bindir/asyncdumpd" ]; then
	missing=$(cd "$top_srcdir/web" && python3 -c '
import sys
binary = open(sys.argv[1], "rb").read()
print(" ".join(f for f in sys.argv[2:] if open(f, "rb").read() not in binary))
' "$root$bindir/asyncdumpd" $viewer_files)
	[ -z "$missing" ] || problem "web/ files not compiled into the installed asyncdumpd: $missing"
fi
[ ! -e "$root$pkgdatadir/web" ] ||
	problem "$pkgdatadir/web installed: the viewer is compiled into asyncdumpd"

# ---- nothing anywhere else
while read -r f; do
	rel=${f#"$root"}
	case $rel in
	"$bindir/asyncdumpd" | "$bindir/asyncdump") ;;
	"$unitdir/asyncdumpd.service" | "$unitdir/asyncdumpd.socket") ;;
	"$sysconfdir/asyncdump/asyncdumpd.conf") ;;
	"$mandir/man1/asyncdump.1" | "$mandir/man8/asyncdumpd.8" | "$mandir/man5/asyncdumpd.conf.5") ;;
	"$pkgdatadir/asyncdump.rules.yml") ;;
	*) problem "unexpected file installed: $rel" ;;
	esac
done < <(find "$root" ! -type d)

# ---- uninstall leaves nothing behind
run_make uninstall DESTDIR="$root" > "$tmp/uninstall.log" 2>&1 ||
	{ cat "$tmp/uninstall.log" >&2; problem "make uninstall DESTDIR=$root failed"; }
left=$(find "$root" ! -type d)
[ -z "$left" ] || problem "make uninstall left files behind: $left"

[ "$problems" -eq 0 ] || fail "$problems check(s) failed"
echo "install layout OK: $bindir, $unitdir, $sysconfdir/asyncdump, $mandir, the viewer built into asyncdumpd"
