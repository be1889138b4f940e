# SPDX-License-Identifier: GPL-2.0
# Suites whose tests mean nothing without swap in the guest
# (engine-semantics, stress; test/vm/CMakeLists.txt runs them with
# vm-run --swap): require_swap in setup_file.

# require_swap: sets swap_kib to the guest's SwapTotal (KiB); fails, saying
# how to get swap, when there is none.
require_swap() {
	swap_kib=$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)
	if [ "${swap_kib:-0}" -eq 0 ]; then
		echo "no swap in this guest (SwapTotal 0): run the suite with vm-run --swap SIZE, as test/vm/CMakeLists.txt does" >&2
		return 1
	fi
}
