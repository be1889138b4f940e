// SPDX-License-Identifier: GPL-2.0
/*
 * Hook framework: ftrace entry hooks and tracepoint probes, resolved by
 * name.  See hook.h for the rules every hook follows.
 *
 * Locking: install/remove and attach/detach run only from module init and
 * exit, which the module loader serialises; the arrays need no lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/percpu.h>
#include <linux/rcupdate_wait.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "hook.h"

/*
 * SAVE_REGS: callbacks read arguments from full pt_regs (ftrace_get_regs).
 * RECURSION: ftrace guards against recursion and disables preemption
 * around the callback, so callbacks may call traced kernel functions.
 */
#define FF_HOOK_OPS_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION)
/* IPMODIFY: the callback changes regs->ip (one such ops per function). */
#define FF_WRAP_OPS_FLAGS (FF_HOOK_OPS_FLAGS | FTRACE_OPS_FL_IPMODIFY)

static int ff_hook_set_filter(struct ff_hook *hook)
{
	/* ftrace_set_filter() parses, and may write into, its buffer. */
	char name[KSYM_NAME_LEN];
	ssize_t len = strscpy(name, hook->target, sizeof(name));

	if (len < 0)
		return -ENAMETOOLONG;
	return ftrace_set_filter(&hook->ops, name, len, 1);
}

static void ff_hook_remove(struct ff_hook *hook)
{
	if (hook->registered) {
		unregister_ftrace_function(&hook->ops);
		hook->registered = false;
	}
	if (hook->filtered) {
		ftrace_free_filter(&hook->ops);
		hook->filtered = false;
	}
}

/* Only for ff_hook_find_copies(); module init is serialised. */
static struct ftrace_ops ff_copy_probe;

/*
 * GCC may split or specialise a function into a copy (NAME.part.N,
 * NAME.constprop.N, NAME.isra.N) and have some callers call the copy, so
 * that a hook on NAME misses their calls.  For the engine that loses
 * memory (a debug build of 6.1 had move_page_tables.part.0, and mremap
 * moved detached ranges unseen), so such a kernel is refused.  Returns 0
 * when no traceable copy of @target exists.
 */
static int ff_hook_find_copies(const char *target)
{
	char glob[KSYM_NAME_LEN];
	int len = snprintf(glob, sizeof(glob), "%s.*", target);
	int found;

	if (len >= sizeof(glob))
		return -ENAMETOOLONG;
	found = !ftrace_set_filter(&ff_copy_probe, glob, len, 1);
	ftrace_free_filter(&ff_copy_probe);
	if (!found)
		return 0;
	pr_err("cannot hook %s: the kernel also has a compiler-made copy (%s) whose callers would bypass the hook, refusing to load\n",
	       target, glob);
	return -ENOENT;
}

static int ff_hook_install(struct ff_hook *hook, unsigned long flags)
{
	int err;

	hook->ops.func = hook->callback;
	hook->ops.flags = flags;
	err = ff_hook_set_filter(hook);
	if (err) {
		pr_err("cannot hook %s: function absent or not traceable on this kernel (%d), refusing to load\n",
		       hook->target, err);
		return err;
	}
	hook->filtered = true;
	return ff_hook_find_copies(hook->target);
}

static int ff_hook_register(struct ff_hook *hook)
{
	int err = register_ftrace_function(&hook->ops);

	if (err) {
		pr_err("cannot hook %s: register_ftrace_function failed (%d), refusing to load\n",
		       hook->target, err);
		return err;
	}
	hook->registered = true;
	return 0;
}

/*
 * The hooks of one array: @first, then one every @stride bytes (an array
 * of struct ff_hook, or of a struct that embeds one).
 */
static struct ff_hook *ff_hook_nth(struct ff_hook *first, size_t stride,
				   size_t i)
{
	return (struct ff_hook *)((char *)first + i * stride);
}

static void ff_hook_array_remove(struct ff_hook *first, size_t stride,
				 size_t count)
{
	size_t i;

	/*
	 * unregister_ftrace_function() waits until no CPU can still be
	 * inside the callback, so the caller may free what it used.
	 */
	for (i = count; i-- > 0;)
		ff_hook_remove(ff_hook_nth(first, stride, i));
}

static int ff_hook_array_install(struct ff_hook *first, size_t stride,
				 size_t count, unsigned long flags)
{
	size_t i;
	int err;

	/*
	 * Resolve every target before registering any, so that a kernel
	 * lacking one target refuses the module without having run a hook.
	 */
	for (i = 0; i < count; i++) {
		err = ff_hook_install(ff_hook_nth(first, stride, i), flags);
		if (err)
			goto undo;
	}
	for (i = 0; i < count; i++) {
		err = ff_hook_register(ff_hook_nth(first, stride, i));
		if (err)
			goto undo;
	}
	return 0;

undo:
	ff_hook_array_remove(first, stride, count);
	return err;
}

