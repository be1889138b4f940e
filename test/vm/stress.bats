#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Bounded stress of the module with stress-ng (Debian 12: 0.15.06) and a
# fork storm of a large process, with every fork of stress-ng served by the
# module (LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force: a fork the shim cannot
# have served fails with ENODEV and says "fastfork: ... force: ..."), while
# vm stressors in a memory-limited cgroup page in and out of swap
# (pressure_start).  Each stress run must exit 0
# with no failed stressor and grow forks_served; every test leaves the
# kernel log clean (dmesg-helpers.bash) and no detached table live once its
# processes are gone; the last test unloads the module.
#
# Guest: test/vm/CMakeLists.txt runs this suite with vm-run --swap 1G
# --cpus 4 (2 GiB of memory by default); without swap every test fails.
#
# Duration: each stress-ng run lasts FF_STRESS_SECONDS (default 15), the
# swapping vm stressors 40 s more (the whole suite took about 3.5 min per
# kernel under TCG with 4 vCPUs).  A long run,
# e.g. 10 minutes per stress-ng run (give the guest the time):
#   scripts/vm-run --kernel 6.12 --build BUILD --swap 1G --cpus 4 --timeout 3600 \
#       -- FF_STRESS_SECONDS=600 bats /opt/fastfork/tests/stress.bats
# FF_STRESS_MMAP_BYTES (default 8M) sizes the mmap and mremap stressors:
# on the debug kernel (scripts/debug-kernel: 1M) an 8 MiB mmap stressor
# completes about one bogo op per minute, without the shim as with it.

bats_require_minimum_version 1.5.0
load dmesg-helpers
load stats-helpers
load memcg-helpers
load swap-helpers

setup_file() {
	require_swap || return 1
	command -v stress-ng >/dev/null || {
		echo "stress-ng is not in the guest (scripts/vm/mkinitramfs puts it there)" >&2
		return 1
	}
	export FF_STRESS_SECONDS=${FF_STRESS_SECONDS:-15}
	echo "# $(stress-ng --version 2>&1 | head -n1); ${FF_STRESS_SECONDS}s per run;" \
		"$(grep -c ^processor /proc/cpuinfo) CPUs, $(awk '/^MemTotal:/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)," \
		"swap $((swap_kib / 1024)) MiB" >&3
}

setup() {
	[ -n "$FF_SHIM" ] || skip "FF_SHIM not set (not in the VM?)"
	[ -e /dev/fastfork ] || {
		echo "/dev/fastfork missing: is the module loaded?"
		return 1
	}
	dmesg_mark
	swap_peak_file=$BATS_TEST_TMPDIR/swap-peak
}

# A test that failed between pressure_start and pressure_stop leaves the
# pressure run and the swap watcher behind; the watcher never ends, and
# bats would wait for it after the last test until the guest times out.
teardown() {
	if [ -n "${pressure_pid:-}" ]; then
		kill "$pressure_pid" 2>/dev/null || true
		wait "$pressure_pid" 2>/dev/null || true
	fi
	[ -z "${swap_watch_pid:-}" ] || swap_watch_stop
	[ -z "${pressure_cg:-}" ] || rmdir "$pressure_cg" 2>/dev/null || true
	dmesg_clean
}

# swap in use now, KiB
swap_used() { awk '/^SwapTotal:/ { t = $2 } /^SwapFree:/ { f = $2 } END { print t - f }' /proc/meminfo; }

# swap_watch_start / swap_watch_stop: the most swap in use in between (KiB)
# goes to $swap_peak (sampled every 0.2 s).
swap_watch_start() {
	echo 0 >"$swap_peak_file"
	(
		peak=0
		while :; do
			u=$(swap_used)
			[ "$u" -gt "$peak" ] && peak=$u && echo "$peak" >"$swap_peak_file"
			sleep 0.2
		done
	) 3>&- &
	swap_watch_pid=$!
}
swap_watch_stop() {
	kill "$swap_watch_pid" 2>/dev/null || true
	wait "$swap_watch_pid" 2>/dev/null || true
	swap_watch_pid=
	swap_peak=$(cat "$swap_peak_file")
	echo "swap in use at most: $((swap_peak / 1024)) MiB"
}

