#!/bin/bash
# Guest side of scripts/bench-redis (runs in the VM as root, from /payload):
#   bash /payload/redis-bench.sh SIZE_MIB RATE BGSAVES VALUE_SIZE CHECK_KEYS GAP_MS [SCHED]
# THP is set to "never" (as Redis recommends).  For each configuration, in
# this order, one redis-server runs at a time on 127.0.0.1:6400 (no RDB
# saves of its own, latency-monitor-threshold 1 ms):
#   stock   no preload
#   lazy    LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force FASTFORK_ENGINE=lazy
#   eager   LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force FASTFORK_ENGINE=eager
# and goes through two phases:
#   check   DEBUG POPULATE CHECK_KEYS keys chk:N (64-byte values); DEBUG
#           DIGEST; BGSAVE with rdb-key-save-delay set so that the child
#           takes about 3 s; while it saves, the parent overwrites 500 keys,
#           deletes 500 and adds 500 marker:N keys (the save must still be
#           running afterwards).  A second, plain redis-server (port 6401,
#           same dir and dbfilename) loads the RDB: its DBSIZE and DEBUG
#           DIGEST must equal those at fork time, an overwritten key must
#           hold its old value (DEBUG DIGEST-VALUE), a deleted key must exist and no marker key
#           may.  The parent must hold the new writes.
#   bench   FLUSHALL; DEBUG POPULATE enough KEY:N keys of VALUE_SIZE bytes for
#           about SIZE_MIB MiB of used_memory; LATENCY RESET; then
#           test/progs/redis_load sends GET/SET (50/50, random keys) at RATE
#           requests per second, open loop, while it fires BGSAVES BGSAVEs,
#           GAP_MS apart (and GAP_MS of load before the first and after the
#           last); afterwards LATENCY HISTORY fork is read.
# SCHED (default shared): how the server, its BGSAVE child and the client
# share the CPUs:
#   shared  all three ordinary tasks (SCHED_OTHER, nice 0)
#   rt      the server runs SCHED_FIFO 10 with SCHED_RESET_ON_FORK, so that
#           its BGSAVE child starts as an ordinary task, and the client
#           SCHED_FIFO 20: the child only gets the CPU time that neither
#           wants, as on a host where it has a core of its own.  Meant for
#           one vCPU: under single-threaded TCG a second vCPU takes turns
#           with the first on one host thread whatever the guest's
#           priorities, so a child on it slows the server all the same.
# forks_served (/sys/class/misc/fastfork/stats/forks_served) must grow by
# exactly one per BGSAVE for lazy and eager and not at all for stock; the
# log also shows what every other counter of the module moved by in the
# bench phase (tables detached, copied, resolved in the background,
# fallbacks).
# Prints, between marker lines,
#   FASTFORK-REDIS-CSV-BEGIN/END     one row per configuration and window
#                                    (in: requests whose life overlaps a
#                                    snapshot window, BGSAVE sent to save
#                                    seen finished; out: the others); accel
#                                    is @ACCEL@ (the host fills it in)
#   FASTFORK-REDIS-BGSAVE-BEGIN/END  one row per BGSAVE
# Exits non-zero when a check fails (snapshot correctness, forks_served, a
# BGSAVE or the client failing); never on timing.
set -uo pipefail

size_mib=${1:?size} rate=${2:?rate} bgsaves=${3:?bgsaves} value_size=${4:?value size}
check_keys=${5:?check keys} gap_ms=${6:?gap ms} sched=${7:-shared}
progs=${FF_PROGS:-/opt/fastfork/progs}
shim=${FF_SHIM:-/opt/fastfork/lib/libfastfork.so}
served_file=/sys/class/misc/fastfork/stats/forks_served
thp=/sys/kernel/mm/transparent_hugepage/enabled
PORT=6400 CHECK_PORT=6401

case $sched in
shared) server_sched=() client_sched=() ;;
rt) server_sched=(chrt --reset-on-fork --fifo 10) client_sched=(chrt --fifo 20) ;;
*) echo "redis-bench: SCHED must be shared or rt, not '$sched'" >&2; exit 2 ;;
esac
fail=0
kernel=$(uname -r)
cpus=$(nproc)
mem_mib=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
start=$SECONDS
say() { echo "redis-bench: [$((SECONDS - start))s] $*"; }
bad() { echo "redis-bench: FAILED: $*" >&2; fail=1; }
# shellcheck source=scripts/vm/bench/redis-server.bash
. "$(dirname "${BASH_SOURCE[0]}")/redis-server.bash"
ccli() { redis-cli -p "$CHECK_PORT" "$@" | tr -d '\r'; }

