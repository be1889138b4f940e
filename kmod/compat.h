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
#include <linux/ptrace.h>
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

#endif /* FASTFORK_COMPAT_H */
