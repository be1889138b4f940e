# SPDX-License-Identifier: GPL-2.0
# Reading the module's statistics (/sys/class/misc/fastfork/stats) from
# the guest suites.

STATS=/sys/class/misc/fastfork/stats

stat_of() {
	cat "$STATS/$1"
}

# wait_stat_zero NAME [SECONDS]: wait up to SECONDS (default 5) for the
# gauge NAME (armed_threads, tables_live) to fall to 0, as it must once
# the processes that held arms or detached tables have exited; says where
# it got stuck.
wait_stat_zero() {
	local i
	for i in $(seq $((${2:-5} * 20))); do
		[ "$(stat_of "$1")" = 0 ] && return 0
		sleep 0.05
	done
	echo "$1 stuck at $(stat_of "$1")"
	return 1
}
