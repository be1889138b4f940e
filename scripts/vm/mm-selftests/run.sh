#!/bin/bash
# scripts/vm/mm-selftests/run.sh — guest side of scripts/mm-selftests.
#
# Runs the kernel's own mm selftests (built by scripts/mm-selftests into
# /payload/bin) twice: a plain pass, then a pass with
#   LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force
# so that every fork() of a test program goes through the module (a fork it
# cannot serve fails with ENODEV, which the comparison then shows).  Records
# per program (exit status 0 pass, 4 skip, else fail; "timeout" when killed)
# and per subtest the result, and compares the passes.  Subtests are the
# kselftest lines ("ok N ...", "ok N ... # SKIP ...", "ok N ... # XFAIL ...",
# "not ok N ..."), khugepaged's "Run test: NAME (CONTEXT:OPS)" blocks and
# uffd-unit-tests' "Testing NAME on MEM... done|skipped|failed".
# Exits non-zero when
#   - a program or subtest result differs between the passes (a program
#     whose passes differ only in subtests that passed in one and skipped in
#     the other is first run again in both passes),
#   - the plain pass has a failure that ALLOW_FAIL below does not list
#     (a program whose only failing subtests are known stock flakes, FLAKY
#     below, is first run again, in either pass),
#   - the shim pass served no fork (forks_served did not grow), a test's
#     output has a shim line "fastfork: ... force: ..." (a refused fork), or
#     forks_served grew during the plain pass,
#   - a selected program is missing from /payload/bin, or swap is off
#     (unless --no-swap).
#
#   bash /payload/run.sh [--only ID,ID...] [--skip ID,ID...] [--timeout-scale N]
#                        [--plain-only] [--verbose] [--no-swap] [--list]
#     --only       run only these test IDs (the second column of TESTS)
#     --skip       leave these test IDs out
#     --timeout-scale  multiply every per-test timeout by N (an integer, default
#                  1): a debug kernel runs these programs 10-15x slower
#     --plain-only one plain pass, no comparison (for measuring)
#     --verbose    print every test's full output (default: only the output
#                  of tests that fail or differ)
#     --no-swap    run without swap (swapoff -a if the guest has some;
#                  scripts/mm-selftests then does not ask vm-run for it)
#     --list       print the tests selected for this kernel and exit
#
# Each test runs in a session of its own (setsid) and its result is taken when
# the whole session is gone (protection_keys finishes in a grandchild: it
# forks and exits in the parent), bounded by the per-test timeout (the whole
# session is then killed).  Every program runs in a fresh cwd under /tmp with
# a hugetlbfs mounted at ./huge (6.1's hugepage-mmap uses it) after
# `echo 3 > drop_caches`.  Guest set-up: 128 2 MiB huge pages (256 MiB, what
# run_vmtests.sh wants), kernel.yama.ptrace_scope 0 when present; swap (a
# 512 MiB zram device) is set up by vm-run --swap before this runs and only
# checked here: without swap MADV_PAGEOUT does nothing, cow skips all its
# "swapped out" cases and khugepaged fails its swap cases.
#
# Which tests run, and why the others do not: scripts/vm/mm-selftests/README.
set -uo pipefail

P=/payload
B=$P/bin
# shellcheck disable=SC1091
[[ -f /etc/fastfork/run.env ]] && . /etc/fastfork/run.env
series=${FF_KERNEL_SERIES:-unknown}
# scripts/debug-kernel's 6.1-debug is built from the same linux-source-6.1
series=${series%-debug}
export LD_LIBRARY_PATH=$P/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

only='' skip='' timeout_scale=1 plain_only=0 verbose=0 list=0 swap=1
while [[ $# -gt 0 ]]; do
	case $1 in
	--only) only=,${2:?},; shift 2 ;;
	--skip) skip=,${2:?},; shift 2 ;;
	--timeout-scale) timeout_scale=${2:?}; shift 2 ;;
	--plain-only) plain_only=1; shift ;;
	--verbose) verbose=1; shift ;;
	--no-swap) swap=0; shift ;;
	--list) list=1; shift ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ $timeout_scale =~ ^[1-9][0-9]*$ ]] ||
	{ echo "run.sh: --timeout-scale wants a positive integer, not '$timeout_scale'" >&2; exit 2; }

