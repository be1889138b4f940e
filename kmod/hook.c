// SPDX-License-Identifier: GPL-2.0
/*
 * Hook framework: ftrace entry hooks and tracepoint probes, resolved by
 * name.  See hook.h for the rules every hook follows.
 *
 * Locking: install/remove and attach/detach run only from module init and
 * exit, which the module loader serialises; the arrays need no lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "hook.h"

/*
 * SAVE_REGS: callbacks read arguments from full pt_regs (ftrace_get_regs).
 * RECURSION: ftrace guards against recursion and disables preemption
 * around the callback, so callbacks may call traced kernel functions.
 */
#define FF_HOOK_OPS_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION)

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

int ff_hooks_install(struct ff_hook *hooks, size_t count)
{
	size_t i;
	int err;

	/*
	 * Resolve every target before registering any, so that a kernel
	 * lacking one target refuses the module without having run a hook.
	 */
	for (i = 0; i < count; i++) {
		hooks[i].ops.func = hooks[i].callback;
		hooks[i].ops.flags = FF_HOOK_OPS_FLAGS;
		err = ff_hook_set_filter(&hooks[i]);
		if (err) {
			pr_err("cannot hook %s: function absent or not traceable on this kernel (%d), refusing to load\n",
			       hooks[i].target, err);
			goto undo;
		}
		hooks[i].filtered = true;
	}
	for (i = 0; i < count; i++) {
		err = register_ftrace_function(&hooks[i].ops);
		if (err) {
			pr_err("cannot hook %s: register_ftrace_function failed (%d), refusing to load\n",
			       hooks[i].target, err);
			goto undo;
		}
		hooks[i].registered = true;
	}
	return 0;

undo:
	ff_hooks_remove(hooks, count);
	return err;
}

void ff_hooks_remove(struct ff_hook *hooks, size_t count)
{
	size_t i;

	/*
	 * unregister_ftrace_function() waits until no CPU can still be
	 * inside the callback, so the caller may free what it used.
	 */
	for (i = count; i-- > 0;)
		ff_hook_remove(&hooks[i]);
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
