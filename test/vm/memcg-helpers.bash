# SPDX-License-Identifier: GPL-2.0
# Memory cgroups for the suites that need memory pressure or an OOM kill
# confined to some processes (stress, hostile).

# memcg_create NAME MAX: creates the cgroup-v2 memory cgroup NAME under
# /sys/fs/cgroup (mounting cgroup2 there first if needed) with
# memory.max MAX, and prints its path; fails, saying why, otherwise.
memcg_create() {
	local root=/sys/fs/cgroup
	if ! grep -q " $root cgroup2 " /proc/mounts; then
		mount -t cgroup2 none $root || {
			echo "memcg_create: cannot mount cgroup2 on $root" >&2
			return 1
		}
	fi
	echo +memory >$root/cgroup.subtree_control &&
		mkdir -p "$root/$1" &&
		echo "$2" >"$root/$1/memory.max" || {
		echo "memcg_create: cannot create $root/$1 with memory.max $2" >&2
		return 1
	}
	echo "$root/$1"
}
