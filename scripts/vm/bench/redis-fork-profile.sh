#!/bin/bash
# Guest side of scripts/profile-redis-fork (runs in the VM as root, from
# /payload):
#   bash /payload/redis-fork-profile.sh SIZE_MIB BGSAVES VALUE_SIZE
# Where the time of a Redis fork goes.  THP is set to "never".  For stock and
# lazy (redis-server.bash's start_server), one redis-server is populated with
# DEBUG POPULATE to about SIZE_MIB MiB of used_memory, with no client load,
# and makes BGSAVES BGSAVEs, one after the other (each waits for the last to
# finish).  The first is not traced: its latest_fork_usec is the untraced
# reference.  The others run under the function_graph tracer, limited to the
# server's pid and to the fork path's functions (FUNCS below, those the
# kernel offers for tracing), with the server's sched_switch events, so
# that each BGSAVE prints
#   - latest_fork_usec (Redis's own measure: fork() called to fork()
#     returned in the parent),
#   - per traced function: calls, total and largest duration in
#     microseconds (a function's duration includes the functions it calls,
#     and the time the task spent switched out inside it),
#   - how often the server was switched out inside kernel_clone,
#   - from kernel_clone's return to the server's next write(): how long,
#     the faults in it (and the detached tables they took back), and the
#     server's switches out (summary() below),
#   - what the module's counters moved by.
# Tracing slows every traced call down, so traced durations are larger than
# untraced ones; compare stock and lazy, and the parts of one fork.
# Exits non-zero when the server cannot be started or a BGSAVE fails.
set -uo pipefail

size_mib=${1:?size} bgsaves=${2:?bgsaves} value_size=${3:?value size}
shim=${FF_SHIM:-/opt/fastfork/lib/libfastfork.so}
served_file=/sys/class/misc/fastfork/stats/forks_served
thp=/sys/kernel/mm/transparent_hugepage/enabled
tracing=/sys/kernel/tracing
PORT=6400
# the fork path, outermost first; ff_engine_fork_* are the module's fork
# hooks; __x64_sys_ioctl is the shim's arm request before a fastfork fork;
# __handle_mm_fault (a fault) and ff_resolve_range (the module taking a
# detached table back on a first touch) after it; ksys_write marks the
# server's first write() after the fork
FUNCS=(__x64_sys_ioctl kernel_clone copy_process dup_mm dup_mmap vm_area_dup
	anon_vma_fork copy_page_range ff_engine_fork_begin ff_engine_fork_end
	wake_up_new_task __handle_mm_fault ff_resolve_range ksys_write)

fail=0
start=$SECONDS
say() { echo "redis-fork-profile: [$((SECONDS - start))s] $*"; }
bad() { echo "redis-fork-profile: FAILED: $*" >&2; fail=1; }
# shellcheck source=scripts/vm/bench/redis-server.bash
. "$(dirname "${BASH_SOURCE[0]}")/redis-server.bash"

[[ -r $served_file ]] || { echo "redis-fork-profile: $served_file missing (module not loaded?)" >&2; exit 1; }
echo never >"$thp" || { echo "redis-fork-profile: cannot set $thp" >&2; exit 1; }
[[ -e $tracing/trace ]] || mount -t tracefs nodev "$tracing" ||
	{ echo "redis-fork-profile: no tracefs at $tracing" >&2; exit 1; }
grep -qw function_graph "$tracing/available_tracers" ||
	{ echo "redis-fork-profile: this kernel has no function_graph tracer" >&2; exit 1; }
say "$(uname -r), $(nproc) CPUs, MemTotal $(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo) MiB, THP enabled: $(cat $thp)"

traced=()
for f in "${FUNCS[@]}"; do
	awk -v f="$f" '$1 == f { found = 1 } END { exit !found }' "$tracing/available_filter_functions" &&
		traced+=("$f")
done
say "traced functions: ${traced[*]} (of ${FUNCS[*]})"

# trace_on PID: function_graph on the fork path of PID, with its sched_switch
trace_on() {
	echo 0 >"$tracing/tracing_on"
	echo nop >"$tracing/current_tracer"
	printf '%s\n' "${traced[@]}" >"$tracing/set_ftrace_filter"
	echo "$1" >"$tracing/set_ftrace_pid"
	echo "$1" >"$tracing/set_event_pid"
	echo 1 >"$tracing/options/funcgraph-tail"
	echo 1 >"$tracing/options/funcgraph-abstime"
	echo 1 >"$tracing/options/sleep-time"
	echo 16384 >"$tracing/buffer_size_kb"
	echo function_graph >"$tracing/current_tracer"
	echo 1 >"$tracing/events/sched/sched_switch/enable"
	echo >"$tracing/trace"
	echo 1 >"$tracing/tracing_on"
}
# trace_off: stops tracing, keeps the buffer for summary
trace_off() {
	echo 0 >"$tracing/tracing_on"
	echo 0 >"$tracing/events/sched/sched_switch/enable"
}
# trace_reset: back to no tracer (which empties the buffer)
trace_reset() {
	echo nop >"$tracing/current_tracer"
	echo >"$tracing/set_ftrace_filter"
	echo >"$tracing/set_ftrace_pid"
	echo >"$tracing/set_event_pid"
}