[[ -r $served_file ]] || { echo "redis-bench: $served_file missing (module not loaded?)" >&2; exit 1; }
[[ -x $progs/redis_load ]] || { echo "redis-bench: $progs/redis_load missing" >&2; exit 1; }
echo never >"$thp" || { echo "redis-bench: cannot set $thp" >&2; exit 1; }
say "$kernel, $cpus CPUs, MemTotal ${mem_mib} MiB, THP enabled: $(cat $thp), scheduling $sched; $(redis-server --version)"

keys=$(keys_for "$size_mib" "$value_size")

csv="kernel,accel,cpus,mem,dataset_mib,used_memory_mib,rss_mib,keys,value_size,rate,bgsaves,config,window,requests,p50_us,p99_us,p999_us,max_us,fork_usec_median,fork_usec_max,fork_events,fork_event_max_ms,served_delta,late_sends,check,sched"
bgcsv="kernel,config,bgsave,start_ms,end_ms,window_ms,latest_fork_usec"

# check CONFIG DIR: snapshot correctness; prints pass or fail
check() {
	local config=$1 dir=$2 digest old half delay before after i ok=pass
	cli debug populate "$check_keys" chk 64 >/dev/null
	digest=$(cli debug digest)
	old=$(cli debug digest-value chk:0)
	half=$((check_keys / 2))
	# rdb-key-save-delay is in microseconds per key: about 3 s in total.
	delay=$((3000000 / check_keys))
	((delay > 0)) || delay=1
	cli config set rdb-key-save-delay "$delay" >/dev/null
	before=$(served)
	[[ $(cli bgsave) == "Background saving started" ]] || { bad "$config check: BGSAVE refused"; ok=fail; }
	for ((i = 0; i < 500; i++)); do
		echo "SET chk:$i changed:$i"
		echo "DEL chk:$((half + i))"
		echo "SET marker:$i fresh"
	done | cli >/dev/null
	if [[ $(field persistence rdb_bgsave_in_progress) != 1 ]]; then
		bad "$config check: the save ended before the writes did (inconclusive)"
		ok=fail
	fi
	wait_saved || { bad "$config check: BGSAVE did not finish"; ok=fail; }
	[[ $(field persistence rdb_last_bgsave_status) == ok ]] || { bad "$config check: BGSAVE failed"; ok=fail; }
	after=$(served)
	local want=1
	[[ $config == stock ]] && want=0
	((after - before == want)) || { bad "$config check: forks_served grew by $((after - before)), expected $want"; ok=fail; }
	# The parent holds the writes made after the fork.
	[[ $(cli get chk:0) == changed:0 && $(cli exists marker:0) == 1 && $(cli exists chk:$half) == 0 ]] ||
		{ bad "$config check: the parent lost writes made after the fork"; ok=fail; }
	cli config set rdb-key-save-delay 0 >/dev/null
	# A plain server loads the RDB.
	env -u LD_PRELOAD redis-server --port "$CHECK_PORT" --bind 127.0.0.1 --dir "$dir" \
		--dbfilename dump.rdb --save '' --appendonly no --daemonize yes \
		--logfile "$dir/check.log" --enable-debug-command yes
	if ! wait_up "$CHECK_PORT" 120; then
		bad "$config check: the RDB did not load"
		ok=fail
	else
		local c_size c_digest c_old c_half c_marker
		c_size=$(ccli dbsize) c_digest=$(ccli debug digest) c_old=$(ccli debug digest-value chk:0)
		c_half=$(ccli exists chk:$half) c_marker=$(ccli exists marker:0)
		say "$config check: at fork dbsize $check_keys digest $digest chk:0 digest $old; RDB dbsize $c_size digest $c_digest chk:0 digest $c_old chk:$half exists $c_half marker:0 exists $c_marker"
		[[ $c_size == "$check_keys" ]] || { bad "$config check: RDB has $c_size keys, $check_keys at fork"; ok=fail; }
		[[ $c_digest == "$digest" ]] || { bad "$config check: RDB digest $c_digest, $digest at fork"; ok=fail; }
		[[ $c_old == "$old" ]] || { bad "$config check: RDB chk:0 has digest '$c_old', '$old' at fork"; ok=fail; }
		[[ $c_half == 1 && $c_marker == 0 ]] || { bad "$config check: RDB holds writes made after the fork"; ok=fail; }
	fi
	ccli shutdown nosave >/dev/null 2>&1 || true
	rm -f "$dir/dump.rdb"
	check_result=$ok
}

