#!/bin/bash
# Guest side of scripts/bench-fork (runs in the VM as root, from /payload):
#   bash /payload/fork-bench.sh SIZES_MIB FORK_REPS WRITE_REPS [TPUT_SEC TPUT_MIB]
# SIZES_MIB is comma-separated; WRITE_REPS -1 means 3 for sizes up to 256 MiB
# and 1 above (a 1 GiB write_after_fork takes 8-16 s under TCG here).  With
# TPUT_SEC > 0, the 4k runs of size TPUT_MIB also measure fork+exit and
# fork+exec throughput (fork_bench --throughput-sec TPUT_SEC: metrics
# fork_exit and fork_exec, rounds per second in the per_sec column).  The order of
# the three configurations rotates from one (size, page kind) to the next, so
# that none always runs first.  For each size, page kind (4k: MADV_NOHUGEPAGE,
# thp: MADV_HUGEPAGE with THP "enabled" set to madvise) and configuration
# (stock: no preload; lazy/eager: LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force
# FASTFORK_ENGINE=lazy|eager) it runs one fork_bench process and checks that
# /sys/class/misc/fastfork/stats/forks_served grew by exactly the number of
# forks that process made (0 for stock).  Prints, between marker lines,
#   FASTFORK-BENCH-CSV-BEGIN/END     the results CSV (accel is @ACCEL@:
#                                    the host fills it in)
#   FASTFORK-BENCH-SERVED-BEGIN/END  the served-fork bookkeeping
# Exits non-zero when a measurement fails (fork_bench fails, wrong served
# count, THP not backing the thp region); never on timing.
set -uo pipefail

sizes=${1:?sizes} fork_reps=${2:?fork reps} write_reps=${3:?write reps}
tput_sec=${4:-0} tput_mib=${5:-0}
bench=${FF_PROGS:-/opt/fastfork/progs}/fork_bench
shim=${FF_SHIM:-/opt/fastfork/lib/libfastfork.so}
served=/sys/class/misc/fastfork/stats/forks_served
thp=/sys/kernel/mm/transparent_hugepage/enabled

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
IFS=, read -ra size_list <<<"$sizes"
for size in "${size_list[@]}"; do
	wr=$write_reps
	((wr < 0)) && { ((size <= 256)) && wr=3 || wr=1; }
	for kind in 4k thp; do
		order=("${configs[@]:turn % 3}" "${configs[@]:0:turn % 3}")
		turn=$((turn + 1))
		tput=()
		[[ $kind == 4k ]] && ((tput_sec > 0 && size == tput_mib)) &&
			tput=(--throughput-sec "$tput_sec")
		for config in "${order[@]}"; do
			before=$(cat $served)
			out=$(run_config "$config" --size "$size" --pages "$kind" \
				--fork-reps "$fork_reps" --write-reps "$wr" "${tput[@]}")
			rc=$?
			after=$(cat $served)
			echo "fork-bench: [$((SECONDS - start))s] $config $kind ${size}M rc=$rc served $before->$after"
			if ((rc != 0)); then
				echo "fork-bench: FAILED: fork_bench $config $kind $size: exit $rc" >&2
				fail=1
				continue
			fi
			forks=$(sed -n 's/^forks,//p' <<<"$out")
			huge=$(sed -n 's/^anon_huge_kib,//p' <<<"$out")
			expected=$forks
			[[ $config == stock ]] && expected=0
			ok=yes
			if [[ -z $forks ]] || ((after - before != expected)); then
				echo "fork-bench: FAILED: $config $kind ${size}M: forks_served grew by $((after - before)), expected $expected" >&2
				ok=no fail=1
			fi
			# The thp variant must be backed by huge pages (at least 90%),
			# the 4k one not at all.
			if [[ $kind == thp ]] && ((huge < size * 1024 * 9 / 10)); then
				echo "fork-bench: FAILED: $config thp ${size}M: AnonHugePages only ${huge} kB" >&2
				fail=1
			elif [[ $kind == 4k ]] && ((huge != 0)); then
				echo "fork-bench: FAILED: $config 4k ${size}M: AnonHugePages ${huge} kB" >&2
				fail=1
			fi
			srv+=$'\n'"$kernel,$config,$kind,$size,$forks,$before,$after,$((after - before)),$expected,$ok"
			while IFS= read -r line; do
				[[ $line == "$kind,$size,"* ]] || continue
				csv+=$'\n'"$kernel,@ACCEL@,$cpus,${mem_mib}M,$config,$line"
			done <<<"$out"
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
exit $fail
