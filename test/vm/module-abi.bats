#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# fastfork.ko: device node, ioctl ABI and sysfs, inside the VM (as root,
# module loaded by /init; FF_PROGS and FF_KO from vm-run).

SYSDEV=/sys/class/misc/fastfork
FIELDS="arms forks_served arms_cleared_exec arms_cleared_exit arms_cleared_failed_clone armed_threads
tables_detached tables_shared tables_copied tables_attached tables_dropped
tables_resolved_eager tables_resolved_background tables_live fallback_vma
fallback_mm fallback_table_entries fallback_table_nomem resolve_conflicts"

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
	[ -e /dev/fastfork ] || {
		echo "/dev/fastfork missing: is the module loaded?" >&2
		return 1
	}
}

# Reload the module with optional parameters; leaves it loaded.
reload() {
	rmmod fastfork
	insmod "$FF_KO" "$@"
}

@test "the device node is a character device with mode 0600 by default" {
	[ -c /dev/fastfork ]
	run stat -c %a /dev/fastfork
	[ "$output" = 600 ]
}

@test "every ioctl returns what the ABI documents, errors included" {
	run "$FF_PROGS/ff-abi"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "an unprivileged user cannot open the device" {
	run "$FF_PROGS/ff-abi" denied
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "sysfs abi_version reads 1" {
	run cat $SYSDEV/abi_version
	[ "$output" = 1 ]
}

@test "sysfs stats has exactly one file per UAPI statistic" {
	run ls $SYSDEV/stats
	echo "$output"
	[ "$(echo $output)" = "$(printf '%s\n' $FIELDS | sort | xargs)" ]
}

@test "sysfs stats equal the STATS ioctl" {
	run "$FF_PROGS/ff-stats"
	[ "$status" -eq 0 ]
	for f in $FIELDS; do
		want=$(echo "$output" | awk -v f=$f '$1 == f { print $2 }')
		got=$(cat $SYSDEV/stats/$f)
		echo "$f: sysfs $got ioctl $want"
		[ "$got" = "$want" ]
	done
}

@test "sysfs counters follow an armed fork" {
	before=$(cat $SYSDEV/stats/forks_served)
	run "$FF_PROGS/ff-arm" fork
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat $SYSDEV/stats/forks_served)" -eq $((before + 1)) ]
	[ "$(cat $SYSDEV/stats/armed_threads)" -eq 0 ]
}

@test "module parameter mode=0660 sets the device node mode" {
	reload mode=0660
	run stat -c %a /dev/fastfork
	reload
	[ "$output" = 660 ]
	[ "$(stat -c %a /dev/fastfork)" = 600 ]
}

@test "an invalid mode parameter refuses to load with one clear message" {
	rmmod fastfork
	run insmod "$FF_KO" mode=01777
	insmod "$FF_KO"
	[ "$status" -ne 0 ]
	dmesg | grep -q "fastfork: invalid mode=01777"
}

@test "the module unloads while a thread is armed and frees its arm" {
	# ff-arm hold arms, closes the device (an open fd would pin the
	# module) and sleeps until killed.
	"$FF_PROGS/ff-arm" hold >"$BATS_TEST_TMPDIR/hold" &
	holder=$!
	for _ in $(seq 50); do
		grep -q armed "$BATS_TEST_TMPDIR/hold" && break
		sleep 0.1
	done
	[ "$(cat $SYSDEV/stats/armed_threads)" = 1 ]
	dmesg -c >/dev/null
	rmmod fastfork
	kill $holder
	wait $holder || true
	insmod "$FF_KO"
	dmesg | grep -q "fastfork: dropped 1 arm"
	[ "$(cat $SYSDEV/stats/armed_threads)" = 0 ]
}

@test "the module unloads and reloads cleanly while threads arm and fork" {
	dmesg -c >/dev/null
	"$FF_PROGS/ff-arm" churn 8 &
	churner=$!
	cycles=0
	for _ in $(seq 10); do
		sleep 0.3
		# EBUSY while a churn thread holds the device open is fine.
		rmmod fastfork 2>/dev/null || continue
		insmod "$FF_KO"
		cycles=$((cycles + 1))
	done
	wait $churner
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	echo "$cycles unload/reload cycles"
	[ "$cycles" -gt 0 ]
	run dmesg
	echo "$output"
	! echo "$output" | grep -Eq 'BUG|WARNING|Oops|Call Trace|leaking'
}

@test "load and unload leave no kernel warning in dmesg" {
	dmesg -c >/dev/null
	reload
	"$FF_PROGS/ff-arm" all
	reload
	run dmesg
	echo "$output"
	! echo "$output" | grep -Eq 'BUG|WARNING|Oops|Call Trace|leaking'
}