# --- the tests ----------------------------------------------------------------
# SERIES|ID|TIMEOUT|COMMAND
#   SERIES   all, 6.1 or 6.12
#   ID       unique name (the program, plus a tag when it runs more than once)
#   TIMEOUT  seconds, per pass: about 4x the time measured under TCG here
#            (README), at least 60
#   COMMAND  program in /payload/bin and its arguments (as run_vmtests.sh
#            passes them); $HUGE is the hugetlbfs mount, $UFFD_HUGE_MB half
#            the free huge pages in MiB.  Prefixes: @nobody runs it as
#            nobody (setpriv); @set:FILE=VALUE writes VALUE to FILE for the
#            test and restores the old value afterwards.
# Order: the fork tests first (cow, khugepaged, ...), then the others.
TESTS=(
	"all|cow|180|cow"
	"all|khugepaged|240|khugepaged"
	"6.12|ksm_functional_tests|120|ksm_functional_tests"
	"all|protection_keys_64|120|protection_keys_64"
	"6.12|uffd-unit-tests-fork|120|uffd-unit-tests -f fork"
	"6.1|userfaultfd-anon|120|userfaultfd anon 20 16"
	"6.1|userfaultfd-shmem|120|userfaultfd shmem 20 16"
	"6.12|mdwe_test|60|mdwe_test"
	"all|map_populate|60|map_populate"
	"all|memfd_secret|60|memfd_secret"
	"all|mrelease_test|60|mrelease_test"
	"all|migration|60|migration"
	"all|gup_test|60|gup_test -u"
	"6.12|gup_longterm|60|gup_longterm"
	"6.1|hugepage-mmap|60|hugepage-mmap"
	"all|hugepage-shm|60|hugepage-shm"
	"all|map_hugetlb|60|map_hugetlb"
	"6.1|hugepage-mremap|60|hugepage-mremap \$HUGE/huge_mremap"
	"6.12|hugepage-mremap|60|hugepage-mremap"
	"all|hugepage-vmemmap|60|hugepage-vmemmap"
	"6.12|hugetlb-madvise|60|hugetlb-madvise"
	"6.12|hugetlb_dio|60|hugetlb_dio"
	"6.12|hugetlb_madv_vs_map|60|@set:/proc/sys/vm/nr_hugepages=1 hugetlb_madv_vs_map"
	"all|map_fixed_noreplace|60|map_fixed_noreplace"
	"6.12|uffd-stress-anon|60|uffd-stress anon 20 16"
	"all|on-fault-limit|60|@nobody on-fault-limit"
	"all|mlock-random-test|60|mlock-random-test"
	"all|mlock2-tests|60|mlock2-tests"
	"6.12|mremap_test|60|@set:/proc/sys/vm/overcommit_memory=1 @set:/proc/sys/kernel/randomize_va_space=0 mremap_test"
	"all|mremap_dontunmap|60|mremap_dontunmap"
	"all|thuge-gen|60|thuge-gen"
	"6.12|va_high_addr_switch|60|va_high_addr_switch --run-hugetlb"
	"6.1|va_128TBswitch|60|va_128TBswitch"
	"6.1|virtual_address_range|60|@set:/proc/sys/vm/overcommit_memory=1 virtual_address_range"
	"all|madv_populate|60|madv_populate"
	"all|ksm_tests-M|60|ksm_tests -M -p 10"
	"all|ksm_tests-Z0|60|ksm_tests -Z -p 10 -z 0"
	"all|ksm_tests-Z1|60|ksm_tests -Z -p 10 -z 1"
	"6.12|pkey_sighandler_tests_64|60|pkey_sighandler_tests_64"
	"all|soft-dirty|60|soft-dirty"
	"6.12|pagemap_ioctl|60|pagemap_ioctl"
	"6.12|mkdirty|60|mkdirty"
	"6.12|seal_elf|60|seal_elf"
	"6.12|mseal_test|60|mseal_test"
	"6.12|droppable|60|droppable"
)