int ff_hooks_install(struct ff_hook *hooks, size_t count)
{
	return ff_hook_array_install(hooks, sizeof(*hooks), count,
				     FF_HOOK_OPS_FLAGS);
}

void ff_hooks_remove(struct ff_hook *hooks, size_t count)
{
	ff_hook_array_remove(hooks, sizeof(*hooks), count);
}

DEFINE_PER_CPU(long, ff_wraps_inside);

/* Tasks inside a wrapper: entries minus exits, summed over every CPU. */
static long ff_wraps_running(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(ff_wraps_inside, cpu);
	return sum;
}

/*
 * The callback of every wrapper hook: record where the target's body
 * starts (the same value on every call) and return into the wrapper.
 */
static void notrace ff_wrap_redirect(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *ops,
				     struct ftrace_regs *fregs)
{
	struct ff_wrap *wrap = container_of(ops, struct ff_wrap, hook.ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);

	WRITE_ONCE(*wrap->resume, ip + MCOUNT_INSN_SIZE);
	regs->ip = (unsigned long)wrap->wrapper;
}

/*
 * Once unregistered, no new call is redirected, but a wrapper may still
 * be running (asleep, even: a fault waiting for userfaultfd) in a task
 * that entered it earlier.  Wait for those before the module text goes:
 * tasks RCU covers the instructions before ff_wrap_enter() and after
 * ff_wrap_leave(), the counter everything in between.
 */
static void ff_wraps_quiesce(void)
{
	unsigned int waited = 0;

	synchronize_rcu_tasks();
	while (ff_wraps_running()) {
		if (++waited == 50)
			pr_info("unload waits for tasks still inside a hooked kernel function\n");
		msleep(100);
	}
	synchronize_rcu_tasks();
}

int ff_wraps_install(struct ff_wrap *wraps, size_t count)
{
	size_t i;
	int err;

	for (i = 0; i < count; i++) {
		wraps[i].hook.target = wraps[i].target;
		wraps[i].hook.callback = ff_wrap_redirect;
	}
	err = ff_hook_array_install(&wraps[0].hook, sizeof(*wraps), count,
				    FF_WRAP_OPS_FLAGS);
	/* The wraps registered before the failure may have been entered. */
	if (err)
		ff_wraps_quiesce();
	return err;
}

void ff_wraps_remove(struct ff_wrap *wraps, size_t count)
{
	ff_hook_array_remove(&wraps[0].hook, sizeof(*wraps), count);
	ff_wraps_quiesce();
}

struct ff_tracepoint_lookup {
	struct ff_tracepoint *tps;
	size_t count;
};

static void ff_tracepoint_match(struct tracepoint *tp, void *priv)
{
	struct ff_tracepoint_lookup *lookup = priv;
	size_t i;

	for (i = 0; i < lookup->count; i++)
		if (!lookup->tps[i].tp && !strcmp(tp->name, lookup->tps[i].name))
			lookup->tps[i].tp = tp;
}

int ff_tracepoints_attach(struct ff_tracepoint *tps, size_t count)
{
	struct ff_tracepoint_lookup lookup = { .tps = tps, .count = count };
	size_t i;
	int err;

	for (i = 0; i < count; i++)
		tps[i].tp = NULL;
	for_each_kernel_tracepoint(ff_tracepoint_match, &lookup);

	for (i = 0; i < count; i++) {
		if (!tps[i].tp) {
			pr_err("cannot hook tracepoint %s: not present on this kernel, refusing to load\n",
			       tps[i].name);
			err = -ENOENT;
			goto undo;
		}
	}
	for (i = 0; i < count; i++) {
		err = tracepoint_probe_register(tps[i].tp, tps[i].probe, NULL);
		if (err) {
			pr_err("cannot hook tracepoint %s: probe registration failed (%d), refusing to load\n",
			       tps[i].name, err);
			goto undo;
		}
		tps[i].registered = true;
	}
	return 0;

undo:
	ff_tracepoints_detach(tps, count);
	return err;
}

void ff_tracepoints_detach(struct ff_tracepoint *tps, size_t count)
{
	bool any = false;
	size_t i;

	for (i = count; i-- > 0;) {
		if (!tps[i].registered)
			continue;
		tracepoint_probe_unregister(tps[i].tp, tps[i].probe, NULL);
		tps[i].registered = false;
		any = true;
	}
	/* Wait for probes still running on other CPUs to return. */
	if (any)
		tracepoint_synchronize_unregister();
}
