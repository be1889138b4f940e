#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The detached page-table engine's bookkeeping, inside the VM (as root,
# module loaded by /init): counters, RSS, unload, the background resolver,
# eager children and memory returning to its baseline.  The semantics of
# memory across forks are in engine-semantics.bats.

load dmesg-helpers
load stats-helpers

PARAM=/sys/module/fastfork/parameters/max_detached_sec
INJECT=/sys/module/fastfork/parameters/inject_nomem_every

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	dmesg_mark
	echo 3 >/proc/sys/vm/drop_caches
}

teardown() {
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	[ ! -w $PARAM ] || echo 10 >$PARAM
	[ ! -w $INJECT ] || echo 0 >$INJECT
}

anon_kib() { awk '$1 == "AnonPages:" { print $2 }' /proc/meminfo; }
page_tables_kib() { awk '$1 == "PageTables:" { print $2 }' /proc/meminfo; }

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
	wait_stat_zero tables_live
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
	# -p: the child outlives the parent's writes however slow they are,
	# so each of them finds a table the child still holds and copies it.
	run "$FF_PROGS/ff-hold" -p 64 lazy 0 100
	echo "$output"
	[ "$status" -eq 0 ]
	[ $(($(stat_of tables_copied) - copied)) -ge 32 ]
	wait_stat_zero tables_live
	dmesg_clean
}

@test "an eager child has resolved every table before it first runs" {
	eager=$(stat_of tables_resolved_eager)
	run "$FF_PROGS/ff-hold" 64 eager 0
	echo "$output"
	[ "$status" -eq 0 ]
	seen=$(echo "$output" | awk '$1 == "child_eager_seen" { print $2 }')
	[ $((seen - eager)) -ge 32 ]
	wait_stat_zero tables_live
}

