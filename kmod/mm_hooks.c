// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel entry points the engine must see first, as wrapper hooks
 * (hook.h): every path that would read an empty PMD of a detached range
 * as "nothing mapped here" and act on that.  ENGINE-DESIGN.md lists them
 * all, with the paths left unhooked and why.
 *
 *   copy_page_range     fork: detach (armed), hand nodes on (any fork)
 *   handle_mm_fault     faults, GUP, ptrace, process_vm_*: resolve
 *   unmap_page_range    munmap, exit, MADV_DONTNEED: drop or resolve
 *   change_protection   mprotect, uffd-wp (not NUMA hinting): resolve
 *   move_page_tables    mremap: resolve the source
 *   madvise_collapse    MADV_COLLAPSE: resolve
 *   pagemap_read        /proc/PID/pagemap: resolve what is read
 *   exit_mmap           forget the mm once everything is unmapped
 *   uffd fills/moves    UFFDIO_COPY/ZEROPAGE/CONTINUE/POISON/MOVE
 *   do_pagemap_scan     PAGEMAP_SCAN (6.12)
 *
 * Each wrapper has the prototype of its target on the kernel it is built
 * for, brackets its body with ff_wrap_enter()/ff_wrap_leave(), and calls
 * the target through its resume stub (wrap.S).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/userfaultfd_k.h>

#include "compat.h"
#include "engine.h"
#include "fastfork.h"
#include "hook.h"

/* Resolution that the hooked kernel path gives no way to fail. */
#define FF_GFP_MUST	(GFP_KERNEL | __GFP_NOFAIL)

FF_WRAP_RESUME(int, copy_page_range, struct vm_area_struct *dst_vma,
	       struct vm_area_struct *src_vma);

static int notrace ff_copy_page_range(struct vm_area_struct *dst_vma,
				      struct vm_area_struct *src_vma)
{
	int engine, ret;

	ff_wrap_enter();
	engine = ff_arm_mm_copy(dst_vma->vm_mm);
	ff_engine_fork_begin(dst_vma, src_vma, engine >= 0);
	ret = ff_call_copy_page_range(dst_vma, src_vma);
	if (!ret)
		ret = ff_engine_fork_end(dst_vma, src_vma,
					 engine == FASTFORK_ENGINE_EAGER);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(vm_fault_t, handle_mm_fault, struct vm_area_struct *vma,
	       unsigned long address, unsigned int flags,
	       struct pt_regs *regs);

/*
 * Resolving needs the mmap lock (see ff_table_copy()).  A fault under
 * only its VMA's lock (FAULT_FLAG_VMA_LOCK, 6.12) that would resolve
 * drops that lock and asks to be retried; the retry holds the mmap lock,
 * as the kernel itself does when a fault needs more than the VMA lock.
 * Threads faulting at once are serialised by ff_mm.lock, and a thread
 * that finds the node gone finds the PMD filled.
 */
static vm_fault_t notrace ff_handle_mm_fault(struct vm_area_struct *vma,
					     unsigned long address,
					     unsigned int flags,
					     struct pt_regs *regs)
{
	unsigned long start = address & PMD_MASK;
	vm_fault_t ret;
	int err = 0;

	ff_wrap_enter();
	/* Most faults stop at the first test, or the second: both cheap. */
	if (ff_any_detached() && !ff_pmd_settled(vma->vm_mm, address) &&
	    ff_mm_may_hold(vma->vm_mm, start, start + PMD_SIZE)) {
#if FF_KERNEL_SERIES >= 604
		if (flags & FAULT_FLAG_VMA_LOCK) {
			vma_end_read(vma);
			ff_wrap_leave();
			return VM_FAULT_RETRY;
		}
#endif
		err = ff_resolve_range(vma->vm_mm, vma, start, start + PMD_SIZE,
				       GFP_KERNEL);
	}
	if (err == -ENOMEM)
		ret = VM_FAULT_OOM;
	else if (err == -EBUSY)
		ret = VM_FAULT_SIGBUS;
	else
		ret = ff_call_handle_mm_fault(vma, address, flags, regs);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(void, unmap_page_range, struct mmu_gather *tlb,
	       struct vm_area_struct *vma, unsigned long addr,
	       unsigned long end, struct zap_details *details);

/*
 * The OOM reaper and process_mrelease() zap another, dying mm while its
 * tasks may still run kernel code: they leave its detached tables alone
 * (exit_mmap drops them).  Everyone else unmaps its own mm, or is
 * exit_mmap (no users left).
 */
static void notrace ff_unmap_page_range(struct mmu_gather *tlb,
					struct vm_area_struct *vma,
					unsigned long addr, unsigned long end,
					struct zap_details *details)
{
	struct mm_struct *mm = vma->vm_mm;