# stressng [--as-nobody] ARGS...: stress-ng ARGS for FF_STRESS_SECONDS
# with every fork through the module; it must exit 0 with "successful run
# completed", no failed stressor, and no fork the shim could not have
# served.  Bounded by a generous timeout (stress-ng waits for its
# stressors to finish).  --as-nobody runs it as uid/gid 65534, with
# /dev/fastfork opened to that group for the run (as a site would for
# its service's group).
stressng() {
	local secs=$FF_STRESS_SECONDS user=() tmp=/tmp dev_mode dev_group
	if [ "$1" = --as-nobody ]; then
		shift
		user=(/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups)
		tmp=$(mktemp -d /tmp/ff-stress-nobody.XXXXXX)
		chown 65534:65534 "$tmp"
		read -r dev_mode dev_group < <(stat -c '%a %g' /dev/fastfork)
		chgrp 65534 /dev/fastfork
		chmod 0660 /dev/fastfork
	fi
	run timeout -k 10 $((secs * 3 + 120)) "${user[@]}" \
		env LD_PRELOAD="$FF_SHIM" FASTFORK_MODE=force \
		stress-ng --timeout "${secs}s" --metrics-brief --verify --temp-path "$tmp" "$@"
	if [ ${#user[@]} -gt 0 ]; then
		chmod "$dev_mode" /dev/fastfork
		chgrp "$dev_group" /dev/fastfork
		rm -rf "$tmp"
	fi
	echo "\$ ${user[*]}${user:+ }stress-ng $*"
	echo "$output"
	if [ "$status" -ne 0 ]; then
		echo "stress-ng exited with status $status$([ "$status" -eq 124 ] && echo ' (timed out)')"
		return 1
	fi
	if ! echo "$output" | grep -q 'successful run completed'; then
		echo "stress-ng did not report a successful run"
		return 1
	fi
	if echo "$output" | grep -Eq 'failed: [1-9]|fatal|unsuccessful'; then
		echo "stress-ng reports failed stressors"
		return 1
	fi
	if ! stressors_did_work; then
		return 1
	fi
	if echo "$output" | grep -q 'fastfork: .*force: '; then
		echo "the shim could not have some forks served (FASTFORK_MODE=force):"
		echo "$output" | grep 'fastfork: .*force: ' | sort | uniq -c | head -n 5
		return 1
	fi
}

# stressors_did_work: every stressor stress-ng dispatched ("dispatching
# hogs: 1 mmap, 1 mremap, ...") reports bogo ops above zero in $output
# (a stressor stalled for its whole run exercises nothing).
stressors_did_work() {
	local hogs name ops rc=0
	hogs=$(echo "$output" | sed -n 's/.*dispatching hogs: //p' | tr ',' '\n' | awk '{ print $2 }')
	[ -n "$hogs" ] || { echo "stress-ng dispatched no stressor"; return 1; }
	for name in $hogs; do
		ops=$(echo "$output" | awk -v n="$name" '$2 == "metrc:" && $4 == n && $5 ~ /^[0-9]+$/ { print $5; exit }')
		if [ "${ops:-0}" -eq 0 ]; then
			echo "stressor $name did no bogo op"
			rc=1
		fi
	done
	return $rc
}

# served_since N: forks_served grew past N
served_since() {
	local now
	now=$(stat_of forks_served)
	echo "forks_served $1 -> $now (+$((now - $1)))"
	if [ "$now" -le "$1" ]; then
		echo "forks_served did not grow: the module served no fork"
		return 1
	fi
}

# pressure_start: two stress-ng vm stressors (with --verify: they check
# their own memory) that together want half of MemTotal, confined to a
# memory cgroup allowed a quarter (so that half of their pages live in
# swap and they page in and out all the time), in the background and with
# their forks served by the module too, for FF_STRESS_SECONDS + 40 s.
# Returns once the guest has pages in swap (at most 30 s).  pressure_stop
# waits for it and requires its success.  (Without the cgroup, vm
# stressors sized to fit beside the rest never reached swap here.)
pressure_start() {
	local kb i
	kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	pressure_cg=$(memcg_create ff-pressure "$((kb / 4))K") || return 1
	swap_watch_start
	(
		echo "$BASHPID" >$pressure_cg/cgroup.procs
		exec env LD_PRELOAD="$FF_SHIM" FASTFORK_MODE=force \
			stress-ng --timeout "$((FF_STRESS_SECONDS + 40))s" \
			--temp-path /tmp --metrics-brief --verify \
			--vm 2 --vm-bytes "$((kb / 4))K" --vm-keep --oom-avoid
	) >"$BATS_TEST_TMPDIR/pressure.out" 2>&1 3>&- &
	pressure_pid=$!
	for i in $(seq 150); do
		[ "$(swap_used)" -gt 0 ] && { echo "swap in use after $((i / 5)) s of pressure"; return 0; }
		sleep 0.2
	done
	echo "no page went to swap within 30 s of pressure"
	pressure_stop || true
	return 1
}
pressure_stop() {
	local rc=0
	wait "$pressure_pid" || rc=$?
	pressure_pid=
	swap_watch_stop
	rmdir "$pressure_cg" 2>/dev/null || true
	echo "\$ stress-ng (pressure): status $rc"
	cat "$BATS_TEST_TMPDIR/pressure.out"
	[ "$rc" -eq 0 ] || { echo "the stress-ng pressure run exited with status $rc"; return 1; }
	grep -q 'successful run completed' "$BATS_TEST_TMPDIR/pressure.out"
}

@test "stress-ng's fork, vfork and clone stressors pass with every fork served by the module" {
	local s0
	s0=$(stat_of forks_served)
	stressng --fork 2 --vfork 1 --clone 1
	served_since "$s0"
	wait_stat_zero tables_live 10
}

# The madvise stressor runs unprivileged: as root, stress-ng 0.15.06 also
# injects memory failures (MADV_HWPOISON), which poison guest pages for
# good; on 6.12 the stressor then fails in its first second with or
# without the module ("unsuccessful run", measured without LD_PRELOAD).
@test "stress-ng's mmap, mremap, madvise, mlock and userfaultfd stressors pass while other processes swap" {
	local s0
	s0=$(stat_of forks_served)
	pressure_start
	local bytes=${FF_STRESS_MMAP_BYTES:-8M}
	stressng --mmap 1 --mmap-bytes "$bytes" --mremap 1 --mremap-bytes "$bytes" --mlock 1 --userfaultfd 1
	stressng --as-nobody --madvise 1
	pressure_stop
	served_since "$s0"
	wait_stat_zero tables_live 10
}

# stress-ng's swap stressor (swapon/swapoff of a swap file) cannot run
# here: the guest's filesystems (rootfs, tmpfs) refuse swap files, and it
# "skips" with status 3.  pageswap (pages out and in) stands for it.
@test "stress-ng's pageswap stressor passes while other processes swap" {
	local s0
	s0=$(stat_of forks_served)
	pressure_start
	stressng --pageswap 1
	pressure_stop
	served_since "$s0"
	wait_stat_zero tables_live 10
}

@test "a storm of forks of a 256 MiB process gives every child its memory while other processes swap" {
	local s0 s1 armed
	s0=$(stat_of forks_served)
	pressure_start
	run "$FF_PROGS/ff-cow" --engine lazy --size 256M --thp off --scenario storm
	echo "\$ ff-cow --engine lazy --size 256M --thp off --scenario storm"
	echo "$output"
	pressure_stop
	[ "$status" -eq 0 ] || { echo "ff-cow exited with status $status"; return 1; }
	armed=$(echo "$output" | sed -n 's/^# armed forks: //p')
	[ -n "$armed" ] && [ "$armed" -gt 0 ] || { echo "ff-cow armed no fork"; return 1; }
	s1=$(stat_of forks_served)
	echo "ff-cow armed $armed forks; forks_served $s0 -> $s1"
	[ $((s1 - s0)) -ge "$armed" ] || { echo "forks_served grew by less than the $armed forks ff-cow armed"; return 1; }
	wait_stat_zero tables_live 10
}

@test "after the stress no detached table is live and the module unloads and loads again" {
	wait_stat_zero tables_live 10
	rmmod fastfork
	[ ! -e /sys/class/misc/fastfork ] || { echo "/sys/class/misc/fastfork still there after rmmod"; return 1; }
	insmod "$FF_KO"
	[ -e /dev/fastfork ]
	[ "$(stat_of tables_live)" = 0 ]
}
