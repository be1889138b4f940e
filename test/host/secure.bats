#!/usr/bin/env bats
# AT_SECURE: a setuid-root program run by an unprivileged user, with the
# shim in /etc/ld.so.preload (in a private mount namespace over an overlay
# of /etc), must ignore every FASTFORK_* environment variable and never
# open a log path that came from the environment.

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
	# World-searchable mount point for a private tmpfs that holds the
	# shim and the (setuid) program: a tmpfs we mount ourselves is never
	# nosuid, whatever the host does with /tmp.
	SUID_DIR=$(mktemp -d /tmp/fastfork-suid.XXXXXX)
	chmod 0755 "$SUID_DIR"
	# Writable by the unprivileged user, so only AT_SECURE can keep the
	# log from being created.
	LOG_DIR=$(mktemp -d /tmp/fastfork-log.XXXXXX)
	chmod 1777 "$LOG_DIR"
	LOG=$LOG_DIR/env.log
}

teardown() {
	rmdir "$SUID_DIR"
	rm -rf "$LOG_DIR"
}

# run_as_nobody MODE: runs fork_call (MODE setuid or plain) as uid 65534
# with FASTFORK_MODE=force, FASTFORK_DEBUG=1 and FASTFORK_LOG=$LOG in its
# environment, and the shim preloaded through /etc/ld.so.preload.
run_as_nobody() {
	run --separate-stderr in_private_etc /bin/sh -c '
		dir=$1 shim=$2 progs=$3 mode=$4 log=$5
		mount -t tmpfs -o mode=0755 tmpfs "$dir" || exit 125
		cp "$shim" "$progs/fork_call" "$dir/" || exit 125
		chmod 0755 "$dir/fork_call" "$dir/libfastfork.so"
		[ "$mode" = plain ] || chmod 4755 "$dir/fork_call"
		findmnt -no OPTIONS -T "$dir" | grep -qw nosuid && exit 125
		echo "$dir/libfastfork.so" >/etc/ld.so.preload
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env FASTFORK_MODE=force FASTFORK_DEBUG=1 \
			FASTFORK_LOG="$log" "$dir/fork_call" fork
		' sh "$SUID_DIR" "$SHIM" "$PROGS" "$1" "$LOG"
}

@test "without setuid the shim from ld.so.preload honours the environment (control)" {
	run_as_nobody plain
	expect_status 3
	expect_field at_secure 0
	expect_field errno ENODEV
	[[ -s $LOG ]]
}

@test "a setuid-root program ignores FASTFORK_MODE from the environment" {
	run_as_nobody setuid
	expect_status 0
	expect_field at_secure 1
	expect_field result ok
	expect_field shim loaded
	expect_field fallback_no_device 1
	expect_field force_failures 0
}

@test "a setuid-root program never creates a FASTFORK_LOG path from the environment" {
	run_as_nobody setuid
	expect_status 0
	expect_field at_secure 1
	[[ ! -e $LOG ]]
	expect_lines "$stderr" 0
}

@test "a setuid-root program still follows /etc/fastfork.conf" {
	put_etc fastfork.conf "FASTFORK_MODE=force"
	run_as_nobody setuid
	expect_status 3
	expect_field at_secure 1
	expect_field errno ENODEV
	expect_match "$stderr" "fork: force: failing with ENODEV"
	[[ ! -e $LOG ]]
}
