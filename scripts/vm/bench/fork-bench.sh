#!/bin/bash
# Guest side of scripts/bench-fork (runs in the VM as root, from /payload):
#   bash /payload/fork-bench.sh SIZES_MIB FORK_REPS WRITE_REPS [TPUT_SEC TPUT_MIB]
# SIZES_MIB is comma-separated; WRITE_REPS too, one write_after_fork sample
# count per size (scripts/bench-fork picks the defaults).  With
# TPUT_SEC > 0, the 4k runs of size TPUT_MIB also measure fork+exit and
# fork+exec throughput (fork_bench --throughput-sec TPUT_SEC: metrics
# fork_exit and fork_exec, rounds per second in the per_sec column).  For each
# size, page kind (4k: MADV_NOHUGEPAGE, thp: MADV_HUGEPAGE with THP "enabled"
# set to madvise) and configuration (stock: no preload; lazy/eager:
# LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force FASTFORK_ENGINE=lazy|eager) it runs
# one fork_bench process for the fork latencies, then WRITE_REPS rounds of
# one fork_bench process per configuration, each measuring one
# write_after_fork sample (after 3 fork_latency and 3 refork_latency
# samples of its own: their median is the round's fork latency), and
# reports the write samples' median and p90 (lower median, ceil(0.9 n)-th
# sample, as fork_bench does).  The order of the three
# configurations rotates from one run to the next, so that none always
# runs first (the first process of a boot to use much guest memory once
# paid the host's first touch of it: scripts/vm-run --prealloc), and the
# write rounds interleave the configurations, so that drift during a run
# spreads over all three.  After every process it checks that
# /sys/class/misc/fastfork/stats/forks_served grew by exactly the number
# of forks that process made (0 for stock).  Prints, between marker lines,
#   FASTFORK-BENCH-CSV-BEGIN/END     the results CSV (accel is @ACCEL@:
#                                    the host fills it in)
#   FASTFORK-BENCH-SERVED-BEGIN/END  the served-fork bookkeeping
#   FASTFORK-BENCH-WRITES-BEGIN/END  every write_after_fork sample with
#                                    its round (scripts/paired-ratio.awk
#                                    compares the configurations round by
#                                    round)
#   FASTFORK-BENCH-FORKS-BEGIN/END   every round's fork latency, the same
#                                    way
# Exits non-zero when a measurement fails (fork_bench fails, wrong served
# count, THP not backing the thp region); never on timing.
set -uo pipefail

sizes=${1:?sizes} fork_reps=${2:?fork reps} write_reps=${3:?write reps}
tput_sec=${4:-0} tput_mib=${5:-0}
bench=${FF_PROGS:-/opt/fastfork/progs}/fork_bench
shim=${FF_SHIM:-/opt/fastfork/lib/libfastfork.so}
served=/sys/class/misc/fastfork/stats/forks_served
thp=/sys/kernel/mm/transparent_hugepage/enabled

# fork_latency samples per round process: a median of three is robust to
# one slow fork, and three stock forks of 4 GiB add under a second of the
# round's minute.
round_fork_reps=3
fail=0
kernel=$(uname -r)
cpus=$(nproc)
mem_mib=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
[[ -r $served ]] || { echo "fork-bench: $served missing (module not loaded?)" >&2; exit 1; }
echo "fork-bench: THP enabled was: $(cat $thp)"
echo madvise >"$thp" || { echo "fork-bench: cannot set $thp" >&2; exit 1; }
echo "fork-bench: THP enabled now: $(cat $thp); defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
echo "fork-bench: $kernel, $cpus CPUs, MemTotal ${mem_mib} MiB, guest CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"

csv="kernel,accel,cpus,mem,config,page_kind,size_mib,metric,median_us,p90_us,reps,per_sec"
srv="kernel,config,page_kind,size_mib,forks,served_before,served_after,served_delta,expected_delta,ok"
writes="kernel,accel,cpus,mem,page_kind,size_mib,round,config,write_us"
forks="kernel,accel,cpus,mem,page_kind,size_mib,round,config,fork_us"

run_config() { # CONFIG ARGS...
	local config=$1
	shift
	case $config in
	stock) env -u LD_PRELOAD "$bench" "$@" ;;
	lazy | eager)
		env LD_PRELOAD="$shim" FASTFORK_MODE=force FASTFORK_ENGINE="$config" \
			"$bench" "$@" ;;
	esac
}

configs=(stock lazy eager)
turn=0
start=$SECONDS

# rotated_configs: the three configurations, starting one further each call
rotated_configs() {
	order=("${configs[@]:turn % 3}" "${configs[@]:0:turn % 3}")
	turn=$((turn + 1))
}

