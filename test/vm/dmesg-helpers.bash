# SPDX-License-Identifier: GPL-2.0
# The kernel log as a test oracle, for VM suites: dmesg_mark in setup(),
# dmesg_clean at the end of a test.

source "$(dirname "${BASH_SOURCE[0]}")/alloc-failure-reports.bash"

dmesg_mark() {
	dmesg_start=$(dmesg | wc -l)
}

# dmesg_clean [--allow-alloc-failure-reports]: the kernel log since
# dmesg_mark must be free of oopses, warnings, leaks and the engine's own
# error lines; with the option, the kernel's reports of failed
# allocations are left out first (alloc-failure-reports.bash), for tests
# that inject such failures.
dmesg_clean() {
	local new
	new=$(dmesg | tail -n +$((dmesg_start + 1)))
	echo "$new"
	[ "${1:-}" != --allow-alloc-failure-reports ] ||
		new=$(echo "$new" | strip_alloc_failure_reports)
	! echo "$new" | grep -Eq 'BUG|WARNING|Oops|Call Trace|general protection|leaking|unaccounted|already mapped|Bad rss|bad pmd|Bad page state|pgtables_bytes'
}
