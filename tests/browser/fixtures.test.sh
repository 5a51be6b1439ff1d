#!/bin/bash
# The web viewer against fixture documents served by the test itself:
# tree, task links, grouping, filter, sort, URL state, errors, refresh,
# keyboard, dark mode and 10,000 tasks (fixtures.test.mjs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/browser/env.sh"
exec node --test-reporter=spec "$top_srcdir/tests/browser/fixtures.test.mjs"