median() { tr ';' '\n' | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

for config in stock lazy eager; do
	dir=/tmp/redis-bench-$config
	start_server "$config" "$dir" || { bad "$config: redis-server did not start"; continue; }
	if [[ $sched == rt ]]; then
		policy=$(chrt -p "$server_pid")
		[[ $policy == *"policy: SCHED_FIFO|SCHED_RESET_ON_FORK"* ]] ||
			bad "$config: redis-server does not run SCHED_FIFO with SCHED_RESET_ON_FORK: $policy"
	fi
	check_result=fail
	check "$config" "$dir"
	say "$config: snapshot check $check_result"

	cli flushall >/dev/null
	t=$SECONDS
	cli debug populate "$keys" key "$value_size" >/dev/null
	used=$(field memory used_memory) rss=$(field memory used_memory_rss)
	used_mib=$((used / 1048576)) rss_mib=$((rss / 1048576))
	say "$config: populated $(cli dbsize) keys of $value_size bytes in $((SECONDS - t))s: used_memory ${used_mib} MiB, rss ${rss_mib} MiB"
	cli latency reset >/dev/null
	before=$(served) counters_before=$(counters)
	t=$SECONDS
	out=$("${client_sched[@]}" "$progs/redis_load" --port "$PORT" --keys "$keys" --rate "$rate" \
		--value-size "$value_size" --bgsaves "$bgsaves" --warmup-ms "$gap_ms" \
		--gap-ms "$gap_ms")
	rc=$?
	after=$(served)
	mapfile -t load_lines <<<"$out"
	printf 'redis-bench:   %s\n' "${load_lines[@]}"
	say "$config: load done in $((SECONDS - t))s, rc=$rc, forks_served $before->$after"
	say "$config: module counters moved:$(counter_moves "$counters_before" "$(counters)")"
	((rc == 0)) || bad "$config: redis_load exited $rc"
	want=$bgsaves
	[[ $config == stock ]] && want=0
	((after - before == want)) || bad "$config: forks_served grew by $((after - before)), expected $want"
	history=$(cli latency history fork | awk 'NR % 2 == 0' | paste -sd';')
	events=0 event_max=0
	if [[ -n $history ]]; then
		events=$(tr ';' '\n' <<<"$history" | wc -l)
		event_max=$(tr ';' '\n' <<<"$history" | sort -n | tail -1)
	fi
	say "$config: LATENCY HISTORY fork (ms): ${history:-none}"
	forks=$(awk -F, '$1 == "bgsave" { print $5 }' <<<"$out" | paste -sd';')
	fork_med=$(median <<<"$forks")
	fork_max=$(tr ';' '\n' <<<"$forks" | sort -n | tail -1)
	late=$(awk -F, '$1 == "totals" { print $5 }' <<<"$out")
	while IFS=, read -r tag window n p50 p99 p999 max; do
		[[ $tag == window && $window != all ]] || continue
		csv+=$'\n'"$kernel,@ACCEL@,$cpus,${mem_mib}M,$size_mib,$used_mib,$rss_mib,$keys,$value_size,$rate,$bgsaves,$config,$window,$n,$p50,$p99,$p999,$max,$fork_med,$fork_max,$events,$event_max,$((after - before)),$late,$check_result,$sched"
	done <<<"$out"
	while IFS=, read -r tag i s e f; do
		[[ $tag == bgsave ]] || continue
		bgcsv+=$'\n'"$kernel,$config,$i,$s,$e,$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }'),$f"
	done <<<"$out"
	cli shutdown nosave >/dev/null 2>&1 || true
	wait "$server_pid" 2>/dev/null || true
	rm -rf "$dir"
done
say "done, status $fail"
echo FASTFORK-REDIS-CSV-BEGIN
echo "$csv"
echo FASTFORK-REDIS-CSV-END
echo FASTFORK-REDIS-BGSAVE-BEGIN
echo "$bgcsv"
echo FASTFORK-REDIS-BGSAVE-END
exit $fail
