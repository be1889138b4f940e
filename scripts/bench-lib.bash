# scripts/bench-lib.bash — sourced by the host-side benchmarks (bench-fork,
# bench-redis, profile-redis-fork): what they parse and compute alike.
# shellcheck shell=bash

# to_mib 64M|1G|2048 -> MiB (fails on anything else)
to_mib() {
	local v=${1^^}
	case $v in
	*G) v=${v%G}; [[ $v =~ ^[0-9]+$ ]] && echo $((v * 1024)) ;;
	*M) v=${v%M}; [[ $v =~ ^[0-9]+$ ]] && echo "$v" ;;
	*) [[ $v =~ ^[0-9]+$ ]] && echo "$v" ;;
	esac
}

# set_series_list 6.1|6.12|both: set the array series_list to the kernel
# series a --kernel value names (fails on anything else)
# shellcheck disable=SC2034 # series_list is the caller's
set_series_list() {
	case $1 in
	6.1 | 6.12) series_list=("$1") ;;
	both) series_list=(6.1 6.12) ;;
	*) return 1 ;;
	esac
}

# vm_accel LOG: the accelerator (tcg, kvm) that vm-run's banner in LOG
# names, "unknown" when none does
vm_accel() {
	local acc
	acc=$(sed -n 's/.* -accel \([a-z]*\).*/\1/p' "$1" | head -1)
	echo "${acc:-unknown}"
}

# redis_guest_mib SIZE_MIB: guest memory for a Redis dataset of SIZE_MIB:
# the dataset, the pages its BGSAVE child copies on write, the RDB in the
# guest's tmpfs, the rootfs; rounded up to 256 MiB
redis_guest_mib() {
	echo $((($1 * 3 / 2 + 1024 + 255) / 256 * 256))
}
