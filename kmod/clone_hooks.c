// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel events that drive the arm records of arm.c:
 *
 *   kernel_clone()        ftrace entry hook: a clone starts (read flags)
 *   copy_page_range()     (mm_hooks.c) dup_mmap() copies one VMA of the
 *                         parent (current) into the child
 *   sched_process_fork    tracepoint: the clone succeeded (and an eager
 *                         child gets its task work, engine.c)
 *   sched_process_exec    tracepoint: execve succeeded
 *   sched_process_exit    tracepoint: a thread exits
 *
 * All of them run in the context of the thread whose record they touch,
 * with preemption disabled (ftrace callbacks and tracepoint probes), and
 * start with one atomic read so that nothing is paid while nobody is
 * armed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/kernel.h>
#include <linux/mm_types.h>
#include <linux/sched.h>

#include "compat.h"
#include "engine.h"
#include "fastfork.h"
#include "hook.h"

/*
 * The hooked call's registers, or NULL when no thread is armed (the
 * common case, one atomic read) or ftrace saved no full pt_regs.
 */
static struct pt_regs *notrace ff_armed_call_regs(struct ftrace_regs *fregs)
{
	if (!ff_any_armed())
		return NULL;
	return ff_ftrace_regs(fregs);
}

/* pid_t kernel_clone(struct kernel_clone_args *args) */
static void notrace ff_kernel_clone_entry(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *ops,
					  struct ftrace_regs *fregs)
{
	const struct kernel_clone_args *args;
	struct pt_regs *regs = ff_armed_call_regs(fregs);

	if (!regs)
		return;
	args = (const struct kernel_clone_args *)ff_regs_arg(regs, 0);
	ff_arm_clone_begin(ff_clone_args_flags(args));
}

/* Tracepoint probes; in all three the task passed is current. */
static void notrace ff_sched_process_fork(void *data,
					  struct task_struct *parent,
					  struct task_struct *child)
{
	if (ff_any_armed())
		ff_arm_clone_done(parent);
	if (ff_any_detached())
		ff_engine_child_forked(child);
}

static void notrace ff_sched_process_exec(void *data, struct task_struct *task,
					  pid_t old_pid,
					  struct linux_binprm *bprm)
{
	if (ff_any_armed())
		ff_arm_task_gone(task, FF_ARM_CLEAR_EXEC);
}

static void notrace ff_sched_process_exit(void *data, struct task_struct *task)
{
	if (ff_any_armed())
		ff_arm_task_gone(task, FF_ARM_CLEAR_EXIT);
}

static struct ff_hook ff_clone_hooks[] = {
	FF_HOOK("kernel_clone", ff_kernel_clone_entry),
};

static struct ff_tracepoint ff_clone_tracepoints[] = {
	FF_TRACEPOINT("sched_process_fork", ff_sched_process_fork),
	FF_TRACEPOINT("sched_process_exec", ff_sched_process_exec),
	FF_TRACEPOINT("sched_process_exit", ff_sched_process_exit),
};

int ff_clone_hooks_init(void)
{
	int err;

	/*
	 * Tracepoints first: once the clone hooks move an arm to IN_FLIGHT,
	 * the events that settle it must already be seen.
	 */
	err = ff_tracepoints_attach(ff_clone_tracepoints,
				    ARRAY_SIZE(ff_clone_tracepoints));
	if (err)
		return err;
	err = ff_hooks_install(ff_clone_hooks, ARRAY_SIZE(ff_clone_hooks));
	if (err)
		ff_tracepoints_detach(ff_clone_tracepoints,
				      ARRAY_SIZE(ff_clone_tracepoints));
	return err;
}

void ff_clone_hooks_exit(void)
{
	ff_hooks_remove(ff_clone_hooks, ARRAY_SIZE(ff_clone_hooks));
	ff_tracepoints_detach(ff_clone_tracepoints,
			      ARRAY_SIZE(ff_clone_tracepoints));
}