	ff_wrap_enter();
	if (ff_any_detached() &&
	    (current->mm == mm || !atomic_read(&mm->mm_users)))
		ff_unmap_range(vma, addr, end, FF_GFP_MUST);
	ff_call_unmap_page_range(tlb, vma, addr, end, details);
	ff_wrap_leave();
}

#if FF_KERNEL_SERIES >= 602
FF_WRAP_RESUME(long, change_protection, struct mmu_gather *tlb,
	       struct vm_area_struct *vma, unsigned long start,
	       unsigned long end, unsigned long cp_flags);

static long notrace ff_change_protection(struct mmu_gather *tlb,
					 struct vm_area_struct *vma,
					 unsigned long start,
					 unsigned long end,
					 unsigned long cp_flags)
#else
FF_WRAP_RESUME(long, change_protection, struct mmu_gather *tlb,
	       struct vm_area_struct *vma, unsigned long start,
	       unsigned long end, pgprot_t newprot, unsigned long cp_flags);

static long notrace ff_change_protection(struct mmu_gather *tlb,
					 struct vm_area_struct *vma,
					 unsigned long start,
					 unsigned long end, pgprot_t newprot,
					 unsigned long cp_flags)
#endif
{
	long ret;

	ff_wrap_enter();
	/* NUMA hinting would undo every detach within seconds: advisory. */
	if (ff_any_detached() && !(cp_flags & MM_CP_PROT_NUMA))
		ff_resolve_range(vma->vm_mm, vma, start, end, FF_GFP_MUST);
#if FF_KERNEL_SERIES >= 602
	ret = ff_call_change_protection(tlb, vma, start, end, cp_flags);
#else
	ret = ff_call_change_protection(tlb, vma, start, end, newprot,
					cp_flags);
#endif
	ff_wrap_leave();
	return ret;
}

#if FF_KERNEL_SERIES >= 612
FF_WRAP_RESUME(unsigned long, move_page_tables, struct vm_area_struct *vma,
	       unsigned long old_addr, struct vm_area_struct *new_vma,
	       unsigned long new_addr, unsigned long len,
	       bool need_rmap_locks, bool for_stack);

static unsigned long notrace
ff_move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
		    struct vm_area_struct *new_vma, unsigned long new_addr,
		    unsigned long len, bool need_rmap_locks, bool for_stack)
#else
FF_WRAP_RESUME(unsigned long, move_page_tables, struct vm_area_struct *vma,
	       unsigned long old_addr, struct vm_area_struct *new_vma,
	       unsigned long new_addr, unsigned long len,
	       bool need_rmap_locks);

static unsigned long notrace
ff_move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
		    struct vm_area_struct *new_vma, unsigned long new_addr,
		    unsigned long len, bool need_rmap_locks)
