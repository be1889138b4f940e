#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Fork isolation of anonymous memory under the detached page-table engine:
# ff-cow (test/vm/progs/ff-cow.c) arms each fork for the lazy or the eager
# engine and checks, scenario by scenario, that the child sees exactly the
# memory at the fork, that neither process sees the other's later writes,
# and that the parent's RSS does not change at the fork.  Every scenario
# also passes on the kernel's own fork (ff-cow --engine stock), so the
# semantic tests pass on a module without the engine too; the tests named
# "engine statistics: ..." need the engine's counters and fail without
# them.  Runs in the VM as root with the module loaded; sized for vm-run's
# default 2 GiB guest.  vm-run also fails the run on BUG/WARNING/Oops and
# "Bad rss-counter" in the guest dmesg.

bats_require_minimum_version 1.5.0
load dmesg-helpers
load stats-helpers
load engine-helpers
load swap-helpers

# Swap: vm-run --swap (test/vm/CMakeLists.txt runs this suite with it).
# Without swap MADV_PAGEOUT is a no-op and the swap scenarios would test
# nothing, so no swap fails every test here; the MADV_PAGEOUT tests also
# check that pages really went to swap (engine-helpers.bash).
setup_file() {
	require_swap || return 1
	echo "# swap: $((swap_kib / 1024)) MiB ($(awk 'NR > 1 { printf "%s%s", s, $1; s = " " }' /proc/swaps))" >&3
	echo "# THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null), KSM: $([ -e /sys/kernel/mm/ksm/run ] && echo available || echo missing)" >&3
}

setup() {
	[ -n "$FF_PROGS" ] || skip "FF_PROGS not set (not in the VM?)"
	[ -e /dev/fastfork ] || {
		echo "/dev/fastfork missing: is the module loaded?"
		return 1
	}
	dmesg_mark
}

teardown() {
	dmesg_clean
}

# --- every scenario, small: both engines, a few pages and 8 MiB ---------

@test "plain reads and writes are isolated between parent and child, parent first and child first" {
	matrix rw
}

@test "munmap of part of the range in one process leaves the other's copy intact and no stale table behind" {
	matrix munmap-part
}

@test "munmap of the whole range in one process leaves the other's copy intact" {
	matrix munmap-all
}

@test "mprotect PROT_READ of part of the range makes writes fault in that process only, also when first touched after the other exited" {
	matrix mprotect-part
}

@test "mprotect of the whole range to PROT_READ and back keeps both copies intact" {
	matrix mprotect-all
}

@test "mremap moving the whole range keeps its content and the other's copy" {
	matrix mremap-move
}

@test "mremap moving part of the range off its 2 MiB alignment keeps the content" {
	matrix mremap-move-part
}

@test "mremap growing the range to a new place keeps the content and adds zeros" {
	matrix mremap-grow
}

@test "mremap growing the range in place keeps the content and adds zeros" {
	matrix mremap-grow-inplace
}

@test "MADV_DONTNEED zeroes the range in that process only" {
	matrix madv-dontneed
}

@test "MADV_FREE never changes what the other process sees" {
	matrix madv-free
}

@test "MADV_COLD changes no content in either process" {
	matrix madv-cold
}

@test "MADV_PAGEOUT changes no content in either process, and pages go to swap" {
	matrix madv-pageout swapped_after_pageout
}

@test "MADV_POPULATE_READ changes no content in either process" {
	matrix madv-populate-read
}

@test "MADV_POPULATE_WRITE changes no content and keeps the copies apart" {
	matrix madv-populate-write
}

@test "MADV_COLLAPSE changes no content in either process" {
	matrix madv-collapse
}

@test "MADV_WIPEONFORK gives the child zeros there and the parent its data" {
	matrix wipeonfork
}

@test "MADV_DONTFORK leaves the range out of the child and intact in the parent" {
	matrix dontfork
}

@test "mlock and munlock after the fork keep both copies intact" {
	matrix mlock
}

@test "a range mlocked before the fork is isolated like the rest" {
	matrix mlock-prefork
}

@test "heap memory grown with sbrk is isolated after fork" {
	matrix brk
}

@test "userfaultfd registered after the fork sees no missing fault for populated pages, and UFFDIO_COPY fills only holes" {
	matrix uffd
}

@test "pages paged out to swap before the fork are isolated" {
	matrix swap swapped_at_fork
}

@test "KSM-merged identical pages are isolated after fork" {
	cow --scenario ksm --engine lazy --size 4M --offset 12K
	cow --scenario ksm --engine eager --size 4M --thp mixed --threads 2
}

