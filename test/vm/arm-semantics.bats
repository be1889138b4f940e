#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Arm semantics of fastfork.ko, checked through its statistics by ff-arm
# (one scenario per test; see test/vm/progs/ff-arm.c).  Runs in the VM as
# root with the module loaded.

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
}

scenario() {
	run "$FF_PROGS/ff-arm" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
	# Every scenario must leave no thread armed behind.
	[ "$(cat /sys/class/misc/fastfork/stats/armed_threads)" = 0 ]
}

@test "an armed fork is served once and consumes the arm" {
	scenario fork
}

@test "an unarmed fork is not served" {
	scenario unarmed
}

@test "vfork does not consume the arm" {
	scenario vfork
}

@test "pthread_create does not consume the arm" {
	scenario thread
}

@test "clone with CLONE_VM does not consume the arm" {
	scenario clone-vm
}

@test "execve clears the arm and counts arms_cleared_exec" {
	scenario exec
}

@test "thread and process exit clear the arm and count arms_cleared_exit" {
	scenario exit
}

@test "only the armed thread's fork consumes its arm" {
	scenario other-thread
}

@test "the child of an armed fork is not armed" {
	scenario child
}

@test "arming twice leaves one arm for one fork" {
	scenario rearm
}

@test "a fork-like clone failing with EINVAL counts arms_cleared_failed_clone" {
	scenario failed-clone
}

@test "a fork failing on RLIMIT_NPROC counts arms_cleared_failed_clone" {
	scenario nproc
}

@test "the sysfs stats match the ioctl after every scenario" {
	"$FF_PROGS/ff-arm" all
	run "$FF_PROGS/ff-stats"
	for f in $(echo "$output" | awk '{ print $1 }'); do
		[ "$(cat /sys/class/misc/fastfork/stats/$f)" = \
		  "$(echo "$output" | awk -v f=$f '$1 == f { print $2 }')" ]
	done
}
