#!/bin/bash
# Issue 15: the fault-injection suite, a few minutes with fixed seeds.
# tests/integration/fuzz.py writes seeded garbage into the task cells of the
# stock targets (self-loops, unmapped pointers, garbage discriminants, huge
# lengths) and flips seeded bytes in copies of their debuginfo; every sample
# must end in bounded time and memory with a valid document or a clean error,
# and leave the target running untraced. `./dev fuzz` runs the same for
# hours with other seeds (FUZZ_SECONDS, FUZZ_SEED).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init

[ -w /proc/self/mem ] || fail "needs write access to /proc/PID/mem (root)"
: "${FUZZ_SEED:=1}" "${FUZZ_ROUNDS:=8}" "${FUZZ_SECONDS:=0}"
status=0
for mode in memory debuginfo; do
	PYTHONDONTWRITEBYTECODE=1 python3 "$top_srcdir/tests/integration/fuzz.py" "$mode" \
		--asyncdump "$top_builddir/asyncdump" --targets "$TARGETS_DIR" \
		--schema "$top_srcdir/docs/trace.schema.json" \
		--seed "$FUZZ_SEED" --rounds "$FUZZ_ROUNDS" --seconds "$FUZZ_SECONDS" || status=1
done
[ "$status" = 0 ] || fail "fault injection found failures (FAIL lines above; replay with FUZZ_SEED=$FUZZ_SEED)"
