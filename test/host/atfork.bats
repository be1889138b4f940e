#!/usr/bin/env bats
# The shim keeps glibc's fork semantics: the application's atfork handlers
# run, and glibc's stdio and malloc locks are handled in every child.

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
}

@test "the application's atfork handlers run in every child of fork()" {
	run --separate-stderr shim "$PROGS/atfork_check" fork 200
	expect_status 0
	[[ $output == "good=200 bad=0" ]] || { echo "$output"; false; }
}

@test "the application's atfork handlers run in every child of forkpty()" {
	run --separate-stderr shim "$PROGS/atfork_check" forkpty 50
	expect_status 0
	[[ $output == "good=50 bad=0" ]] || { echo "$output"; false; }
}

@test "the application's atfork handlers run when the shim logs every fork" {
	local log=$BATS_TEST_TMPDIR/ff.log
	run --separate-stderr shim FASTFORK_DEBUG=1 FASTFORK_LOG="$log" \
		"$PROGS/atfork_check" fork 100
	expect_status 0
	[[ $output == "good=100 bad=0" ]] || { echo "$output"; false; }
	run grep -c "]: fork: ordinary fork (no_device" "$log"
	[[ $output == 100 ]] || { echo "decision lines: $output"; false; }
}

@test "threads writing to a shared FILE* while the main thread forks never hang a child" {
	local log=$BATS_TEST_TMPDIR/ff.log
	run --separate-stderr timeout 120 \
		env LD_PRELOAD="$SHIM" FASTFORK_DEBUG=1 FASTFORK_LOG="$log" \
		"$PROGS/stdio_threads_fork" 4 300
	expect_status 0
	[[ $output == "forks=300 hung=0 failed=0" ]] || { echo "$output"; false; }
	run grep -c "]: fork: ordinary fork" "$log"
	[[ $output == 300 ]] || { echo "decision lines: $output"; false; }
}
