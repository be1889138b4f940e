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
 *  - work that must sleep runs in a *wrapper* (struct ff_wrap below): the
 *    ftrace callback only points regs->ip at a C function with the
 *    target's prototype, and that function reaches the target's body
 *    through a stub of wrap.S that returns into it just past its fentry
 *    call.  Both hops are returns, never an indirect call or jump.
 */
#ifndef FASTFORK_HOOK_H
#define FASTFORK_HOOK_H

#include <linux/ftrace.h>
#include <linux/percpu.h>

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
 * Wrapper hook on one kernel function.  ftrace_regs_caller leaves by RET
 * to regs->ip, so the wrapper is entered with the caller's arguments and
 * return address in place, preemptible, exactly as the target would be.
 * It calls the target's body through FF_WRAP_RESUME(): ff_call_<name>
 * pushes ff_resume_<name> (the target's fentry site + MCOUNT_INSN_SIZE,
 * recorded by the callback before every redirect) and returns into it, so
 * ftrace does not fire again and the target returns into the wrapper.
 */
struct ff_wrap {
	const char *target;		/* function name, as in kallsyms */
	void *wrapper;			/* C function, the target's prototype */
	unsigned long *resume;		/* where ff_call_<name> resumes */
	struct ff_hook hook;		/* private to hook.c */
};

/*
 * Declare the resume slot and the stub of wrap.S for target @name, whose
 * prototype is @ret name(@...).  wrap.S must list the same name.
 */
#define FF_WRAP_RESUME(ret, name, ...)					\
	unsigned long ff_resume_##name;					\
	ret ff_call_##name(__VA_ARGS__)

#define FF_WRAP(_target, _wrapper)					\
	{ .target = #_target, .wrapper = (_wrapper),			\
	  .resume = &ff_resume_##_target }

/*
 * Install all hooks or none.  On failure exactly one pr_err() line names
 * the target that could not be hooked, and a negative errno is returned.
 */
int ff_hooks_install(struct ff_hook *hooks, size_t count);
/* Remove installed hooks; on return no callback is running any more. */
void ff_hooks_remove(struct ff_hook *hooks, size_t count);

/*
 * Every wrapper brackets its body with these, so that unload can wait
 * for tasks inside one.  A task may move to another CPU in between; only
 * the sum over CPUs means anything.
 */
DECLARE_PER_CPU(long, ff_wraps_inside);

static __always_inline void ff_wrap_enter(void)
{
	this_cpu_inc(ff_wraps_inside);
}

static __always_inline void ff_wrap_leave(void)
{
	this_cpu_dec(ff_wraps_inside);
}

/* Same contract as ff_hooks_install(), for wrapper hooks. */
int ff_wraps_install(struct ff_wrap *wraps, size_t count);
void ff_wraps_remove(struct ff_wrap *wraps, size_t count);

/* Same contract as ff_hooks_install(), for tracepoints. */
int ff_tracepoints_attach(struct ff_tracepoint *tps, size_t count);
/* Detach; on return no probe is running any more. */
void ff_tracepoints_detach(struct ff_tracepoint *tps, size_t count);

#endif /* FASTFORK_HOOK_H */