#endif
{
	unsigned long ret;

	ff_wrap_enter();
	/* The move skips empty PMDs, then the old range is unmapped. */
	if (ff_any_detached())
		ff_resolve_range(vma->vm_mm, vma, old_addr, old_addr + len,
				 FF_GFP_MUST);
#if FF_KERNEL_SERIES >= 612
	ret = ff_call_move_page_tables(vma, old_addr, new_vma, new_addr, len,
				       need_rmap_locks, for_stack);
#else
	ret = ff_call_move_page_tables(vma, old_addr, new_vma, new_addr, len,
				       need_rmap_locks);
#endif
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(int, madvise_collapse, struct vm_area_struct *vma,
	       struct vm_area_struct **prev, unsigned long start,
	       unsigned long end);

/* Collapse gives up on an empty PMD: give it the real table to collapse. */
static int notrace ff_madvise_collapse(struct vm_area_struct *vma,
				       struct vm_area_struct **prev,
				       unsigned long start, unsigned long end)
{
	int ret;

	ff_wrap_enter();
	if (ff_any_detached())
		ff_resolve_range(vma->vm_mm, vma, start, end, FF_GFP_MUST);
	ret = ff_call_madvise_collapse(vma, prev, start, end);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, pagemap_read, struct file *file, char __user *buf,
	       size_t count, loff_t *ppos);

/* pagemap entries are 8 bytes, one per page, indexed by user address. */
static ssize_t notrace ff_pagemap_read(struct file *file, char __user *buf,
				       size_t count, loff_t *ppos)
{
	struct mm_struct *mm = file->private_data;
	ssize_t ret;

	ff_wrap_enter();
	if (ff_any_detached() && mm && *ppos >= 0) {
		unsigned long first = (unsigned long)*ppos / sizeof(u64);
		unsigned long pages = count / sizeof(u64) + 1;

		if (first < TASK_SIZE_MAX >> PAGE_SHIFT) {
			pages = min(pages, (TASK_SIZE_MAX >> PAGE_SHIFT) - first);
			ff_resolve_range_unlocked(mm, first << PAGE_SHIFT,
						  (first + pages) << PAGE_SHIFT);
		}
	}
	ret = ff_call_pagemap_read(file, buf, count, ppos);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(void, exit_mmap, struct mm_struct *mm);

static void notrace ff_exit_mmap(struct mm_struct *mm)
{
	ff_wrap_enter();
	ff_call_exit_mmap(mm);
	ff_mm_forget(mm);
	ff_wrap_leave();
}

#if FF_KERNEL_SERIES < 612
/* 6.1 userfaultfd: the fills take the mmap lock themselves. */
FF_WRAP_RESUME(ssize_t, mcopy_atomic, struct mm_struct *dst_mm,
	       unsigned long dst_start, unsigned long src_start,
	       unsigned long len, atomic_t *mmap_changing, __u64 mode);

static ssize_t notrace ff_mcopy_atomic(struct mm_struct *dst_mm,
				       unsigned long dst_start,
				       unsigned long src_start,
				       unsigned long len,
				       atomic_t *mmap_changing, __u64 mode)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(dst_mm, dst_start, dst_start + len);
	ret = ff_call_mcopy_atomic(dst_mm, dst_start, src_start, len,
				   mmap_changing, mode);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, mfill_zeropage, struct mm_struct *dst_mm,
	       unsigned long start, unsigned long len,
	       atomic_t *mmap_changing);

static ssize_t notrace ff_mfill_zeropage(struct mm_struct *dst_mm,
					 unsigned long start,
					 unsigned long len,
					 atomic_t *mmap_changing)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(dst_mm, start, start + len);
	ret = ff_call_mfill_zeropage(dst_mm, start, len, mmap_changing);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, mcopy_continue, struct mm_struct *dst_mm,
	       unsigned long start, unsigned long len,
	       atomic_t *mmap_changing);

static ssize_t notrace ff_mcopy_continue(struct mm_struct *dst_mm,
					 unsigned long start,
					 unsigned long len,
					 atomic_t *mmap_changing)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(dst_mm, start, start + len);
	ret = ff_call_mcopy_continue(dst_mm, start, len, mmap_changing);
	ff_wrap_leave();
	return ret;
}
#else
/* 6.12 userfaultfd: the fills and moves take their own locks. */
FF_WRAP_RESUME(ssize_t, mfill_atomic_copy, struct userfaultfd_ctx *ctx,
	       unsigned long dst_start, unsigned long src_start,
	       unsigned long len, uffd_flags_t flags);

static ssize_t notrace ff_mfill_atomic_copy(struct userfaultfd_ctx *ctx,
					    unsigned long dst_start,
					    unsigned long src_start,
					    unsigned long len,
					    uffd_flags_t flags)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(ctx->mm, dst_start, dst_start + len);
	ret = ff_call_mfill_atomic_copy(ctx, dst_start, src_start, len,
					flags);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, mfill_atomic_zeropage, struct userfaultfd_ctx *ctx,
	       unsigned long start, unsigned long len);

