#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The kernel's own fault injection against armed forks: failslab and
# fail_page_alloc, driven one allocation at a time through
# /proc/thread-self/fail-nth.  For N = 1, 2, ... the Nth allocation the
# kernel makes for ff-hold's parent from just before fork() on fails:
# somewhere in the fork itself (the stock part or the module's detach and
# hand-on) or, once the fork is done, in the parent's resolves when it
# reads every page (one resolve per 2 MiB, no per-page copy-on-write)
# while the child lives.  Each run must end with the fork failed cleanly
# (ENOMEM) or both snapshots intact; the sweep stops at the first N the
# whole run never reaches, so every allocation point of that path has
# failed once.  Then no detached table is live, anonymous and page-table
# memory are back, and the kernel log is clean.
#
# Needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and
# FAULT_INJECTION_DEBUG_FS, which Debian's kernels lack: it runs on the
# debug kernel only (scripts/debug-kernel test), and test/vm/CMakeLists.txt
# does not register it for the stock series.  (kmod/inject.c covers the
# engine's own allocations on the stock kernels.)

load dmesg-helpers
load stats-helpers

FI=/sys/kernel/debug
MAX_NTH=${FF_FAIL_NTH_MAX:-2000}

setup_file() {
	local d
	for d in failslab fail_page_alloc; do
		if [ ! -d $FI/$d ]; then
			echo "$FI/$d missing: this kernel has no fault injection (use scripts/debug-kernel)" >&2
			return 1
		fi
		# Only fail-nth fails anything: no random failures.
		echo 0 >$FI/$d/probability
		echo 0 >$FI/$d/verbose
		echo N >$FI/$d/ignore-gfp-wait
	done
	echo 0 >$FI/fail_page_alloc/min-order
	echo N >$FI/fail_page_alloc/ignore-gfp-highmem
}

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
	[ -c /dev/fastfork ] || insmod "$FF_KO"
	dmesg_mark
}

anon_kib() { awk '$1 == "AnonPages:" { print $2 }' /proc/meminfo; }
page_tables_kib() { awk '$1 == "PageTables:" { print $2 }' /proc/meminfo; }

# sweep ENGINE: ff-hold -n N -r 8 ENGINE 50 0 for N = 1, 2, ... until a run
# leaves its countdown unfinished; every run must exit 0 (both snapshots
# intact) or 3 (fork failed with ENOMEM).  Without restartable sequences:
# the kernel updates a thread's rseq area (in its TLS, copy-on-write after
# any fork) on the way back to user space, and when that copy is the
# allocation made to fail, the stock kernel kills the thread with SIGSEGV
# (seen at N=206/207 of an eager sweep: wp_page_copy() under
# __rseq_handle_notify_resume()), fastfork or not.
sweep() {
	local engine=$1 nth out rc left kept=0 failed=0 nomem0 summary
	nomem0=$(stat_of fallback_table_nomem)
	for nth in $(seq $MAX_NTH); do
		rc=0
		out=$(GLIBC_TUNABLES=glibc.pthread.rseq=0 \
			"$FF_PROGS/ff-hold" -n "$nth" -r 8 "$engine" 50 0 2>&1) || rc=$?
		case $rc in
		0) kept=$((kept + 1)) ;;
		3)
			if [[ $out != *"fork: Cannot allocate memory"* ]]; then
				echo "N=$nth: fork failed, but not with ENOMEM:"
				echo "$out"
				return 1
			fi
			failed=$((failed + 1)) ;;
		*)
			echo "N=$nth: ff-hold exited with status $rc:"
			echo "$out"
			return 1 ;;
		esac
		left=$(echo "$out" | sed -n 's/^fail_nth_left //p')
		if [ -z "$left" ]; then
			echo "N=$nth: ff-hold printed no fail_nth_left:"
			echo "$out"
			return 1
		fi
		[ "$left" -gt 0 ] && break
	done
	summary="$engine: $((nth - 1)) allocation points failed one at a time:"
	summary+=" $kept runs kept both snapshots, $failed forks failed with ENOMEM;"
	summary+=" fallback_table_nomem +$(($(stat_of fallback_table_nomem) - nomem0))"
	echo "$summary"
	echo "# $summary" >&3
	if [ "$left" -eq 0 ]; then
		echo "still reaching allocation $MAX_NTH: raise FF_FAIL_NTH_MAX"
		return 1
	fi
	[ $kept -gt 0 ] && [ $failed -gt 0 ]
}

# sweep_leaves_nothing ENGINE: sweep ENGINE, then no table is live, memory
# is back and the log holds nothing but reports of the injected failures.
sweep_leaves_nothing() {
	local anon0 pt0
	anon0=$(anon_kib) pt0=$(page_tables_kib)
	sweep "$1"
	wait_stat_zero tables_live 10
	echo "AnonPages $anon0 -> $(anon_kib) kB, PageTables $pt0 -> $(page_tables_kib) kB"
	[ $(($(anon_kib) - anon0)) -lt 4096 ]
	[ $(($(page_tables_kib) - pt0)) -lt 256 ]
	dmesg_clean --allow-alloc-failure-reports
}

@test "each allocation of a lazy armed fork and its resolves can fail without losing a page" {
	sweep_leaves_nothing lazy
}

@test "each allocation of an eager armed fork can fail without losing a page" {
	sweep_leaves_nothing eager
}

@test "after the sweeps the module unloads and loads again" {
	wait_stat_zero tables_live 10
	rmmod fastfork
	insmod "$FF_KO"
	[ "$(stat_of tables_live)" = 0 ]
}
