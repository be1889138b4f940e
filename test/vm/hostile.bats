#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Hostile input and abuse of fastfork.ko: the ioctl fuzzer (ff-fuzz), arm
# storms, SIGKILL storms, unload/reload under load, unprivileged users and
# cross-thread/cross-process isolation (ff-storm).  Runs in the VM as root
# with the module loaded; every test is bounded well under a minute under
# TCG.  vm-run also fails the run on BUG/WARNING/Oops in the guest dmesg
# and on a failed final rmmod.

load dmesg-helpers
load stats-helpers
load memcg-helpers

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	dmesg_mark
}

teardown() {
	# Leave the module loaded with its default mode for the next test
	# and for vm-run's final rmmod.
	if [ ! -c /dev/fastfork ]; then
		insmod "$FF_KO"
	elif [ "$(stat -c %a /dev/fastfork)" != 600 ]; then
		rmmod fastfork && insmod "$FF_KO"
	fi
}

as_user() {
	setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"
}

# arms = forks_served + cleared_exec + cleared_exit + cleared_failed_clone
#        + armed_threads (holds while no thread re-armed an armed arm)
stats_identity() {
	local arms sum
	arms=$(cat $STATS/arms)
	sum=$(($(cat $STATS/forks_served) + $(cat $STATS/arms_cleared_exec) +
		$(cat $STATS/arms_cleared_exit) +
		$(cat $STATS/arms_cleared_failed_clone) +
		$(cat $STATS/armed_threads)))
	echo "arms $arms, served+cleared+armed $sum"
	[ "$arms" = "$sum" ]
}

@test "the ioctl fuzzer as root gets only documented results and leaves no thread armed" {
	run "$FF_PROGS/ff-fuzz" -t 4 -d 4 -n 200000
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q 'ff-fuzz: PASS'
	wait_stat_zero armed_threads
	dmesg_clean
}

@test "the fuzzer is reproducible from the seed it prints" {
	run "$FF_PROGS/ff-fuzz" -s 0x5eed -t 1 -d 20 -n 2000
	echo "$output"
	[ "$status" -eq 0 ]
	first=$(echo "$output" | grep 'calls')
	run "$FF_PROGS/ff-fuzz" -s 0x5eed -t 1 -d 20 -n 2000
	[ "$status" -eq 0 ]
	second=$(echo "$output" | grep 'calls')
	echo "$first"
	echo "$second"
	[ "$first" = "$second" ]
}