# measure CONFIG KIND SIZE FORK_BENCH_ARGS...: one fork_bench process; sets
# $lines to its CSV lines (page_kind,size_mib,...).  Returns 1 (after
# saying why) when the process fails, forks_served grew by the wrong
# amount, or the region's page kind is not the one asked for.
measure() {
	local config=$1 kind=$2 size=$3 out rc before after forks huge expected ok=yes
	shift 3
	before=$(cat $served)
	out=$(run_config "$config" --size "$size" --pages "$kind" "$@")
	rc=$?
	after=$(cat $served)
	echo "fork-bench: [$((SECONDS - start))s] $config $kind ${size}M $* rc=$rc served $before->$after"
	if ((rc != 0)); then
		echo "fork-bench: FAILED: fork_bench $config $kind $size: exit $rc" >&2
		return 1
	fi
	forks=$(sed -n 's/^forks,//p' <<<"$out")
	huge=$(sed -n 's/^anon_huge_kib,//p' <<<"$out")
	expected=$forks
	[[ $config == stock ]] && expected=0
	if [[ -z $forks ]] || ((after - before != expected)); then
		echo "fork-bench: FAILED: $config $kind ${size}M: forks_served grew by $((after - before)), expected $expected" >&2
		ok=no
	fi
	srv+=$'\n'"$kernel,$config,$kind,$size,$forks,$before,$after,$((after - before)),$expected,$ok"
	# The thp variant must be backed by huge pages (at least 90%), the 4k
	# one not at all.
	if [[ $kind == thp ]] && ((huge < size * 1024 * 9 / 10)); then
		echo "fork-bench: FAILED: $config thp ${size}M: AnonHugePages only ${huge} kB" >&2
		ok=no
	elif [[ $kind == 4k ]] && ((huge != 0)); then
		echo "fork-bench: FAILED: $config 4k ${size}M: AnonHugePages ${huge} kB" >&2
		ok=no
	fi
	lines=$(grep "^$kind,$size," <<<"$out")
	[[ $ok == yes ]]
}

# add_csv CONFIG LINES: prefix fork_bench's CSV lines with the boot's columns
add_csv() {
	local line
	while IFS= read -r line; do
		[[ -n $line ]] && csv+=$'\n'"$kernel,@ACCEL@,$cpus,${mem_mib}M,$1,$line"
	done <<<"$2"
}

# metric_median METRIC: the median of METRIC in $lines (fork_bench's CSV)
metric_median() {
	awk -F, -v m="$1" '$3 == m { print $4 }' <<<"$lines"
}

# summarize KIND SIZE SAMPLES...: one write_after_fork CSV line
summarize() {
	local kind=$1 size=$2
	shift 2
	printf '%s\n' "$@" | sort -g | awk -v k="$kind" -v s="$size" '
		{ v[NR] = $1 }
		END {
			p = int((9 * NR + 9) / 10)
			printf "%s,%s,write_after_fork,%s,%s,%d,\n", k, s, v[int((NR + 1) / 2)], v[p], NR
		}'
}

IFS=, read -ra size_list <<<"$sizes"
IFS=, read -ra write_reps_list <<<"$write_reps"
for i in "${!size_list[@]}"; do
	size=${size_list[i]} wr=${write_reps_list[i]:?a WRITE_REPS per size}
	for kind in 4k thp; do
		tput=()
		[[ $kind == 4k ]] && ((tput_sec > 0 && size == tput_mib)) &&
			tput=(--throughput-sec "$tput_sec")
		rotated_configs
		for config in "${order[@]}"; do
			measure "$config" "$kind" "$size" --fork-reps "$fork_reps" \
				--write-reps 0 "${tput[@]}" || { fail=1; continue; }
			add_csv "$config" "$lines"
		done
		for ((round = 0; round < wr; round++)); do
			rotated_configs
			for config in "${order[@]}"; do
				measure "$config" "$kind" "$size" \
					--fork-reps "$round_fork_reps" --write-reps 1 ||
					{ fail=1; continue; }
				prefix="$kernel,@ACCEL@,$cpus,${mem_mib}M,$kind,$size,$round,$config"
				writes+=$'\n'"$prefix,$(metric_median write_after_fork)"
				forks+=$'\n'"$prefix,$(metric_median fork_latency)"
			done
		done
		for config in "${configs[@]}"; do
			mapfile -t samples < <(awk -F, -v k="$kind" -v s="$size" -v c="$config" \
				'$5 == k && $6 == s && $8 == c { print $9 }' <<<"$writes")
			((${#samples[@]})) || continue
			add_csv "$config" "$(summarize "$kind" "$size" "${samples[@]}")"
		done
	done
done
echo "fork-bench: done in $((SECONDS - start))s, status $fail"
echo FASTFORK-BENCH-CSV-BEGIN
echo "$csv"
echo FASTFORK-BENCH-CSV-END
echo FASTFORK-BENCH-SERVED-BEGIN
echo "$srv"
echo FASTFORK-BENCH-SERVED-END
echo FASTFORK-BENCH-WRITES-BEGIN
echo "$writes"
echo FASTFORK-BENCH-WRITES-END
echo FASTFORK-BENCH-FORKS-BEGIN
echo "$forks"
echo FASTFORK-BENCH-FORKS-END
exit $fail
