/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small framework to run module code at entry of kernel functions
 * (ftrace) and at kernel tracepoints, without ever branching indirectly
 * into kernel text.
 *
 * Rules (DESIGN.md, "Hooking on stock kernels"):
 *  - targets are resolved by name only: ftrace_set_filter() for functions,
 *    for_each_kernel_tracepoint() for tracepoints; the module never calls
 *    kallsyms_lookup_name() and never holds a code address it could call;
 *  - callbacks run at function entry with preemption disabled
 *    (FTRACE_OPS_FL_RECURSION makes ftrace provide the recursion guard and
 *    the preempt-off section): they must not sleep or allocate with
 *    anything but GFP_ATOMIC/GFP_NOWAIT;
 *  - no callback changes regs->ip, so no FTRACE_OPS_FL_IPMODIFY (yet).
 */
#ifndef FASTFORK_HOOK_H
#define FASTFORK_HOOK_H

#include <linux/ftrace.h>

struct tracepoint;

/* Entry hook on one kernel function. */
struct ff_hook {
	const char *target;		/* function name, as in kallsyms */
	ftrace_func_t callback;		/* runs at its entry */
	struct ftrace_ops ops;		/* private to hook.c */
	bool filtered;			/* ops has a filter to free */
	bool registered;		/* ops is live */
};

#define FF_HOOK(_target, _callback) \
	{ .target = (_target), .callback = (_callback) }

/* Probe on one kernel tracepoint; probe takes (void *data, TP_PROTO...). */
struct ff_tracepoint {
	const char *name;		/* tracepoint name */
	void *probe;
	struct tracepoint *tp;		/* found by name at attach */
	bool registered;
};

#define FF_TRACEPOINT(_name, _probe) \
	{ .name = (_name), .probe = (void *)(_probe) }

/*
 * Install all hooks or none.  On failure exactly one pr_err() line names
 * the target that could not be hooked, and a negative errno is returned.
 */
int ff_hooks_install(struct ff_hook *hooks, size_t count);
/* Remove installed hooks; on return no callback is running any more. */
void ff_hooks_remove(struct ff_hook *hooks, size_t count);

/* Same contract as ff_hooks_install(), for tracepoints. */
int ff_tracepoints_attach(struct ff_tracepoint *tps, size_t count);
/* Detach; on return no probe is running any more. */
void ff_tracepoints_detach(struct ff_tracepoint *tps, size_t count);

#endif /* FASTFORK_HOOK_H */
