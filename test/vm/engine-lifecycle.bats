#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The detached page-table engine's bookkeeping, inside the VM (as root,
# module loaded by /init): counters, RSS, unload, the background resolver,
# eager children and memory returning to its baseline.  The semantics of
# memory across forks are in engine-semantics.bats.

load dmesg-helpers

STATS=/sys/class/misc/fastfork/stats
PARAM=/sys/module/fastfork/parameters/max_detached_sec

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	dmesg_mark
	echo 3 >/proc/sys/vm/drop_caches
}

teardown() {
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	[ ! -w $PARAM ] || echo 10 >$PARAM
}

stat_of() {
	cat $STATS/$1
}


# Wait until no detached table is left (owners resolve or drop on exit).
tables_live_zero() {
	local i
	for i in $(seq 100); do
		[ "$(stat_of tables_live)" = 0 ] && return 0
		sleep 0.05
	done
	echo "tables_live stuck at $(stat_of tables_live)"
	return 1
}

# Start ff-hold in the background; wait until its child runs.
hold_start() {
	holdlog=$BATS_TEST_TMPDIR/hold.log
	"$FF_PROGS/ff-hold" "$@" >"$holdlog" 2>&1 &
	holder=$!
	local i
	for i in $(seq 200); do
		grep -q '^ready' "$holdlog" && return 0
		sleep 0.05
	done
	cat "$holdlog"
	return 1
}

@test "an armed fork detaches the parent's tables and hands them to the child" {
	detached=$(stat_of tables_detached) shared=$(stat_of tables_shared)
	run "$FF_PROGS/ff-hold" 64 lazy 0
	echo "$output"
	[ "$status" -eq 0 ]
	echo "detached +$(($(stat_of tables_detached) - detached)), shared +$(($(stat_of tables_shared) - shared))"
	[ $(($(stat_of tables_detached) - detached)) -ge 32 ]
	[ $(($(stat_of tables_shared) - shared)) -ge 32 ]
	tables_live_zero
	[ "$(stat_of resolve_conflicts)" = 0 ]
	dmesg_clean
}

@test "a stock fork detaches nothing" {
	detached=$(stat_of tables_detached)
	run "$FF_PROGS/ff-hold" 64 stock 0
	[ "$status" -eq 0 ]
	[ "$(stat_of tables_detached)" = "$detached" ]
}

@test "the parent's VmRSS is the same right after an armed fork" {
	run "$FF_PROGS/ff-hold" 256 lazy 0
	echo "$output"
	[ "$status" -eq 0 ]
	before=$(echo "$output" | awk '$1 == "rss_before" { print $2 }')
	after=$(echo "$output" | awk '$1 == "rss_after" { print $2 }')
	[ "$before" -gt 262144 ]
	[ $((after - before)) -le 256 ] && [ $((before - after)) -le 256 ]
}

@test "a parent writing everything while its lazy child sleeps keeps both snapshots" {
	copied=$(stat_of tables_copied)
	run "$FF_PROGS/ff-hold" 64 lazy 1500 100
	echo "$output"
	[ "$status" -eq 0 ]
	[ $(($(stat_of tables_copied) - copied)) -ge 32 ]
	tables_live_zero
	dmesg_clean
}

@test "an eager child has resolved every table before it first runs" {
	eager=$(stat_of tables_resolved_eager)
	run "$FF_PROGS/ff-hold" 64 eager 0
	echo "$output"
	[ "$status" -eq 0 ]
	seen=$(echo "$output" | awk '$1 == "child_eager_seen" { print $2 }')
	[ $((seen - eager)) -ge 32 ]
	tables_live_zero
}

@test "the module cannot be unloaded while a process holds detached tables" {
	hold_start 64 lazy 60000
	run rmmod fastfork
	echo "$output"
	[ "$status" -ne 0 ]
	[ -c /dev/fastfork ]
	kill -KILL "$(awk '$1 == "ready" { print $2 }' "$holdlog")" $holder
	wait $holder || true
	tables_live_zero
	rmmod fastfork
	insmod "$FF_KO"
	dmesg_clean
}

@test "the background resolver resolves tables detached longer than max_detached_sec" {
	echo 1 >$PARAM
	background=$(stat_of tables_resolved_background)
	hold_start 64 lazy 4000
	# The child sleeps 4 s untouched: within ~2 s both owners resolve.
	for i in $(seq 60); do
		[ "$(stat_of tables_live)" = 0 ] && break
		sleep 0.1
	done
	echo "live $(stat_of tables_live), background +$(($(stat_of tables_resolved_background) - background))"
	[ "$(stat_of tables_live)" = 0 ]
	[ $(($(stat_of tables_resolved_background) - background)) -ge 64 ]
	wait $holder
	dmesg_clean
}

@test "anonymous and page-table memory return to their baseline after armed forks" {
	anon() { awk '$1 == "AnonPages:" { print $2 }' /proc/meminfo; }
	ptables() { awk '$1 == "PageTables:" { print $2 }' /proc/meminfo; }
	anon0=$(anon) pt0=$(ptables)
	for engine in lazy eager lazy; do
		"$FF_PROGS/ff-hold" 256 $engine 200 0
		"$FF_PROGS/ff-hold" 256 $engine 0
	done
	tables_live_zero
	sleep 1
	echo "AnonPages $anon0 -> $(anon) kB, PageTables $pt0 -> $(ptables) kB"
	[ $(($(anon) - anon0)) -lt 4096 ]
	[ $(($(ptables) - pt0)) -lt 256 ]
	dmesg_clean
}