@test "the module cannot be unloaded while a process holds detached tables" {
	hold_start 64 lazy 60000
	run rmmod fastfork
	echo "$output"
	[ "$status" -ne 0 ]
	[ -c /dev/fastfork ]
	kill -KILL "$(awk '$1 == "ready" { print $2 }' "$holdlog")" $holder
	wait $holder || true
	wait_stat_zero tables_live
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

@test "the background resolver goes on past a table it cannot resolve" {
	# The child unmaps the upper 32 MiB at once: the parent becomes the
	# last owner of those 16 tables (attach, no allocation) and still
	# shares the lower 16 with the child (a copy allocates a table).
	# With every engine allocation failing, the lower ones stay
	# detached, which must not keep the upper ones (higher addresses,
	# walked later) detached too.
	hold_start -u 32 64 lazy 4000
	background=$(stat_of tables_resolved_background)
	echo 1 >$INJECT
	echo 1 >$PARAM
	for i in $(seq 40); do
		[ $(($(stat_of tables_resolved_background) - background)) -ge 16 ] && break
		sleep 0.1
	done
	resolved=$(($(stat_of tables_resolved_background) - background))
	echo 0 >$INJECT
	echo "resolved in the background while allocations failed: $resolved"
	[ $resolved -ge 16 ]
	wait $holder
	cat "$holdlog"
	grep -qx 'child_check 0' "$holdlog"
	grep -qx 'parent_check 0' "$holdlog"
	wait_stat_zero tables_live
	dmesg_clean
}

@test "anonymous and page-table memory return to their baseline after armed forks" {
	anon0=$(anon_kib) pt0=$(page_tables_kib)
	for engine in lazy eager lazy; do
		"$FF_PROGS/ff-hold" 256 $engine 200 0
		"$FF_PROGS/ff-hold" 256 $engine 0
	done
	wait_stat_zero tables_live
	sleep 1
	echo "AnonPages $anon0 -> $(anon_kib) kB, PageTables $pt0 -> $(page_tables_kib) kB"
	[ $(($(anon_kib) - anon0)) -lt 4096 ]
	[ $(($(page_tables_kib) - pt0)) -lt 256 ]
	dmesg_clean
}

@test "kernel slab objects return to their baseline after armed forks" {
	# Counts the kmalloc caches: every mm holding detached tables has an
	# index there (kmalloc-cg), every armed thread an arm record.  12
	# armed forks of 256 MiB detach 1536 tables.  The tables' nodes come
	# from the module's own cache, which keeps up to 8192 freed ones for
	# the next fork: a leaked node shows in tables_live, and when the
	# module's unload destroys that cache, not here.  Shrinking a cache
	# also empties its KASAN quarantine (debug kernels keep freed
	# objects there, counted as in use).
	kmalloc_objs() {
		local f
		for f in /sys/kernel/slab/kmalloc-*/shrink; do echo 1 >"$f"; done
		awk '$1 ~ /^kmalloc-/ { n += $2 } END { print n }' /proc/slabinfo
	}
	"$FF_PROGS/ff-hold" 256 lazy 0 >/dev/null
	wait_stat_zero tables_live
	echo 3 >/proc/sys/vm/drop_caches
	objs0=$(kmalloc_objs)
	for i in 1 2 3 4; do
		"$FF_PROGS/ff-hold" 256 lazy 0 >/dev/null
		"$FF_PROGS/ff-hold" 256 eager 0 >/dev/null
		"$FF_PROGS/ff-hold" 256 lazy 100 0 >/dev/null
	done
	wait_stat_zero tables_live
	# Objects the kernel frees late (RCU callbacks, deferred work) settle
	# within seconds; a leak of 384 objects, one per four tables, never
	# does.
	for i in $(seq 10); do
		echo 3 >/proc/sys/vm/drop_caches
		sleep 1
		objs1=$(kmalloc_objs)
		[ $((objs1 - objs0)) -lt 384 ] && break
	done
	echo "kmalloc objects in use: $objs0 -> $objs1 after ${i} s (12 armed forks, 1536 tables detached)"
	[ $((objs1 - objs0)) -lt 384 ]
	dmesg_clean
}

@test "allocation failures injected into the engine fail forks cleanly or keep both snapshots" {
	# 1 in 8 engine allocations that may fail does, at random: detaches
	# fall back to the stock copy, hand-ons fail the fork, resolves in the
	# parent's write faults fail and the faults are retried.  A 64 MiB
	# fork makes three such allocations in the parent (its ff_mm, one
	# batch of nodes, one chunk of its index: a fallback with p ~ 0.33)
	# and two in the child (the same minus the nodes: the fork fails with
	# p ~ 0.23).  In 20 forks, no fallback has p ~ 3e-4, no survivor less.
	nomem0=$(stat_of fallback_table_nomem)
	anon0=$(anon_kib) pt0=$(page_tables_kib)
	echo 8 >$INJECT
	kept=0 enomem=0
	for i in $(seq 10); do
		for engine in lazy eager; do
			run "$FF_PROGS/ff-hold" 64 $engine 100 0
			if [ "$status" = 3 ]; then
				[[ $output == *"fork: Cannot allocate memory"* ]] || { echo "$output"; false; }
				enomem=$((enomem + 1))
			else
				[ "$status" = 0 ] || { echo "$output"; false; }
				kept=$((kept + 1))
			fi
		done
	done
	echo 0 >$INJECT
	wait_stat_zero tables_live
	sleep 1
	echo "forks that kept both snapshots $kept, fork failed with ENOMEM $enomem," \
		"fallback_table_nomem +$(($(stat_of fallback_table_nomem) - nomem0));" \
		"AnonPages $anon0 -> $(anon_kib) kB, PageTables $pt0 -> $(page_tables_kib) kB;" \
		"faults retried after a failed resolve: $(dmesg | grep -c 'VM_FAULT_OOM leaked') (dmesg, ratelimited)"
	[ $kept -gt 0 ]
	[ $(($(stat_of fallback_table_nomem) - nomem0)) -gt 0 ]
	[ $(($(anon_kib) - anon0)) -lt 4096 ]
	[ $(($(page_tables_kib) - pt0)) -lt 256 ]
	dmesg_clean
}
