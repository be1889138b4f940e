#!/usr/bin/env bats
# vfork goes through the assembly stub, which must leave nothing on the
# stack that the child (running on the parent's stack) could clobber.

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
}

@test "vfork()+exec keeps the parent's locals intact over 500 rounds" {
	run --separate-stderr shim "$PROGS/vfork_exec" 500
	expect_status 0
	expect_field rounds 500
	expect_field bad 0
}

@test "vfork() goes through the shim's stub" {
	run --separate-stderr shim "$PROGS/vfork_exec" 20
	expect_status 0
	expect_field vforks_seen 20
	expect_field forks_seen 0
}

@test "vfork() is passed through in force mode" {
	run --separate-stderr shim FASTFORK_MODE=force "$PROGS/vfork_exec" 20
	expect_status 0
	expect_field bad 0
	expect_field vforks_seen 20
	expect_field force_failures 0
}

@test "vfork() is logged as passed through with FASTFORK_DEBUG=1" {
	run --separate-stderr shim FASTFORK_DEBUG=1 "$PROGS/vfork_exec" 3
	expect_status 0
	run grep -c "vfork_exec\[[0-9]*\]: vfork: passed through" <<<"$stderr"
	[[ $output == 3 ]] || { echo "$stderr"; false; }
}

@test "the vfork stub starts with endbr64 and ends in a jump to libc's vfork" {
	local start
	start=$(nm -D --defined-only "$SHIM" | awk '$3 == "vfork" {print $1}')
	run objdump -d --start-address=0x$start --stop-address=$((0x$start + 32)) "$SHIM"
	expect_status 0
	expect_match "$output" "endbr64"
	expect_match "$output" "jmp"
	expect_match "$output" "__vfork"
}
