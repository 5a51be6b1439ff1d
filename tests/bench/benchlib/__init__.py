"""The benchmark behind ./dev bench (tests/bench/run)."""
