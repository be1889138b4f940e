#!/usr/bin/env bats
# Argument checks of scripts/bench-redis and of its guest side,
# scripts/vm/bench/redis-bench.sh: a bad value is refused with a message
# naming it, before any guest boots or any system setting changes.

bats_require_minimum_version 1.5.0

setup() {
	SRC=${FF_SRC:?FF_SRC must name the source tree; run the suite through ctest}
}

@test "bench-redis refuses a --sched other than shared or rt" {
	run -2 "$SRC/scripts/bench-redis" --sched idle --build "$BATS_TEST_TMPDIR"
	[[ $output == *"--sched must be shared or rt"* ]]
}

@test "the guest benchmark refuses an unknown scheduling mode before it looks for the module" {
	run -2 bash "$SRC/scripts/vm/bench/redis-bench.sh" 16 200 1 1000 2000 1000 idle
	[[ $output == *"SCHED must be shared or rt, not 'idle'"* ]]
}