# summary TRACE PID: per function calls, total and largest microseconds;
# the task's switches out inside kernel_clone; and what happened from
# kernel_clone's return to the task's next write() (Redis logs "Background
# saving started" right after fork() returns in the parent): its length,
# the faults in it, and the task's switches out
summary() {
	awk -v pid="$2" '
		function dur() {
			if (!match($0, /[0-9]+\.[0-9]+ us/)) return -1
			return substr($0, RSTART, RLENGTH - 3) + 0
		}
		$1 ~ /^[0-9]+\.[0-9]+$/ { ts = $1 + 0 }
		/kernel_clone\(\) \{/ { inclone = 1 }
		/sched_switch:/ && $0 ~ ("prev_pid=" pid " ") {
			if (inclone) switches++
			else if (after) after_switches++
		}
		after && /ksys_write\(\)( \{|;)/ { gap = (ts - t_end) * 1e6; after = 0; done = 1 }
		{
			# "} /* NAME */" closes a call; "NAME();" is a call with no traced
			# callee; a module function may carry " [module]"
			name = ""
			if (match($0, /\/\* [a-z_0-9.]+( \[[a-z_0-9]+\])? \*\//)) name = substr($0, RSTART + 3, RLENGTH - 6)
			else if (match($0, /[a-z_0-9.]+( \[[a-z_0-9]+\])?\(\);/)) name = substr($0, RSTART, RLENGTH - 3)
			sub(/ \[.*$/, "", name)
			if (name == "" || (d = dur()) < 0) next
			n[name]++; t[name] += d
			if (d > mx[name]) mx[name] = d
			if (!(name in seen)) { seen[name] = 1; order[++k] = name }
			if (after) { an[name]++; at[name] += d }
			if (name == "kernel_clone" && !done) { inclone = 0; after = 1; t_end = ts }
		}
		END {
			for (i = 1; i <= k; i++)
				printf "    %-22s calls %5d  total %10.1f us  largest %10.1f us\n", order[i], n[order[i]], t[order[i]], mx[order[i]]
			printf "    switched out inside kernel_clone: %d times\n", switches
			if (done)
				printf "    kernel_clone return to next write(): %.1f us; in it __handle_mm_fault %d (%.1f us), ff_resolve_range %d (%.1f us); switched out %d times\n",
					gap, an["__handle_mm_fault"], at["__handle_mm_fault"], an["ff_resolve_range"], at["ff_resolve_range"], after_switches
			else
				printf "    kernel_clone return to next write(): no write() traced\n"
		}' "$1"
}

keys=$(keys_for "$size_mib" "$value_size")
for config in stock lazy; do
	dir=/tmp/redis-fork-profile-$config
	start_server "$config" "$dir" || { bad "$config: redis-server did not start"; continue; }
	cli debug populate "$keys" key "$value_size" >/dev/null
	say "$config: $(cli dbsize) keys of $value_size bytes: used_memory $(($(field memory used_memory) / 1048576)) MiB," \
		"rss $(($(field memory used_memory_rss) / 1048576)) MiB, $(wc -l <"/proc/$server_pid/maps") VMAs"
	for ((b = 1; b <= bgsaves; b++)); do
		before=$(counters)
		((b > 1)) && trace_on "$server_pid"
		[[ $(cli bgsave) == "Background saving started" ]] || bad "$config: BGSAVE $b refused"
		wait_saved || bad "$config: BGSAVE $b did not finish"
		((b > 1)) && trace_off
		[[ $(field persistence rdb_last_bgsave_status) == ok ]] || bad "$config: BGSAVE $b failed"
		say "$config: BGSAVE $b ($( ((b > 1)) && echo traced || echo untraced)): latest_fork_usec $(field stats latest_fork_usec)"
		if ((b > 1)); then
			summary "$tracing/trace" "$server_pid"
			trace_reset
		fi
		say "$config: BGSAVE $b: module counters moved:$(counter_moves "$before" "$(counters)")"
		rm -f "$dir/dump.rdb"
	done
	cli shutdown nosave >/dev/null 2>&1 || true
	wait "$server_pid" 2>/dev/null || true
	rm -rf "$dir"
done
say "done, status $fail"
exit $fail