@test "an unprivileged user cannot open the device in any mode" {
	run as_user "$FF_PROGS/ff-fuzz" denied
	echo "$output"
	[ "$status" -eq 0 ]
	run setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$FF_PROGS/ff-fuzz" denied
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "an unprivileged user reads the world-readable stats but can write nothing of the module" {
	[ "$(stat -c %a:%u /dev/fastfork)" = 600:0 ]
	for f in $STATS/* /sys/class/misc/fastfork/abi_version; do
		run as_user cat "$f"
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^[0-9]+$ ]]
		run as_user sh -c "echo 0 > $f"
		[ "$status" -ne 0 ]
	done
	run as_user bash -c 'shopt -s globstar nullglob
		for f in /sys/devices/virtual/misc/fastfork/** \
			/sys/module/fastfork/** /dev/fastfork; do
			[ -w "$f" ] && echo "$f"
		done; true'
	echo "writable by uid 1000: $output"
	[ -z "$output" ]
	run as_user cat /dev/fastfork
	[ "$status" -ne 0 ]
}

@test "an arm storm of threads that re-arm, fork, exec and exit armed keeps every counter exact" {
	run "$FF_PROGS/ff-storm" arm 5 16
	echo "$output"
	[ "$status" -eq 0 ]
	wait_stat_zero armed_threads
	dmesg_clean
}

@test "SIGKILL of armed fork loops and of their children leaves no thread armed and the counters balanced" {
	run "$FF_PROGS/ff-storm" kill 6
	echo "$output"
	[ "$status" -eq 0 ]
	wait_stat_zero armed_threads
	dmesg_clean
}

# hold_child LOG: waits (at most 10 s) for ff-hold's "ready <child pid>"
# line in LOG and prints the child's pid (nothing if it never came).
hold_child() {
	local i
	for i in $(seq 200); do
		grep -q '^ready' "$1" && break
		sleep 0.05
	done
	awk '$1 == "ready" { print $2 }' "$1"
}

# kill_mid_resolve DELAY_S ARGS...: runs ff-hold ARGS in the background,
# SIGKILLs the process named by the test (victim=parent|child) DELAY_S
# seconds after the child runs, and waits for the survivor's check.
# Counts in killed_early the runs whose victim died before printing its
# own check.  (A child that only reads its memory resolves it faster
# than the test can aim a signal: the child victim writes, ff-hold -c.)
kill_mid_resolve() {
	local delay=$1 log=$BATS_TEST_TMPDIR/hold.log i child
	shift
	"$FF_PROGS/ff-hold" "$@" >"$log" 2>&1 &
	local holder=$!
	child=$(hold_child "$log")
	[ -n "$child" ] || { cat "$log"; return 1; }
	sleep "$delay"
	# (the victim may have finished already: then nothing is killed)
	if [ "$victim" = parent ]; then
		kill -KILL $holder 2>/dev/null || true
	else
		kill -KILL "$child" 2>/dev/null || true
	fi
	wait $holder || true
	for i in $(seq 200); do
		grep -q "^${survivor}_check" "$log" && break
		sleep 0.05
	done
	cat "$log"
	grep -q "^${victim}_check" "$log" || killed_early=$((killed_early + 1))
	grep -q "^${survivor}_check 0$" "$log"
}

@test "SIGKILL of a parent while it resolves and writes its memory leaves the child's snapshot intact" {
	# The parent writes all 256 MiB at once (a copy per table, then a
	# COW fault per page); the child checks its pre-fork contents later.
	victim=parent survivor=child killed_early=0
	for delay in 0.05 0.2 0.5; do
		kill_mid_resolve $delay 256 lazy 2500 0
	done
	[ "$killed_early" -ge 1 ]
	wait_stat_zero tables_live
	dmesg_clean
}

@test "SIGKILL of a child while it resolves and writes its memory leaves the parent's memory intact" {
	# The child writes all 256 MiB at once (a copy per table, then a
	# COW fault per page) while the parent reads and checks its own; the
	# parent checks again after the child died.  At least one kill must
	# land before the child finished writing and checking.
	victim=child survivor=parent killed_early=0
	for delay in 0.05 0.2 0.5; do
		kill_mid_resolve $delay -c -r 256 lazy 0 0
	done
	[ "$killed_early" -ge 1 ]
	wait_stat_zero tables_live
	dmesg_clean
}

@test "the OOM killer killing a parent while it resolves leaves the child's snapshot intact" {
	# A lazy fork of 256 MiB in a memory cgroup that allows 64 MiB more.
	# One second after the fork the parent writes every page (a table
	# copy per 2 MiB, then a copy-on-write page each), runs into the limit
	# and is killed by the cgroup's OOM killer while it resolves: it is
	# the only process there the killer may pick (the child is made
	# unkillable).  The child (-p) waits until the parent died or wrote
	# everything, then checks its pre-fork contents.  (With a fixed 6 s
	# child, a debug kernel on a busy host let the child exit before the
	# parent reached the limit: no OOM kill, parent status 0.)
	local cg log=$BATS_TEST_TMPDIR/hold.log rc=0 i child
	cg=$(memcg_create ff-oom 320M)
	(
		echo "$BASHPID" >$cg/cgroup.procs
		exec "$FF_PROGS/ff-hold" -p 256 lazy 0 1000
	) >"$log" 2>&1 &
	local holder=$!
	child=$(hold_child "$log")
	[ -n "$child" ] && echo -1000 >/proc/"$child"/oom_score_adj
	wait $holder || rc=$?
	for i in $(seq 300); do
		[ -z "$(cat $cg/cgroup.procs)" ] && break
		sleep 0.05
	done
	cat "$log"
	grep oom_kill $cg/memory.events
	local oom_kills
	oom_kills=$(awk '$1 == "oom_kill" { print $2 }' $cg/memory.events)
	rmdir $cg
	[ -n "$child" ]
	echo "ff-hold parent: status $rc"
	[ "$rc" -eq 137 ]
	[ "$oom_kills" -ge 1 ]
	grep -q '^child_check 0$' "$log"
	wait_stat_zero tables_live
	dmesg_clean --allow-alloc-failure-reports
}

@test "an arm is consumed only by its own thread's fork, never by another thread's or process's" {
	run "$FF_PROGS/ff-storm" isolate
	echo "$output"
	[ "$status" -eq 0 ]
	wait_stat_zero armed_threads
}

@test "the module unloads and reloads under armed fork storms without oops, leak or unbalanced counters" {
	"$FF_PROGS/ff-storm" churn 14 8 &
	churner=$!
	"$FF_PROGS/ff-storm" churn 14 2 &
	churner2=$!
	cycles=0 busy=0
	# Reload for the first 9 s; the churn goes on 5 s on the last load.
	start=$SECONDS
	while [ $((SECONDS - start)) -lt 9 ]; do
		sleep 0.2
		# EBUSY while a churn thread holds the device open is fine.
		if rmmod fastfork 2>/dev/null; then
			[ ! -e /dev/fastfork ]
			insmod "$FF_KO"
			cycles=$((cycles + 1))
		else
			busy=$((busy + 1))
		fi
	done
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	wait $churner
	wait $churner2
	echo "$cycles unload/reload cycles, $busy busy"
	[ "$cycles" -gt 0 ]
	# A reload takes seconds under TCG (every hook's removal waits for
	# tasks RCU), so the churn may be over: arm once more on this load.
	"$FF_PROGS/ff-arm" fork
	wait_stat_zero armed_threads
	# Churn threads never re-arm an armed arm: exact on the last load.
	stats_identity
	[ "$(cat $STATS/arms)" -gt 0 ]
	dmesg_clean
}

@test "the fuzzer as an unprivileged user on a world-openable device gets only documented results" {
	rmmod fastfork
	insmod "$FF_KO" mode=0666
	run as_user "$FF_PROGS/ff-fuzz" -t 4 -d 3 -n 100000
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q 'uid 1000'
	wait_stat_zero armed_threads
	dmesg_clean
}
