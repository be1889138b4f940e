#!/usr/bin/env bats
# Which entry points the shim intercepts, and what it leaves unchanged:
# exit statuses, errno, the exported symbol set.

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
}

teardown() {
	[[ -z ${NPROC_DIR-} ]] || rm -rf "$NPROC_DIR"
}

@test "fork() is intercepted: force mode fails it with ENODEV" {
	run --separate-stderr shim FASTFORK_MODE=force "$PROGS/fork_call" fork
	expect_status 3
	expect_field errno ENODEV
	expect_field force_failures 1
	expect_match "$stderr" "fork: force: failing with ENODEV (no_device: open /dev/fastfork: ENOENT)"
}

@test "_Fork() is intercepted: force mode fails it with ENODEV" {
	run --separate-stderr shim FASTFORK_MODE=force "$PROGS/fork_call" _Fork
	expect_status 3
	expect_field errno ENODEV
	expect_match "$stderr" "_Fork: force: failing with ENODEV"
}

@test "daemon() is intercepted through the atfork handler" {
	local log=$BATS_TEST_TMPDIR/ff.log
	run --separate-stderr shim FASTFORK_MODE=dryrun FASTFORK_LOG="$log" \
		"$PROGS/fork_call" daemon
	expect_status 0
	expect_field daemon child
	run cat "$log"
	expect_match "$output" "fork_call["
	expect_match "$output" "fork without the wrapper: dryrun: ordinary fork; would fall back (no_device"
}

@test "forkpty() is intercepted through the atfork handler" {
	run --separate-stderr shim FASTFORK_MODE=dryrun "$PROGS/fork_call" forkpty
	expect_status 0
	expect_field forks_seen 1
	expect_field fallback_dryrun 1
	expect_match "$stderr" "fork without the wrapper: dryrun"
}

@test "forkpty() in force mode cannot be failed: it is logged and forks normally" {
	run --separate-stderr shim FASTFORK_MODE=force "$PROGS/fork_call" forkpty 5
	expect_status 0
	expect_field status 5
	expect_field fallback_no_device 1
	expect_field force_failures 0
	expect_match "$stderr" "force: too late to fail, ordinary fork (no_device"
}

@test "a fork through fork() is armed once, not again by the atfork handler" {
	run --separate-stderr shim FASTFORK_MODE=dryrun "$PROGS/fork_call" fork
	expect_status 0
	expect_field forks_seen 1
	expect_field fallback_dryrun 1
	expect_lines "$stderr" 1
}

@test "exit statuses propagate through fork, _Fork and forkpty" {
	local method
	for method in fork _Fork forkpty; do
		run --separate-stderr shim "$PROGS/fork_call" "$method" 42
		expect_status 0
		expect_field result ok
		expect_field status 42
	done
}

@test "errno survives a successful fork in parent and child" {
	# auto mode: the shim's open of the missing device fails with ENOENT.
	local method
	for method in fork _Fork forkpty; do
		run --separate-stderr shim "$PROGS/fork_call" "$method"
		expect_status 0
		expect_field fallback_no_device 1
		expect_field errno_parent preserved
		expect_field errno_child preserved
	done
}

@test "a fork failing under RLIMIT_NPROC reports the kernel's EAGAIN" {
	# The unprivileged user needs to reach the shim and the program.
	NPROC_DIR=$(mktemp -d /tmp/fastfork-nproc.XXXXXX)
	chmod 0755 "$NPROC_DIR"
	cp "$SHIM" "$PROGS/fork_call" "$NPROC_DIR/"
	run --separate-stderr in_private_etc setpriv --reuid=65534 --regid=65534 \
		--clear-groups /bin/bash -c \
		'ulimit -u 1 && exec env LD_PRELOAD="$1/libfastfork.so" "$1/fork_call" fork' \
		sh "$NPROC_DIR"
	expect_status 3
	expect_field errno EAGAIN
	expect_field fallback_no_device 1
}

@test "forks made before the shim's constructor ran are ordinary forks, even in force mode" {
	run --separate-stderr shim FASTFORK_MODE=force "$PROGS/early_fork"
	expect_status 0
	expect_field fork 1
	expect_field _Fork 1
	expect_field forks_seen 2
	expect_field fallback_early 2
	expect_field force_failures 0
}

@test "every fork is counted as served, one fallback, or a force failure" {
	local mode
	for mode in auto off dryrun force; do
		run --separate-stderr shim FASTFORK_MODE=$mode "$PROGS/fork_call" fork
		local sum=0 name
		for name in forks_served fallback_off fallback_killswitch \
			fallback_below_min_rss fallback_cmd_filtered \
			fallback_no_device fallback_abi_mismatch \
			fallback_arm_refused fallback_dryrun fallback_early \
			force_failures; do
			sum=$((sum + $(field $name)))
		done
		expect_field forks_seen 1
		[[ $sum == 1 ]] || { echo "mode $mode: outcomes add up to $sum"; false; }
	done
}

@test "the library exports only fork, _Fork, vfork and fastfork_shim_counters" {
	run bash -c "nm -D --defined-only '$SHIM' | awk '{print \$3}' | sort | tr '\n' ' '"
	expect_status 0
	[[ $output == "_Fork fastfork_shim_counters fork vfork " ]] || {
		echo "exports: $output"
		false
	}
}

@test "the library binds all symbols at load time and has a non-executable stack" {
	run readelf -dW "$SHIM"
	expect_match "$output" "BIND_NOW"
	run readelf -lW "$SHIM"
	expect_match "$output" "GNU_RELRO"
	[[ $(grep GNU_STACK <<<"$output") == *" RW "* ]] || {
		echo "$output"
		false
	}
}