static ssize_t notrace ff_mfill_atomic_zeropage(struct userfaultfd_ctx *ctx,
						unsigned long start,
						unsigned long len)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(ctx->mm, start, start + len);
	ret = ff_call_mfill_atomic_zeropage(ctx, start, len);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, mfill_atomic_continue, struct userfaultfd_ctx *ctx,
	       unsigned long start, unsigned long len, uffd_flags_t flags);

static ssize_t notrace ff_mfill_atomic_continue(struct userfaultfd_ctx *ctx,
						unsigned long start,
						unsigned long len,
						uffd_flags_t flags)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(ctx->mm, start, start + len);
	ret = ff_call_mfill_atomic_continue(ctx, start, len, flags);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, mfill_atomic_poison, struct userfaultfd_ctx *ctx,
	       unsigned long start, unsigned long len, uffd_flags_t flags);

static ssize_t notrace ff_mfill_atomic_poison(struct userfaultfd_ctx *ctx,
					      unsigned long start,
					      unsigned long len,
					      uffd_flags_t flags)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(ctx->mm, start, start + len);
	ret = ff_call_mfill_atomic_poison(ctx, start, len, flags);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(ssize_t, move_pages, struct userfaultfd_ctx *ctx,
	       unsigned long dst_start, unsigned long src_start,
	       unsigned long len, __u64 mode);

static ssize_t notrace ff_move_pages(struct userfaultfd_ctx *ctx,
				     unsigned long dst_start,
				     unsigned long src_start,
				     unsigned long len, __u64 mode)
{
	ssize_t ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(ctx->mm, dst_start, dst_start + len);
	ff_resolve_range_unlocked(ctx->mm, src_start, src_start + len);
	ret = ff_call_move_pages(ctx, dst_start, src_start, len, mode);
	ff_wrap_leave();
	return ret;
}

FF_WRAP_RESUME(long, do_pagemap_scan, struct mm_struct *mm,
	       unsigned long uarg);

static long notrace ff_do_pagemap_scan(struct mm_struct *mm,
				       unsigned long uarg)
{
	long ret;

	ff_wrap_enter();
	ff_resolve_range_unlocked(mm, 0, TASK_SIZE_MAX);
	ret = ff_call_do_pagemap_scan(mm, uarg);
	ff_wrap_leave();
	return ret;
}
#endif

static struct ff_wrap ff_mm_wraps[] = {
	FF_WRAP(copy_page_range, ff_copy_page_range),
	FF_WRAP(handle_mm_fault, ff_handle_mm_fault),
	FF_WRAP(unmap_page_range, ff_unmap_page_range),
	FF_WRAP(change_protection, ff_change_protection),
	FF_WRAP(move_page_tables, ff_move_page_tables),
	FF_WRAP(madvise_collapse, ff_madvise_collapse),
	FF_WRAP(pagemap_read, ff_pagemap_read),
	FF_WRAP(exit_mmap, ff_exit_mmap),
#if FF_KERNEL_SERIES < 612
	FF_WRAP(mcopy_atomic, ff_mcopy_atomic),
	FF_WRAP(mfill_zeropage, ff_mfill_zeropage),
	FF_WRAP(mcopy_continue, ff_mcopy_continue),
#else
	FF_WRAP(mfill_atomic_copy, ff_mfill_atomic_copy),
	FF_WRAP(mfill_atomic_zeropage, ff_mfill_atomic_zeropage),
	FF_WRAP(mfill_atomic_continue, ff_mfill_atomic_continue),
	FF_WRAP(mfill_atomic_poison, ff_mfill_atomic_poison),
	FF_WRAP(move_pages, ff_move_pages),
	FF_WRAP(do_pagemap_scan, ff_do_pagemap_scan),
#endif
};

int ff_mm_hooks_init(void)
{
	return ff_wraps_install(ff_mm_wraps, ARRAY_SIZE(ff_mm_wraps));
}

void ff_mm_hooks_exit(void)
{
	ff_wraps_remove(ff_mm_wraps, ARRAY_SIZE(ff_mm_wraps));
}