# Known failures of the plain pass on the stock kernel (the shim pass must
# then fail the same way): "SERIES|ID|SUBTEST-KEY|reason", SUBTEST-KEY as the
# summary prints it, or "-" for the program's own exit status.  Empty: the
# stock failures found (README) are left out of TESTS instead.
ALLOW_FAIL=(
)

# Subtests that fail now and then on the stock kernel under TCG, for reasons
# outside fork: "SERIES|ID|SUBTEST-KEY|reason".  A program whose failing
# subtests are all listed here is run again, up to $FLAKY_TRIES times in all,
# in whichever pass it failed; every retry is printed, and a failure that
# persists (or any unlisted failing subtest) counts as usual.
FLAKY_TRIES=3
FLAKY=(
	"all|khugepaged|collapse_max_ptes_swap (khugepaged:anon)|MADV_PAGEOUT of 64 just-faulted pages sometimes leaves some resident: a page still in another CPU's LRU batch cannot be isolated (seen once in CI's plain pass on 6.1)"
)

# -------------------------------------------------------------------------------
now() { echo "${EPOCHREALTIME/./}"; }   # microseconds
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
stat_served() { cat /sys/class/misc/fastfork/stats/forks_served 2>/dev/null || echo NA; }
# served_delta BEFORE AFTER: how much forks_served grew, or ? if either read failed
served_delta() {
	if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]]; then echo $(($2 - $1)); else echo '?'; fi
}

selected=()
for t in "${TESTS[@]}"; do
	IFS='|' read -r s id _ _ <<<"$t"
	[[ $s == all || $s == "$series" ]] || continue
	[[ -z $only || $only == *",$id,"* ]] || continue
	[[ $skip != *",$id,"* ]] || continue
	selected+=("$t")
done
if [[ $list == 1 ]]; then
	printf '%s\n' "${selected[@]}"
	exit 0
