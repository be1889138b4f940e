# SPDX-License-Identifier: GPL-2.0
# strip_alloc_failure_reports: copy a kernel log from stdin to stdout
# without the kernel's reports of allocations that failed:
#  - warn_alloc(): "COMM: page allocation failure: order:N, mode:..." or
#    "COMM: vmalloc error: size N, ..., mode:...", a stack dump, then
#    show_mem() up to its "N pages reserved" line;
#  - the OOM killer: "COMM invoked oom-killer: gfp_mask=...", a stack
#    dump, the memory state and the task list (whose header names
#    pgtables_bytes), up to its "oom-kill:constraint=..." line.  The
#    "Killed process" line after it stays.
# Suites that make allocations fail (fault-injection.bats, hostile.bats'
# OOM test) expect such reports: each one is a stack dump that the dmesg
# oracles would otherwise take for a kernel error.  Anything else, or a
# report cut short before its last line, passes through unchanged.
# Sourced by the guest's dmesg-helpers.bash and by scripts/vm-run
# (--allow-alloc-failure-reports).

strip_alloc_failure_reports() {
	awk '
		/(page allocation failure: order:[0-9]+|vmalloc error: size [0-9]+), .*mode:0x/ {
			held = $0 "\n"; last = "[0-9]+ pages reserved$"; next
		}
		/ invoked oom-killer: gfp_mask=0x/ {
			held = $0 "\n"; last = "oom-kill:constraint="; next
		}
		last != "" {
			held = held $0 "\n"
			if ($0 ~ last) { last = ""; held = "" }
			next
		}
		{ print }
		END { printf "%s", held }
	'
}