@test "a private mapping of a tmpfs file is isolated like anonymous memory and the file never changes" {
	matrix file-private
}

@test "a shared anonymous mapping shows each process's writes to the other" {
	matrix shared
}

@test "a child that execs without touching memory leaves the parent's memory intact and writable" {
	matrix exec
}

@test "a child that exits without touching memory leaves the parent's memory intact and writable" {
	matrix exit-untouched
}

@test "a child keeps its memory when its parent exits first" {
	matrix parent-exit
}

@test "a grandchild sees its parent's memory at its own fork, armed or not" {
	matrix nested
}

@test "a storm of forks gives every child the memory at its own fork" {
	matrix storm
}

@test "pagemap right after the fork reports the pages present before it, on the same frames in both" {
	matrix pagemap
}

@test "process_vm_readv and process_vm_writev see the other process's own copy" {
	matrix process-vm
}

@test "the parent's pages stay young after the fork, as after a stock fork, whichever process resolves first" {
	matrix referenced
}

@test "the child's pages are old until it touches them, as after a stock fork, whichever process resolves first" {
	matrix child-referenced
}

# --- larger: 64 MiB, 1 GiB, 2 GiB -----------------------------------------

@test "64 MiB of 4 KiB pages: the table-level scenarios hold with the lazy engine" {
	cow --engine lazy --size 64M --thp off --scenario \
		rw,munmap-part,mprotect-part,mremap-move,mremap-move-part,madv-dontneed,uffd,pagemap,process-vm
}

@test "64 MiB of 4 KiB pages: exit, exec, parent exit, nested forks and storms hold with the lazy engine" {
	cow --engine lazy --size 64M --thp off --offset 4K --scenario exit-untouched,exec,parent-exit,nested,storm
}

@test "64 MiB of 4 KiB pages: the table-level scenarios hold with the eager engine" {
	cow --engine eager --size 64M --thp off --threads 2 --scenario \
		rw,munmap-all,mprotect-part,mremap-move,madv-free,exit-untouched,nested
}

@test "64 MiB of mixed 4 KiB and huge pages hold with both engines" {
	cow --engine lazy --size 64M --thp mixed --offset 1M --scenario rw,munmap-part,mremap-move-part,mprotect-part
	cow --engine eager --size 64M --thp on --scenario rw,exit-untouched
}

@test "1 GiB of 4 KiB pages is isolated with the lazy engine" {
	cow --engine lazy --size 1G --thp off --scenario rw --variant parent-first
	cow --engine lazy --size 1G --thp off --scenario exit-untouched --variant wait-then-write
}

@test "1 GiB of 4 KiB pages is isolated with the eager engine" {
	cow --engine eager --size 1G --thp off --threads 2 --scenario rw --variant child-first
}

@test "a 2 GiB region, a quarter of it populated, is isolated with the lazy engine" {
	cow --engine lazy --size 2G --density 25 --thp off --scenario rw --variant parent-first
}

# --- engine statistics (fail on a module without the engine) --------------

@test "engine statistics: a lazy fork of 64 MiB of 4 KiB pages detaches tables, without conflicts, and leaves none behind" {
	cow_engine --engine lazy --size 64M --thp off --scenario rw
}

@test "engine statistics: an eager fork of 64 MiB of 4 KiB pages detaches tables, without conflicts, and leaves none behind" {
	cow_engine --engine eager --size 64M --thp off --scenario rw
}

@test "engine statistics: munmap, mprotect, mremap, madvise and userfaultfd on detached tables leave none behind" {
	cow_engine --engine lazy --size 64M --thp off --variant parent-before --scenario \
		munmap-part,mprotect-part,mremap-move,mremap-move-part,madv-dontneed,madv-pageout,uffd
}

@test "engine statistics: exit, exec, parent exit, nested forks and storms leave no detached table behind" {
	cow_engine --engine lazy --size 64M --thp off --scenario exit-untouched --variant wait-then-write
	cow_engine --engine lazy --size 64M --thp off --scenario exec --variant concurrent
	cow_engine --engine lazy --size 64M --thp off --scenario parent-exit --variant parent-untouched
	cow_engine --engine lazy --size 64M --thp off --scenario nested --variant child-exits
	cow_engine --engine eager --size 64M --thp off --scenario storm --variant writers
}

@test "engine statistics: a lazy fork of 1 GiB of 4 KiB pages detaches tables and leaves none behind" {
	cow_engine --engine lazy --size 1G --thp off --scenario exit-untouched --variant wait-then-write
}
