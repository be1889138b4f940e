# SPDX-License-Identifier: GPL-2.0
# strip_alloc_failure_reports: copy a kernel log from stdin to stdout
# without the kernel's reports of failed allocations (warn_alloc(): "COMM:
# page allocation failure: order:N, mode:..." or "COMM: vmalloc error:
# size N, ..., mode:...", a stack dump, then show_mem() up to its "N pages
# reserved" line).  Suites that inject allocation failures
# (fault-injection.bats) expect such reports: each one is a stack dump
# that the dmesg oracles would otherwise take for a kernel error.
# Anything else, or a report cut short before its "pages reserved" line,
# passes through unchanged.  Sourced by the guest's dmesg-helpers.bash
# and by scripts/vm-run (--allow-alloc-failure-reports).

strip_alloc_failure_reports() {
	awk '
		/(page allocation failure: order:[0-9]+|vmalloc error: size [0-9]+), .*mode:0x/ {
			held = $0 "\n"; inside = 1; next
		}
		inside {
			held = held $0 "\n"
			if ($0 ~ /[0-9]+ pages reserved$/) { inside = 0; held = "" }
			next
		}
		{ print }
		END { printf "%s", held }
	'
}
