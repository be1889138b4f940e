#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The VM suites' filter of expected kernel reports
# (test/vm/alloc-failure-reports.bash): it may remove a complete report
# of a failed allocation or of an OOM kill, and nothing else, since what
# it removes is hidden from the dmesg oracles.

setup() {
	source "$FF_SRC/test/vm/alloc-failure-reports.bash"
}

strip() {
	printf '%s\n' "$@" | strip_alloc_failure_reports
}

@test "a complete page allocation failure report is removed" {
	run strip 'before' \
		'ff-hold: page allocation failure: order:0, mode:0xcc0(GFP_KERNEL), nodemask=(null)' \
		'Call Trace:' ' <TASK>' ' </TASK>' 'Mem-Info:' '1024 pages reserved' \
		'after'
	[ "$output" = $'before\nafter' ]
}

@test "a complete OOM kill report is removed up to its constraint line, the kill line stays" {
	run strip 'before' \
		'ff-hold invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0' \
		'Call Trace:' \
		'[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name' \
		'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),task=ff-hold,pid=99,uid=0' \
		'Memory cgroup out of memory: Killed process 99 (ff-hold)' \
		'after'
	[ "$output" = $'before\nMemory cgroup out of memory: Killed process 99 (ff-hold)\nafter' ]
}

@test "a report cut short before its last line passes through whole" {
	run strip 'before' \
		'ff-hold invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0' \
		'Call Trace:' 'BUG: unable to handle page fault'
	[ "${lines[1]}" = 'ff-hold invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0' ]
	[ "${lines[3]}" = 'BUG: unable to handle page fault' ]
}

@test "kernel errors outside a report are kept" {
	run strip 'WARNING: CPU: 0 PID: 1 at mm/memory.c:1 x' 'Call Trace:'
	[ "$output" = $'WARNING: CPU: 0 PID: 1 at mm/memory.c:1 x\nCall Trace:' ]
}
