# SPDX-License-Identifier: GPL-2.0
# The kernel log as a test oracle, for VM suites: dmesg_mark in setup(),
# dmesg_clean at the end of a test.

dmesg_mark() {
	dmesg_start=$(dmesg | wc -l)
}

# The kernel log since dmesg_mark must be free of oopses, warnings, leaks
# and the engine's own error lines.
dmesg_clean() {
	local new
	new=$(dmesg | tail -n +$((dmesg_start + 1)))
	echo "$new"
	! echo "$new" | grep -Eq 'BUG|WARNING|Oops|Call Trace|general protection|leaking|unaccounted|already mapped|Bad rss|bad pmd|Bad page state|pgtables_bytes'
}
