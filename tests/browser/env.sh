# shellcheck shell=bash
# Sourced by the browser tests: the environment `make check` exports, with
# defaults for running a test by hand, and what the tests need installed.
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${CHROMIUM:=/usr/bin/chromium}"
export top_srcdir top_builddir CHROMIUM

browser_need() {
	local what=$1 hint=$2
	printf 'FAIL: %s is missing: %s\n' "$what" "$hint" >&2
	exit 1
}

command -v node >/dev/null || browser_need node "./dev check installs it (Debian: nodejs)"
[ -x "$CHROMIUM" ] || browser_need "$CHROMIUM" "./dev check installs it (Debian: chromium)"
# playwright-core: tests/browser/node_modules (npm ci, run by ./dev check),
# or a node_modules on NODE_PATH (Makefile.am points it at the source tree's).
if [ ! -d "$top_srcdir/tests/browser/node_modules/playwright-core" ]; then
	found=
	IFS=: read -r -a node_paths <<<"${NODE_PATH:-}"
	for dir in "${node_paths[@]}"; do
		[ -n "$dir" ] && [ -d "$dir/playwright-core" ] && found=$dir
	done
	[ -n "$found" ] || browser_need playwright-core "run ./dev check, or: cd tests/browser && npm ci"
fi
