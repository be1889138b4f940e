#!/usr/bin/env bats
# Guest suite (scripts/vm-run): loading and unloading fastfork.ko.
# Runs as root; /init has insmod'ed $FF_KO before bats starts.

bats_require_minimum_version 1.5.0

SYSFS=/sys/class/misc/fastfork
STATS_FIELDS="arms forks_served arms_cleared_exec arms_cleared_exit arms_cleared_failed_clone armed_threads"
KERNEL_ERRORS='(^|[^A-Za-z_])BUG([^A-Za-z_]|$)|WARNING:|Oops|bad pmd|Bad rss-counter|Bad page state|non-zero pgtables_bytes|general protection|Call Trace'

loaded() { grep -q '^fastfork ' /proc/modules; }

# Every test starts (and leaves the guest) with the module loaded.
setup() {
	[ -n "$FF_KO" ] && [ -f "$FF_KO" ] || {
		echo "FF_KO ($FF_KO) missing: run under scripts/vm-run" >&2
		return 1
	}
	loaded || insmod "$FF_KO"
}

teardown() {
	exec 7<&- 2>/dev/null || true
	loaded || insmod "$FF_KO"
}

dmesg_lines() { dmesg | wc -l; }

# Kernel errors logged after line $1 of dmesg.
dmesg_errors_since() { dmesg | tail -n +"$(($1 + 1))" | grep -E "$KERNEL_ERRORS" || true; }

@test "the module is listed in /proc/modules as live" {
	run grep '^fastfork ' /proc/modules
	[ "$status" -eq 0 ]
	[[ $output == *" Live "* ]]
}

@test "/dev/fastfork is a character device with mode 0600 owned by root:root" {
	[ -c /dev/fastfork ]
	run stat -c '%a %u:%g' /dev/fastfork
	[ "$output" = "600 0:0" ]
}

@test "the misc device's sysfs abi_version reads 1" {
	run cat "$SYSFS/abi_version"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

@test "every statistics field has its own numeric file under stats/" {
	local f
	for f in $STATS_FIELDS; do
		run cat "$SYSFS/stats/$f"
		[ "$status" -eq 0 ] || { echo "missing $SYSFS/stats/$f"; return 1; }
		[[ $output =~ ^[0-9]+$ ]] || { echo "$f: '$output'"; return 1; }
	done
}

@test "loading the module taints the kernel only as out-of-tree and unsigned" {
	local t
	t=$(cat /proc/sys/kernel/tainted)
	# O (4096) out-of-tree, E (8192) unsigned; anything else (W, D, ...) is not ours to accept
	[ $((t & ~(4096 | 8192))) -eq 0 ] || { echo "tainted=$t"; return 1; }
}

@test "rmmod removes the module, its device and its sysfs directory" {
	rmmod fastfork
	run ! loaded
	[ ! -e /dev/fastfork ]
	[ ! -e "$SYSFS" ]
}

@test "insmod after rmmod brings the device back" {
	rmmod fastfork
	insmod "$FF_KO"
	loaded
	[ -c /dev/fastfork ]
	[ "$(cat "$SYSFS/abi_version")" = 1 ]
}

@test "unloading and loading the module again logs no kernel warning or bug" {
	local mark i
	mark=$(dmesg_lines)
	for i in 1 2 3 4 5; do
		rmmod fastfork
		insmod "$FF_KO"
	done
	run dmesg_errors_since "$mark"
	[ -z "$output" ] || { echo "$output"; return 1; }
}

@test "the statistics start from zero after the module is reloaded" {
	rmmod fastfork
	insmod "$FF_KO"
	local f
	for f in arms forks_served armed_threads; do
		[ "$(cat "$SYSFS/stats/$f")" = 0 ] || { echo "$f=$(cat "$SYSFS/stats/$f")"; return 1; }
	done
}

@test "rmmod refuses while /dev/fastfork is held open" {
	exec 7<>/dev/fastfork
	run rmmod fastfork
	exec 7<&-
	[ "$status" -ne 0 ]
	loaded
}

@test "rmmod succeeds once the last open file of /dev/fastfork is closed" {
	exec 7<>/dev/fastfork
	exec 7<&-
	rmmod fastfork
	run ! loaded
}
