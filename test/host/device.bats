#!/usr/bin/env bats
# Talking to the module, with libfake_fastfork.so standing in for it (the
# host has no fastfork module): it answers the fastfork ioctls on
# /dev/null, so the shim is run with FASTFORK_DEVICE=/dev/null.

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
	FAKE=$PROGS/libfake_fastfork.so
}

# with_module MODULE [VAR=value...] CMD...: CMD under the shim, with the
# fake module of kind MODULE (ok, abi2, nofeat, refuse) behind /dev/null.
with_module() {
	local module=$1
	shift
	run --separate-stderr in_private_etc env LD_PRELOAD="$SHIM $FAKE" \
		FAKE_FASTFORK_MODULE="$module" FASTFORK_DEVICE=/dev/null "$@"
}

# expect_arms N: stderr shows exactly N arms.
expect_arms() {
	local n
	n=$(grep -c "^fake-fastfork: armed" <<<"$stderr" || true)
	((n == $1)) || {
		echo "expected $1 arm(s), got $n; stderr: $stderr"
		false
	}
}

@test "a fork the module accepts is armed once, with the lazy engine by default" {
	with_module ok "$PROGS/fork_call" fork
	expect_status 0
	expect_field forks_served 1
	expect_arms 1
	expect_match "$stderr" "fake-fastfork: armed engine=0"
}

@test "FASTFORK_ENGINE=eager arms with the eager engine" {
	with_module ok FASTFORK_ENGINE=eager "$PROGS/fork_call" _Fork
	expect_status 0
	expect_field forks_served 1
	expect_match "$stderr" "fake-fastfork: armed engine=1"
}

@test "the fork inside daemon() is armed once by the atfork handler" {
	with_module ok "$PROGS/fork_call" daemon
	expect_status 0
	expect_field daemon child
	expect_arms 1
}

@test "the fork inside forkpty() is armed once by the atfork handler" {
	with_module ok "$PROGS/fork_call" forkpty
	expect_status 0
	expect_field forks_served 1
	expect_arms 1
}

@test "errno survives a served fork in parent and child" {
	with_module ok "$PROGS/fork_call" fork
	expect_status 0
	expect_field errno_parent preserved
	expect_field errno_child preserved
}

@test "FASTFORK_DEBUG=1 logs each armed fork" {
	with_module ok FASTFORK_DEBUG=1 "$PROGS/fork_call" fork
	expect_status 0
	expect_match "$stderr" "fork_call["
	expect_match "$stderr" "]: fork: armed engine=lazy"
	expect_match "$stderr" " forks_served=1 "
}

@test "dryrun with the module present says it would arm, and does not" {
	with_module ok FASTFORK_MODE=dryrun "$PROGS/fork_call" fork
	expect_status 0
	expect_field fallback_dryrun 1
	expect_field forks_served 0
	expect_arms 0
	expect_match "$stderr" "fork: dryrun: ordinary fork; would arm engine=lazy"
}

@test "off mode never arms, even with the module present" {
	with_module ok FASTFORK_MODE=off "$PROGS/fork_call" fork
	expect_status 0
	expect_field fallback_off 1
	expect_arms 0
}

@test "a module with another ABI version is not used" {
	with_module abi2 "$PROGS/fork_call" fork
	expect_status 0
	expect_field fallback_abi_mismatch 1
	expect_arms 0
	expect_lines "$stderr" 0
}

@test "force mode fails a fork on an ABI mismatch and names it" {
	with_module abi2 FASTFORK_MODE=force "$PROGS/fork_call" fork
	expect_status 3
	expect_field errno ENODEV
	expect_match "$stderr" "force: failing with ENODEV (abi_mismatch: module ABI 2 features 0x1, shim needs ABI 1 with FASTFORK_FEAT_ARM)"
}

@test "a module without FASTFORK_FEAT_ARM is not used" {
	with_module nofeat FASTFORK_DEBUG=1 "$PROGS/fork_call" fork
	expect_status 0
	expect_field fallback_abi_mismatch 1
	expect_match "$stderr" "abi_mismatch: module ABI 1 features 0x0"
}

@test "a refused arm falls back to an ordinary fork" {
	with_module refuse "$PROGS/fork_call" fork
	expect_status 0
	expect_field fallback_arm_refused 1
	expect_field errno_parent preserved
	expect_lines "$stderr" 0
}

@test "force mode fails a fork whose arm is refused and names the error" {
	with_module refuse FASTFORK_MODE=force "$PROGS/fork_call" fork
	expect_status 3
	expect_field errno ENODEV
	expect_match "$stderr" "force: failing with ENODEV (arm_refused: FASTFORK_IOC_ARM: EPERM)"
}

@test "every fork of a multi-threaded stdio program is armed and no child hangs" {
	run --separate-stderr timeout 120 env LD_PRELOAD="$SHIM $FAKE" \
		FAKE_FASTFORK_MODULE=ok FASTFORK_DEVICE=/dev/null \
		"$PROGS/stdio_threads_fork" 4 200
	expect_status 0
	[[ $output == "forks=200 hung=0 failed=0" ]] || { echo "$output"; false; }
	expect_arms 200
}