fi
[[ ${#selected[@]} -gt 0 ]] || { echo "run.sh: no test selected" >&2; exit 2; }
if [[ -n $only ]]; then
	for id in ${only//,/ }; do
		printf '%s\n' "${selected[@]}" | cut -d'|' -f2 | grep -qxF -- "$id" ||
			{ echo "run.sh: unknown test '$id' for $series" >&2; exit 2; }
	done
fi
if [[ $plain_only == 0 && ! -r ${FF_SHIM:-/nonexistent} ]]; then
	echo "run.sh: FF_SHIM (${FF_SHIM:-unset}) is missing: cannot run the shim pass" >&2
	exit 2
fi
if [[ $plain_only == 0 && ! -r /sys/class/misc/fastfork/stats/forks_served ]]; then
	echo "run.sh: the fastfork module is not loaded (no /sys/class/misc/fastfork/stats/forks_served)" >&2
	exit 2
fi

# --- guest set-up -------------------------------------------------------------
fail=0
# Swap is vm-run's (--swap 512M, which scripts/mm-selftests passes unless
# --no-swap): here it must be on, or off with --no-swap.
swap_total=$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)
if [[ $swap == 1 && ${swap_total:-0} -eq 0 ]]; then
	echo "  !! no swap: SwapTotal is 0 (run the guest with vm-run --swap SIZE, as scripts/mm-selftests vm does)"
	fail=1
elif [[ $swap == 0 && ${swap_total:-0} -gt 0 ]]; then
	swapoff -a || { echo "  !! --no-swap: swapoff -a failed"; fail=1; }
fi
NR_HUGEPAGES=128
echo "$NR_HUGEPAGES" >/proc/sys/vm/nr_hugepages
[[ -w /proc/sys/kernel/yama/ptrace_scope ]] && echo 0 >/proc/sys/kernel/yama/ptrace_scope
hp_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
hp_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
# shellcheck disable=SC2034 # used by TESTS commands (eval)
UFFD_HUGE_MB=$((hp_free * hp_kb / 1024 / 2))
echo "mm-selftests: kernel $(uname -r) (series $series); $(grep -c ^processor /proc/cpuinfo) CPUs;" \
	"$(awk '/^MemTotal:/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo);" \
	"huge pages free $hp_free x ${hp_kb} kB; swap $(awk '/^SwapTotal:/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo);" \
	"THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
[[ -f $P/MANIFEST ]] && sed -n 's/^\(version\|not_built\|note\)=/mm-selftests: build \1: /p' "$P/MANIFEST"

work=/tmp/mm-selftests
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"

# run_one MODE INDEX LINE: runs one test; writes $work/MODE/INDEX.{out,rc,time}
run_one() {
	local mode=$1 idx=$2 line=$3 s id tmo cmd dir pid rc t0 t1 killed=0
	IFS='|' read -r s id tmo cmd <<<"$line"
	tmo=$((tmo * timeout_scale))
	dir=$work/$mode/cwd.$idx
	mkdir -p "$dir/huge"
	chmod 777 "$dir"
	mount -t hugetlbfs none "$dir/huge" 2>/dev/null
	chmod 1777 "$dir/huge"
	# shellcheck disable=SC2034 # used by TESTS commands (eval)
	local HUGE=$dir/huge
	# tests change global knobs: protection_keys sets nr_hugepages to 10
	[[ $(cat /proc/sys/vm/nr_hugepages) == "$NR_HUGEPAGES" ]] || echo "$NR_HUGEPAGES" >/proc/sys/vm/nr_hugepages
	local words=() as_nobody=0 sets=() f
	eval "words=($cmd)"
	while [[ ${words[0]} == @* ]]; do
		case ${words[0]} in
		@nobody) as_nobody=1 ;;
		@set:*)
			f=${words[0]#@set:}
			sets+=("${f%%=*}=$(cat "${f%%=*}")")
			echo "${f#*=}" >"${f%%=*}" ;;
		esac
		words=("${words[@]:1}")
	done
	local prog=$B/${words[0]}
	local argv=("$prog" "${words[@]:1}")
	if [[ ! -x $prog ]]; then
		# a missing program is a failure (status 127)
		argv=(sh -c "echo 'run.sh: $prog is missing (did it build? see /payload/MANIFEST)'; exit 127")
	elif [[ $as_nobody == 1 ]]; then
		# the full path: busybox env would run its own setpriv applet
		argv=(/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups -- "${argv[@]}")
	fi
	local envv=(env -u LD_PRELOAD -u FASTFORK_MODE)
	[[ $mode == shim ]] && envv=(env "LD_PRELOAD=$FF_SHIM" FASTFORK_MODE=force)
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	t0=$(now)
	(cd "$dir" && exec setsid "${envv[@]}" "${argv[@]}" </dev/null >"$work/$mode/$idx.out" 2>&1) &
	pid=$!
	# The subshell execs setsid (busybox, static: no preload), which is not a
	# group leader, so it calls setsid() and execs: $pid leads the test's
	# session and process group and is the test program itself.
	local deadline=$((t0 + tmo * 1000000))
	while kill -0 "$pid" 2>/dev/null; do
		# a zombie still answers kill -0: check its state
		[[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
		if [[ $(now) -ge $deadline ]]; then killed=1; break; fi
		sleep 0.1
	done
	if [[ $killed == 0 ]]; then
		wait "$pid"
		rc=$?
		# the rest of the session (grandchildren) must end too
		while kill -0 -- "-$pid" 2>/dev/null; do
			if [[ $(now) -ge $deadline ]]; then killed=1; break; fi
			sleep 0.1
		done
	fi
	if [[ $killed == 1 ]]; then
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=timeout
		echo "run.sh: killed after ${tmo}s" >>"$work/$mode/$idx.out"
	fi
	t1=$(now)
	for f in "${sets[@]}"; do echo "${f#*=}" >"${f%%=*}"; done
	umount "$dir/huge" 2>/dev/null
	rm -rf "$dir"
	echo "$rc" >"$work/$mode/$idx.rc"
	secs "$t0" "$t1" >"$work/$mode/$idx.time"
}

# result of a program: pass, skip or fail (a timeout is a failure)
prog_result() {
	local rc=$1 id=$2 out=$3
	case $id:$rc in
	protection_keys_*:0)
		# the parent exits 0 early (become_child): success is the last
		# grandchild's "done (all tests OK)"
		grep -q 'done (all tests OK)' "$out" && echo pass || echo fail ;;
	khugepaged:0) echo pass ;;
	khugepaged:*) echo fail ;;   # its status is the number of failures
	*:0) echo pass ;;
	*:4) echo skip ;;
	*) echo fail ;;
	esac
}

