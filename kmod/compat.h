/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that depends on the kernel version lives here, so that the
 * rest of the module reads the same on every supported kernel.
 *
 * Supported: Debian 12's 6.1 and 6.12 kernels (x86_64).  Between those
 * two, the interfaces used by the module happen to be source compatible;
 * each helper below names the kernel structure or convention it relies on
 * so that the next kernel that changes it has one place to be fixed.
 */
#ifndef FASTFORK_COMPAT_H
#define FASTFORK_COMPAT_H

#include <linux/version.h>
#include <linux/ftrace.h>
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/rmap.h>
#include <linux/sched/task.h>

/*
 * Version of the kernel this module is built for, without its sublevel
 * (the same value as LINUX_VERSION_CODE with a zero sublevel).
 */
#define FF_KERNEL_BUILT_FOR \
	KERNEL_VERSION(LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL, 0)

/* Supported kernels, inclusive. */
#define FF_KERNEL_MIN	KERNEL_VERSION(6, 1, 0)
#define FF_KERNEL_MAX	KERNEL_VERSION(6, 12, 0)

/* True when the kernel this module was built for is one we support. */
static inline bool ff_kernel_supported(void)
{
	unsigned int built_for = FF_KERNEL_BUILT_FOR;

	return built_for >= FF_KERNEL_MIN && built_for <= FF_KERNEL_MAX;
}

/*
 * Full pt_regs of a traced function.  Both kernels pass struct
 * ftrace_regs to callbacks; with FTRACE_OPS_FL_SAVE_REGS,
 * ftrace_get_regs() returns the saved registers (NULL otherwise).
 */
static __always_inline struct pt_regs *ff_ftrace_regs(struct ftrace_regs *fregs)
{
	return ftrace_get_regs(fregs);
}

/* N-th integer argument of a traced function, from its entry registers. */
static __always_inline unsigned long ff_regs_arg(struct pt_regs *regs,
						 unsigned int n)
{
	return regs_get_kernel_argument(regs, n);
}

/*
 * kernel_clone(struct kernel_clone_args *args): on 6.1 and 6.12 the
 * clone flags are the first member (u64 flags).
 */
static __always_inline u64 ff_clone_args_flags(const struct kernel_clone_args *args)
{
	return args->flags;
}

/*
 * Add @nr to @mm's anonymous RSS counter.  add_mm_counter() does not
 * link from a module (its rss_stat tracepoint is not exported); this is
 * its body without the tracepoint.  6.1 keeps atomic counters (plus
 * per-task caches that the kernel folds in before it checks them), 6.12
 * per-CPU counters.
 */
static inline void ff_add_anon_rss(struct mm_struct *mm, long nr)
{
#if FF_KERNEL_SERIES >= 602
	percpu_counter_add(&mm->rss_stat[MM_ANONPAGES], nr);
#else
	atomic_long_add(nr, &mm->rss_stat.count[MM_ANONPAGES]);
#endif
}

/*
 * Map the anonymous @page once more, as fork does for a present PTE of
 * @vma (a private, copy-on-write mapping): take a reference, clear
 * PageAnonExclusive and raise its mapcount.  -EBUSY when the page may be
 * pinned for DMA and must be copied instead (nothing is changed then).
 */
static inline int ff_dup_anon_page(struct page *page,
				   struct vm_area_struct *vma)
{
#if FF_KERNEL_SERIES >= 608
	struct folio *folio = page_folio(page);

	folio_get(folio);
	if (folio_try_dup_anon_rmap_pte(folio, page, vma)) {
		folio_put(folio);
		return -EBUSY;
	}
#else
	get_page(page);
	if (page_try_dup_anon_rmap(page, false, vma)) {
		put_page(page);
		return -EBUSY;
	}
#endif
	return 0;
}

#endif /* FASTFORK_COMPAT_H */
