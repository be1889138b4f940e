/* SPDX-License-Identifier: MIT */
/*
 * The interposers: fork(), _Fork() and the C half of vfork() (vfork.S),
 * plus the pthread_atfork handlers that catch forks which bypass them.
 *
 * glibc's fork is never replaced, only preceded: it runs the application's
 * atfork handlers and resets the malloc, stdio and ld.so locks, the child's
 * TID and robust list.  The shim arms the calling thread through the
 * module and then calls the real fork, whose clone the module serves.
 */
#include "fork.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "counters.h"
#include "decide.h"
#include "log.h"
#include "policy.h"

/* glibc 2.36 exports __fork and __vfork (GLIBC_2.2.5), the same code as
 * fork and vfork: fork() below calls __fork, vfork.S jumps to __vfork.
 * Binding to them by name needs no dlsym, so it works before the
 * constructor and in the async-signal-safe fork path. */
extern pid_t __fork(void);

typedef pid_t fork_fn(void);
static _Atomic(fork_fn *) next__Fork;

/* Set while fork() runs glibc's fork, so that the atfork prepare handler
 * does not arm the same fork again.  initial-exec: a TLS access must not
 * allocate (which the default model may do for a dlopen()ed library). */
static _Thread_local bool in_fork_wrapper
	__attribute__((tls_model("initial-exec")));

static fork_fn *resolve_next__Fork(void)
{
	fork_fn *next = (fork_fn *)dlsym(RTLD_NEXT, "_Fork");

	atomic_store_explicit(&next__Fork, next, memory_order_relaxed);
	return next;
}

__attribute__((visibility("default"))) pid_t fork(void)
{
	if (!decide_and_arm(ORIGIN_FORK)) {
		errno = ENODEV;
		return -1;
	}
	in_fork_wrapper = true;
	pid_t pid = __fork();
	in_fork_wrapper = false;
	return pid;
}

__attribute__((visibility("default"))) pid_t _Fork(void)
{
	fork_fn *next = atomic_load_explicit(&next__Fork, memory_order_relaxed);

	/* The one exception to "no dlsym in the fork path": _Fork has no
	 * exported alias to bind to, so a _Fork called before the
	 * constructor (from another library's constructor) resolves the
	 * next definition here, once. */
	if (!next)
		next = resolve_next__Fork();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	if (!decide_and_arm(ORIGIN__FORK)) {
		errno = ENODEV;
		return -1;
	}
	pid_t pid = next();
	/* _Fork runs no atfork handlers, so the child resets here. */
	if (pid == 0)
		counters_reset();
	return pid;
}

void vfork_prehook(void)
{
	const struct policy *policy;

	/* vfork shares the parent's memory (CLONE_VM), which the module
	 * never serves: always pass it through. */
	counter_inc(COUNTER_VFORKS_SEEN);
	if (policy_get(&policy) == POLICY_READY && policy->debug) {
		struct log_line line;
		log_begin(&line);
		log_str(&line, "vfork: passed through");
		log_end(&line);
	}
}

static void atfork_prepare(void)
{
	if (!in_fork_wrapper)
		decide_and_arm(ORIGIN_ATFORK);
}

static void atfork_child(void)
{
	counters_reset();
}

void fork_init(void)
{
	resolve_next__Fork();
	/* Prepare handlers run in reverse order of registration: ours,
	 * registered before main() runs, comes after the handlers the
	 * application registers, closest to the clone it arms. */
	pthread_atfork(atfork_prepare, NULL, atfork_child);
}