# Subtests of an output: "KEY<TAB>STATUS" lines.
subtests() {
	# colour codes off (busybox sed knows no \x1b: the byte itself)
	tr -d '\r' <"$1" | sed "s/$(printf '\033')\\[[0-9;]*m//g" | awk '
		function flush() {
			if (kh != "") print kh "\t" khst
			kh = ""
		}
		# kselftest: ok N desc [# SKIP|XFAIL ...] / not ok N desc; cow,
		# gup_longterm and ksm_functional_tests name the case in a
		# preceding "# [RUN] ..." line
		/^# \[RUN\] / {
			run = $0
			sub(/^# \[RUN\] */, "", run)
			next
		}
		/^(not )?ok [0-9]+/ {
			st = ($1 == "ok") ? "pass" : "fail"
			n = ($1 == "ok") ? $2 : $3
			d = $0
			sub(/^(not )?ok [0-9]+ ?/, "", d)
			if (d ~ /# *SKIP/) st = "skip"
			else if (d ~ /# *XFAIL/) st = "xfail"
			sub(/ *#.*$/, "", d)
			sub(/ +$/, "", d)
			if (run != "") d = run (d != "" ? ": " d : "")
			run = ""
			# numbers in descriptions may vary from run to run (mrelease_test
			# retries with more memory, pagemap_ioctl counts extra faults):
			# N identifies the case anyway
			gsub(/[0-9]+/, "#", d)
			print n (d != "" ? " " d : "") "\t" st
			next
		}
		# khugepaged: "Run test: NAME (CTX:OPS)", then steps ending in
		# OK, Fail or Skip
		/^Run test: / {
			flush()
			kh = $0
			sub(/^Run test: /, "", kh)
			khst = "pass"
			next
		}
		kh != "" && / Fail *$/ { khst = "fail" }
		kh != "" && / Skip *$/ && khst != "fail" { khst = "skip" }
		/^Restore THP and khugepaged settings/ { flush() }
		# uffd-unit-tests: "Testing NAME on MEM... done|skipped [..]|failed [..]"
		/^Testing .*\.\.\. / {
			k = $0
			sub(/^Testing /, "", k)
			r = k
			sub(/\.\.\. .*$/, "", k)
			sub(/^.*\.\.\. /, "", r)
			st = (r ~ /^done/) ? "pass" : (r ~ /^skipped/) ? "skip" : "fail"
			print k "\t" st
		}
		END { flush() }'
}

# score MODE INDEX ID: what run_one left, read into the caller's rc, tm
# and res (status, seconds, pass/skip/fail), written to $work/MODE/INDEX.res
# ("ID<TAB>RESULT<TAB>SECONDS"), and its subtests to $work/MODE/INDEX.sub.
# A run again overwrites both: they always hold the program's last run.
score() {
	rc=$(cat "$work/$1/$2.rc")
	tm=$(cat "$work/$1/$2.time")
	res=$(prog_result "$rc" "$3" "$work/$1/$2.out")
	printf '%s\t%s\t%s\n' "$3" "$res" "$tm" >"$work/$1/$2.res"
	subtests "$work/$1/$2.out" >"$work/$1/$2.sub"
}

# only_flaky_fail ID SUBFILE: some subtest failed, and every one that did is
# listed in FLAKY
only_flaky_fail() {
	local key st a s id k found n=0
	while IFS=$'\t' read -r key st; do
		[[ $st == fail ]] || continue
		n=$((n + 1))
		found=0
		for a in "${FLAKY[@]}"; do
			IFS='|' read -r s id k _ <<<"$a"
			[[ ($s == all || $s == "$series") && $id == "$1" && $k == "$key" ]] && { found=1; break; }
		done
		[[ $found == 1 ]] || return 1
	done <"$2"
	[[ $n -gt 0 ]]
}

run_pass() {
	local mode=$1 i=0 line id rc res tm nsub served p0 p1 try
	mkdir -p "$work/$mode"
	echo
	echo "=== $mode pass ($([[ $mode == shim ]] && echo "LD_PRELOAD=$FF_SHIM FASTFORK_MODE=force" || echo "no preload")): ${#selected[@]} programs"
	echo "forks_served before the $mode pass: $(stat_served)"
	stat_served >"$work/$mode/served0"
	for line in "${selected[@]}"; do
		IFS='|' read -r _ id _ _ <<<"$line"
		p0=$(stat_served)
		try=1
		while :; do
			run_one "$mode" "$i" "$line"
			score "$mode" "$i" "$id"
			if [[ $res != fail || $try -ge $FLAKY_TRIES ]] || ! only_flaky_fail "$id" "$work/$mode/$i.sub"; then
				break
			fi
			printf '  %-28s fail rc=%-7s %6ss  only known-flaky subtests failed (%s); try %d of %d\n' \
				"$id" "$rc" "$tm" "$(awk -F'\t' '$2 == "fail" { printf "%s%s", s, $1; s = ", " }' "$work/$mode/$i.sub")" \
				$((try + 1)) "$FLAKY_TRIES"
			mv "$work/$mode/$i.out" "$work/$mode/$i.out.try$try"
			echo "$mode $id" >>"$work/retried"
			try=$((try + 1))
		done
		p1=$(stat_served)
		nsub=$(awk -F'\t' '{ n[$2]++ } END { for (s in n) printf " %s:%d", s, n[s] }' "$work/$mode/$i.sub")
		served=$(served_delta "$p0" "$p1")
		echo "$served" >"$work/$mode/$i.served"
		printf '  %-28s %-4s rc=%-7s %6ss  forks_served +%-5s subtests%s\n' "$id" "$res" "$rc" "$tm" "$served" "${nsub:- none}"
		[[ $verbose == 1 ]] && sed 's/^/    | /' "$work/$mode/$i.out"
		i=$((i + 1))
	done
	echo "forks_served after the $mode pass: $(stat_served)"
	stat_served >"$work/$mode/served1"
}

setdiff() {  # lines only in $1 ("< "), only in $2 ("> "); busybox diff is -u only
	awk -F'\t' 'FNR == NR { a[$0]++; next } { b[$0]++ }
		END {
			for (l in a) if (a[l] > b[l]) { split(l, f, "\t"); print f[1] "\t1\t< " l }
			for (l in b) if (b[l] > a[l]) { split(l, f, "\t"); print f[1] "\t2\t> " l }
		}' "$1" "$2" | sort -t"$(printf '\t')" -k1,1 -k2,2n | cut -f3-
}

# only_skip_flips PLAIN_SUB SHIM_SUB: the passes' subtests differ, and every
# subtest that differs passed in one pass and skipped in the other (a
# kselftest case is its number: its key's text differs between "ok N desc"
# and "ok N # SKIP reason")
only_skip_flips() {
	awk -F'\t' '{ k = $1; if (k ~ /^[0-9]+( |$)/) sub(/ .*$/, "", k) }
		FNR == NR { a[k] = a[k] " " $2; next } { b[k] = b[k] " " $2 }
		END {
			for (k in b) if (!(k in a)) exit 1
			n = 0
			for (k in a) {
				if (a[k] == b[k]) continue
				if (!(a[k] " " b[k] == " pass  skip" || a[k] " " b[k] == " skip  pass")) exit 1
				n++
			}
			exit n == 0
		}' "$1" "$2"
}

# A skip says that a program's preconditions did not hold at that moment (a
# free huge page, an io_uring buffer registration), which is the guest's
# state, not what a fork did: CI once saw gup_longterm skip one more case in
# the plain pass than in the shim pass, with no fork in either.  A program
# whose passes differ only in such pass/skip flips runs again in both passes,
# up to $FLAKY_TRIES runs in all, until they agree; every retry is printed
# with the skip lines that differed.  A flip that persists fails the run.
retry_skip_flips() {
	local i=0 line id try mode p0 p1 rc tm res d nums
	for line in "${selected[@]}"; do
		IFS='|' read -r _ id _ _ <<<"$line"
		try=1
		while [[ $try -lt $FLAKY_TRIES ]] && only_skip_flips "$work/plain/$i.sub" "$work/shim/$i.sub"; do
			echo "  $id: the passes differ only in pass/skip flips; run $((try + 1)) of $FLAKY_TRIES in both passes:"
			d=$(setdiff "$work/plain/$i.sub" "$work/shim/$i.sub")
			awk '{ print "    " $0 }' <<<"$d"
			# the reasons that the kselftest cases which skipped gave
			nums=$(awk -F'\t' '/^[<>] [0-9]+ / && $2 == "skip" { split($1, f, " "); printf "%s%s", s, f[2]; s = "|" }' <<<"$d")
			for mode in plain shim; do
				[[ -n $nums ]] && grep -E "^ok ($nums) # *SKIP" "$work/$mode/$i.out" | sed "s/^/    $mode: /"
			done
			for mode in plain shim; do
				mv "$work/$mode/$i.out" "$work/$mode/$i.out.try$try"
				p0=$(stat_served)
				run_one "$mode" "$i" "$line"
				p1=$(stat_served)
				score "$mode" "$i" "$id"
				served_delta "$p0" "$p1" >"$work/$mode/$i.served"
				printf '  %-28s %-4s rc=%-7s %6ss  (%s, run %d)\n' "$id" "$res" "$rc" "$tm" "$mode" $((try + 1))
			done
			echo "plain+shim $id" >>"$work/retried"
			try=$((try + 1))
		done
		i=$((i + 1))
	done
}

T0=$(now)
run_pass plain
if [[ $plain_only == 0 ]]; then
	run_pass shim
	echo
	echo "=== pass/skip flips between the passes, run again"
	retry_skip_flips
fi
T1=$(now)

# --- verdict ------------------------------------------------------------------
allowed() {  # allowed ID KEY
	local a s id key
	for a in "${ALLOW_FAIL[@]}"; do
		IFS='|' read -r s id key _ <<<"$a"
		[[ $s == all || $s == "$series" ]] || continue
		[[ $id == "$1" && $key == "$2" ]] && return 0
	done
	return 1
}
show_out() {  # show_out MODE INDEX ID
	[[ $verbose == 1 ]] && return 0
	echo "  ----- $1 output of $3: $(wc -l <"$work/$1/$2.out") lines (last 60) -----"
	tail -n 60 "$work/$1/$2.out" | sed 's/^/    | /'
}

echo
echo "=== summary (series $series, $(secs "$T0" "$T1")s for $([[ $plain_only == 0 ]] && echo "both passes" || echo "the plain pass"))"
printf '  %-28s %-6s %-6s %8s %8s %7s  %s\n' TEST PLAIN SHIM T_PLAIN T_SHIM SERVED "SUBTESTS (plain)"
i=0
for line in "${selected[@]}"; do
	IFS='|' read -r _ id _ _ <<<"$line"
	IFS=$'\t' read -r _ pres ptm <"$work/plain/$i.res"
	sres=- stm=- served=-
	if [[ $plain_only == 0 ]]; then
		IFS=$'\t' read -r _ sres stm <"$work/shim/$i.res"
		served=$(cat "$work/shim/$i.served")
	fi
	nsub=$(awk -F'\t' '{ n[$2]++ } END { for (s in n) printf "%s:%d ", s, n[s] }' "$work/plain/$i.sub")
	printf '  %-28s %-6s %-6s %7ss %7ss %7s  %s\n' "$id" "$pres" "$sres" "$ptm" "$stm" "$served" "${nsub:--}"
	problems=()
	# failures of the plain pass
	if [[ $pres == fail ]]; then
		# accepted when allow-listed, or when every failing subtest is
		nfail=$(grep -c $'\tfail$' "$work/plain/$i.sub")
		if ! allowed "$id" - && ! [[ $nfail -gt 0 && $(cat "$work/plain/$i.rc") =~ ^[0-9]+$ ]]; then
			problems+=("plain pass: $id fails (status $(cat "$work/plain/$i.rc"))")
		fi
	fi
	while IFS=$'\t' read -r key st; do
		[[ $st == fail ]] || continue
		allowed "$id" "$key" || problems+=("plain pass: $id: subtest '$key' fails")
	done <"$work/plain/$i.sub"
	if [[ $plain_only == 0 ]]; then
		[[ $pres == "$sres" ]] || problems+=("$id: plain $pres, shim $sres (status $(cat "$work/plain/$i.rc") vs $(cat "$work/shim/$i.rc"))")
		d=$(setdiff "$work/plain/$i.sub" "$work/shim/$i.sub")
		if [[ -n $d ]]; then
			problems+=("$id: subtest results differ (< plain only, > shim only):")
			while IFS= read -r l; do problems+=("    $l"); done < <(head -n 40 <<<"$d")
		fi
		if grep -q 'fastfork: .*force: ' "$work/shim/$i.out"; then
			problems+=("$id: the shim could not have forks served under FASTFORK_MODE=force:")
			while IFS= read -r l; do problems+=("    $l"); done < <(grep 'fastfork: .*force: ' "$work/shim/$i.out" | sort | uniq -c | head -n 5)
		fi
		[[ $(cat "$work/plain/$i.served") =~ ^(0|\?)$ ]] || problems+=("$id: forks_served grew during the plain pass")
	fi
	if [[ ${#problems[@]} -gt 0 ]]; then
		fail=1
		printf '  !! %s\n' "${problems[@]}"
		show_out plain "$i" "$id"
		[[ $plain_only == 0 ]] && show_out shim "$i" "$id"
	fi
	i=$((i + 1))
done

totals() {
	cat "$work/$1"/*.res | awk -F'\t' -v m="$1" '{ n[$2]++ } END { printf "%s: %d pass, %d skip, %d fail", m, n["pass"], n["skip"], n["fail"] }'
	cat "$work/$1"/*.sub 2>/dev/null | awk -F'\t' '{ n[$2]++ } END { printf " (subtests %d pass, %d skip, %d xfail, %d fail)", n["pass"], n["skip"], n["xfail"], n["fail"] }'
}
if [[ -s $work/retried ]]; then
	echo "retried (FLAKY failures; pass/skip flips in both passes): $(sort "$work/retried" | uniq -c | awk '{ printf "%s%s %s x%d", s, $2, $3, $1; s = ", " }')"
fi
echo "programs $(totals plain)"
if [[ $plain_only == 0 ]]; then
	echo "programs $(totals shim)"
	s0=$(cat "$work/shim/served0") s1=$(cat "$work/shim/served1")
	if [[ $s0 =~ ^[0-9]+$ && $s1 =~ ^[0-9]+$ ]]; then
		echo "forks_served: $s0 before the shim pass, $s1 after (+$((s1 - s0)))"
		[[ $((s1 - s0)) -gt 0 ]] || { echo "  !! the shim pass served no fork"; fail=1; }
	else
		echo "  !! forks_served unreadable ($s0, $s1)"
		fail=1
	fi
fi
if [[ $fail == 0 ]]; then
	echo "mm-selftests: OK$([[ $plain_only == 0 ]] && echo ": both passes gave identical results, no failures")"
else
	echo "mm-selftests: FAILED (see !! above)"
fi
exit $fail
